"""Recording attention during a forward pass: chosen blocks, or what every block needs.

:func:`capture_attention` records the attention probabilities of chosen blocks while the
caller runs the model. :func:`capture_all` runs the model once and keeps what any block's
attention view needs, so that moving to another stage or block needs no new run:

- ``"attention"``: every block's probabilities (and input);
- ``"inputs"``: every block's input only; a block's probabilities are recomputed from it on
  request by :func:`block_record`, which runs just that block's LN, partition, QKᵀ and
  softmax (milliseconds, not the whole model);
- ``"block"``: one block's probabilities and input, as :func:`capture_attention` does.

:func:`estimate_capture_bytes` tells the size of each before the run, and
:func:`choose_capture_mode` takes the most complete one within a byte budget.

This module imports without torch (the names that need it load it on first use), so the
sizes can be estimated where only geometry is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

from .config import SwinConfig
from .windows import stage_geometry

if TYPE_CHECKING:
    import torch

    from .layers import SwinBlock
    from .model import SwinTransformer

__all__ = [
    "CAPTURE_MODES",
    "DEFAULT_CAPTURE_BUDGET",
    "AttentionRecord",
    "CaptureMode",
    "CapturedRun",
    "block_attention",
    "block_record",
    "capture_all",
    "capture_attention",
    "choose_capture_mode",
    "estimate_capture_bytes",
]

CaptureMode = Literal["attention", "inputs", "block"]
CAPTURE_MODES: tuple[CaptureMode, ...] = get_args(CaptureMode)
"""From the most to the least kept: every block's attention, every block's input, one block."""

DEFAULT_CAPTURE_BUDGET = 1 << 30
"""Bytes a :func:`capture_all` may keep (1 GiB) before it falls back to a smaller mode."""

BlockKey = tuple[int, int]
"""(stage, block), 0-based."""


@dataclass(frozen=True)
class AttentionRecord:
    """What one captured block computed in one forward pass.

    ``attn`` is (batch * num_windows, heads, N, N) softmax probabilities with N = M*M,
    ``mask`` (num_windows, N, N) of 0/-100 or None for W-MSA, ``input`` the block's input
    (batch, H, W, C). Sizes are the ones actually used: the effective window and shift and
    the grid before (``grid_size``) and after (``padded_size``) padding to the window.
    """

    stage: int
    block: int
    window_size: int
    shift_size: int
    grid_size: tuple[int, int]
    padded_size: tuple[int, int]
    mask: torch.Tensor | None
    attn: torch.Tensor
    input: torch.Tensor


# --- sizes ---------------------------------------------------------------------------------------

def _block_bytes(config: SwinConfig, height: int, width: int, batch: int, item_bytes: int
                 ) -> dict[BlockKey, tuple[int, int]]:
    """(attention bytes, input bytes) of every block for one run on ``height x width``
    pixels: batch * nW * heads * N² and batch * h * w * C elements."""
    sizes: dict[BlockKey, tuple[int, int]] = {}
    for geometry in stage_geometry(config, height, width):
        stage = geometry.stage
        count = geometry.tokens_per_window
        attention = batch * geometry.num_windows * config.num_heads[stage] * count * count
        features = batch * geometry.height * geometry.width * config.stage_dim(stage)
        for block in range(config.depths[stage]):
            sizes[(stage, block)] = (attention * item_bytes, features * item_bytes)
    return sizes


def estimate_capture_bytes(config: SwinConfig, height: int, width: int, mode: CaptureMode,
                           batch: int = 1, shown: BlockKey | None = None, item_bytes: int = 4) -> int:
    """Bytes :func:`capture_all` keeps in ``mode`` for ``batch`` images of ``height x width``
    pixels (float32 unless ``item_bytes`` says otherwise).

    ``"attention"``: every block's probabilities and input; ``"inputs"``: every block's
    input; ``"block"``: the probabilities and input of ``shown`` (of the largest block when
    None). Masks are not counted: they belong to the model's shape cache either way."""
    if mode not in CAPTURE_MODES:
        raise ValueError(f"mode must be one of {', '.join(CAPTURE_MODES)}, got {mode!r}")
    sizes = _block_bytes(config, height, width, batch, item_bytes)
    if mode == "attention":
        return sum(attention + features for attention, features in sizes.values())
    if mode == "inputs":
        return sum(features for _, features in sizes.values())
    if shown is not None:
        if tuple(shown) not in sizes:
            raise ValueError(f"no block {shown} (stage, block) in this configuration; it has "
                             f"{list(config.depths)} blocks per stage")
        return sum(sizes[(shown[0], shown[1])])
    return max(sum(pair) for pair in sizes.values())


