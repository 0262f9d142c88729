"""Cost of a Swin Transformer: the analytic count and a measured one.

Analytic costs follow the official Microsoft ``flops()`` methods: they count
multiply-accumulates (one MAC = one multiply plus one add), LayerNorm as one MAC per
element, and ignore softmax, GELU, the scale, the bias and mask additions, the residuals
and the average pool. :func:`count_macs` reproduces the official totals to the unit
(Swin-T at 224: 4,494,405,120 MACs), including the official quirks listed there.

:func:`measured_macs` runs one real forward pass under
:class:`torch.utils.flop_counter.FlopCounterMode` and converts its count (two FLOPs per
MAC) back to MACs. The counter sees convolutions and matrix products only, so it matches
:attr:`CostReport.matmul_macs`, the analytic count without the LayerNorms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .config import SwinConfig
from .windows import StageGeometry, stage_geometry

if TYPE_CHECKING:
    import torch

    from .model import SwinTransformer

__all__ = [
    "ATTENTION_PARTS",
    "BLOCK_PARTS",
    "MLP_PART",
    "REPORT_PARTS",
    "BlockCost",
    "CostReport",
    "MeasuredCost",
    "StageCost",
    "attention_omegas",
    "count_macs",
    "count_params",
    "measured_macs",
    "stage_params",
]

BLOCK_PARTS: tuple[str, ...] = ("norm1", "qkv", "qk", "av", "proj", "norm2", "mlp")  # MLP_PART last
"""Keys of :attr:`BlockCost.parts`, in forward order."""

ATTENTION_PARTS: tuple[str, ...] = ("qkv", "qk", "av", "proj")
"""The parts of a block that make up (S)W-MSA."""

MLP_PART = "mlp"
"""The part of a block that is its MLP (fc1, GELU, fc2)."""

REPORT_PARTS: tuple[str, ...] = ("patch_embed", *BLOCK_PARTS, "merging", "final_norm", "head")
"""Keys of :meth:`CostReport.by_part`, in forward order."""


# --- analytic cost -------------------------------------------------------------------------

@dataclass(frozen=True)
class BlockCost:
    """MACs of one Swin block for one image.

    ``parts`` maps each name of :data:`BLOCK_PARTS` to its MACs: ``norm1`` and ``norm2``
    (LayerNorm, h·w·C each), ``qkv`` (fused Q, K, V projection), ``qk`` (QKᵀ in every
    window), ``av`` (softmax(·)·V), ``proj`` (output projection) and ``mlp`` (fc1 + fc2).
    """

    stage: int
    block: int
    window_size: int
    shift_size: int
    parts: dict[str, int] = field(hash=False)

    @property
    def attention(self) -> int:
        """MACs of the (S)W-MSA: qkv + qk + av + proj."""
        return sum(self.parts[name] for name in ATTENTION_PARTS)

    @property
    def macs(self) -> int:
        return sum(self.parts.values())


@dataclass(frozen=True)
class StageCost:
    """MACs of one stage for one image: its blocks and the patch merging that ends it.

    ``height x width`` is the stage's token grid and ``padded_height x padded_width`` the
    grid after padding to the effective window ``window_size``. ``shift_size`` is the
    shift of the odd (SW-MSA) blocks. ``msa_omega`` and ``wmsa_omega`` are the lecture's
    costs of one attention layer on this stage: Ω(MSA) = 4hwC² + 2(hw)²C over the unpadded
    grid, and Ω(W-MSA) = 4hwC² + 2M²hwC over the padded grid, which equals the block's
    qkv + qk + av + proj. ``merging_norm`` and ``merging_reduction`` are 0 for the last
    stage, which has no merging.
    """

    stage: int
    height: int
    width: int
    padded_height: int
    padded_width: int
    channels: int
    num_heads: int
    window_size: int
    shift_size: int
    depth: int
    num_windows: int
    blocks: tuple[BlockCost, ...]
    merging_norm: int
    merging_reduction: int
    msa_omega: int
    wmsa_omega: int

    @property
    def merging(self) -> int:
        """MACs of the patch merging at the end of this stage (LayerNorm + reduction)."""
        return self.merging_norm + self.merging_reduction

    @property
    def macs(self) -> int:
        return sum(block.macs for block in self.blocks) + self.merging


@dataclass(frozen=True)
class CostReport:
    """Analytic cost of one forward pass of one ``img_height x img_width`` image.

    All counts are multiply-accumulates (the official ``flops()`` convention); ``flops``
    doubles them. ``params`` is the number of learnable parameters.
    """

    config: SwinConfig
    img_height: int
    img_width: int
    patch_embed_proj: int
    patch_embed_norm: int
    stages: tuple[StageCost, ...]
    final_norm: int
    head: int
    params: int

    @property
    def patch_embed(self) -> int:
        """MACs of the patch embedding: the P×P stride-P convolution plus its LayerNorm."""
        return self.patch_embed_proj + self.patch_embed_norm

    @property
    def blocks(self) -> tuple[BlockCost, ...]:
        """Every block of every stage, in forward order."""
        return tuple(block for stage in self.stages for block in stage.blocks)

    @property
    def total(self) -> int:
        return self.patch_embed + sum(stage.macs for stage in self.stages) + self.final_norm + self.head

    @property
    def flops(self) -> int:
        """Floating-point operations, counting a multiply-accumulate as two."""
        return 2 * self.total

    @property
    def matmul_macs(self) -> int:
        """The MACs of convolutions and matrix products only (everything but LayerNorms):
        what a FLOP counter such as FlopCounterMode sees, halved."""
        by_part = self.by_part()
        merging_reduction = sum(stage.merging_reduction for stage in self.stages)
        return (self.patch_embed_proj + self.attention_macs + by_part[MLP_PART] + merging_reduction
                + self.head)

    @property
    def attention_macs(self) -> int:
        """The MACs of every (S)W-MSA of the network (:data:`ATTENTION_PARTS`)."""
        by_part = self.by_part()
        return sum(by_part[name] for name in ATTENTION_PARTS)

    def by_part(self) -> dict[str, int]:
        """MACs summed over the whole network per kind of operation, keyed by
        :data:`REPORT_PARTS`; the values add up to :attr:`total`."""
        totals = dict.fromkeys(REPORT_PARTS, 0)
        totals["patch_embed"] = self.patch_embed
        for block in self.blocks:
            for name, macs in block.parts.items():
                totals[name] += macs
        totals["merging"] = sum(stage.merging for stage in self.stages)
        totals["final_norm"] = self.final_norm
        totals["head"] = self.head
        return totals


def _mlp_hidden(config: SwinConfig, channels: int) -> int:
    return int(channels * config.mlp_ratio)


def _block_cost(config: SwinConfig, geometry: StageGeometry, block: int) -> BlockCost:
    tokens = geometry.height * geometry.width
    channels = geometry.channels
    head_dim = channels // geometry.num_heads
    window_tokens = geometry.tokens_per_window
    # per window of N = M² tokens, as WindowAttention.flops(N); all windows, padded ones too
    windows = geometry.num_windows
    parts = {
        "norm1": tokens * channels,
        "qkv": windows * window_tokens * channels * 3 * channels,
        "qk": windows * geometry.num_heads * window_tokens * head_dim * window_tokens,
        "av": windows * geometry.num_heads * window_tokens * window_tokens * head_dim,
        "proj": windows * window_tokens * channels * channels,
        "norm2": tokens * channels,
        "mlp": 2 * tokens * channels * _mlp_hidden(config, channels),
    }
    return BlockCost(stage=geometry.stage, block=block, window_size=geometry.window_size,
                     shift_size=geometry.block_shift(block), parts=parts)


def _stage_cost(config: SwinConfig, geometry: StageGeometry,
                next_geometry: StageGeometry | None) -> StageCost:
    channels = geometry.channels
    if next_geometry is None:
        merging_norm = merging_reduction = 0
    else:
        merged_tokens = next_geometry.height * next_geometry.width
        merging_norm = merged_tokens * 4 * channels
        merging_reduction = merged_tokens * 4 * channels * 2 * channels
    return StageCost(
        stage=geometry.stage,
        height=geometry.height,
        width=geometry.width,
        padded_height=geometry.padded_height,
        padded_width=geometry.padded_width,
        channels=channels,
        num_heads=geometry.num_heads,
        window_size=geometry.window_size,
        shift_size=geometry.shift_size,
        depth=geometry.depth,
        num_windows=geometry.num_windows,
        blocks=tuple(_block_cost(config, geometry, block) for block in range(geometry.depth)),
        merging_norm=merging_norm,
        merging_reduction=merging_reduction,
        msa_omega=_msa_omega(geometry),
        wmsa_omega=_wmsa_omega(geometry),
    )


def _msa_omega(geometry: StageGeometry) -> int:
    """The lecture's Ω(MSA) = 4hwC² + 2(hw)²C of one layer on the stage's h × w grid."""
    tokens, channels = geometry.height * geometry.width, geometry.channels
    return 4 * tokens * channels**2 + 2 * tokens**2 * channels


def _wmsa_omega(geometry: StageGeometry) -> int:
    """The lecture's Ω(W-MSA) = 4hwC² + 2M²hwC of one layer, h × w padded to the window."""
    padded_tokens, channels = geometry.padded_height * geometry.padded_width, geometry.channels
    return 4 * padded_tokens * channels**2 + 2 * geometry.window_size**2 * padded_tokens * channels


