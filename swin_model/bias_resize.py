"""Resizing a relative position bias table to another window, as the official code does.

A table trained with window M has (2M-1)^2 rows, one per offset (dy, dx) in -(M-1)..M-1,
and one column per head. Loading it into a model with window M' (e.g. a 224 / M = 7
checkpoint fine-tuned at 384 / M = 12) needs a (2M'-1)^2 table: the official
``load_pretrained`` views each head's table as a (2M-1) x (2M-1) image and resizes it
bicubically (``F.interpolate``, ``align_corners`` False).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["resize_bias_table", "table_window"]


def table_window(table: torch.Tensor | np.ndarray) -> int:
    """The window M of a ((2M-1)^2, heads) bias table, tensor or array; ValueError for a
    table of another shape."""
    rows = int(table.shape[0]) if table.ndim == 2 else -1
    side = math.isqrt(max(rows, 0))
    if rows < 1 or side * side != rows or side % 2 == 0:
        raise ValueError(f"a relative position bias table is ((2M-1)^2, heads), "
                         f"got shape {tuple(table.shape)}")
    return (side + 1) // 2


def resize_bias_table(table: torch.Tensor, new_window: int) -> torch.Tensor:
    """(L^2, heads) with L = 2M-1 -> (L'^2, heads) with L' = 2M'-1, M' = ``new_window``.

    The official ``load_pretrained`` lines: permute to (heads, L^2), view as
    (1, heads, L, L), ``F.interpolate(..., size=(L', L'), mode='bicubic')`` (align_corners
    False), view as (heads, L'^2) and permute back. A table of the same size is returned
    unchanged (the official code leaves it alone too). The result is contiguous."""
    if table.ndim != 2:
        raise ValueError(f"table must be (rows, heads), got shape {tuple(table.shape)}")
    if isinstance(new_window, bool) or not isinstance(new_window, int) or new_window < 1:
        raise ValueError(f"new_window must be an integer >= 1, got {new_window!r}")
    heads = table.shape[1]
    side = 2 * table_window(table) - 1
    new_side = 2 * new_window - 1
    if new_side == side:
        return table
    grid = table.permute(1, 0).reshape(1, heads, side, side)  # 1, heads, L, L
    resized = F.interpolate(grid, size=(new_side, new_side), mode="bicubic", align_corners=False)
    return resized.reshape(heads, new_side * new_side).permute(1, 0).contiguous()  # L'^2, heads
