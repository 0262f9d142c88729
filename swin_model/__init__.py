"""Swin Transformer core: configuration, window geometry, model, capture, cost, checkpoints.

Pure PyTorch and numpy; never imports Qt. Importing the package, its configuration, the
window geometry or the analytic cost does not import torch: the names that need it load on
first use, so a GUI can draw geometry while torch is still loading elsewhere.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from . import windows
from .config import PRESET_NAMES, SwinConfig, preset
from .flops import BlockCost, CostReport, MeasuredCost, StageCost, count_macs, measured_macs

if TYPE_CHECKING:
    from .capture import (
        AttentionRecord,
        CapturedRun,
        CaptureMode,
        block_attention,
        block_record,
        capture_all,
        capture_attention,
        choose_capture_mode,
        estimate_capture_bytes,
    )
    from .checkpoint import CheckpointError, load_checkpoint, save_official, save_timm
    from .model import SwinTransformer

_LAZY = {
    "AttentionRecord": "capture",
    "CaptureMode": "capture",
    "CapturedRun": "capture",
    "block_attention": "capture",
    "block_record": "capture",
    "capture_all": "capture",
    "capture_attention": "capture",
    "choose_capture_mode": "capture",
    "estimate_capture_bytes": "capture",
    "SwinTransformer": "model",
    "CheckpointError": "checkpoint",
    "load_checkpoint": "checkpoint",
    "save_official": "checkpoint",
    "save_timm": "checkpoint",
}

__all__ = [
    "PRESET_NAMES",
    "AttentionRecord",
    "BlockCost",
    "CaptureMode",
    "CapturedRun",
    "CheckpointError",
    "CostReport",
    "MeasuredCost",
    "StageCost",
    "SwinConfig",
    "SwinTransformer",
    "block_attention",
    "block_record",
    "capture_all",
    "capture_attention",
    "choose_capture_mode",
    "count_macs",
    "estimate_capture_bytes",
    "load_checkpoint",
    "measured_macs",
    "preset",
    "save_official",
    "save_timm",
    "windows",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
