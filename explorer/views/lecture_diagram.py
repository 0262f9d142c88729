"""Box-and-arrow diagrams for the lecture's figures (architecture, block pair, ViT against
Swin): boxes, text and arrows in one view box, all in diagram units.

Text here is sized in diagram units, like the boxes, so a diagram scales as one picture:
whatever the window or the export size, a label keeps its place in its box and labels
laid out apart stay apart. A redraw reuses the items of the previous one (the ones left
over are hidden), and keyed boxes answer hit tests for clicks and hover.

Lifetimes: every item is added to the view box after construction (``ViewBox.addItem``),
and nothing here overrides a Qt virtual.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.palette import MERGE_COLORS, WMSA_COLOR, Theme

from .items import make_path_item
from .lecture_layout import Rect

__all__ = [
    "EMBED_COLOR",
    "MERGE_COLOR",
    "MLP_COLOR",
    "NORM_COLOR",
    "SWMSA_COLOR",
    "WMSA_FILL",
    "Diagram",
    "Point",
    "diagram_sizes",
]

Point = tuple[float, float]

EMBED_COLOR = "#0072B2"
"""Patch partition and linear embedding: blue."""
MERGE_COLOR = MERGE_COLORS[2]
"""Patch merging: bluish green."""
WMSA_FILL = WMSA_COLOR
"""W-MSA blocks: sky blue, as window attention in the cost view."""
SWMSA_COLOR = "#CC79A7"
"""SW-MSA blocks: reddish purple."""
NORM_COLOR = "#999999"
"""LayerNorm: grey."""
MLP_COLOR = "#E69F00"
"""MLP: orange."""

_BASE_PIXELS = 100
"""Pixel size the fonts are made at; each text item is scaled down to its size."""


def diagram_sizes(theme: Theme) -> tuple[float, float]:
    """(small, large) text sizes in diagram units: small text is 16 units (a diagram laid out
    in these units is about as wide in units as it is in pixels at the 1200 px export), large
    text larger in the theme's proportion of label size to small size."""
    small = 16.0
    return small, small * theme.label_size / theme.small_size


