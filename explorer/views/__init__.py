"""The linked figure views of the explorer (one per figure; the registry is
explorer/figures.py).

Images are stored row-major (row, col, channel), so pyqtgraph is told so once, here,
before any view draws.
"""

import pyqtgraph as pg

pg.setConfigOptions(imageAxisOrder="row-major")

from .base import FigureView  # noqa: E402

__all__ = ["FigureView"]
