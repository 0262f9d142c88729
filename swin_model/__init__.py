"""Swin Transformer core: configuration, window geometry, model, capture, cost, checkpoints.

Pure PyTorch and numpy; never imports Qt.
"""

from . import windows
from .capture import AttentionRecord, capture_attention
from .config import PRESET_NAMES, SwinConfig, preset
from .flops import BlockCost, CostReport, MeasuredCost, StageCost, count_macs, measured_macs
from .model import SwinTransformer

__all__ = [
    "PRESET_NAMES",
    "AttentionRecord",
    "BlockCost",
    "CostReport",
    "MeasuredCost",
    "StageCost",
    "SwinConfig",
    "SwinTransformer",
    "capture_attention",
    "count_macs",
    "measured_macs",
    "preset",
    "windows",
]
