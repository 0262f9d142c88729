"""Building blocks of Swin V1. Feature maps are channels-last grids (batch, H, W, C).

What depends only on a block's shape is built once per shape and reused: a
:class:`WindowPlan` holds the cyclic shift plus window partition (and the padding to the
window) as one gather index, its inverse, and the 0/-100 mask; each attention caches its
relative position bias plus that mask as one additive tensor until its table changes.
Building a plan (on the first forward at a shape) reads the geometry of
:mod:`swin_model.windows`; once built, the forward is tensor operations only (no numpy, no
branch on tensor values), so ``torch.jit.trace`` records it as one graph for an input shape.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import windows
from .capture import AttentionRecord
from .packed_linear import linear

__all__ = ["AttentionRecord", "Mlp", "PatchEmbed", "PatchMerging", "SwinBlock", "SwinStage",
           "WindowAttention", "WindowPlan", "merge_index", "normal_tensors", "window_plan"]

TABLE_STD = 0.02
"""Standard deviation of the truncated normal a fresh relative position bias table is drawn
from (the official ``trunc_normal_(std=.02)``)."""

OFFSET_CACHE_BYTES = 64 << 20
"""Largest bias plus mask one attention keeps between calls (64 MiB): an offset that big
(Swin-L at 1536 px: 0.5 GB for one stage-1 block) is added up on every call instead."""

_PLAN_CACHE_SIZE = 32
_KEPT_PER_KIND = 2  # biases and offsets each attention keeps: the current shape and one more

OffsetKey = tuple[object, ...]
"""What a cached bias (plus mask) depends on: the window (the plan's geometry and the batch
it is expanded to), and the table's device, dtype, version counter and data address."""


@contextmanager
def normal_tensors() -> Iterator[None]:
    """Create normal tensors (not inference tensors) even inside ``torch.inference_mode``,
    without recording gradients: a model built or loaded there then runs in every mode,
    trains, and keeps caches that can tell when its weights change."""
    if not torch.is_inference_mode_enabled():
        yield
        return
    with torch.inference_mode(False), torch.no_grad():
        yield


def _shape(tensor: torch.Tensor) -> tuple[int, ...]:
    """The sizes of ``tensor`` as Python ints. While ``torch.jit.trace`` records, sizes are
    traced values; as ints they specialise the trace to this shape, which is what the plans
    (built per shape) need."""
    return tuple(int(size) for size in tensor.shape)


