"""Checkpoint loading: official, timm and HF layouts, config inference, overrides, and
refusal of broken or unsafe files."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from swin_model import SwinConfig, SwinTransformer
from swin_model.checkpoint import (
    CheckpointError,
    config_from_state_dict,
    detect_format,
    from_official,
    load_checkpoint,
    save_official,
    save_timm,
    to_official,
)
from swin_model.checkpoint import loading as checkpoint_loading

transformers = pytest.importorskip("transformers")

SMALL = SwinConfig(img_size=64, embed_dim=24, depths=(2, 2, 2), num_heads=(2, 4, 8),
                   window_size=4, num_classes=10)


def randomised(config: SwinConfig, seed: int = 0) -> SwinTransformer:
    """A model whose every parameter (bias tables and LayerNorms included) is random, so a
    misplaced tensor changes the logits."""
    model = SwinTransformer(config).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.2)
    return model


def pixels(height: int = 64, width: int = 64, batch: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(seed))


def assert_same_weights(loaded: SwinTransformer, original: SwinTransformer) -> None:
    expected = original.state_dict()
    found = loaded.state_dict()
    assert list(found) == list(expected)
    for key, value in expected.items():
        assert torch.equal(found[key], value), key


def assert_same_logits(loaded: SwinTransformer, original: SwinTransformer, x: torch.Tensor) -> None:
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), original(x), rtol=0, atol=0)


def hf_model(config: SwinConfig = SMALL, seed: int = 0, **extra: object):
    """An HF SwinForImageClassification matching ``config``, every parameter random."""
    hf_config = transformers.SwinConfig(
        image_size=config.img_size, patch_size=config.patch_size, num_channels=config.in_chans,
        embed_dim=config.embed_dim, depths=list(config.depths), num_heads=list(config.num_heads),
        window_size=config.window_size, mlp_ratio=config.mlp_ratio, qkv_bias=config.qkv_bias,
        num_labels=config.num_classes, layer_norm_eps=1e-5, drop_path_rate=0.0, **extra)
    model = transformers.SwinForImageClassification._from_config(
        hf_config, attn_implementation="eager").eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.1)
    return model


def hf_logits(model, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(pixel_values=x).logits


# --- official layout ---------------------------------------------------------------------

def test_official_round_trip(tmp_path: Path) -> None:
    model = randomised(SMALL)
    path = tmp_path / "swin.pth"
    save_official(model, path)
    stored = torch.load(path, map_location="cpu", weights_only=True)
    assert set(stored) == {"model"}
    assert "layers.0.downsample.reduction.weight" in stored["model"]
    assert "layers.2.downsample.reduction.weight" not in stored["model"]
    assert "head.weight" in stored["model"]

    loaded = load_checkpoint(path, img_size=64)
    assert loaded.config == SMALL
    assert not loaded.training
    assert_same_weights(loaded, model)
    assert_same_logits(loaded, model, pixels())


def test_official_bare_state_dict_with_derived_buffers(tmp_path: Path) -> None:
    """The official code stores relative_position_index and attn_mask buffers; they are
    recomputed, not loaded (here they hold garbage that would break the model if used)."""
    model = randomised(SMALL, seed=3)
    state = dict(model.state_dict())
    for stage, depth in enumerate(SMALL.depths):
        for block in range(depth):
            prefix = f"layers.{stage}.blocks.{block}"
            state[f"{prefix}.attn.relative_position_index"] = torch.full((16, 16), 10**6)
            state[f"{prefix}.attn_mask"] = torch.full((4, 16, 16), float("nan"))
    path = tmp_path / "bare.pth"
    torch.save(state, path)
    loaded = load_checkpoint(path, img_size=64)
    assert_same_weights(loaded, model)
    assert_same_logits(loaded, model, pixels())


def test_half_precision_checkpoint_loads_as_float32(tmp_path: Path) -> None:
    model = randomised(SMALL, seed=8)
    path = tmp_path / "half.pth"
    torch.save({"model": {key: value.half() for key, value in model.state_dict().items()}}, path)
    loaded = load_checkpoint(path)
    assert {parameter.dtype for parameter in loaded.parameters()} == {torch.float32}
    x = pixels()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), atol=5e-2, rtol=0)


def test_tensors_the_checkpoint_lacks_are_initialised(tmp_path: Path, monkeypatch) -> None:
    """A model holding a tensor no checkpoint provides (here a non-persistent buffer) is
    built normally rather than left on the meta device."""
    class WithBuffer(SwinTransformer):
        def __init__(self, config: SwinConfig) -> None:
            super().__init__(config)
            self.register_buffer("scale", torch.full((1,), 2.0), persistent=False)

    monkeypatch.setattr(checkpoint_loading, "SwinTransformer", WithBuffer)
    model = randomised(SMALL)
    save_official(model, tmp_path / "swin.pth")
    loaded = load_checkpoint(tmp_path / "swin.pth", img_size=64)
    assert isinstance(loaded, WithBuffer)
    assert not loaded.scale.is_meta and loaded.scale.item() == 2.0
    assert_same_weights(loaded, model)


# --- timm layout -------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_timm_round_trip(tmp_path: Path, suffix: str) -> None:
    model = randomised(SMALL, seed=5)
    path = tmp_path / f"timm{suffix}"
    save_timm(model, path)
    stored = load_file(path) if suffix == ".safetensors" else torch.load(path, weights_only=True)
    # timm merges at the START of stages 1.., from the previous stage's C to 2C channels
    assert not any(key.startswith("layers.0.downsample") for key in stored)
    channels = SMALL.embed_dim
    assert stored["layers.1.downsample.reduction.weight"].shape == (2 * channels, 4 * channels)
    assert stored["layers.2.downsample.reduction.weight"].shape == (4 * channels, 8 * channels)
    assert "head.fc.weight" in stored and "head.weight" not in stored
    assert detect_format(stored) == "timm"

    loaded = load_checkpoint(path, img_size=64)
    assert loaded.config == SMALL
    assert_same_weights(loaded, model)
    assert_same_logits(loaded, model, pixels())


def test_timm_file_written_independently(tmp_path: Path) -> None:
    """A timm state dict built here by the rule of timm's checkpoint_filter_fn (shift each
    merge one stage later, head -> head.fc), with timm's buffers, loads to the same model."""
    model = randomised(SMALL, seed=6)
    timm_state = {}
    for key, value in model.state_dict().items():
        key = re.sub(r"^layers\.(\d+)\.downsample",
                     lambda m: f"layers.{int(m.group(1)) + 1}.downsample", key)
        timm_state[key.replace("head.", "head.fc.")] = value
    timm_state["layers.0.blocks.1.attn_mask"] = torch.zeros(16, 16, 16)
    timm_state["layers.0.blocks.0.attn.relative_position_index"] = torch.zeros(16, 16, dtype=torch.long)
    path = tmp_path / "pytorch_model.bin"
    torch.save(timm_state, path)
    loaded = load_checkpoint(path, img_size=64)
    assert_same_weights(loaded, model)
    assert_same_logits(loaded, model, pixels())
    assert from_official(model.state_dict(), "timm").keys() == {
        key for key in timm_state if not key.endswith(("attn_mask", "relative_position_index"))}


