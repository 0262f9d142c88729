"""The model: configuration checks, any input size, capture, masking, window shrink."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from swin_model import SwinConfig, SwinTransformer, capture_attention, preset

SMALL = SwinConfig(img_size=64, embed_dim=24, depths=(2, 2, 2), num_heads=(2, 3, 4),
                   window_size=4, num_classes=10)


@pytest.fixture(scope="module")
def small_model() -> SwinTransformer:
    torch.manual_seed(0)
    return SwinTransformer(SMALL).eval()


@pytest.mark.parametrize("field, changes", [
    ("embed_dim", {"embed_dim": 100, "num_heads": (3, 6, 12, 24)}),
    ("window_size", {"window_size": 0}),
    ("img_size", {"img_size": -4}),
    ("num_heads", {"num_heads": (3, 6)}),
    ("depths", {"depths": (2, 0, 6, 2)}),
    ("patch_size", {"patch_size": 0}),
])
def test_config_validation_names_the_field(field: str, changes: dict) -> None:
    with pytest.raises(ValueError, match=field):
        preset("swin-t", **changes)


def test_presets_follow_the_official_configs() -> None:
    assert preset("swin-b").embed_dim == 128 and preset("swin-b").depths == (2, 2, 18, 2)
    assert preset("swin-l").num_heads == (6, 12, 24, 48)
    big = preset("swin-b", img_size=384, window_size=12)
    assert (big.img_size, big.window_size, big.shift_size) == (384, 12, 6)
    with pytest.raises(ValueError, match="unknown preset"):
        preset("swin-x")
    params = sum(p.numel() for p in SwinTransformer(preset("swin-t")).parameters())
    assert params == 28_288_354  # the published 28M of Swin-T


def test_state_dict_uses_the_official_layout(small_model: SwinTransformer) -> None:
    keys = set(small_model.state_dict())
    assert "layers.0.blocks.1.attn.qkv.weight" in keys
    assert "layers.0.downsample.reduction.weight" in keys
    assert "layers.2.downsample.reduction.weight" not in keys
    assert "head.weight" in keys and "patch_embed.proj.weight" in keys
    assert not any("relative_position_index" in k or "attn_mask" in k for k in keys)


@pytest.mark.parametrize("size", [(64, 64), (70, 50), (37, 91)])
def test_any_input_size(small_model: SwinTransformer, size: tuple[int, int]) -> None:
    with torch.no_grad():
        logits = small_model(torch.randn(2, 3, *size))
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()


def test_swin_t_runs_at_230x190() -> None:
    model = SwinTransformer(preset("swin-t")).eval()
    with torch.no_grad(), capture_attention(model, [(3, 1)]) as records:
        logits = model(torch.randn(1, 3, 230, 190))
    assert logits.shape == (1, 1000) and torch.isfinite(logits).all()
    (record,) = records
    assert (record.window_size, record.shift_size) == (6, 0)
    assert record.grid_size == (8, 6) and record.padded_size == (12, 6)
    assert record.attn.shape == (2, 24, 36, 36)


def test_batch_equals_single_images(small_model: SwinTransformer) -> None:
    images = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        together = small_model(images)
        apart = torch.cat([small_model(image[None]) for image in images])
    torch.testing.assert_close(together, apart, atol=1e-5, rtol=1e-5)


def test_capture_equals_plain_and_masks_cross_region_pairs(small_model: SwinTransformer) -> None:
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        plain = small_model(images)
        with capture_attention(small_model) as records:
            captured = small_model(images)
    torch.testing.assert_close(captured, plain, atol=1e-5, rtol=1e-5)
    assert [(r.stage, r.block) for r in records] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    shifted = records[1]
    assert shifted.shift_size == 2 and shifted.mask is not None
    assert shifted.attn.shape == (2 * 16, 2, 16, 16)
    probs = shifted.attn.view(2, 16, 2, 16, 16)
    blocked = (shifted.mask < 0)[None, :, None]
    assert blocked.any()
    assert probs.masked_select(blocked.expand_as(probs)).max() < 1e-30
    torch.testing.assert_close(shifted.attn.sum(-1), torch.ones(32, 2, 16))
    assert records[0].mask is None and records[0].shift_size == 0
    assert shifted.input.shape == (2, 16, 16, 24)
    assert all(block.recorder is None for block in small_model.blocks())


def test_capture_selects_blocks_and_rejects_unknown(small_model: SwinTransformer) -> None:
    with torch.no_grad(), capture_attention(small_model, [(1, 1)]) as records:
        small_model(torch.randn(1, 3, 64, 64))
    assert [(r.stage, r.block) for r in records] == [(1, 1)]
    with pytest.raises(ValueError, match="no block"), capture_attention(small_model, [(5, 0)]):
        pass


def test_unshifted_config_has_no_masks() -> None:
    model = SwinTransformer(SMALL.replace(shifted=False)).eval()
    with torch.no_grad(), capture_attention(model) as records:
        model(torch.randn(1, 3, 64, 64))
    assert all(r.shift_size == 0 and r.mask is None for r in records)


def test_shrunk_window_reads_its_offsets_from_the_big_table() -> None:
    torch.manual_seed(1)
    wide = SwinTransformer(SwinConfig(img_size=24, embed_dim=16, depths=(2,), num_heads=(2,),
                                      window_size=7, num_classes=5)).eval()
    exact = SwinTransformer(wide.config.replace(window_size=6)).eval()
    state = wide.state_dict()
    offsets = torch.arange(-5, 6)
    rows = ((offsets[:, None] + 6) * 13 + (offsets[None, :] + 6)).reshape(-1)
    for key in [k for k in state if k.endswith("relative_position_bias_table")]:
        state[key] = state[key][rows]
    exact.load_state_dict(state)
    image = torch.randn(1, 3, 24, 24)  # a 6x6 grid: the window shrinks from 7 to 6
    with torch.no_grad():
        torch.testing.assert_close(wide(image), exact(image))


def test_bias_cache_follows_loaded_weights(small_model: SwinTransformer) -> None:
    model = SwinTransformer(SMALL).eval()
    image = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        model(image)
        model.load_state_dict(small_model.state_dict())
        torch.testing.assert_close(model(image), small_model(image))


def test_importing_the_core_loads_no_qt() -> None:
    code = "import sys, swin_model; print(sorted(m for m in sys.modules if 'Qt' in m or 'pyqtgraph' in m))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.returncode == 0, output.stderr
    assert output.stdout.strip() == "[]"


def test_geometry_and_cost_load_without_torch() -> None:
    code = ("import sys, swin_model as s; c = s.preset('swin-t'); s.count_macs(c, 230, 190); "
            "s.windows.stage_geometry(c); s.windows.region_map(14, 14, 7, 3); "
            "s.windows.window_token_positions(14, 14, 7, 3); s.windows.attention_mask_array(14, 14, 7, 3); "
            "print('torch' in sys.modules)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.returncode == 0, output.stderr
    assert output.stdout.strip() == "False"


def test_packed_linear_matches_plain_linear() -> None:
    from swin_model.packed_linear import linear, plain_linear

    torch.manual_seed(2)
    layer = torch.nn.Linear(96, 384)
    features = torch.randn(2, 7, 9, 96)
    with torch.no_grad():
        expected = torch.nn.functional.gelu(layer(features))
        torch.testing.assert_close(linear(layer, features, gelu=True), expected, atol=1e-5, rtol=1e-5)
        with plain_linear():
            assert torch.equal(linear(layer, features, gelu=True), expected)
        layer.weight.mul_(2)  # the packed weight follows the change
        torch.testing.assert_close(linear(layer, features), layer(features), atol=1e-5, rtol=1e-5)
    output = linear(layer, features)  # with autograd: the plain path, so gradients flow
    output.sum().backward()
    assert layer.weight.grad is not None
