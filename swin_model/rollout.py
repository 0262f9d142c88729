"""Attention rollout through the blocks of a Swin Transformer, mapped back to the input.

Rollout (Abnar and Zuidema, 2020) follows the attention of one query token back through the
network: each block's head-averaged attention A is mixed with the identity for the residual
connection, 0.5·A + 0.5·I, its rows renormalised, and the matrices of all blocks up to the
chosen one are multiplied. In Swin every block attends inside (shifted) windows and every
stage but the first starts from merged 2x2 groups, so the product is taken with the
geometry of :mod:`swin_model.windows`: window slots map back to grid tokens through the
reverse roll (:func:`~swin_model.windows.window_token_positions`), and a merged token hands
its share equally to the real tokens of its 2x2 group. The result is a distribution over
the stage-1 patches.

Padding: tokens added to reach a multiple of the window are zeros after the first norm
(keys and values made of biases only); they carry nothing from the image, so their share of
every attention row is dropped before the row is renormalised. Padding of an odd map before
merging is skipped the same way.

Pure numpy; imports without torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .config import SwinConfig
from .windows import MERGE_OFFSETS, StageGeometry, stage_geometry, window_token_positions

__all__ = ["RESIDUAL_WEIGHT", "attention_rollout", "block_order", "rollout_step"]

RESIDUAL_WEIGHT = 0.5
"""Weight of the identity in 0.5·A + 0.5·I (the residual connection)."""


def block_order(config: SwinConfig) -> list[tuple[int, int]]:
    """Every block as a 0-based (stage, block) pair, in forward order (the order of the
    attention arrays :func:`attention_rollout` takes)."""
    return [(stage, block) for stage, depth in enumerate(config.depths) for block in range(depth)]


def rollout_step(weights: np.ndarray, attention: np.ndarray, geometry: StageGeometry,
                 shift_size: int) -> np.ndarray:
    """One block backwards: ``weights`` (h, w) on the block's output tokens times the
    block's rollout matrix, giving (h, w) on its input tokens.

    ``attention`` is the block's (num_windows, heads, N, N) softmax probabilities (query
    slot i, key slot j, N = M*M) on the padded grid of ``geometry`` with ``shift_size``.
    The matrix is R = 0.5·A + 0.5·I over the real tokens, rows renormalised, with A the
    head average placed at the tokens' original (unrolled) positions."""
    height, width = geometry.height, geometry.width
    window = geometry.window_size
    expected = (geometry.num_windows, window * window, window * window)
    if attention.ndim != 4 or (attention.shape[0], *attention.shape[2:]) != expected:
        raise ValueError(f"attention must be (num_windows, heads, N, N) = ({expected[0]}, heads, "
                         f"{expected[1]}, {expected[2]}) for this stage, got {attention.shape}")
    positions = window_token_positions(geometry.padded_height, geometry.padded_width, window,
                                       shift_size)  # nW, N, 2
    rows, cols = positions[..., 0], positions[..., 1]
    real = (rows < height) & (cols < width)  # nW, N
    averaged = attention.astype(np.float64).mean(axis=1) * real[:, None, :]  # nW, N, N
    row_sums = (1.0 - RESIDUAL_WEIGHT) * averaged.sum(axis=-1) + RESIDUAL_WEIGHT  # nW, N
    padded = np.zeros((geometry.padded_height, geometry.padded_width))
    padded[:height, :width] = weights
    scaled = padded[rows, cols] / row_sums  # nW, N: query weights over their row sums
    spread = ((1.0 - RESIDUAL_WEIGHT) * np.einsum("wi,wij->wj", scaled, averaged)
              + RESIDUAL_WEIGHT * scaled)  # nW, N
    reached = np.zeros_like(padded)
    reached[rows, cols] = spread  # every padded-grid token sits in exactly one window slot
    result: np.ndarray = reached[:height, :width]
    return result


def _merge_back(weights: np.ndarray, height: int, width: int) -> np.ndarray:
    """(ceil(height/2), ceil(width/2)) weights of merged tokens -> (height, width) weights of
    the previous stage: each merged token's weight split equally over the real tokens of
    its 2x2 group."""
    members = np.zeros(weights.shape)
    for row, col in MERGE_OFFSETS:
        members[: (height - row + 1) // 2, : (width - col + 1) // 2] += 1
    share = weights / members
    spread = np.zeros((height, width))
    for row, col in MERGE_OFFSETS:
        part = spread[row::2, col::2]
        part += share[: part.shape[0], : part.shape[1]]
    return spread


def attention_rollout(config: SwinConfig, height: int, width: int, attentions: Sequence[np.ndarray],
                      stage: int, block: int, row: int, col: int) -> np.ndarray:
    """(ceil(H/p), ceil(W/p)) float64 over the stage-1 patches of an ``height x width``
    input, summing to 1: the rollout of the attention of token (``row``, ``col``) of stage
    ``stage`` after block ``block`` (both 1-based, like the explorer), back to the patches.

    ``attentions`` holds one (num_windows, heads, N, N) array per block in forward order
    (:func:`block_order`), at least up to the chosen block; later ones are ignored. The
    product R(stage, block) · ... · R(1, 1) is taken right to left on one row vector, with
    the merge matrices between stages (see the module docstring)."""
    geometries = stage_geometry(config, height, width)
    if not 1 <= stage <= len(geometries):
        raise ValueError(f"stage must be 1-{len(geometries)} (1-based), got {stage}")
    geometry = geometries[stage - 1]
    if not 1 <= block <= geometry.depth:
        raise ValueError(f"block must be 1-{geometry.depth} for stage {stage} (1-based), got {block}")
    if not (0 <= row < geometry.height and 0 <= col < geometry.width):
        raise ValueError(f"token ({row}, {col}) is outside stage {stage}'s "
                         f"{geometry.height}x{geometry.width} grid")
    order = block_order(config)
    last = order.index((stage - 1, block - 1))
    if len(attentions) <= last:
        raise ValueError(f"rollout to stage {stage} block {block} needs the attention of "
                         f"{last + 1} blocks, got {len(attentions)}")
    weights = np.zeros((geometry.height, geometry.width))
    weights[row, col] = 1.0
    current_stage = stage - 1
    for index in range(last, -1, -1):
        stage_index, block_index = order[index]
        geometry = geometries[stage_index]
        if stage_index != current_stage:
            weights = _merge_back(weights, geometry.height, geometry.width)
            current_stage = stage_index
        weights = rollout_step(weights, np.asarray(attentions[index]), geometry,
                               geometry.block_shift(block_index))
    return weights