# --- HF transformers layout ----------------------------------------------------------------

@pytest.fixture(scope="module")
def hf_small():
    return hf_model(SMALL, seed=11)


def test_hf_folder_legacy_naming(tmp_path: Path, hf_small) -> None:
    hf_small.save_pretrained(tmp_path)
    stored = load_file(tmp_path / "model.safetensors")
    assert "swin.encoder.layers.0.blocks.0.attention.self.query.weight" in stored
    assert "swin.encoder.layers.0.blocks.0.intermediate.dense.weight" in stored

    loaded = load_checkpoint(tmp_path)
    assert loaded.config == SMALL  # img_size 64 comes from config.json
    x = pixels()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), hf_logits(hf_small, x), atol=1e-5, rtol=1e-5)


def test_hf_folder_v5_naming(tmp_path: Path, hf_small) -> None:
    state = hf_small.state_dict()
    assert "swin.encoder.layers.0.blocks.0.attention.q_proj.weight" in state
    hf_small.config.to_json_file(tmp_path / "config.json")
    save_file({key: value.contiguous() for key, value in state.items()}, tmp_path / "model.safetensors")

    loaded = load_checkpoint(tmp_path)
    assert loaded.config == SMALL
    x = pixels(seed=2)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), hf_logits(hf_small, x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("naming", ["legacy", "v5"])
def test_hf_lone_safetensors(tmp_path: Path, hf_small, naming: str) -> None:
    if naming == "legacy":
        hf_small.save_pretrained(tmp_path / "saved")
        state = load_file(tmp_path / "saved" / "model.safetensors")
    else:
        state = {key: value.contiguous() for key, value in hf_small.state_dict().items()}
    lone = tmp_path / "alone" / "weights.safetensors"
    lone.parent.mkdir()
    save_file(state, lone)

    assert load_checkpoint(lone).config == SMALL.replace(img_size=224)  # no config.json
    loaded = load_checkpoint(lone, img_size=64)
    assert loaded.config == SMALL
    x = pixels(seed=4)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), hf_logits(hf_small, x), atol=1e-5, rtol=1e-5)


