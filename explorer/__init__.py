"""Swin Explorer: an interactive desktop explorer of the Swin Transformer.

Importing the package is light (no Qt, no torch); ``explorer.MainWindow`` loads the window
module on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["MainWindow"]


def __getattr__(name: str) -> Any:
    if name == "MainWindow":
        from .main_window import MainWindow

        return MainWindow
    raise AttributeError(f"module 'explorer' has no attribute {name!r}")
