"""Swin Transformer core: configuration, window geometry, model, capture, cost, checkpoints.

Pure PyTorch and numpy; never imports Qt.
"""

from . import windows
from .capture import AttentionRecord, capture_attention
from .config import PRESET_NAMES, SwinConfig, preset
from .model import SwinTransformer

__all__ = [
    "PRESET_NAMES",
    "AttentionRecord",
    "SwinConfig",
    "SwinTransformer",
    "capture_attention",
    "preset",
    "windows",
]