def test_config_json_beside_a_lone_file(tmp_path: Path, hf_small) -> None:
    """A Swin config.json next to a lone weights file gives img_size; another model's is
    ignored."""
    hf_small.save_pretrained(tmp_path)
    renamed = tmp_path / "weights.safetensors"
    (tmp_path / "model.safetensors").rename(renamed)
    assert load_checkpoint(renamed).config.img_size == 64
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "vit", "image_size": 384}))
    assert load_checkpoint(renamed).config.img_size == 224
    with pytest.raises(CheckpointError, match="'vit' model"):
        load_checkpoint(tmp_path)


def test_hf_sharded_folder(tmp_path: Path, hf_small) -> None:
    hf_small.save_pretrained(tmp_path, max_shard_size="100KB")
    assert (tmp_path / "model.safetensors.index.json").is_file()
    assert len(list(tmp_path.glob("model-*.safetensors"))) > 1
    loaded = load_checkpoint(tmp_path)
    x = pixels(seed=5)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), hf_logits(hf_small, x), atol=1e-5, rtol=1e-5)


def test_hf_backbone_without_head(tmp_path: Path, hf_small) -> None:
    """SwinModel (no classifier, no ``swin.`` prefix) loads as a features-only model whose
    output is HF's pooled output."""
    hf_small.swin.save_pretrained(tmp_path)
    loaded = load_checkpoint(tmp_path)
    assert loaded.config == SMALL.replace(num_classes=0)
    x = pixels(seed=6)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), hf_small.swin(pixel_values=x).pooler_output,
                                   atol=1e-5, rtol=1e-5)


def test_hf_qkv_fused_in_q_k_v_order(hf_small) -> None:
    official = to_official(hf_small.state_dict())
    attention = hf_small.swin.encoder.layers[1].blocks[1].attention
    fused_weight = official["layers.1.blocks.1.attn.qkv.weight"]
    fused_bias = official["layers.1.blocks.1.attn.qkv.bias"]
    channels = SMALL.stage_dim(1)
    for index, projection in enumerate((attention.q_proj, attention.k_proj, attention.v_proj)):
        rows = slice(index * channels, (index + 1) * channels)
        assert torch.equal(fused_weight[rows], projection.weight)
        assert torch.equal(fused_bias[rows], projection.bias)
    assert torch.equal(official["layers.1.blocks.1.attn.proj.weight"], attention.o_proj.weight)


def test_hf_absolute_position_embeddings_refused(tmp_path: Path) -> None:
    model = hf_model(SMALL, use_absolute_embeddings=True)
    model.save_pretrained(tmp_path / "folder")
    with pytest.raises(CheckpointError, match="use_absolute_embeddings"):
        load_checkpoint(tmp_path / "folder")
    lone = tmp_path / "alone" / "model.safetensors"
    lone.parent.mkdir()
    shutil.copy(tmp_path / "folder" / "model.safetensors", lone)
    with pytest.raises(CheckpointError, match=r"unexpected key 'swin\.embeddings\.position_embeddings'"):
        load_checkpoint(lone, img_size=64)


def test_hf_config_of_another_model_refused(tmp_path: Path, hf_small) -> None:
    hf_small.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["model_type"] = "swinv2"
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="swinv2"):
        load_checkpoint(tmp_path)


def test_hf_missing_projection_named(tmp_path: Path, hf_small) -> None:
    state = {key: value.contiguous() for key, value in hf_small.state_dict().items()
             if key != "swin.encoder.layers.0.blocks.1.attention.k_proj.weight"}
    path = tmp_path / "model.safetensors"
    save_file(state, path)
    with pytest.raises(CheckpointError, match=r"layers\.0\.blocks\.1\.attention\.q_proj\.weight.*key"):
        load_checkpoint(path)


