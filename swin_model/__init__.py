"""Swin Transformer core: configuration, window geometry, model, capture, cost, checkpoints.

Pure PyTorch and numpy; never imports Qt.
"""

from . import windows
from .config import PRESET_NAMES, SwinConfig, preset

__all__ = ["PRESET_NAMES", "SwinConfig", "preset", "windows"]