class Diagram:
    """The items of one diagram in ``viewbox`` (y pointing down): call :meth:`begin`,
    draw boxes, text and arrows, then :meth:`end`."""

    def __init__(self, viewbox: pg.ViewBox) -> None:
        self._viewbox = viewbox
        self._boxes: list[QtWidgets.QGraphicsPathItem] = []
        self._texts: list[QtWidgets.QGraphicsSimpleTextItem] = []
        self._used_boxes = 0
        self._used_texts = 0
        self.lines = make_path_item(viewbox, z=20)
        self.heads = make_path_item(viewbox, z=21)
        self._line_path = QtGui.QPainterPath()
        self._head_path = QtGui.QPainterPath()
        self._hits: list[tuple[Rect, Hashable]] = []
        self.boxes_by_key: dict[Hashable, QtWidgets.QGraphicsPathItem] = {}
        self.texts_by_key: dict[Hashable, QtWidgets.QGraphicsSimpleTextItem] = {}
        self._extent: Rect | None = None
        self._fonts = {bold: self._font(bold) for bold in (False, True)}
        self._measurer = QtWidgets.QGraphicsSimpleTextItem()
        self._sizes: dict[tuple[str, bool], tuple[float, float]] = {}

    @staticmethod
    def _font(bold: bool) -> QtGui.QFont:
        font = QtGui.QFont()
        font.setPixelSize(_BASE_PIXELS)
        font.setBold(bold)
        return font

    # --- drawing -------------------------------------------------------------------------------

    def begin(self) -> None:
        self._used_boxes = self._used_texts = 0
        self._line_path = QtGui.QPainterPath()
        self._head_path = QtGui.QPainterPath()
        self._hits = []
        self.boxes_by_key = {}
        self.texts_by_key = {}
        self._extent = None

    def end(self, line_pen: QtGui.QPen, head_brush: QtGui.QBrush) -> None:
        """Show the arrows drawn since :meth:`begin` and hide the items left over."""
        for item in self._boxes[self._used_boxes :]:
            item.setVisible(False)
        for text in self._texts[self._used_texts :]:
            text.setVisible(False)
        self.lines.setPath(self._line_path)
        self.lines.setPen(line_pen)
        self.heads.setPath(self._head_path)
        self.heads.setBrush(head_brush)
        self.heads.setPen(QtGui.QPen(QtCore.Qt.PenStyle.NoPen))

    def box(
        self,
        rect: Rect,
        pen: QtGui.QPen,
        brush: QtGui.QBrush | None = None,
        radius: float = 0.0,
        z: float = 10.0,
        key: Hashable | None = None,
        tooltip: str = "",
    ) -> QtWidgets.QGraphicsPathItem:
        """A rectangle (rounded by ``radius``); a ``key`` makes it answer :meth:`hit`."""
        if self._used_boxes == len(self._boxes):
            item = QtWidgets.QGraphicsPathItem()
            self._viewbox.addItem(item, ignoreBounds=True)
            self._boxes.append(item)
        item = self._boxes[self._used_boxes]
        self._used_boxes += 1
        path = QtGui.QPainterPath()
        bounds = QtCore.QRectF(rect.x, rect.y, rect.width, rect.height)
        if radius > 0:
            path.addRoundedRect(bounds, radius, radius)
        else:
            path.addRect(bounds)
        item.setPath(path)
        item.setPen(pen)
        item.setBrush(brush if brush is not None else QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush))
        item.setZValue(z)
        item.setToolTip(tooltip)
        item.setVisible(True)
        if key is not None:
            self._hits.append((rect, key))
            self.boxes_by_key[key] = item
        self._grow(rect)
        return item

    def region(self, rect: Rect, key: Hashable) -> None:
        """Make ``rect`` answer :meth:`hit` with ``key`` without drawing anything."""
        self._hits.append((rect, key))

    def measure(self, text: str, size: float, bold: bool = False) -> tuple[float, float]:
        """(width, height) of one line of ``text`` at ``size`` diagram units."""
        cached = self._sizes.get((text, bold))
        if cached is None:
            self._measurer.setFont(self._fonts[bold])
            self._measurer.setText(text)
            bounds = self._measurer.boundingRect()
            cached = self._sizes[(text, bold)] = (bounds.width(), bounds.height())
        scale = size / _BASE_PIXELS
        return cached[0] * scale, cached[1] * scale

    def text(
        self,
        text: str,
        x: float,
        y: float,
        size: float,
        color: str,
        bold: bool = False,
        anchor: Point = (0.0, 0.0),
        key: Hashable | None = None,
        tooltip: str = "",
    ) -> QtWidgets.QGraphicsSimpleTextItem:
        """One line of ``text``, ``size`` units tall (the font's pixel size), placed so that
        the point ``anchor`` (fractions of its width and height) falls on (x, y)."""
        if self._used_texts == len(self._texts):
            item = QtWidgets.QGraphicsSimpleTextItem()
            item.setZValue(30)
            self._viewbox.addItem(item, ignoreBounds=True)
            self._texts.append(item)
        item = self._texts[self._used_texts]
        self._used_texts += 1
        item.setFont(self._fonts[bold])
        item.setText(text)
        item.setBrush(pg.mkBrush(color))
        scale = size / _BASE_PIXELS
        item.setScale(scale)
        width, height = self.measure(text, size, bold)
        left, top = x - width * anchor[0], y - height * anchor[1]
        item.setPos(left, top)
        item.setToolTip(tooltip)
        item.setVisible(True)
        if key is not None:
            self.texts_by_key[key] = item
        self._grow(Rect(left, top, width, height))
        return item

    def line(self, points: Sequence[Point]) -> None:
        """A polyline through ``points``."""
        self._line_path.moveTo(*points[0])
        for point in points[1:]:
            self._line_path.lineTo(*point)
        for x, y in points:
            self._grow(Rect(x, y, 0.0, 0.0))

    def arrow(self, points: Sequence[Point], head: float) -> None:
        """A polyline through ``points`` with an arrowhead ``head`` units long at the last."""
        (x0, y0), (x1, y1) = points[-2], points[-1]
        length = math.hypot(x1 - x0, y1 - y0)
        if length == 0:
            return
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        base = (x1 - ux * head, y1 - uy * head)
        self.line([*points[:-1], base])
        half = head * 0.45
        triangle = QtGui.QPolygonF(
            [
                QtCore.QPointF(x1, y1),
                QtCore.QPointF(base[0] - uy * half, base[1] + ux * half),
                QtCore.QPointF(base[0] + uy * half, base[1] - ux * half),
            ]
        )
        self._head_path.addPolygon(triangle)
        self._head_path.closeSubpath()
        self._grow(Rect(x1, y1, 0.0, 0.0))

    def _grow(self, rect: Rect) -> None:
        self._extent = rect if self._extent is None else self._extent.united(rect)

    # --- reading back ----------------------------------------------------------------------------

    @property
    def extent(self) -> Rect:
        """The box around everything drawn since :meth:`begin`."""
        return self._extent if self._extent is not None else Rect(0.0, 0.0, 1.0, 1.0)

    def hit(self, x: float, y: float) -> Hashable | None:
        """The key of the smallest keyed box under (x, y), or None."""
        under = [
            (rect.width * rect.height, index, key)
            for index, (rect, key) in enumerate(self._hits)
            if rect.contains(x, y)
        ]
        return min(under)[2] if under else None

    def key_rect(self, key: Hashable) -> Rect | None:
        """The box drawn with ``key`` (diagram units), or None."""
        return next((rect for rect, other in self._hits if other == key), None)

    def visible_texts(self) -> list[QtWidgets.QGraphicsSimpleTextItem]:
        return self._texts[: self._used_texts]

    def visible_boxes(self) -> list[QtWidgets.QGraphicsPathItem]:
        return self._boxes[: self._used_boxes]