# --- configuration inference ---------------------------------------------------------------

INFERENCE_CONFIGS = [
    SMALL,
    SwinConfig(patch_size=2, in_chans=1, embed_dim=16, depths=(1, 3), num_heads=(2, 4),
               window_size=5, mlp_ratio=2.0, qkv_bias=False, num_classes=0),
    SwinConfig(embed_dim=24, depths=(2,), num_heads=(3,), window_size=3, num_classes=5),
]


@pytest.mark.parametrize("config", INFERENCE_CONFIGS, ids=["small", "odd", "one-stage"])
@pytest.mark.parametrize("layout", ["official", "timm"])
def test_config_inferred_from_shapes(config: SwinConfig, layout: str) -> None:
    state = from_official(SwinTransformer(config).state_dict(), layout)
    assert config_from_state_dict(state) == config.replace(img_size=224)
    assert config_from_state_dict(state, img_size=config.img_size) == config


def test_config_inferred_from_hf_state(hf_small) -> None:
    assert detect_format(hf_small.state_dict()) == "hf"
    assert config_from_state_dict(hf_small.state_dict(), img_size=64) == SMALL


def test_config_inferred_without_head(tmp_path: Path) -> None:
    config = SMALL.replace(num_classes=0)
    model = randomised(config)
    save_official(model, tmp_path / "features.pth")
    loaded = load_checkpoint(tmp_path / "features.pth")
    assert loaded.config.num_classes == 0
    with torch.no_grad():
        assert loaded(pixels()).shape == (2, config.num_features)


def test_window_sizes_differing_between_stages_refused() -> None:
    state = dict(SwinTransformer(SMALL).state_dict())
    state["layers.2.blocks.1.attn.relative_position_bias_table"] = torch.zeros(25, 8)
    with pytest.raises(CheckpointError, match=r"window_size differs.*layers\.2\.blocks\.1"):
        config_from_state_dict(state)


# --- overrides -----------------------------------------------------------------------------

def test_overrides_replace_free_fields(tmp_path: Path) -> None:
    model = randomised(SMALL, seed=7)
    path = tmp_path / "swin.pth"
    save_official(model, path)
    unshifted = load_checkpoint(path, img_size=96, shifted=False)
    assert unshifted.config == SMALL.replace(img_size=96, shifted=False)

    reference = SwinTransformer(SMALL.replace(shifted=False)).eval()
    reference.load_state_dict(model.state_dict())
    x = pixels()
    assert_same_logits(unshifted, reference, x)
    with torch.no_grad():  # the shift changes the features (pooling mostly averages it out)
        assert not torch.allclose(unshifted.forward_grid(x), model.forward_grid(x), atol=1e-2)


def test_override_agreeing_with_shapes_accepted(tmp_path: Path) -> None:
    path = tmp_path / "swin.pth"
    save_official(randomised(SMALL), path)
    loaded = load_checkpoint(path, window_size=4, depths=[2, 2, 2], embed_dim=24, mlp_ratio=4)
    assert loaded.config == SMALL.replace(img_size=224)


@pytest.mark.parametrize(("override", "named"), [
    ({"embed_dim": 48}, "embed_dim"),
    ({"num_heads": (1, 2, 4)}, "num_heads"),
    ({"num_classes": 1000}, "num_classes"),
    ({"qkv_bias": False}, "qkv_bias"),
    ({"colour": "red"}, "colour"),
])
def test_override_contradicting_shapes_refused(tmp_path: Path, override: dict, named: str) -> None:
    path = tmp_path / "swin.pth"
    save_official(randomised(SMALL), path)
    with pytest.raises(CheckpointError, match=named):
        load_checkpoint(path, **override)


