"""Recording the attention probabilities of chosen blocks during a forward pass."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from .layers import AttentionRecord, SwinBlock
from .model import SwinTransformer

__all__ = ["AttentionRecord", "capture_attention"]


@contextmanager
def capture_attention(model: SwinTransformer,
                      blocks: Iterable[tuple[int, int]] | None = None) -> Iterator[list[AttentionRecord]]:
    """Record attention of ``blocks`` ((stage, block) pairs, 0-based; None for all).

    ``with capture_attention(model, [(0, 1)]) as records: model(x)`` leaves one
    :class:`AttentionRecord` per captured block per forward pass in ``records``, in forward
    order. Captured blocks compute an explicit softmax; the others keep the fused path.
    """
    all_blocks: dict[tuple[int, ...], SwinBlock] = {
        (block.stage, block.block): block for block in model.blocks()}
    wanted = list(all_blocks) if blocks is None else [tuple(b) for b in blocks]
    unknown = [key for key in wanted if key not in all_blocks]
    if unknown:
        raise ValueError(f"no block {unknown[0]} (stage, block) in this model; it has "
                         f"{list(model.config.depths)} blocks per stage")
    records: list[AttentionRecord] = []
    chosen = [all_blocks[key] for key in wanted]
    for block in chosen:
        if block.recorder is not None:
            raise RuntimeError(f"block {(block.stage, block.block)} is already being captured")
    try:
        for block in chosen:
            block.recorder = records.append
        yield records
    finally:
        for block in chosen:
            block.recorder = None