def choose_capture_mode(config: SwinConfig, height: int, width: int,
                        budget: int = DEFAULT_CAPTURE_BUDGET, batch: int = 1,
                        shown: BlockKey | None = None) -> CaptureMode:
    """The most complete mode whose :func:`estimate_capture_bytes` is within ``budget``;
    ``"block"`` when none is (one block is always kept, whatever its size)."""
    for mode in CAPTURE_MODES[:-1]:
        if estimate_capture_bytes(config, height, width, mode, batch, shown) <= budget:
            return mode
    return "block"


# --- capturing ------------------------------------------------------------------------------------

def _blocks_by_key(model: SwinTransformer) -> dict[BlockKey, SwinBlock]:
    return {(block.stage, block.block): block for block in model.blocks()}


def _unknown_block(model: SwinTransformer, key: object) -> ValueError:
    return ValueError(f"no block {key} (stage, block) in this model; it has "
                      f"{list(model.config.depths)} blocks per stage")


@contextmanager
def capture_attention(model: SwinTransformer, blocks: Iterable[tuple[int, int]] | None = None,
                      fused_output: bool = False) -> Iterator[list[AttentionRecord]]:
    """Record attention of ``blocks`` ((stage, block) pairs, 0-based; None for all).

    ``with capture_attention(model, [(0, 1)]) as records: model(x)`` leaves one
    :class:`AttentionRecord` per captured block per forward pass in ``records``, in forward
    order. Captured blocks compute an explicit softmax; the others keep the fused path.
    By default a captured block's output is computed from those probabilities (probs @ v,
    which operation counters see); with ``fused_output`` it stays the fused kernel's, so
    the run's outputs are exactly those of a plain forward.
    """
    all_blocks = _blocks_by_key(model)
    wanted = list(all_blocks) if blocks is None else [tuple(b) for b in blocks]
    unknown = [key for key in wanted if key not in all_blocks]
    if unknown:
        raise _unknown_block(model, unknown[0])
    records: list[AttentionRecord] = []
    chosen = [all_blocks[(key[0], key[1])] for key in wanted]
    for block in chosen:
        if block.recorder is not None:
            raise RuntimeError(f"block {(block.stage, block.block)} is already being captured")
    try:
        for block in chosen:
            block.recorder = records.append
            block.record_fused = fused_output
        yield records
    finally:
        for block in chosen:
            block.recorder = None
            block.record_fused = False


def block_record(model: SwinTransformer, stage: int, block: int, block_input: torch.Tensor,
                 grid_size: tuple[int, int] | None = None) -> AttentionRecord:
    """The attention of block (``stage``, ``block``) on its input, without running any other
    block: only this block's LN, partition, QKᵀ and softmax run (no gradient is recorded).

    ``block_input`` is (batch, H, W, C), or (batch, H·W, C) with ``grid_size`` = (H, W).
    The probabilities equal those :func:`capture_attention` records for that block in a
    forward pass whose input to the block was ``block_input``."""
    import torch

    found = _blocks_by_key(model).get((stage, block))
    if found is None:
        raise _unknown_block(model, (stage, block))
    features = block_input
    if features.dim() == 3:
        if grid_size is None:
            raise ValueError("a (batch, H·W, C) block input needs grid_size=(H, W)")
        height, width = grid_size
        if height * width != features.shape[1]:
            raise ValueError(f"grid_size {grid_size} does not hold {features.shape[1]} tokens")
        features = features.reshape(features.shape[0], height, width, features.shape[2])
    if features.dim() != 4:
        raise ValueError(f"block_input must be (batch, H, W, C) or (batch, H·W, C), "
                         f"got shape {tuple(block_input.shape)}")
    with torch.no_grad():
        return found.attention_record(features)


def block_attention(model: SwinTransformer, stage: int, block: int, block_input: torch.Tensor,
                    grid_size: tuple[int, int] | None = None) -> torch.Tensor:
    """(batch * num_windows, heads, N, N) attention probabilities of one block recomputed
    from its input (see :func:`block_record`); (num_windows, heads, N, N) for one image."""
    return block_record(model, stage, block, block_input, grid_size).attn


