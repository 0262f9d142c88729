"""The Swin Transformer V1 classifier, with the official module and key layout."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from . import windows
from .config import SwinConfig
from .layers import PatchEmbed, PatchMerging, SwinBlock, SwinStage, normal_tensors

__all__ = ["SwinTransformer", "TableRule", "normal_tensors"]

TableRule = Literal["auto", "resize", "redraw"]
"""How :meth:`SwinTransformer.set_window_size` fits the bias tables to a new window."""

_RESIZE_NOTE = "; bias tables resized bicubically from M="


class SwinTransformer(nn.Module):
    """Swin V1: patch embedding, stages of (S)W-MSA blocks with patch merging at the end of
    every stage but the last, final LayerNorm, average pool and linear head.

    Accepts any input size: the image is padded to a multiple of the patch, each block's
    feature map to a multiple of its window (before the cyclic shift), and odd grids before
    merging, as HF transformers does. ``model(x)`` maps (batch, in_chans, H, W) to logits
    (batch, num_classes).

    The shift and the window can change in place (:meth:`set_shifted`,
    :meth:`set_window_size`) without rebuilding the model: the blocks' shift is a flag and
    their per-shape plans and bias caches follow it.
    """

    checkpoint_info: str | None
    """Where the weights came from, set by :func:`swin_model.checkpoint.load_checkpoint`
    (file, key layout, and the entry read, e.g. EMA weights); None for a model built here."""

    bias_tables_resized_from: int | None
    """The window M the bias tables were trained (or built) with when they are now resized
    bicubically to another window, else None (set by loading and by :meth:`set_window_size`)."""

    def __init__(self, config: SwinConfig) -> None:
        super().__init__()
        self.config = config
        self.checkpoint_info = None
        self.bias_tables_resized_from = None
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

    def block(self, stage: int, block: int) -> SwinBlock:
        """Block ``block`` of stage ``stage`` (both 0-based); ValueError naming the depths
        when there is none."""
        for candidate in self.blocks():
            if (candidate.stage, candidate.block) == (stage, block):
                return candidate
        raise ValueError(f"no block {(stage, block)} (stage, block) in this model; it has "
                         f"{list(self.config.depths)} blocks per stage")

    # --- changing the shift and the window in place ------------------------------------------

    def set_shifted(self, shifted: bool) -> None:
        """Turn the cyclic shift of every odd block on or off, keeping the module and its
        weights: the result equals a model built with ``config.replace(shifted=shifted)``
        holding the same state dict. Masks and plans for the new shift are made on the next
        forward (and cached)."""
        if not isinstance(shifted, bool):
            raise TypeError(f"shifted must be True or False, got {shifted!r}")
        self.config = self.config.replace(shifted=shifted)
        for block in self.blocks():
            block.shift_size = self.config.stage_shift(block.stage) if block.block % 2 == 1 else 0

    def set_window_size(self, window_size: int, tables: TableRule = "auto") -> None:
        """Change the window M of every stage in place. Only the relative position bias
        tables change (their index and the masks follow the window on the next forward);
        every other weight is kept.

        ``tables``:

        - ``"resize"`` (what loaded weights need): each stage gets the window the official
          code builds at ``config.img_size`` (as :func:`swin_model.checkpoint.load_checkpoint`
          with ``window_size`` does) and its table is resized bicubically with
          :func:`swin_model.bias_resize.resize_bias_table`, always from the table held before
          the first resize (7 -> 12 -> 7 gives the trained table back);
        - ``"redraw"`` (random weights): every stage gets window M and its table is drawn
          again at the new size from its own seed, exactly as
          ``SwinTransformer(config.replace(window_size=M))`` built under the same global seed
          holds it (so a seeded preset equals a fresh build);
        - ``"auto"``: ``"resize"`` for a model loaded from a checkpoint
          (``checkpoint_info`` set), else ``"redraw"``.
        """
        window_size, _ = windows.check_window(window_size)
        if tables not in ("auto", "resize", "redraw"):
            raise ValueError(f"tables must be 'auto', 'resize' or 'redraw', got {tables!r}")
        resize = tables == "resize" or (tables == "auto" and self.checkpoint_info is not None)
        config = self.config
        stage_windows = (tuple(windows.official_table_windows(
            config.img_size, config.img_size, config.patch_size, window_size, config.num_stages))
            if resize else None)
        config = config.replace(window_size=window_size, stage_window_sizes=stage_windows)
        resizer = None
        if resize:
            from .bias_resize import resize_bias_table

            resizer = resize_bias_table
        resized_from: int | None = None
        for block in self.blocks():
            stage_window = config.stage_window(block.stage)
            if block.attn.window_size != stage_window:
                block.attn.set_table_window(stage_window, resizer)
            block.window_size = stage_window
            block.shift_size = config.stage_shift(block.stage) if block.block % 2 == 1 else 0
            source = block.attn.resized_from()
            if resized_from is None and source is not None:
                resized_from = source
        self.config = config
        self.bias_tables_resized_from = resized_from
        if self.checkpoint_info is not None:
            info = self.checkpoint_info.split(_RESIZE_NOTE)[0]
            if resized_from is not None:
                info += f"{_RESIZE_NOTE}{resized_from} to M={window_size}"
            self.checkpoint_info = info

    # --- forward ---------------------------------------------------------------------------

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