def attention_omegas(config: SwinConfig, img_height: int, img_width: int) -> tuple[int, int]:
    """(Σ depth·Ω(MSA), Σ depth·Ω(W-MSA)) over the stages of an ``img_height x img_width``
    input: the attention cost of the whole model with global against windowed attention,
    as :func:`count_macs` reports it per stage, without counting anything else."""
    geometries = stage_geometry(config, img_height, img_width)
    return (sum(g.depth * _msa_omega(g) for g in geometries),
            sum(g.depth * _wmsa_omega(g) for g in geometries))


def count_macs(config: SwinConfig, img_height: int | None = None,
               img_width: int | None = None) -> CostReport:
    """Analytic MACs of one forward pass of a ``img_height x img_width`` image
    (``config.img_size`` square by default; a lone ``img_height`` means a square image).

    The terms are those of the official ``flops()`` methods:

    - patch embedding: Ho·Wo·C·in_chans·P² for the convolution, Ho·Wo·C for its LayerNorm;
    - each block: norm1 and norm2 h·w·C each; per window of N = M² tokens, qkv N·3C²,
      QKᵀ and softmax·V heads·N²·(C/heads) each, proj N·C²; mlp 2·h·w·C·hidden;
    - each patch merging: its LayerNorm over the merged 4C tokens, h'·w'·4C (the official
      h·w·C), and the reduction h'·w'·4C·2C;
    - the final LayerNorm, with the official quirk ``num_features·Ho·Wo // 2**num_stages``:
      the divisor is 2 to the number of stages, not 4 to the number of merges, so for four
      stages this counts 4x the LayerNorm's real work. Kept to match the published totals;
    - the head, num_features·num_classes.

    Each stage uses the effective window and shift of
    :func:`swin_model.windows.stage_geometry`: a stage whose grid is no larger than the
    window gets one window of side min(h, w) and no shift.

    Sizes that do not divide (a convention, since the official code rejects them): the
    image is padded to a multiple of the patch, so Ho, Wo round up; every merge rounds
    the grid up (odd grids gain a row or column before merging); attention is counted over
    the grid padded to a multiple of the window, as the model computes it, while the norms
    and the MLP count the real h·w tokens. When every size divides, this equals the
    official count exactly. The MLP hidden width is ``int(C·mlp_ratio)`` as in the model
    (the official formula multiplies by the float ratio; identical for ratio 4).
    """
    img_height = config.img_size if img_height is None else img_height
    img_width = img_height if img_width is None else img_width
    geometries = stage_geometry(config, img_height, img_width)
    first = geometries[0]
    grid_tokens = first.height * first.width
    stages = tuple(
        _stage_cost(config, geometry, geometries[index + 1] if index + 1 < len(geometries) else None)
        for index, geometry in enumerate(geometries)
    )
    return CostReport(
        config=config,
        img_height=img_height,
        img_width=img_width,
        patch_embed_proj=grid_tokens * config.embed_dim * config.in_chans * config.patch_size**2,
        patch_embed_norm=grid_tokens * config.embed_dim,
        stages=stages,
        final_norm=config.num_features * grid_tokens // 2**config.num_stages,
        head=config.num_features * config.num_classes,
        params=count_params(config),
    )


