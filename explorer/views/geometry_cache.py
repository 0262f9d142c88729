"""Remembered results of the heavier :mod:`swin_model.windows` functions.

Moving a control back and forth (stage 1 ↔ 2, block 1 ↔ 2) asks for the same arrays again;
recomputing a 64-window mask takes longer than a frame. Arrays are returned read-only.
Numpy only, except :func:`cached_mask`, which needs torch.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from swin_model.windows import attention_mask_array, region_map, window_partition, window_token_positions

__all__ = ["cached_mask", "cached_slot_regions", "cached_token_positions"]


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@lru_cache(maxsize=16)
def cached_mask(height: int, width: int, window_size: int, shift_size: int) -> np.ndarray:
    """(num_windows, M², M²) float32: :func:`swin_model.windows.attention_mask_array`."""
    return _frozen(attention_mask_array(height, width, window_size, shift_size))


@lru_cache(maxsize=32)
def cached_token_positions(height: int, width: int, window_size: int, shift_size: int) -> np.ndarray:
    """(num_windows, M², 2): :func:`swin_model.windows.window_token_positions`."""
    return _frozen(window_token_positions(height, width, window_size, shift_size))


@lru_cache(maxsize=16)
def cached_slot_regions(height: int, width: int, window_size: int, shift_size: int) -> np.ndarray:
    """(num_windows, M²) official region of the token in each slot of each window: the
    official ``img_mask`` (:func:`swin_model.windows.region_map`) partitioned into windows."""
    regions = region_map(height, width, window_size, shift_size)[None, :, :, None]
    return _frozen(np.ascontiguousarray(window_partition(regions, window_size).reshape(-1, window_size**2)))