def test_a_new_window_resizes_the_tables_as_the_official_code_does(tmp_path: Path) -> None:
    from swin_model.bias_resize import resize_bias_table

    source = randomised(SMALL)
    path = tmp_path / "swin.pth"
    save_official(source, path)
    model = load_checkpoint(path, window_size=7)
    assert model.bias_tables_resized_from == SMALL.window_size
    loaded = dict(model.state_dict())
    windows_used = []
    for key, table in source.state_dict().items():
        if key.endswith("relative_position_bias_table"):
            side = round(loaded[key].shape[0] ** 0.5)
            windows_used.append((side + 1) // 2)
            torch.testing.assert_close(loaded[key], resize_bias_table(table, (side + 1) // 2))
    # the file does not say its input size, so the default 224 applies, where every stage of
    # this model (56, 28, 14 tokens) is larger than the new window: all tables become 7
    assert model.config.img_size == 224
    assert windows_used == [7] * 6
    with pytest.raises((CheckpointError, ValueError)):
        load_checkpoint(path, window_size=0)


# --- strict loading ------------------------------------------------------------------------

def test_missing_misshaped_and_unexpected_keys_named(tmp_path: Path) -> None:
    state = dict(randomised(SMALL).state_dict())
    del state["layers.1.blocks.1.norm2.bias"]
    state["layers.0.blocks.0.attn.proj.weight"] = torch.zeros(24, 12)
    state["decoder.weight"] = torch.zeros(3)
    path = tmp_path / "broken.pth"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert "missing key 'layers.1.blocks.1.norm2.bias'" in message
    assert "'layers.0.blocks.0.attn.proj.weight' has shape (24, 12), expected (24, 24)" in message
    assert "unexpected key 'decoder.weight'" in message


def test_misshaped_timm_key_named_with_its_source(tmp_path: Path) -> None:
    state = from_official(randomised(SMALL).state_dict(), "timm")
    state["layers.2.downsample.reduction.weight"] = torch.zeros(96, 96)
    path = tmp_path / "timm.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"layers\.2\.downsample\.reduction\.weight.*\(96, 96\), "
                                              r"expected \(96, 192\)"):
        load_checkpoint(path)


def test_state_with_non_tensor_values_refused(tmp_path: Path) -> None:
    path = tmp_path / "train.pth"
    torch.save({"epoch": 3, "accuracy": 81.2}, path)
    with pytest.raises(CheckpointError, match=r"not a state dict of tensors.*'epoch'"):
        load_checkpoint(path)


def test_state_without_swin_keys_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(CheckpointError, match=r"patch_embed.proj.weight"):
        load_checkpoint(path)


# --- unreadable and unsafe files -----------------------------------------------------------

def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "absent.pth")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pth"
    path.touch()
    with pytest.raises(CheckpointError, match="empty"):
        load_checkpoint(path)


@pytest.mark.parametrize("name", ["noise.pth", "noise.safetensors", "noise.bin"])
def test_random_bytes(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(bytes(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0))
                           .to(torch.uint8).tolist()))
    with pytest.raises(CheckpointError, match="not a recognised checkpoint"):
        load_checkpoint(path)


def test_truncated_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "swin.pth"
    save_official(randomised(SMALL), path)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(path)


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "swin", "embed_dim": 96}))
    with pytest.raises(CheckpointError, match=r"JSON file, not model weights.*folder"):
        load_checkpoint(path)


def test_folder_without_weights(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"no weights file.*contains: nothing"):
        load_checkpoint(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match=r"no weights file.*config.json"):
        load_checkpoint(tmp_path)


class _OpenPayload:
    """Unpickling this calls open(marker, "w"), creating the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class _SystemPayload:
    """Unpickling this runs a shell command that creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def test_payloads_do_run_when_unpickled_unsafely(tmp_path: Path) -> None:
    """The payloads below are live: plain pickle runs them."""
    for payload in (_OpenPayload, _SystemPayload):
        marker = tmp_path / f"{payload.__name__}.marker"
        pickle.loads(pickle.dumps(payload(marker)))
        assert marker.exists()


def _write_payload(path: Path, marker: Path, kind: str) -> None:
    weights = randomised(SMALL).state_dict()
    if kind == "torch-zip":
        torch.save({"model": weights, "config": _SystemPayload(marker)}, path)
    elif kind == "torch-legacy":
        torch.save({"model": weights, "config": _OpenPayload(marker)}, path,
                   _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps({"model": _OpenPayload(marker)}, protocol=int(kind[-1])))


@pytest.mark.parametrize("kind", ["torch-zip", "torch-legacy", "pickle-0", "pickle-2", "pickle-5"])
def test_pickle_with_code_refused_without_running(tmp_path: Path, kind: str) -> None:
    marker = tmp_path / "payload-ran"
    path = tmp_path / "evil.pth"
    _write_payload(path, marker, kind)
    with pytest.raises(CheckpointError, match=r"contains executable code.*not loaded") as error:
        load_checkpoint(path)
    assert re.search(r"(posix|os|nt)\.system|io\.open|builtins\.open", str(error.value))
    assert not marker.exists()
