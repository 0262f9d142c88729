"""Analytic cost against the published Swin figures, and against a measured forward pass."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from swin_model.capture import capture_attention
from swin_model.config import SwinConfig, preset
from swin_model.flops import REPORT_PARTS, attention_omegas, count_macs, measured_macs, stage_params
from swin_model.model import SwinTransformer
from swin_model.windows import stage_geometry

SMALL = SwinConfig(img_size=64, embed_dim=32, depths=(2, 2), num_heads=(2, 4), window_size=4,
                   num_classes=10)
"""Two stages: 16x16 tokens with four 4x4 windows per side, then 8x8."""

ODD = SwinConfig(img_size=64, embed_dim=24, depths=(2, 3, 1), num_heads=(2, 3, 6), window_size=5,
                 mlp_ratio=2.5, qkv_bias=False, num_classes=0)
"""Non-dividing window, odd depth, non-integer MLP ratio, no qkv bias and no head."""


def _384(name: str) -> SwinConfig:
    return preset(name, img_size=384, window_size=12)


# --- the published figures -----------------------------------------------------------------

def test_swin_t_224_equals_the_official_count_exactly() -> None:
    assert count_macs(preset("swin-t")).total == 4_494_405_120


def test_swin_b_384_window_12_equals_the_official_count_exactly() -> None:
    assert count_macs(_384("swin-b")).total == 47_105_253_376


@pytest.mark.parametrize(("config", "published_gmacs"), [
    (preset("swin-t"), 4.5),
    (preset("swin-s"), 8.7),
    (preset("swin-b"), 15.4),
    (preset("swin-l"), 34.5),
    (_384("swin-b"), 47.1),
])
def test_totals_round_to_the_published_gmacs(config: SwinConfig, published_gmacs: float) -> None:
    assert round(count_macs(config).total / 1e9, 1) == published_gmacs


def test_swin_l_384_matches_the_published_figure_truncated() -> None:
    # README and paper list 103.9G; the official formula gives 103.95G, so the published
    # figure is truncated, not rounded (the paper's Table 1 likewise lists Swin-B 384 as
    # 47.0G against 47.1G in the README).
    total = count_macs(_384("swin-l")).total
    assert total // 10**8 == 1039
    assert 103.9e9 < total < 104.0e9


@pytest.mark.parametrize(("config", "published_millions"), [
    (preset("swin-t"), 28),
    (preset("swin-s"), 50),
    (preset("swin-b"), 88),
    (preset("swin-l"), 197),
    (_384("swin-b"), 88),
    (_384("swin-l"), 197),
])
def test_params_round_to_the_published_millions(config: SwinConfig, published_millions: int) -> None:
    assert round(count_macs(config).params / 1e6) == published_millions


# --- structure of the report ---------------------------------------------------------------

@pytest.mark.parametrize(("config", "size"), [
    (preset("swin-t"), (224, 224)),
    (_384("swin-b"), (384, 384)),
    (preset("swin-t"), (230, 190)),
    (ODD, (75, 43)),
])
def test_parts_add_up_to_the_total(config: SwinConfig, size: tuple[int, int]) -> None:
    report = count_macs(config, *size)
    by_part = report.by_part()
    assert tuple(by_part) == REPORT_PARTS
    assert sum(by_part.values()) == report.total
    assert sum(stage.macs for stage in report.stages) + report.patch_embed + report.final_norm \
        + report.head == report.total
    assert report.flops == 2 * report.total
    assert all(value > 0 for name, value in by_part.items() if name != "head" or config.num_classes)


def test_default_size_is_the_config_square() -> None:
    config = preset("swin-t")
    assert count_macs(config) == count_macs(config, 224, 224)
    assert count_macs(config, 160) == count_macs(config, 160, 160)
    assert count_macs(config, 160).total < count_macs(config).total


def test_stage_sizes_follow_the_window_geometry() -> None:
    report = count_macs(preset("swin-t"), 230, 190)
    for stage, geometry in zip(report.stages, stage_geometry(preset("swin-t"), 230, 190), strict=True):
        assert (stage.height, stage.width) == (geometry.height, geometry.width)
        assert (stage.padded_height, stage.padded_width) == (geometry.padded_height,
                                                             geometry.padded_width)
        assert (stage.window_size, stage.shift_size) == (geometry.window_size, geometry.shift_size)
        assert len(stage.blocks) == geometry.depth
    assert [(s.height, s.width) for s in report.stages] == [(58, 48), (29, 24), (15, 12), (8, 6)]
    assert report.stages[-1].merging == 0
    assert all(stage.merging > 0 for stage in report.stages[:-1])


# --- Ω(MSA) and Ω(W-MSA) -------------------------------------------------------------------

@pytest.mark.parametrize("config", [preset("swin-t"), preset("swin-s"), _384("swin-b"), SMALL])
def test_wmsa_omega_equals_the_blocks_attention_parts(config: SwinConfig) -> None:
    for stage in count_macs(config).stages:
        for block in stage.blocks:
            assert block.attention == stage.wmsa_omega


def test_wmsa_omega_counts_padded_windows_when_sizes_do_not_divide() -> None:
    stage = count_macs(preset("swin-t"), 230, 190).stages[0]  # 58x48 tokens, padded to 63x49
    assert (stage.padded_height, stage.padded_width, stage.num_windows) == (63, 49, 63)
    assert all(block.attention == stage.wmsa_omega for block in stage.blocks)
    real_qkv_and_proj = 4 * stage.height * stage.width * stage.channels**2
    assert stage.blocks[0].parts["qkv"] + stage.blocks[0].parts["proj"] > real_qkv_and_proj


def test_msa_costs_more_than_wmsa_except_with_a_single_window() -> None:
    report = count_macs(preset("swin-t"))
    for stage in report.stages[:3]:
        assert stage.num_windows > 1
        assert stage.msa_omega > stage.wmsa_omega
    last = report.stages[3]  # 7x7 tokens: one 7x7 window, so W-MSA is global attention
    assert last.num_windows == 1
    assert last.msa_omega == last.wmsa_omega


def test_doubling_the_input_scales_msa_quadratically_and_wmsa_linearly() -> None:
    config = preset("swin-t")
    small, large = count_macs(config, 224).stages[0], count_macs(config, 448).stages[0]
    assert (large.height * large.width) == 4 * (small.height * small.width)
    assert small.window_size == large.window_size == 7

    def projections(stage) -> int:  # 4hwC²: the qkv and proj parts of one block
        return stage.blocks[0].parts["qkv"] + stage.blocks[0].parts["proj"]

    def window_products(stage) -> int:  # 2M²hwC: QKᵀ and softmax·V
        return stage.blocks[0].parts["qk"] + stage.blocks[0].parts["av"]

    assert projections(large) == 4 * projections(small)
    assert (large.msa_omega - projections(large)) == 16 * (small.msa_omega - projections(small))
    assert (large.wmsa_omega - projections(large)) == 4 * (small.wmsa_omega - projections(small))
    assert window_products(large) == 4 * window_products(small)


# --- windows that shrink -------------------------------------------------------------------

def test_swin_t_224_last_stage_has_no_shift() -> None:
    stages = count_macs(preset("swin-t")).stages
    assert [stage.shift_size for stage in stages] == [3, 3, 3, 0]
    assert [block.shift_size for block in stages[0].blocks] == [0, 3]
    assert [block.shift_size for block in stages[3].blocks] == [0, 0]
    assert stages[3].window_size == 7
    assert (stages[3].height, stages[3].width) == (7, 7)


def test_window_shrinks_to_a_small_last_stage() -> None:
    stages = count_macs(preset("swin-t", window_size=12), 224).stages
    # 14x14 at stage 3 is larger than 12: padded to 24x24, four windows, shifted
    assert (stages[2].window_size, stages[2].shift_size, stages[2].num_windows) == (12, 6, 4)
    # 7x7 at stage 4 is smaller: one 7x7 window, no shift
    assert (stages[3].window_size, stages[3].shift_size, stages[3].num_windows) == (7, 0, 1)
    assert stages[3].blocks[0].parts["qk"] == 24 * 49 * (768 // 24) * 49


# --- parameters ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def swin_t() -> SwinTransformer:
    torch.manual_seed(0)
    return SwinTransformer(preset("swin-t")).eval()


def _parameter_count(model: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def test_params_equal_the_swin_t_model(swin_t: SwinTransformer) -> None:
    assert count_macs(preset("swin-t")).params == _parameter_count(swin_t)


@pytest.mark.parametrize("config", [SMALL, ODD, preset("swin-t", window_size=12, num_classes=7)])
def test_params_equal_the_model(config: SwinConfig) -> None:
    assert count_macs(config).params == _parameter_count(SwinTransformer(config))


STAGE_PARAM_CONFIGS = {
    "swin-t-224": preset("swin-t"),
    "swin-s-224": preset("swin-s"),
    "swin-b-224": preset("swin-b"),
    "swin-l-224": preset("swin-l"),
    "swin-b-384": _384("swin-b"),
}


@pytest.mark.parametrize("config", list(STAGE_PARAM_CONFIGS.values()), ids=list(STAGE_PARAM_CONFIGS))
def test_stage_params_equal_the_model_stages(config: SwinConfig) -> None:
    """Each official stage (``model.layers[i]``: blocks, then the merging that ends it) has
    the parameters :func:`stage_params` counts; built on the meta device, shapes only."""
    with torch.device("meta"):
        model = SwinTransformer(config)
    assert stage_params(config) == [_parameter_count(stage) for stage in model.layers]
    assert count_macs(config).params == _parameter_count(model)


@pytest.mark.parametrize("config", list(STAGE_PARAM_CONFIGS.values()), ids=list(STAGE_PARAM_CONFIGS))
def test_stage_params_equal_the_hf_stages(config: SwinConfig) -> None:
    """HF's ``encoder.layers[i]`` also ends with the stage's downsample, so it holds the same
    parameters; its ``relative_position_index`` is a buffer and is not counted. Built offline
    from a SwinConfig on the meta device (shapes only, no weights)."""
    transformers = pytest.importorskip("transformers")
    hf_config = transformers.SwinConfig(
        image_size=config.img_size, patch_size=config.patch_size, num_channels=config.in_chans,
        embed_dim=config.embed_dim, depths=list(config.depths), num_heads=list(config.num_heads),
        window_size=config.window_size, mlp_ratio=config.mlp_ratio, qkv_bias=config.qkv_bias)
    with torch.device("meta"):
        hf_model = transformers.SwinModel(hf_config)
    hf_stages = list(hf_model.encoder.layers)
    assert [stage.downsample is not None for stage in hf_stages] == [True] * (config.num_stages - 1) + [False]
    buffers = {name.rsplit(".", 1)[-1] for stage in hf_stages for name, _ in stage.named_buffers()}
    parameters = {name.rsplit(".", 1)[-1] for stage in hf_stages for name, _ in stage.named_parameters()}
    assert "relative_position_index" in buffers
    assert "relative_position_index" not in parameters
    assert stage_params(config) == [_parameter_count(stage) for stage in hf_stages]


# --- measured against analytic ----------------------------------------------------------------

def _analytic_by_op(config: SwinConfig, size: tuple[int, int]) -> dict[str, int]:
    """Which aten op computes which analytic term in torch 2.13: the conv, the linears
    with bias (addmm), the bias-free ones (mm) and the two window products (bmm)."""
    report = count_macs(config, *size)
    parts = report.by_part()
    bias_free = sum(stage.merging_reduction for stage in report.stages)
    with_bias = parts["proj"] + parts["mlp"] + report.head
    if config.qkv_bias:
        with_bias += parts["qkv"]
    else:
        bias_free += parts["qkv"]
    return {"aten.convolution": report.patch_embed_proj, "aten.addmm": with_bias,
            "aten.mm": bias_free, "aten.bmm": parts["qk"] + parts["av"]}


@contextmanager
def _layer_norm_elements(model: torch.nn.Module) -> Iterator[dict[str, int]]:
    """Elements each LayerNorm of ``model`` normalises per image, keyed by module name,
    filled during the forward passes inside the block."""
    counts: dict[str, int] = {}
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.LayerNorm):
            def record(module: torch.nn.Module, inputs: tuple[torch.Tensor], output: torch.Tensor,
                       name: str = name) -> None:
                counts[name] = inputs[0].numel() // inputs[0].shape[0]
            handles.append(module.register_forward_hook(record))
    try:
        yield counts
    finally:
        for handle in handles:
            handle.remove()


@pytest.mark.parametrize(("config", "size"), [(ODD, (75, 43)), (SMALL, (70, 54))])
def test_layer_norm_terms_equal_the_elements_normalised(config: SwinConfig,
                                                        size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    model = SwinTransformer(config).eval()
    with _layer_norm_elements(model) as normalised, torch.no_grad():
        model(torch.randn(2, 3, *size))
    report = count_macs(config, *size)
    assert report.patch_embed_norm == normalised["patch_embed.norm"]
    for stage in report.stages:
        for block in stage.blocks:
            prefix = f"layers.{stage.stage}.blocks.{block.block}"
            assert block.parts["norm1"] == normalised[f"{prefix}.norm1"]
            assert block.parts["norm2"] == normalised[f"{prefix}.norm2"]
        if stage.stage < config.num_stages - 1:
            assert stage.merging_norm == normalised[f"layers.{stage.stage}.downsample.norm"]


@pytest.mark.parametrize(("config", "size"), [
    (SMALL, (64, 64)),
    (SMALL, (70, 54)),
    (ODD, (75, 43)),
])
def test_measured_equals_analytic_matmuls(config: SwinConfig, size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    model = SwinTransformer(config).eval()
    measured = measured_macs(model, torch.randn(2, 3, *size))
    analytic = count_macs(config, *size)
    assert measured.batch_size == 2
    assert (measured.img_height, measured.img_width) == size
    assert measured.per_image == analytic.matmul_macs
    assert measured.total == 2 * analytic.matmul_macs
    assert measured.flops == 2 * measured.total
    expected = {op: 2 * macs for op, macs in _analytic_by_op(config, size).items() if macs}
    assert measured.by_op == expected


def test_measured_equals_analytic_on_swin_t_224(swin_t: SwinTransformer) -> None:
    with _layer_norm_elements(swin_t) as normalised:
        measured = measured_macs(swin_t, torch.randn(3, 224, 224))
    analytic = count_macs(preset("swin-t"))
    assert measured.batch_size == 1
    assert measured.total == analytic.matmul_macs
    # the counter does not see LayerNorms: the rest of the official total
    by_part = analytic.by_part()
    merging_norms = sum(stage.merging_norm for stage in analytic.stages)
    assert analytic.total - analytic.matmul_macs == (
        analytic.patch_embed_norm + by_part["norm1"] + by_part["norm2"] + merging_norms
        + analytic.final_norm)
    # the official final-norm quirk: 768·56·56 // 2**4 is four times the 7x7x768 normalised
    assert normalised["norm"] == 7 * 7 * 768
    assert analytic.final_norm == 4 * normalised["norm"]


def test_fused_attention_is_invisible_to_the_counter_on_cpu() -> None:
    # Why measured_macs captures every block: in torch 2.13 FlopCounterMode has no formula
    # for the CPU kernel of scaled_dot_product_attention, so a plain forward misses QKᵀ and AV.
    # (The oneDNN linear path is invisible to it too, hence plain_linear here.)
    from torch.utils.flop_counter import FlopCounterMode

    from swin_model.packed_linear import plain_linear

    torch.manual_seed(0)
    model = SwinTransformer(SMALL).eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), plain_linear(), counter:
        model(torch.randn(1, 3, 64, 64))
    parts = count_macs(SMALL).by_part()
    assert counter.get_total_flops() // 2 == count_macs(SMALL).matmul_macs - parts["qk"] - parts["av"]


def test_measured_forward_leaves_no_capture_behind() -> None:
    torch.manual_seed(0)
    model = SwinTransformer(SMALL).eval()
    pixels = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = model(pixels)
    measured_macs(model, pixels)
    with torch.no_grad(), capture_attention(model, [(1, 1)]) as records:
        after = model(pixels)
    assert [(record.stage, record.block) for record in records] == [(1, 1)]
    torch.testing.assert_close(after, before)


def test_measured_rejects_a_badly_shaped_input() -> None:
    with pytest.raises(ValueError, match="pixels must be"):
        measured_macs(SwinTransformer(SMALL), torch.randn(64, 64))


@seed(9)
@settings(max_examples=60, deadline=None)
@given(height=st.integers(1, 1600), width=st.integers(1, 1600), window=st.integers(2, 16),
       name=st.sampled_from(["swin-t", "swin-b"]))
def test_attention_omegas_are_the_reports_stage_sums(height: int, width: int, window: int, name: str) -> None:
    config = preset(name, window_size=window)
    report = count_macs(config, height, width)
    assert attention_omegas(config, height, width) == (
        sum(stage.depth * stage.msa_omega for stage in report.stages),
        sum(stage.depth * stage.wmsa_omega for stage in report.stages),
    )
