"""Heatmaps drawn as vector cells: a value map quantised to a few colour levels, one crisp
path item per level (so a heatmap exports to SVG and PDF as rectangles, not a bitmap), and
read back level by level.

Used by the relative position bias, the receptive field and the attention rollout.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui

from .cells import value_rects
from .items import cells_in_path, make_path_item

__all__ = [
    "DIVERGING",
    "LevelCells",
    "diverging_levels",
    "level_value",
    "mix",
    "path_unit_edges",
    "sequential_levels",
]

DIVERGING_LEVELS = 21
"""Colour levels of a diverging map: level 10 is 0, 0 and 20 the extremes."""


def mix(first: str, second: str, fraction: float) -> str:
    """``#RRGGBB`` of the colour ``fraction`` of the way from ``first`` to ``second``."""
    a = np.array([int(first[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
    b = np.array([int(second[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
    red, green, blue = np.rint(a + (b - a) * fraction).astype(int)
    return f"#{red:02X}{green:02X}{blue:02X}"


def _diverging(count: int, negative: str = "#2166AC", middle: str = "#F7F7F7", positive: str = "#B2182B"
               ) -> tuple[str, ...]:
    half = count // 2
    lows = [mix(negative, middle, index / half) for index in range(half)]
    highs = [mix(middle, positive, index / half) for index in range(1, half + 1)]
    return (*lows, middle, *highs)


DIVERGING: tuple[str, ...] = _diverging(DIVERGING_LEVELS)
"""Blue (negative) to near-white (0) to red (positive), the ends of ColorBrewer's RdBu
(readable with every common colour-vision deficiency)."""


def diverging_levels(values: np.ndarray, limit: float) -> np.ndarray:
    """``values`` as int levels 0..20 of :data:`DIVERGING`, ±``limit`` at the ends (clipped)."""
    half = DIVERGING_LEVELS // 2
    if limit <= 0:
        return np.full(np.shape(values), half, dtype=np.int64)
    scaled = np.clip(np.asarray(values, dtype=np.float64) / limit, -1.0, 1.0)
    return np.rint(scaled * half).astype(np.int64) + half


def level_value(level: int | np.ndarray, limit: float) -> float | np.ndarray:
    """The value at the centre of diverging ``level`` (inverse of :func:`diverging_levels`)."""
    half = DIVERGING_LEVELS // 2
    return (np.asarray(level, dtype=np.float64) - half) / half * limit


def sequential_levels(values: np.ndarray, count: int) -> np.ndarray:
    """``values`` >= 0 as int levels 0..count-1 proportional to value / max (0 stays 0)."""
    values = np.asarray(values, dtype=np.float64)
    peak = float(values.max()) if values.size else 0.0
    if peak <= 0:
        return np.zeros(values.shape, dtype=np.int64)
    return np.rint(values / peak * (count - 1)).astype(np.int64)


def path_unit_edges(path: QtGui.QPainterPath, scale: float, offset: tuple[float, float] = (0.0, 0.0)
                    ) -> set[tuple[int, int, int, int]]:
    """The axis-aligned line segments of a border path (as :func:`items.boundary_path`
    draws them) cut into unit cell edges (x0, y0, x1, y1) with x0 <= x1 and y0 <= y1, in
    cells of side ``scale`` whose grid starts at ``offset``: reads back an outline."""
    points = [path.elementAt(index) for index in range(path.elementCount())]
    edges = set()
    for start, end in zip(points[0::2], points[1::2], strict=True):
        x0, y0 = round((start.x - offset[0]) / scale), round((start.y - offset[1]) / scale)
        x1, y1 = round((end.x - offset[0]) / scale), round((end.y - offset[1]) / scale)
        x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
        step_x, step_y = int(x1 > x0), int(y1 > y0)
        for step in range(max(x1 - x0, y1 - y0)):
            x, y = x0 + step * step_x, y0 + step * step_y
            edges.add((x, y, x + step_x, y + step_y))
    return edges


class LevelCells:
    """A (rows, cols) map of int levels drawn as cells: one crisp path item per level, filled
    with that level's brush. Level -1 (or any level without a brush) draws nothing."""

    def __init__(self, viewbox: pg.ViewBox, count: int, z: float = 5.0) -> None:
        self.items = [make_path_item(viewbox, z=z, crisp=True) for _ in range(count)]
        self._shape = (0, 0)
        self._scale = 1.0
        self._offset = (0.0, 0.0)

    def set_brushes(self, brushes: Sequence[QtGui.QBrush]) -> None:
        for item, brush in zip(self.items, brushes, strict=True):
            item.setBrush(brush)

    def set_levels(self, levels: np.ndarray, scale: float = 1.0, offset: tuple[float, float] = (0.0, 0.0)
                   ) -> None:
        """Draw ``levels`` (rows, cols) with cell (r, c) at ``offset + (c, r) * scale``."""
        levels = np.asarray(levels, dtype=np.int64)
        self._shape, self._scale, self._offset = levels.shape, scale, offset
        rects = value_rects(levels, scale, offset, skip=(-1,))
        for level, item in enumerate(self.items):
            chosen = rects.get(level)
            item.setVisible(chosen is not None)
            if chosen is not None:
                item.set_rects(chosen)

    def set_visible(self, visible: bool) -> None:
        for item in self.items:
            item.setVisible(visible and not item.path().isEmpty())

    def drawn_levels(self) -> np.ndarray:
        """(rows, cols) int: the level whose path covers each cell's centre, -1 for none."""
        rows, cols = self._shape
        drawn = np.full((rows, cols), -1, dtype=np.int64)
        for level, item in enumerate(self.items):
            if item.isVisible() and not item.path().isEmpty():
                drawn[cells_in_path(item.path(), rows, cols, self._scale, self._offset)] = level
        return drawn
