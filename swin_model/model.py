"""The Swin Transformer V1 classifier, with the official module and key layout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .config import SwinConfig
from .layers import PatchEmbed, PatchMerging, SwinBlock, SwinStage

__all__ = ["SwinTransformer", "normal_tensors"]


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


class SwinTransformer(nn.Module):
    """Swin V1: patch embedding, stages of (S)W-MSA blocks with patch merging at the end of
    every stage but the last, final LayerNorm, average pool and linear head.

    Accepts any input size: the image is padded to a multiple of the patch, each block's
    feature map to a multiple of its window (before the cyclic shift), and odd grids before
    merging, as HF transformers does. ``model(x)`` maps (batch, in_chans, H, W) to logits
    (batch, num_classes).
    """

    checkpoint_info: str | None
    """Where the weights came from, set by :func:`swin_model.checkpoint.load_checkpoint`
    (file, key layout, and the entry read, e.g. EMA weights); None for a model built here."""

    def __init__(self, config: SwinConfig) -> None:
        super().__init__()
        self.config = config
        self.checkpoint_info = None
        with normal_tensors():
            self.patch_embed = PatchEmbed(config.patch_size, config.in_chans, config.embed_dim)
            self.layers = nn.ModuleList()
            for stage, depth in enumerate(config.depths):
                dim = config.stage_dim(stage)
                blocks = [
                    SwinBlock(dim, config.num_heads[stage], config.stage_window(stage),
                              config.stage_shift(stage) if block % 2 == 1 else 0,
                              config.mlp_ratio, config.qkv_bias, stage, block)
                    for block in range(depth)
                ]
                last = stage == config.num_stages - 1
                self.layers.append(SwinStage(blocks, None if last else PatchMerging(dim)))
            self.norm = nn.LayerNorm(config.num_features)
            self.head: nn.Module = (nn.Linear(config.num_features, config.num_classes)
                                    if config.num_classes > 0 else nn.Identity())
            self.apply(_init_weights)

    def blocks(self) -> list[SwinBlock]:
        """Every block in forward order."""
        return [module for module in self.modules() if isinstance(module, SwinBlock)]

    def forward_grid(self, pixels: torch.Tensor) -> torch.Tensor:
        """(batch, in_chans, H, W) -> (batch, h, w, num_features) after the final norm."""
        features: torch.Tensor = self.patch_embed(pixels)
        for stage in self.layers:
            features = stage(features)
        normed: torch.Tensor = self.norm(features)
        return normed

    def forward_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """(batch, in_chans, H, W) -> (batch, num_features), average-pooled."""
        return self.forward_grid(pixels).mean(dim=(1, 2))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """(batch, num_features) -> (batch, num_classes)."""
        logits: torch.Tensor = self.head(features)
        return logits

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(pixels))


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