@dataclass(frozen=True)
class CapturedRun:
    """One forward pass of :func:`capture_all`: the logits, and what every block's attention
    view needs as ``mode`` allows.

    ``records`` holds the blocks whose attention was recorded (every block in
    ``"attention"`` mode, the shown one in ``"block"`` mode), ``inputs`` every block's input
    (batch, H, W, C) in ``"attention"`` and ``"inputs"`` mode. :meth:`record` answers for
    any block it can without a new forward pass. ``estimated_bytes`` is
    :func:`estimate_capture_bytes` of the mode used, ``budget`` the limit it was chosen by."""

    mode: CaptureMode
    logits: torch.Tensor
    records: Mapping[BlockKey, AttentionRecord]
    inputs: Mapping[BlockKey, torch.Tensor]
    estimated_bytes: int
    budget: int
    config: SwinConfig
    model: SwinTransformer = field(repr=False, compare=False)

    def has(self, stage: int, block: int) -> bool:
        """Whether :meth:`record` can answer for this block without a new forward pass."""
        return (stage, block) in self.records or (stage, block) in self.inputs

    def record(self, stage: int, block: int) -> AttentionRecord:
        """The attention of block (``stage``, ``block``): recorded in the run, or recomputed
        from its recorded input by :func:`block_record` (not kept: call again for it).

        LookupError when this run kept neither (``"block"`` mode, another block: run
        again); RuntimeError when the model's configuration (window, shift) changed since
        the run, which would make a recomputed attention belong to no real run."""
        key = (stage, block)
        if key in self.records:
            return self.records[key]
        if key not in self.inputs:
            raise LookupError(f"block {key} was not captured in this run ({self.mode!r} mode); "
                              f"run the model again for it")
        if self.model.config != self.config:
            raise RuntimeError("the model changed (window or shift) since this run; run it again")
        return block_record(self.model, stage, block, self.inputs[key])


def capture_all(model: SwinTransformer, pixels: torch.Tensor, shown: BlockKey | None = None,
                budget: int = DEFAULT_CAPTURE_BUDGET, mode: CaptureMode | None = None) -> CapturedRun:
    """Run ``model`` once on ``pixels`` (batch, in_chans, H, W) and keep what the attention
    of every block needs, in ``mode`` or, when None, the most complete mode within
    ``budget`` bytes (:func:`choose_capture_mode`). ``shown`` (stage, block) is the block
    kept in ``"block"`` mode (required there). No gradient is recorded.

    Every mode runs the plain forward (the logits and every block's input are exactly a
    plain run's): ``"attention"`` computes every block's softmax beside it, ``"inputs"``
    only keeps references to the block inputs, ``"block"`` computes the softmax of
    ``shown`` only."""
    import torch

    if pixels.dim() != 4:
        raise ValueError(f"pixels must be (batch, channels, H, W), got shape {tuple(pixels.shape)}")
    batch, _, height, width = (int(size) for size in pixels.shape)
    if shown is not None:
        shown = (int(shown[0]), int(shown[1]))
        if shown not in _blocks_by_key(model):
            raise _unknown_block(model, shown)
    if mode is None:
        mode = choose_capture_mode(model.config, height, width, budget, batch, shown)
    elif mode not in CAPTURE_MODES:
        raise ValueError(f"mode must be one of {', '.join(CAPTURE_MODES)}, got {mode!r}")
    if mode == "block" and shown is None:
        raise ValueError("'block' mode keeps one block: pass shown=(stage, block)")
    estimated = estimate_capture_bytes(model.config, height, width, mode, batch, shown)

    inputs: dict[BlockKey, torch.Tensor] = {}
    config = model.config
    with ExitStack() as stack:
        if mode != "block":
            for key, block in _blocks_by_key(model).items():
                stack.enter_context(_keep_input(block, key, inputs))
        records: list[AttentionRecord] = []
        if mode != "inputs":
            chosen = None if mode == "attention" else [shown] if shown is not None else []
            records = stack.enter_context(capture_attention(model, chosen, fused_output=True))
        stack.enter_context(torch.no_grad())
        logits = model(pixels)
    return CapturedRun(mode=mode, logits=logits,
                       records={(record.stage, record.block): record for record in records},
                       inputs=inputs, estimated_bytes=estimated, budget=budget, config=config,
                       model=model)


@contextmanager
def _keep_input(block: SwinBlock, key: BlockKey, inputs: dict[BlockKey, torch.Tensor]) -> Iterator[None]:
    """Keep a reference to ``block``'s input (batch, H, W, C) in ``inputs[key]``."""
    def keep(_module: object, args: tuple[torch.Tensor, ...]) -> None:
        inputs[key] = args[0].detach()

    handle = block.register_forward_pre_hook(keep)
    try:
        yield
    finally:
        handle.remove()