def count_params(config: SwinConfig) -> int:
    """Learnable parameters of ``SwinTransformer(config)``: the patch embedding (convolution
    with bias, LayerNorm), every stage as :func:`stage_params` counts it, the final LayerNorm
    and the head (none when ``num_classes`` is 0)."""
    embed = config.embed_dim
    patch_embed = config.in_chans * config.patch_size**2 * embed + embed + 2 * embed
    final_norm = 2 * config.num_features
    head = config.num_features * config.num_classes + config.num_classes if config.num_classes > 0 else 0
    return patch_embed + sum(stage_params(config)) + final_norm + head


def stage_params(config: SwinConfig) -> list[int]:
    """Learnable parameters of each stage of ``SwinTransformer(config)``, as
    ``model.layers[i].parameters()`` counts them: the stage's blocks plus the patch merging
    that ends it (every stage but the last, as in the official and HF layouts).

    Per block of C channels: two LayerNorms (2C each), qkv (3C·C, plus 3C if ``qkv_bias``),
    proj (C·C + C), a relative position bias table of (2M−1)²·heads with the stage's
    configured M (``config.stage_window``; the table keeps its size where the window shrinks
    at run time) and the MLP (C·hidden + hidden +
    hidden·C + C). Per merging: a LayerNorm over 4C (2·4C) and a 4C→2C reduction without
    bias (4C·2C).
    """
    return [config.depths[stage] * _block_params(config, stage) + _merging_params(config, stage)
            for stage in range(config.num_stages)]


