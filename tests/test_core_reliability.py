"""Reliability of the model core (issue 8): any input size, inference mode, checkpoint
edge cases and validation at the boundary.

Every test here failed on the code before its fix. Property tests use hypothesis with a
bounded number of derandomized examples and a small model, so they are quick and repeatable.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from swin_model import SwinConfig, SwinTransformer, capture_attention, count_macs, measured_macs, windows
from swin_model.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_checkpoint,
    save_official,
    to_official,
)

transformers = pytest.importorskip("transformers")

EMBED_DIM = 24
DEPTHS = (2, 2, 2, 2)
NUM_HEADS = (1, 2, 2, 4)
NUM_CLASSES = 7
SMALL = SwinConfig(img_size=64, embed_dim=EMBED_DIM, depths=(2, 2, 2), num_heads=(1, 2, 2),
                   window_size=4, num_classes=NUM_CLASSES)
PROPERTY = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def randomised(config: SwinConfig, seed: int = 0) -> SwinTransformer:
    """A model whose every parameter is random, so a misplaced tensor changes the logits."""
    model = SwinTransformer(config).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.2)
    return model


def pixels(height: int = 64, width: int = 64, batch: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(seed))


# --- 1. any input size ----------------------------------------------------------------------

@PROPERTY
@given(batch=st.integers(1, 2), rows=st.integers(1, 3), cols=st.integers(1, 3),
       window=st.integers(1, 5), shift_fraction=st.floats(0, 0.99), channels=st.integers(1, 3))
@example(batch=1, rows=1, cols=3, window=4, shift_fraction=0.5, channels=2)  # one window tall
def test_partition_is_viewable_and_round_trips(batch: int, rows: int, cols: int, window: int,
                                               shift_fraction: float, channels: int) -> None:
    """Whatever the grid (one window tall included), the partition of a rolled map can be
    viewed as (windows, M*M, C) and reversed exactly, in torch and in numpy alike."""
    shift = int(shift_fraction * window)
    height, width = rows * window, cols * window
    grid = torch.arange(batch * height * width * channels, dtype=torch.float32).view(
        batch, height, width, channels)
    rolled = windows.cyclic_shift(grid, shift)
    parts = windows.window_partition(rolled, window)
    tokens = parts.view(-1, window * window, channels)
    assert tokens.shape == (batch * rows * cols, window * window, channels)
    as_array = windows.window_partition(rolled.numpy(), window)
    assert as_array.flags.c_contiguous and np.array_equal(as_array, parts.numpy())
    back = windows.window_reverse(tokens.view(-1, window, window, channels), window, height, width)
    assert torch.equal(windows.reverse_cyclic_shift(back, shift), grid)


def hf_peer(window: int, shifted: bool, seed: int):
    """An HF SwinForImageClassification with random weights (tables too); without the shift
    every HF block is made W-MSA, which HF then keeps at any size."""
    config = transformers.SwinConfig(
        image_size=224, patch_size=4, num_channels=3, embed_dim=EMBED_DIM, depths=list(DEPTHS),
        num_heads=list(NUM_HEADS), window_size=window, mlp_ratio=4.0, qkv_bias=True,
        num_labels=NUM_CLASSES, layer_norm_eps=1e-5, drop_path_rate=0.0)
    model = transformers.SwinForImageClassification._from_config(
        config, attn_implementation="eager").eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)
    if not shifted:
        for stage in model.swin.encoder.layers:
            for block in stage.blocks:
                block.shift_size = 0
    return model


@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(height=st.integers(32, 320), width=st.integers(32, 320), window=st.integers(2, 8),
       shifted=st.booleans(), batch=st.integers(1, 2))
@example(height=224, width=448, window=7, shifted=True, batch=1)   # the sizes of the issue
@example(height=224, width=225, window=7, shifted=True, batch=1)
@example(height=190, width=230, window=7, shifted=False, batch=1)
@example(height=230, width=190, window=7, shifted=True, batch=1)   # HF fails: its window shrinks
def test_any_size_runs_matches_hf_and_is_captured_and_measured(
        height: int, width: int, window: int, shifted: bool, batch: int) -> None:
    hf = hf_peer(window, shifted, seed=height * 1000 + width)
    config = SwinConfig(img_size=224, embed_dim=EMBED_DIM, depths=DEPTHS, num_heads=NUM_HEADS,
                        window_size=window, num_classes=NUM_CLASSES, shifted=shifted)
    ours = SwinTransformer(config).eval()
    ours.load_state_dict(to_official(hf.state_dict(), "hf"))
    x = pixels(height, width, batch=batch, seed=window)
    with torch.no_grad():
        logits = ours(x)
    assert logits.shape == (batch, NUM_CLASSES) and torch.isfinite(logits).all()

    try:
        with torch.no_grad():
            expected = hf(pixel_values=x).logits
    except RuntimeError:
        # HF reads its full table for a window that shrank below it; only there may it fail
        assert any(g.window_shrunk for g in windows.stage_geometry(config, height, width))
        event("HF fails at this size")
    else:
        torch.testing.assert_close(logits, expected, atol=1e-4, rtol=1e-4)
        event("logits compared with HF")
    event("one window tall" if any(g.padded_height == g.window_size for g in
                                   windows.stage_geometry(config, height, width)) else "taller")

    with torch.no_grad(), capture_attention(ours) as records:
        captured = ours(x)
    torch.testing.assert_close(captured, logits, atol=1e-5, rtol=1e-5)
    geometry = windows.stage_geometry(config, height, width)
    assert [(r.stage, r.block) for r in records] == [
        (stage, block) for stage, depth in enumerate(DEPTHS) for block in range(depth)]
    for record in records:
        stage = geometry[record.stage]
        assert record.window_size == stage.window_size
        assert record.attn.shape == (batch * stage.num_windows, NUM_HEADS[record.stage],
                                     stage.tokens_per_window, stage.tokens_per_window)
    assert measured_macs(ours, x).per_image == count_macs(config, height, width).matmul_macs


# --- 2. inference mode ----------------------------------------------------------------------

def run_in_every_mode(model: SwinTransformer, x: torch.Tensor) -> None:
    """Logits agree in inference mode, no_grad and grad mode, and gradients reach every
    parameter."""
    with torch.inference_mode():
        expected = model(x)
    with torch.no_grad():
        torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=1e-5)
    logits = model(x)
    torch.testing.assert_close(logits.detach(), expected, atol=1e-5, rtol=1e-5)
    model.zero_grad()
    logits.square().sum().backward()
    assert all(parameter.grad is not None for parameter in model.parameters())
    with torch.inference_mode():  # and back again
        torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=1e-5)


def test_model_built_in_inference_mode_runs_in_every_mode() -> None:
    torch.manual_seed(0)
    with torch.inference_mode():
        model = SwinTransformer(SMALL).eval()
        model(pixels())
    run_in_every_mode(model, pixels())


def test_model_loaded_in_inference_mode_runs_in_every_mode(tmp_path: Path) -> None:
    original = randomised(SMALL, seed=2)
    save_official(original, tmp_path / "swin.pth")
    with torch.inference_mode():
        model = load_checkpoint(tmp_path / "swin.pth", img_size=64)
        torch.testing.assert_close(model(pixels()), original(pixels()), atol=0, rtol=0)
    run_in_every_mode(model, pixels())


def test_backward_with_frozen_tables_after_an_inference_mode_run() -> None:
    model = randomised(SMALL, seed=3)
    reference = randomised(SMALL, seed=3)
    for module in (model, reference):
        for block in module.blocks():
            block.attn.relative_position_bias_table.requires_grad_(False)
    x = pixels()
    with torch.inference_mode():
        model(x)
    model(x).square().sum().backward()
    reference(x).square().sum().backward()
    for (name, parameter), expected in zip(model.named_parameters(), reference.parameters(), strict=True):
        if expected.grad is None:
            assert parameter.grad is None, name
        else:
            torch.testing.assert_close(parameter.grad, expected.grad, msg=name)


def test_weights_changed_inside_inference_mode_are_used() -> None:
    """Caches follow weights that are inference tensors themselves and change in place."""
    target = randomised(SMALL, seed=5)
    with torch.inference_mode():
        model = randomised(SMALL, seed=4).double().float()  # parameters are inference tensors
        assert next(model.parameters()).is_inference()
        model(pixels())
        model.load_state_dict(target.state_dict())
        torch.testing.assert_close(model(pixels()), target(pixels()), atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(model(pixels()), target(pixels()), atol=1e-5, rtol=1e-5)


# --- 12. tensor kinds -----------------------------------------------------------------------

KEY = "layers.0.blocks.1.mlp.fc1.weight"


@pytest.mark.parametrize("kind", ["int64", "bool", "complex", "meta", "sparse"])
def test_non_float_or_non_strided_tensors_refused_at_load(tmp_path: Path, kind: str) -> None:
    state = dict(randomised(SMALL).state_dict())
    value = state[KEY]
    state[KEY] = {"int64": value.long(), "bool": value > 0, "complex": value.to(torch.complex64),
                  "meta": value.to("meta"), "sparse": value.to_sparse()}[kind]
    path = tmp_path / "odd.pth"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError, match=KEY.replace(".", r"\.")) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert ("dtype" in message) if kind in ("int64", "bool", "complex") else ("layout" in message)


def test_integer_safetensors_refused_at_load(tmp_path: Path) -> None:
    state = {key: value.contiguous() for key, value in randomised(SMALL).state_dict().items()}
    state["head.bias"] = state["head.bias"].to(torch.int32)
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"'head\.bias'.*int32"):
        load_checkpoint(tmp_path / "model.safetensors")


# --- 13. EMA weights ------------------------------------------------------------------------

@pytest.mark.parametrize(("wrappers", "used"), [
    (("state_dict", "state_dict_ema"), "state_dict_ema"),
    (("model", "model_ema"), "model_ema"),
    (("model_ema",), "model_ema"),
    (("state_dict_ema",), "state_dict_ema"),
    (("model",), "model"),
])
def test_ema_weights_accepted_and_preferred(tmp_path: Path, wrappers: tuple[str, ...], used: str,
                                            caplog: pytest.LogCaptureFixture) -> None:
    ema = randomised(SMALL, seed=7)
    plain = randomised(SMALL, seed=8)
    stored: dict[str, object] = {"epoch": 3, "optimizer": {"lr": 0.1}}
    for wrapper in wrappers:
        stored[wrapper] = (ema if wrapper.endswith("_ema") or wrapper == used else plain).state_dict()
    path = tmp_path / "train.pth"
    torch.save(stored, path)
    assert read_checkpoint(path).source == used
    with caplog.at_level(logging.INFO, logger="swin_model.checkpoint"):
        loaded = load_checkpoint(path, img_size=64)
    assert f"'{used}'" in loaded.checkpoint_info
    assert any(f"'{used}'" in record.getMessage() for record in caplog.records)
    others = [wrapper for wrapper in wrappers if wrapper != used]
    assert all(f"'{other}'" in loaded.checkpoint_info for other in others)
    with torch.no_grad():
        torch.testing.assert_close(loaded(pixels()), ema(pixels()), atol=0, rtol=0)


def test_bare_state_dict_has_no_source(tmp_path: Path) -> None:
    torch.save(randomised(SMALL).state_dict(), tmp_path / "bare.pth")
    assert read_checkpoint(tmp_path / "bare.pth").source is None
    assert "official layout" in load_checkpoint(tmp_path / "bare.pth").checkpoint_info


# --- 14. missing keys that decide the structure ---------------------------------------------

@pytest.mark.parametrize("missing", ["head.weight", "layers.0.blocks.0.attn.qkv.bias",
                                     "layers.1.blocks.1.attn.qkv.bias"])
def test_missing_structural_key_named_alone(tmp_path: Path, missing: str) -> None:
    state = dict(randomised(SMALL).state_dict())
    del state[missing]
    path = tmp_path / "broken.pth"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert f"missing key '{missing}'" in message
    assert "unexpected" not in message


# --- 15. official checkpoints whose last stage shrinks its table ----------------------------

def official_state_with_shrunk_tables(seed: int = 9) -> tuple[dict[str, torch.Tensor], SwinTransformer]:
    """An official-layout state dict as the official code builds it for input 192, window 12:
    stage 4 is 6x6, so its blocks have window 6, a (2*6-1)^2 = 121-row table, a 36x36
    relative_position_index and no mask. Also a reference model with the full 23^2 tables in
    which stage 4 holds the same entries at the offsets a 6x6 window reads."""
    config = SwinConfig(img_size=192, embed_dim=EMBED_DIM, depths=DEPTHS, num_heads=NUM_HEADS,
                        window_size=12, num_classes=NUM_CLASSES)
    reference = randomised(config, seed=seed)
    state = dict(reference.state_dict())
    offsets = torch.arange(-5, 6)
    rows = ((offsets[:, None] + 11) * 23 + (offsets[None, :] + 11)).reshape(-1)  # in the 23x23 table
    coords = torch.stack(torch.meshgrid(torch.arange(6), torch.arange(6), indexing="ij")).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + 5
    for block in range(DEPTHS[3]):
        prefix = f"layers.3.blocks.{block}.attn."
        state[prefix + "relative_position_bias_table"] = state[prefix + "relative_position_bias_table"][rows]
        state[prefix + "relative_position_index"] = relative[:, :, 0] * 11 + relative[:, :, 1]
    for stage in range(3):
        for block in range(DEPTHS[stage]):
            prefix = f"layers.{stage}.blocks.{block}.attn."
            state[prefix + "relative_position_index"] = torch.zeros(144, 144, dtype=torch.long)
    return state, reference


def test_official_checkpoint_with_a_shrunk_last_table_loads(tmp_path: Path) -> None:
    state, reference = official_state_with_shrunk_tables()
    assert state["layers.3.blocks.0.attn.relative_position_bias_table"].shape == (121, NUM_HEADS[3])
    path = tmp_path / "swin_192.pth"
    torch.save({"model": state}, path)
    loaded = load_checkpoint(path)
    assert loaded.config.img_size == 192 and loaded.config.window_size == 12
    assert [g.window_size for g in windows.stage_geometry(loaded.config)] == [12, 12, 12, 6]
    assert [g.shift_size for g in windows.stage_geometry(loaded.config)] == [6, 6, 0, 0]
    x = pixels(192, 192)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), reference(x), atol=1e-5, rtol=1e-5)
        assert torch.isfinite(loaded(pixels(224, 300, batch=1))).all()  # other sizes still run
    assert count_macs(loaded.config).params == sum(p.numel() for p in loaded.parameters())

    save_official(loaded, tmp_path / "again.pth")  # and it round-trips
    again = load_checkpoint(tmp_path / "again.pth")
    assert again.config == loaded.config
    with torch.no_grad():
        torch.testing.assert_close(again(x), loaded(x), atol=0, rtol=0)


def test_shrunk_table_must_fit_the_image_size(tmp_path: Path) -> None:
    state, _ = official_state_with_shrunk_tables()
    path = tmp_path / "swin_192.pth"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError, match=r"layers\.3\.blocks\.0.*121 rows"):
        load_checkpoint(path, img_size=224)  # stage 4 would be 7x7: window 7, not 6
    assert load_checkpoint(path, img_size=192).config.img_size == 192


# --- 16. shard paths ------------------------------------------------------------------------

def sharded_folder(root: Path, shard_name: str) -> Path:
    folder = root / "model"
    folder.mkdir()
    state = {key: value.contiguous() for key, value in randomised(SMALL).state_dict().items()}
    outside = root / "outside.safetensors"
    save_file(state, outside)
    (folder / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {}, "weight_map": dict.fromkeys(state, shard_name)}))
    return folder


@pytest.mark.parametrize("shard", ["../outside.safetensors", "ABSOLUTE", "sub/../../outside.safetensors"])
def test_shard_paths_leaving_the_folder_refused(tmp_path: Path, shard: str) -> None:
    if shard == "ABSOLUTE":
        shard = str(tmp_path / "outside.safetensors")
    folder = sharded_folder(tmp_path, shard)
    with pytest.raises(CheckpointError, match="outside the folder"):
        load_checkpoint(folder)


def test_symlinked_shards_inside_the_folder_load(tmp_path: Path) -> None:
    """As in the HF hub cache, where snapshot files link to blobs elsewhere."""
    folder = sharded_folder(tmp_path, "model-00001-of-00001.safetensors")
    os.symlink(tmp_path / "outside.safetensors", folder / "model-00001-of-00001.safetensors")
    assert load_checkpoint(folder, img_size=64).config == SMALL


# --- 17. validation at the boundary ---------------------------------------------------------

@pytest.mark.parametrize(("changes", "error", "field"), [
    ({"num_classes": True}, TypeError, "num_classes"),
    ({"num_classes": 10.0}, TypeError, "num_classes"),
    ({"img_size": 224.0}, TypeError, "img_size"),
    ({"window_size": True}, TypeError, "window_size"),
    ({"depths": (2.7, 2, 2)}, TypeError, "depths"),
    ({"depths": (2, True, 2)}, TypeError, "depths"),
    ({"depths": 2}, TypeError, "depths"),
    ({"num_heads": (1, 2.0, 2)}, TypeError, "num_heads"),
    ({"shifted": "no"}, TypeError, "shifted"),
    ({"qkv_bias": 1}, TypeError, "qkv_bias"),
    ({"mlp_ratio": math.inf}, ValueError, "mlp_ratio"),
    ({"mlp_ratio": math.nan}, ValueError, "mlp_ratio"),
    ({"mlp_ratio": -1.0}, ValueError, "mlp_ratio"),
    ({"mlp_ratio": "4"}, TypeError, "mlp_ratio"),
    ({"mlp_ratio": True}, TypeError, "mlp_ratio"),
    ({"num_classes": -1}, ValueError, "num_classes"),
])
def test_config_rejects_wrong_types_and_ranges(changes: dict, error: type[Exception], field: str) -> None:
    with pytest.raises(error, match=field):
        SMALL.replace(**changes)


def test_config_accepts_integral_values() -> None:
    config = SMALL.replace(depths=[np.int64(2)] * 3, num_heads=(1, 2, 2), mlp_ratio=4, num_classes=0)
    assert config.depths == (2, 2, 2) and type(config.depths[0]) is int
    assert config.mlp_ratio == 4.0 and isinstance(config.mlp_ratio, float)


@pytest.mark.parametrize(("call", "error", "field"), [
    (lambda: windows.window_partition(np.zeros((1, 8, 8, 1)), 0), ValueError, "window_size"),
    (lambda: windows.window_partition(np.zeros((1, 8, 8, 1)), 3), ValueError, "multiple"),
    (lambda: windows.window_reverse(np.zeros((4, 4, 4, 1)), -4, 8, 8), ValueError, "window_size"),
    (lambda: windows.window_index_map(8, 8, 0), ValueError, "window_size"),
    (lambda: windows.effective_window(8, 8, 0, 0), ValueError, "window_size"),
    (lambda: windows.effective_window(8, 8, 4, -1), ValueError, "shift_size"),
    (lambda: windows.effective_window(8, 8, 4, 4), ValueError, "shift_size"),
    (lambda: windows.effective_window(8, 8, 4.0, 2), TypeError, "window_size"),
    (lambda: windows.region_map(8, 8, 4, -2), ValueError, "shift_size"),
    (lambda: windows.region_map(8, 8, 0, 0), ValueError, "window_size"),
    (lambda: windows.lecture_region_map(8, 8, 4, 5), ValueError, "shift_size"),
    (lambda: windows.attention_mask_array(8, 8, 0, 0), ValueError, "window_size"),
    (lambda: windows.attention_mask_array(8, 8, 4, True), TypeError, "shift_size"),
    (lambda: windows.window_token_positions(8, 8, 4, -1), ValueError, "shift_size"),
    (lambda: windows.locate_token(1, 1, 8, 8, 0, 0), ValueError, "window_size"),
    (lambda: windows.relative_position_index(0), ValueError, "window_size"),
    (lambda: windows.patch_grid(8, 8, 0), ValueError, "patch_size"),
])
def test_window_functions_reject_bad_windows_and_shifts(call, error: type[Exception], field: str) -> None:
    with pytest.raises(error, match=field):
        call()
