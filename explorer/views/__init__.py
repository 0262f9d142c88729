"""The linked figure views of the explorer (one per figure; the registry is
explorer/figures.py).

Three layers, each importing only the ones before it:

- :mod:`.cells`: pure numpy (no Qt): label maps → rectangles, segments, label places, and
  back from a scene point to its token (:func:`.cells.cell_at`);
- :mod:`.items` and :mod:`.text_pool`: Qt items built from those arrays (paths, labels,
  panels, wrapped text) and reusable label pools. :mod:`.items` also tells pyqtgraph,
  once and before any view can draw, that images are stored row-major (row, col, channel);
- :mod:`.base` (:class:`FigureView`, the contract) and one module per figure.

Importing the package is light (no Qt): ``FigureView`` loads on first use, so the pure
layer can be used without a display.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import FigureView

__all__ = ["FigureView"]


def __getattr__(name: str) -> Any:
    if name == "FigureView":
        from .base import FigureView

        return FigureView
    raise AttributeError(f"module 'explorer.views' has no attribute {name!r}")
