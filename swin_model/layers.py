"""Building blocks of Swin V1. Feature maps are channels-last grids (batch, H, W, C)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import windows
from .packed_linear import linear

__all__ = ["AttentionRecord", "Mlp", "PatchEmbed", "PatchMerging", "SwinBlock", "SwinStage",
           "WindowAttention"]

BiasKey = tuple[int, tuple[int, int] | None, int, int, torch.dtype]
"""What a cached bias plus mask depends on: (window side, (mask windows, id of the mask) or
None, the table's version counter, data address and dtype)."""


def _usable_here(cached: torch.Tensor) -> bool:
    """Whether a cached tensor may be handed out now: an inference tensor (made inside
    ``torch.inference_mode``) only inside inference mode, where autograd cannot save it."""
    return not cached.is_inference() or torch.is_inference_mode_enabled()


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

    The bias table holds (2M-1)^2 entries per head for the configured window M; a window
    that shrinks at a small stage reads the subset of its own offsets. Bias plus mask are
    built once per (window, shift, padded grid) and reused until the table changes.
    """

    def __init__(self, dim: int, num_heads: int, window_size: int, qkv_bias: bool = True) -> None:
        super().__init__()
        self.dim = dim
        self.num_heads = num_heads
        self.window_size = window_size
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1) ** 2, num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self._bias_cache: dict[BiasKey, torch.Tensor] = {}

    def extra_repr(self) -> str:
        return f"dim={self.dim}, window_size={self.window_size}, num_heads={self.num_heads}"

    def position_bias(self, window_size: int) -> torch.Tensor:
        """(heads, N, N) relative position bias of a window of side ``window_size``."""
        index = windows.relative_position_index(window_size, self.window_size)
        index = index.to(self.relative_position_bias_table.device)
        count = window_size * window_size
        bias = self.relative_position_bias_table[index.view(-1)].view(count, count, -1)
        return bias.permute(2, 0, 1)

    def logit_offset(self, window_size: int, mask: torch.Tensor | None) -> torch.Tensor:
        """(num_windows or 1, heads, N, N): position bias plus the shift mask, cached while
        the table is unchanged and no gradient is needed.

        Never cached for a table that is an inference tensor (it has no version counter to
        tell a change); an offset cached inside ``torch.inference_mode`` is an inference
        tensor, reused only there, so autograd never receives one."""
        table = self.relative_position_bias_table
        cacheable = not (torch.is_grad_enabled() and table.requires_grad) and not table.is_inference()
        key: BiasKey | None = None
        if cacheable:
            key = (window_size, None if mask is None else (mask.shape[0], id(mask)),
                   table._version, table.data_ptr(), table.dtype)
            cached = self._bias_cache.get(key)
            if cached is not None and _usable_here(cached):
                return cached
        offset = self.position_bias(window_size).unsqueeze(0)
        if mask is not None:
            offset = offset + mask.to(offset).unsqueeze(1)
        if key is not None:
            self._bias_cache = {key: offset}
        return offset

    def forward(self, tokens: torch.Tensor, window_size: int, mask: torch.Tensor | None,
                return_probs: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """tokens (batch * num_windows, N, C) -> (batch * num_windows, N, C), and the softmax
        probabilities (batch * num_windows, heads, N, N) when ``return_probs``."""
        windows_in_batch, count, channels = tokens.shape
        qkv = linear(self.qkv, tokens).view(windows_in_batch, count, 3, self.num_heads, self.head_dim)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each B_, heads, N, d
        offset = self.logit_offset(window_size, mask)  # nW or 1, heads, N, N
        if offset.shape[0] > 1:
            batch = windows_in_batch // offset.shape[0]
            offset = offset.unsqueeze(0).expand(batch, -1, -1, -1, -1).reshape(
                windows_in_batch, self.num_heads, count, count)
        probs = None
        if return_probs:
            logits = (query * self.scale) @ key.transpose(-2, -1) + offset
            probs = logits.softmax(dim=-1)
            mixed = probs @ value
        else:
            mixed = F.scaled_dot_product_attention(query, key, value, attn_mask=offset)
        mixed = mixed.transpose(1, 2).reshape(windows_in_batch, count, channels)
        return linear(self.proj, mixed), probs


Recorder = Callable[[AttentionRecord], None]


class SwinBlock(nn.Module):
    """x -> x + (S)W-MSA(LN(x)) -> x + MLP(LN(x)) on a (batch, H, W, C) grid.

    ``shift_size`` 0 is W-MSA; otherwise SW-MSA with a cyclic shift. Both the window and the
    shift follow ``windows.effective_window`` for the grid actually seen."""

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
        self._mask_cache: dict[tuple[int, int, int, int], torch.Tensor] = {}

    def extra_repr(self) -> str:
        return f"window_size={self.window_size}, shift_size={self.shift_size}"

    def shift_mask(self, padded_height: int, padded_width: int, window: int, shift: int,
                   device: torch.device) -> torch.Tensor | None:
        """(num_windows, N, N) 0/-100 mask from windows.attention_mask, cached; None without
        a shift."""
        if shift == 0:
            return None
        key = (padded_height, padded_width, window, shift)
        mask = self._mask_cache.get(key)
        if mask is None or mask.device != device or not _usable_here(mask):
            mask = windows.attention_mask(padded_height, padded_width, window, shift).to(device)
            self._mask_cache = {key: mask}
        return mask

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        _, height, width, channels = features.shape
        window, shift = windows.effective_window(height, width, self.window_size, self.shift_size)
        normed = windows.pad_feature_map(self.norm1(features), window)
        padded_height, padded_width = normed.shape[1:3]
        rolled = windows.cyclic_shift(normed, shift)
        tokens = windows.window_partition(rolled, window).view(-1, window * window, channels)
        mask = self.shift_mask(padded_height, padded_width, window, shift, features.device)
        mixed, probs = self.attn(tokens, window, mask, return_probs=self.recorder is not None)
        if self.recorder is not None and probs is not None:
            self.recorder(AttentionRecord(
                stage=self.stage, block=self.block, window_size=window, shift_size=shift,
                grid_size=(height, width), padded_size=(padded_height, padded_width),
                mask=mask, attn=probs.detach(), input=features.detach()))
        mixed = windows.window_reverse(mixed.view(-1, window, window, channels), window,
                                       padded_height, padded_width)
        mixed = windows.reverse_cyclic_shift(mixed, shift)[:, :height, :width]
        features = features + mixed
        transformed: torch.Tensor = self.mlp(self.norm2(features))
        return features + transformed


class PatchMerging(nn.Module):
    """(batch, H, W, C) -> (batch, ceil(H/2), ceil(W/2), 2C): 2x2 groups concatenated in the
    order x0, x1, x2, x3 (4C), LayerNorm, then a linear map 4C -> 2C without bias."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return linear(self.reduction, self.norm(windows.merge_patches(features)))

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