def _block_params(config: SwinConfig, stage: int) -> int:
    """Learnable parameters of one block of stage ``stage`` (0-based)."""
    channels = config.stage_dim(stage)
    hidden = _mlp_hidden(config, channels)
    norms = 2 * (2 * channels)
    qkv = 3 * channels * channels + (3 * channels if config.qkv_bias else 0)
    proj = channels * channels + channels
    bias_table = (2 * config.stage_window(stage) - 1) ** 2 * config.num_heads[stage]
    mlp = channels * hidden + hidden + hidden * channels + channels
    return norms + qkv + proj + bias_table + mlp


def _merging_params(config: SwinConfig, stage: int) -> int:
    """Learnable parameters of the patch merging that ends stage ``stage``; 0 for the last."""
    if stage == config.num_stages - 1:
        return 0
    channels = config.stage_dim(stage)
    return 2 * 4 * channels + 4 * channels * 2 * channels


# --- measured cost -------------------------------------------------------------------------

@dataclass(frozen=True)
class MeasuredCost:
    """MACs counted by :class:`torch.utils.flop_counter.FlopCounterMode` during one real
    forward pass of ``batch_size`` images of ``img_height x img_width``.

    ``total`` covers the whole batch; ``by_op`` splits it by aten operator (``"aten.mm"``,
    ``"aten.bmm"``, ``"aten.convolution"``, ...). Only convolutions and matrix products are
    counted, so :attr:`per_image` is comparable to :attr:`CostReport.matmul_macs`.
    """

    total: int
    by_op: dict[str, int] = field(hash=False)
    batch_size: int
    img_height: int
    img_width: int

    @property
    def per_image(self) -> int:
        return self.total // self.batch_size

    @property
    def flops(self) -> int:
        return 2 * self.total


def measured_macs(model: SwinTransformer, pixels: torch.Tensor) -> MeasuredCost:
    """Run ``model`` once on ``pixels`` ((batch, in_chans, H, W) or (in_chans, H, W)) under
    FlopCounterMode and return the MACs it counted (its FLOPs halved).

    FlopCounterMode in torch 2.13 has no formula for the CPU kernel of
    ``F.scaled_dot_product_attention`` (``aten._scaled_dot_product_flash_attention_for_cpu``)
    and would count QKᵀ and softmax·V as zero. The forward therefore runs with every block
    captured by :func:`swin_model.capture.capture_attention`, whose explicit path computes
    both products as matmuls the counter sees. The logits are the same either way.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from .capture import capture_attention
    from .packed_linear import plain_linear

    if pixels.dim() == 3:
        pixels = pixels.unsqueeze(0)
    if pixels.dim() != 4:
        raise ValueError(f"pixels must be (batch, channels, H, W) or (channels, H, W), "
                         f"got shape {tuple(pixels.shape)}")
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), capture_attention(model), plain_linear(), counter:
        model(pixels)
    by_op: dict[str, int] = {}
    for op, flops in counter.get_flop_counts().get("Global", {}).items():
        if flops:
            by_op[str(op)] = flops // 2
    return MeasuredCost(total=counter.get_total_flops() // 2, by_op=by_op,
                        batch_size=pixels.shape[0], img_height=pixels.shape[-2],
                        img_width=pixels.shape[-1])