# --- per-shape plans ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class WindowPlan:
    """How one block with window ``window_size`` and shift ``shift_size`` (the effective
    ones, see :func:`windows.effective_window`) groups an ``height x width`` grid, padded
    to ``padded_height x padded_width``.

    ``partition_index`` (num_windows * N,) int64 reads, for every slot of every window in
    order, the row of the flattened grid (row * width + col) that the cyclic shift puts
    there, or ``height * width`` (a zero row appended when ``pads``) for padding;
    ``reverse_index`` (height * width,) int64 is its inverse, the slot of every real token.
    ``mask`` is the (num_windows, N, N) 0/-100 mask of :func:`windows.attention_mask`, or
    None without a shift. N = window_size²."""

    height: int
    width: int
    window_size: int
    shift_size: int
    padded_height: int
    padded_width: int
    pads: bool
    partition_index: torch.Tensor
    reverse_index: torch.Tensor
    mask: torch.Tensor | None

    @property
    def key(self) -> tuple[int, int, int, int]:
        return (self.height, self.width, self.window_size, self.shift_size)

    @property
    def num_windows(self) -> int:
        return (self.padded_height // self.window_size) * (self.padded_width // self.window_size)

    @property
    def tokens_per_window(self) -> int:
        return self.window_size * self.window_size

    def partition(self, grid: torch.Tensor) -> torch.Tensor:
        """(batch, H, W, C) -> (batch * num_windows, N, C): pad, roll and partition in one
        gather."""
        batch, _, _, channels = _shape(grid)
        rows = grid.reshape(batch, self.height * self.width, channels)
        if self.pads:
            rows = torch.cat([rows, rows.new_zeros(batch, 1, channels)], dim=1)
        gathered = rows.index_select(1, self.partition_index)  # batch, nW * N, C
        return gathered.view(batch * self.num_windows, self.tokens_per_window, channels)

    def reverse(self, tokens: torch.Tensor, batch: int) -> torch.Tensor:
        """(batch * num_windows, N, C) -> (batch, H, W, C): window reverse, roll back and
        crop in one gather."""
        channels = _shape(tokens)[-1]
        slots = tokens.reshape(batch, self.num_windows * self.tokens_per_window, channels)
        return slots.index_select(1, self.reverse_index).view(batch, self.height, self.width, channels)


@functools.lru_cache(maxsize=_PLAN_CACHE_SIZE)
def _cached_plan(height: int, width: int, window_size: int, shift_size: int, device: str) -> WindowPlan:
    window, shift = windows.effective_window(height, width, window_size, shift_size)
    padded_height = height + windows.pad_amount(height, window)
    padded_width = width + windows.pad_amount(width, window)
    positions = windows.window_token_positions(padded_height, padded_width, window, shift)
    rows, cols = positions.reshape(-1, 2).T  # each nW * N
    real = (rows < height) & (cols < width)
    partition = np.where(real, rows * width + cols, height * width)
    reverse = np.empty(height * width, dtype=np.int64)
    reverse[partition[real]] = np.flatnonzero(real)
    with normal_tensors():  # shared by every mode: never an inference tensor
        mask = (windows.attention_mask(padded_height, padded_width, window, shift).to(device)
                if shift else None)
        return WindowPlan(height, width, window, shift, padded_height, padded_width,
                          pads=bool((~real).any()),
                          partition_index=torch.from_numpy(partition).to(device),
                          reverse_index=torch.from_numpy(reverse).to(device), mask=mask)


def window_plan(height: int, width: int, window_size: int, shift_size: int,
                device: torch.device | str = "cpu") -> WindowPlan:
    """The :class:`WindowPlan` of a block with nominal ``window_size`` and ``shift_size`` on
    an ``height x width`` grid (built once per shape and device, then shared)."""
    return _cached_plan(height, width, window_size, shift_size, str(torch.device(device)))


@functools.lru_cache(maxsize=_PLAN_CACHE_SIZE)
def _cached_merge_index(height: int, width: int, device: str) -> torch.Tensor:
    out_height, out_width = (height + 1) // 2, (width + 1) // 2
    offsets = np.array(windows.MERGE_OFFSETS)  # 4, 2: x0..x3
    rows = 2 * np.arange(out_height)[:, None, None] + offsets[None, None, :, 0]  # h', 1, 4
    cols = 2 * np.arange(out_width)[None, :, None] + offsets[None, None, :, 1]  # 1, w', 4
    rows, cols = np.broadcast_arrays(rows, cols)  # each h', w', 4
    index = np.where((rows < height) & (cols < width), rows * width + cols, height * width)
    with normal_tensors():
        return torch.from_numpy(np.ascontiguousarray(index.reshape(-1))).to(device)


def merge_index(height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(ceil(H/2) * ceil(W/2) * 4,) int64: for every 2x2 group, row-major, the flattened
    grid rows of x0, x1, x2, x3 (:data:`windows.MERGE_OFFSETS`); ``height * width`` (a zero
    row) where an odd grid is padded."""
    return _cached_merge_index(height, width, str(torch.device(device)))


# --- modules -----------------------------------------------------------------------------------

class PatchEmbed(nn.Module):
    """(batch, in_chans, H, W) -> (batch, ceil(H/p), ceil(W/p), C): pad to a multiple of the
    patch p, a p x p stride-p convolution, then LayerNorm."""

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        projected: torch.Tensor = self.proj(windows.pad_image(pixels, self.patch_size))
        normed: torch.Tensor = self.norm(projected.permute(0, 2, 3, 1))
        return normed

    def extra_repr(self) -> str:
        return f"patch_size={self.patch_size}"


class Mlp(nn.Module):
    """(..., C) -> (..., C) through a hidden layer of ratio * C with the exact GELU, which
    the inference path fuses into fc1."""

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return linear(self.fc2, linear(self.fc1, features, gelu=True))


class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows, with the relative position bias.

    The bias table holds (2T-1)^2 entries per head for the window T it is built with; a
    window that shrinks at a small stage reads the subset of its own offsets. Bias plus mask
    are built once per plan (and batch) and reused until the table changes.

    A fresh table is drawn from its own generator, seeded by ``table_seed`` (one draw from
    the global generator at construction, whatever the table's size), so the other weights
    of a seeded model do not depend on the window, and :meth:`set_table_window` can redraw
    the table at another size exactly as a model built at that size would hold it.
    """

    def __init__(self, dim: int, num_heads: int, window_size: int, qkv_bias: bool = True) -> None:
        super().__init__()
        self.dim = dim
        self.num_heads = num_heads
        self.window_size = window_size
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.table_seed = int(torch.randint(0, 2**62, (1,), device="cpu").item())
        self.relative_position_bias_table = nn.Parameter(
            torch.empty((2 * window_size - 1) ** 2, num_heads))
        if not self.relative_position_bias_table.is_meta:  # a skeleton to be loaded stays empty
            with torch.no_grad():
                self.relative_position_bias_table.copy_(self.initial_table(window_size))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self._offsets: dict[OffsetKey, torch.Tensor] = {}
        self._resize_source: torch.Tensor | None = None
        self._resize_marker: tuple[int, int] | None = None

    def extra_repr(self) -> str:
        return f"dim={self.dim}, window_size={self.window_size}, num_heads={self.num_heads}"

    def initial_table(self, window_size: int) -> torch.Tensor:
        """((2M-1)^2, heads) float32 on the CPU: the table a fresh model with window M
        draws, from ``table_seed``."""
        generator = torch.Generator().manual_seed(self.table_seed)
        table = torch.empty((2 * window_size - 1) ** 2, self.num_heads, device="cpu")
        nn.init.trunc_normal_(table, std=TABLE_STD, generator=generator)
        return table

    def set_table_window(self, window_size: int, resize: Callable[[torch.Tensor, int], torch.Tensor] | None
                         ) -> None:
        """Give the table the side of window ``window_size``: with ``resize`` (e.g.
        :func:`swin_model.bias_resize.resize_bias_table`) from the table this module had
        before its first resize, as long as the table was not changed since (so going
        7 -> 12 -> 7 gives the trained table back); without, redrawn as a fresh model
        would hold it (:meth:`initial_table`)."""
        current = self.relative_position_bias_table
        with normal_tensors(), torch.no_grad():
            if resize is None:
                source = None
                table = self.initial_table(window_size)
            else:
                unchanged = self._resize_marker is not None and self._resize_marker == _marker(current)
                source = self._resize_source if unchanged and self._resize_source is not None \
                    else current.detach().clone()
                table = resize(source, window_size).clone()
            table = table.to(device=current.device, dtype=current.dtype)
            self.relative_position_bias_table = nn.Parameter(table, requires_grad=current.requires_grad)
        self.window_size = window_size
        resized = source is not None and source.shape != table.shape
        self._resize_source = source if resized else None
        self._resize_marker = _marker(self.relative_position_bias_table) if resized else None
        self._offsets.clear()

    def resized_from(self) -> int | None:
        """The window of the table this one was resized from by :meth:`set_table_window`,
        while it is unchanged since; None otherwise."""
        if self._resize_source is None or self._resize_marker != _marker(self.relative_position_bias_table):
            return None
        return (math.isqrt(self._resize_source.shape[0]) + 1) // 2

    def trained_table(self) -> torch.Tensor:
        """((2M−1)², heads) the table as trained: the one held before a resize while the resized
        table is unchanged (see :meth:`resized_from`), else the current table."""
        if self.resized_from() is not None and self._resize_source is not None:
            return self._resize_source
        return self.relative_position_bias_table

    def position_bias(self, window_size: int) -> torch.Tensor:
        """(heads, N, N) relative position bias of a window of side ``window_size``."""
        index = windows.relative_position_index(window_size, self.window_size)
        index = index.to(self.relative_position_bias_table.device)
        count = window_size * window_size
        bias = self.relative_position_bias_table[index.view(-1)].view(count, count, -1)
        return bias.permute(2, 0, 1)

    def logit_offset(self, plan: WindowPlan, batch: int) -> torch.Tensor:
        """What is added to the attention logits: (1, heads, N, N) without a shift, else
        (num_windows, heads, N, N) for one image and (batch * num_windows, heads, N, N) for
        more, the position bias plus the shift mask.

        Cached while the table is unchanged and no gradient for it is needed, as a normal
        tensor (never an inference tensor, so autograd may always use it); a table that is
        an inference tensor has no version counter to tell a change and is never cached.
        A bias plus mask larger than :data:`OFFSET_CACHE_BYTES` is added up on every call
        instead (its bias alone stays cached)."""
        table = self.relative_position_bias_table
        cacheable = not (torch.is_grad_enabled() and table.requires_grad) and not table.is_inference()
        version = ((str(table.device), table.dtype, table._version, table.data_ptr())
                   if cacheable else None)

        def bias() -> torch.Tensor:
            return self.position_bias(plan.window_size).unsqueeze(0).contiguous()  # 1, heads, N, N

        position = self._remember(None if version is None else ("bias", plan.window_size, version), bias)
        mask = plan.mask
        if mask is None:
            return position

        def offset() -> torch.Tensor:
            combined = position + mask.to(position).unsqueeze(1)  # nW, heads, N, N
            return combined.repeat(batch, 1, 1, 1) if batch > 1 else combined  # batch * nW, ...

        size = batch * mask.shape[0] * position[0].numel() * position.element_size()
        small = version is not None and size <= OFFSET_CACHE_BYTES
        return self._remember(("offset", plan.key, batch, version) if small else None, offset)

    def _remember(self, key: OffsetKey | None, make: Callable[[], torch.Tensor]) -> torch.Tensor:
        """``make()``, kept under ``key`` as a normal tensor (not kept when ``key`` is None)."""
        if key is None:
            return make()
        cached = self._offsets.get(key)
        if cached is None:
            with normal_tensors():
                cached = make()
            same_kind = [old for old in self._offsets if old[0] == key[0]]
            for old in same_kind[:max(0, len(same_kind) + 1 - _KEPT_PER_KIND)]:
                del self._offsets[old]
            self._offsets[key] = cached
        return cached

    def heads(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """tokens (B_, N, C) -> query, key, value, each (B_, heads, N, head_dim)."""
        windows_in_batch, count, _ = _shape(tokens)
        qkv = linear(self.qkv, tokens).view(windows_in_batch, count, 3, self.num_heads, self.head_dim)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        return query, key, value

    def probabilities(self, query: torch.Tensor, key: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """(B_, heads, N, N) softmax probabilities, computed explicitly as the official code
        does: softmax(q * scale @ kᵀ + bias + mask)."""
        logits: torch.Tensor = (query * self.scale) @ key.transpose(-2, -1) + offset
        return logits.softmax(dim=-1)

    def forward(self, tokens: torch.Tensor, plan: WindowPlan, return_probs: bool = False,
                fused: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """tokens (batch * num_windows, N, C) -> (batch * num_windows, N, C), and the softmax
        probabilities (batch * num_windows, heads, N, N) when ``return_probs``.

        The output comes from the fused kernel unless probabilities are asked for with
        ``fused`` False: then it is computed from them (probs @ v, every product an explicit
        matmul that operation counters see). With ``return_probs`` and ``fused`` the
        probabilities are computed beside the fused output, which stays that of a plain run.
        """
        windows_in_batch, count, channels = _shape(tokens)
        query, key, value = self.heads(tokens)
        offset = self.logit_offset(plan, windows_in_batch // plan.num_windows)
        probs = self.probabilities(query, key, offset) if return_probs else None
        if probs is not None and not fused:
            mixed = probs @ value
        else:
            mixed = F.scaled_dot_product_attention(query, key, value, attn_mask=offset)
        mixed = mixed.transpose(1, 2).reshape(windows_in_batch, count, channels)
        return linear(self.proj, mixed), probs


def _marker(table: torch.Tensor) -> tuple[int, int] | None:
    """(version, data address) of a normal tensor: changes whenever it is written; None for
    an inference tensor, which has no version counter."""
    if table.is_inference():
        return None
    return (table._version, table.data_ptr())


Recorder = Callable[[AttentionRecord], None]


class SwinBlock(nn.Module):
    """x -> x + (S)W-MSA(LN(x)) -> x + MLP(LN(x)) on a (batch, H, W, C) grid.

    ``shift_size`` 0 is W-MSA; otherwise SW-MSA with a cyclic shift. Both the window and the
    shift follow ``windows.effective_window`` for the grid actually seen. Both are plain
    attributes: changing them (see :meth:`SwinTransformer.set_shifted`) takes effect on the
    next forward, whose plan is looked up by shape, window and shift."""

    def __init__(self, dim: int, num_heads: int, window_size: int, shift_size: int,
                 mlp_ratio: float, qkv_bias: bool, stage: int, block: int) -> None:
        super().__init__()
        self.window_size = window_size
        self.shift_size = shift_size
        self.stage = stage
        self.block = block
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, num_heads, window_size, qkv_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.recorder: Recorder | None = None
        # while recording: keep a plain run's fused output (True) or compute the output from
        # the recorded probabilities (False), see WindowAttention.forward
        self.record_fused = False

    def extra_repr(self) -> str:
        return f"window_size={self.window_size}, shift_size={self.shift_size}"

    def plan(self, height: int, width: int, device: torch.device) -> WindowPlan:
        """The :class:`WindowPlan` of this block on an ``height x width`` grid."""
        return window_plan(height, width, self.window_size, self.shift_size, device)

    def _record(self, plan: WindowPlan, features: torch.Tensor, probs: torch.Tensor) -> AttentionRecord:
        return AttentionRecord(
            stage=self.stage, block=self.block, window_size=plan.window_size,
            shift_size=plan.shift_size, grid_size=(plan.height, plan.width),
            padded_size=(plan.padded_height, plan.padded_width), mask=plan.mask,
            attn=probs.detach(), input=features.detach())

    def attention_record(self, features: torch.Tensor) -> AttentionRecord:
        """Only the attention part of this block on its input ``features`` (batch, H, W, C):
        LN, partition, QKᵀ and softmax, exactly as a captured forward computes them (no
        projection, no MLP)."""
        batch, height, width, _ = _shape(features)
        plan = self.plan(height, width, features.device)
        query, key, _ = self.attn.heads(plan.partition(self.norm1(features)))
        probs = self.attn.probabilities(query, key, self.attn.logit_offset(plan, batch))
        return self._record(plan, features, probs)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        batch, height, width, _ = _shape(features)
        plan = self.plan(height, width, features.device)
        tokens = plan.partition(self.norm1(features))  # batch * nW, N, C
        mixed, probs = self.attn(tokens, plan, return_probs=self.recorder is not None,
                                 fused=self.record_fused)
        if self.recorder is not None and probs is not None:
            self.recorder(self._record(plan, features, probs))
        features = features + plan.reverse(mixed, batch)
        transformed: torch.Tensor = self.mlp(self.norm2(features))
        return features + transformed


class PatchMerging(nn.Module):
    """(batch, H, W, C) -> (batch, ceil(H/2), ceil(W/2), 2C): 2x2 groups concatenated in the
    order x0, x1, x2, x3 (4C, one gather, :func:`merge_index`), LayerNorm, then a linear map
    4C -> 2C without bias."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        batch, height, width, channels = _shape(features)
        rows = features.reshape(batch, height * width, channels)
        if height % 2 or width % 2:
            rows = torch.cat([rows, rows.new_zeros(batch, 1, channels)], dim=1)
        merged = rows.index_select(1, merge_index(height, width, features.device)).view(
            batch, (height + 1) // 2, (width + 1) // 2, 4 * channels)
        return linear(self.reduction, self.norm(merged))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class SwinStage(nn.Module):
    """One stage as the official code splits it: blocks, then the merging (none at the end)."""

    def __init__(self, blocks: list[SwinBlock], downsample: PatchMerging | None) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.downsample = downsample

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            features = block(features)
        if self.downsample is not None:
            features = self.downsample(features)
        return features
