"""Qt items of the figure views, built from the arrays of :mod:`explorer.views.cells`.

Paths (rectangles, grid lines, borders, hatching) are made from those (K, 4) arrays;
:class:`CrispPathItem` paints axis-aligned cells without seams, :class:`Label` and
:class:`ScaledLabels` write text, :class:`Panel` is a titled view box and
:class:`WrappedText` rich text that wraps to its layout's width.

Lifetimes: every child item is attached after construction (``setParentItem``,
``ViewBox.addItem``, ``GraphicsLayout.addItem``), so each has exactly one C++ owner; and no
class here overrides a Qt virtual that can run inside a C++ destructor (``resizeEvent``,
``itemChange``, ``boundingRect``): size changes arrive through the ``geometryChanged``
signal, which PySide disconnects before its exit clean-up. Only ``paint`` is overridden.

Images are stored row-major (row, col, channel); pyqtgraph is told so here, once, before
any view can draw (every view builds its panels from this module).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, overload

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .cells import boundary_segments, grid_segments, hatch_segments, value_rects

pg.setConfigOptions(imageAxisOrder="row-major")

__all__ = [
    "Cells",
    "CrispPathItem",
    "Label",
    "Panel",
    "ScaledLabels",
    "WrappedText",
    "boundary_path",
    "cells_in_path",
    "grid_path",
    "hatch_path",
    "make_path_item",
    "rect_path",
    "segments_path",
    "value_paths",
]

_RECT_CONNECT = np.array([1, 1, 1, 1, 0], dtype=np.int32)


# --- paths -------------------------------------------------------------------------------------


def rect_path(rects: np.ndarray) -> QtGui.QPainterPath:
    """One path of closed rectangles; ``rects`` is (K, 4) of (x, y, width, height)."""
    rects = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
    if len(rects) == 0:
        return QtGui.QPainterPath()
    x0, y0, width, height = rects.T
    x1, y1 = x0 + width, y0 + height
    xs = np.stack([x0, x1, x1, x0, x0], axis=1).ravel()
    ys = np.stack([y0, y0, y1, y1, y0], axis=1).ravel()
    return pg.arrayToQPath(xs, ys, connect=np.tile(_RECT_CONNECT, len(rects)), finiteCheck=False)


def segments_path(segments: np.ndarray) -> QtGui.QPainterPath:
    """One path of separate line segments; ``segments`` is (K, 4) of (x0, y0, x1, y1)."""
    segments = np.asarray(segments, dtype=np.float64).reshape(-1, 4)
    if len(segments) == 0:
        return QtGui.QPainterPath()
    xs = segments[:, [0, 2]].ravel()
    ys = segments[:, [1, 3]].ravel()
    return pg.arrayToQPath(xs, ys, connect="pairs", finiteCheck=False)


def value_paths(
    labels: np.ndarray, scale: float, offset: tuple[float, float] = (0.0, 0.0), skip: Iterable[int] = ()
) -> dict[int, QtGui.QPainterPath]:
    """One path per label value covering that value's cells (see :func:`cells.value_rects`)."""
    return {value: rect_path(xywh) for value, xywh in value_rects(labels, scale, offset, skip).items()}


def grid_path(
    rows: int, cols: int, step_rows: int, step_cols: int, scale: float, outline: bool = True
) -> QtGui.QPainterPath:
    """The lines of :func:`cells.grid_segments` as one path."""
    return segments_path(grid_segments(rows, cols, step_rows, step_cols, scale, outline))


def boundary_path(
    labels: np.ndarray,
    scale: float,
    offset: tuple[float, float] = (0.0, 0.0),
    outline: bool = False,
    ignore: int | None = None,
) -> QtGui.QPainterPath:
    """The borders of :func:`cells.boundary_segments` as one path."""
    return segments_path(boundary_segments(labels, scale, offset, outline, ignore))


def hatch_path(rects: np.ndarray, spacing: float) -> QtGui.QPainterPath:
    """The hatching of :func:`cells.hatch_segments` as one path: plain line segments, so
    the hatch stays vector in SVG and PDF."""
    return segments_path(hatch_segments(rects, spacing))


def cells_in_path(
    path: QtGui.QPainterPath, rows: int, cols: int, scale: float, offset: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """(rows, cols) bool: which cells' centres the filled ``path`` covers (reads back what a
    view drew, for tests and hover read-outs)."""
    inside = np.zeros((rows, cols), dtype=bool)
    bounds = path.boundingRect()
    for row in range(rows):
        y = offset[1] + (row + 0.5) * scale
        if y < bounds.top() or y > bounds.bottom():
            continue
        for col in range(cols):
            x = offset[0] + (col + 0.5) * scale
            inside[row, col] = path.contains(QtCore.QPointF(x, y))
    return inside


# --- items -------------------------------------------------------------------------------------


class Cells:
    """Rectangles (x, y, width, height) ready to paint: their path (shape, read-back, vector
    export) and Qt rectangles (fast raster painting). Build once, set many times."""

    __slots__ = ("path", "rects")

    def __init__(self, path: QtGui.QPainterPath, rects: list[QtCore.QRectF]) -> None:
        self.path = path
        self.rects = rects

    @classmethod
    def of(cls, rects: np.ndarray) -> Cells:
        rects = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
        return cls(rect_path(rects), [QtCore.QRectF(*row) for row in rects.tolist()])


class CrispPathItem(QtWidgets.QGraphicsPathItem):
    """A path item painted without antialiasing, for axis-aligned cells and thin grid
    lines: the edges fall on whole device pixels (no half-transparent seams between
    neighbouring cells), and a path of thousands of small rectangles paints several
    times faster than with antialiasing. Vector output (SVG, PDF) is unaffected.

    Cells given with :meth:`set_rects` are painted as rectangles (another fourfold speed-up
    over filling the equivalent path); the path stays the item's shape for hit tests and
    read-back."""

    def __init__(self) -> None:
        super().__init__()
        self._rects: list[QtCore.QRectF] | None = None

    def setPath(self, path: QtGui.QPainterPath) -> None:
        self._rects = None
        super().setPath(path)

    def set_rects(self, rects: np.ndarray | Cells) -> None:
        """Fill the (K, 4) rectangles (x, y, width, height), or prebuilt :class:`Cells`."""
        cells = rects if isinstance(rects, Cells) else Cells.of(rects)
        super().setPath(cells.path)
        self._rects = cells.rects

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionGraphicsItem,
        widget: QtWidgets.QWidget | None = None,
    ) -> None:
        antialiased = painter.testRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        if self._rects is None:
            super().paint(painter, option, widget)
        else:
            painter.setPen(self.pen())
            painter.setBrush(self.brush())
            painter.drawRects(self._rects)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, antialiased)


@overload
def make_path_item(viewbox: pg.ViewBox, z: float, pen: QtGui.QPen | None = ...,
                   brush: QtGui.QBrush | str | None = ..., *, crisp: Literal[True]) -> CrispPathItem: ...


@overload
def make_path_item(viewbox: pg.ViewBox, z: float, pen: QtGui.QPen | None = ...,
                   brush: QtGui.QBrush | str | None = ...,
                   crisp: bool = ...) -> QtWidgets.QGraphicsPathItem: ...


def make_path_item(
    viewbox: pg.ViewBox,
    z: float,
    pen: QtGui.QPen | None = None,
    brush: QtGui.QBrush | str | None = None,
    crisp: bool = False,
) -> QtWidgets.QGraphicsPathItem:
    """An empty path item added to ``viewbox`` at depth ``z``; ``crisp`` for axis-aligned
    cell fills and thin grid lines (see :class:`CrispPathItem`)."""
    item = CrispPathItem() if crisp else QtWidgets.QGraphicsPathItem()
    item.setPen(pen if pen is not None else QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
    item.setBrush(pg.mkBrush(brush) if brush is not None else QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush))
    item.setZValue(z)
    viewbox.addItem(item, ignoreBounds=True)
    return item


class Label(QtWidgets.QGraphicsRectItem):
    """Text of a fixed size on screen (it ignores the view's zoom), anchored at a point of
    the scene, with an optional box behind it. Much cheaper to update than a pyqtgraph
    TextItem: nothing is recomputed when the text, font and colour stay the same."""

    PADDING = 2.0

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setPen(QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
        self.setBrush(QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush))
        self.text_item = QtWidgets.QGraphicsSimpleTextItem()
        self.text_item.setParentItem(self)
        self._layout: tuple[object, ...] | None = None
        self._text = ""

    def configure(
        self, text: str, color: str, font: QtGui.QFont, anchor: tuple[float, float], angle: float = 0.0
    ) -> None:
        """Show ``text``; ``font`` is compared by identity, so pass shared font objects
        (FigureView.qfont returns one per size and weight) and never change one in place."""
        layout = (text, color, id(font), anchor, angle)
        if layout == self._layout:
            return
        previous = self._layout
        self._layout = layout
        self._text = text
        item = self.text_item
        if previous is None or previous[2] != id(font):
            item.setFont(font)
        if previous is None or previous[0] != text:
            item.setText(text)
        if previous is None or previous[1] != color:
            item.setBrush(QtGui.QColor(color))
        if previous is None or previous[4] != angle:
            item.setRotation(angle)
        item.setPos(0, 0)
        box = item.mapRectToParent(item.boundingRect())
        offset = QtCore.QPointF(-box.left() - box.width() * anchor[0], -box.top() - box.height() * anchor[1])
        item.setPos(offset)
        pad = self.PADDING
        self.setRect(box.translated(offset).adjusted(-pad, -pad, pad, pad))

    def set_box(self, brush: QtGui.QBrush | None = None, pen: QtGui.QPen | None = None) -> None:
        """Fill (and outline) the box behind the text; None for none."""
        self.setBrush(brush if brush is not None else QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush))
        self.setPen(pen if pen is not None else QtGui.QPen(QtCore.Qt.PenStyle.NoPen))

    def toPlainText(self) -> str:
        return self._text

    def font(self) -> QtGui.QFont:
        return self.text_item.font()


class Panel:
    """A zoomable, pannable view box (y pointing down, square pixels) with a title above it
    and an optional photo underneath everything else."""

    def __init__(
        self,
        layout: pg.GraphicsLayout,
        row: int,
        col: int,
        title: str = "",
        with_image: bool = True,
        aspect_locked: bool = True,
    ) -> None:
        self.title = WrappedText(centered=True)
        layout.addItem(self.title, row=row, col=col)
        if title:
            self.title.set_html(title, "#000000", 10)
        self.viewbox = layout.addViewBox(
            row=row + 1, col=col, lockAspect=aspect_locked, invertY=True, enableMenu=False
        )
        self.image: pg.ImageItem | None = None
        if with_image:
            self.image = pg.ImageItem()
            self.image.setZValue(-10)
            self.viewbox.addItem(self.image)
        self._extent: tuple[float, float, float, float] | None = None

    def set_extent(self, x: float, y: float, width: float, height: float) -> None:
        """Show this rectangle; the zoom is only reset when the extent changes."""
        extent = (x, y, width, height)
        if extent != self._extent:
            self._extent = extent
            self.viewbox.setRange(QtCore.QRectF(x, y, width, height), padding=0.02)

    def reset_extent(self) -> None:
        self._extent = None

    def view_point(self, scene_pos: QtCore.QPointF) -> QtCore.QPointF | None:
        """``scene_pos`` in this panel's coordinates, or None when outside the panel."""
        if not self.viewbox.sceneBoundingRect().contains(scene_pos):
            return None
        return self.viewbox.mapSceneToView(scene_pos)


class WrappedText(QtWidgets.QGraphicsWidget):
    """Rich text in a graphics layout that wraps to the width the layout gives it (a
    LabelItem would instead force the layout as wide as its longest line).

    A plain QGraphicsWidget (no pyqtgraph overrides of ``boundingRect``/``shape``), which
    follows its width through ``geometryChanged`` rather than a ``resizeEvent`` override."""

    def __init__(self, centered: bool = False) -> None:
        super().__init__()
        self.centered = centered
        self._content: tuple[str, str, float] | None = None
        self.item = QtWidgets.QGraphicsTextItem()
        self.item.setParentItem(self)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(60)
        self.geometryChanged.connect(self._geometry_changed)

    def set_html(self, html: str, color: str, point_size: float) -> None:
        """Show ``html``; font and colour are only reset when they change, because each
        reset lays the whole text out again."""
        content = (html, color, point_size)
        previous = self._content
        if content == previous:
            return
        self._content = content
        if previous is None or previous[2] != point_size:
            font = QtGui.QFont()
            font.setPointSizeF(point_size)
            self.item.setFont(font)
        if previous is None or previous[1] != color:
            self.item.setDefaultTextColor(QtGui.QColor(color))
        self.item.setHtml(f"<div align='center'>{html}</div>" if self.centered else html)
        self._fit()

    def html(self) -> str:
        return self.item.toHtml()

    def plain_text(self) -> str:
        return self.item.toPlainText()

    def _geometry_changed(self) -> None:
        if abs(self.size().width() - self.item.textWidth()) > 0.5:
            self._fit()

    def _fit(self) -> None:
        width = max(self.size().width(), 60.0)
        if abs(width - self.item.textWidth()) > 0.5:
            self.item.setTextWidth(width)
        height = self.item.boundingRect().height() if self.item.toPlainText() else 0.0
        self.setMinimumHeight(height)
        self.setMaximumHeight(height)
        self.updateGeometry()


class ScaledLabels:
    """Text that lives in scene units (it zooms with the view and always fits its cell),
    for labels inside small cells. Needs a view box with y pointing down (invertY)."""

    _PIXEL_SIZE = 100

    def __init__(self, viewbox: pg.ViewBox, z: float = 32.0) -> None:
        self._viewbox = viewbox
        self._z = z
        self._items: list[QtWidgets.QGraphicsSimpleTextItem] = []
        self._used = 0

    def begin(self) -> None:
        self._used = 0

    def add(
        self, text: str, x: float, y: float, height: float, color: str, bold: bool = True
    ) -> QtWidgets.QGraphicsSimpleTextItem:
        """``text`` centred on (x, y), its line ``height`` scene units tall."""
        if self._used == len(self._items):
            item = QtWidgets.QGraphicsSimpleTextItem()
            item.setZValue(self._z)
            self._viewbox.addItem(item, ignoreBounds=True)
            self._items.append(item)
        item = self._items[self._used]
        self._used += 1
        font = QtGui.QFont()
        font.setPixelSize(self._PIXEL_SIZE)
        font.setBold(bold)
        item.setFont(font)
        item.setText(text)
        item.setBrush(pg.mkBrush(color))
        scale = height / self._PIXEL_SIZE
        item.setScale(scale)
        bounds = item.boundingRect()
        item.setPos(x - bounds.width() * scale / 2, y - bounds.height() * scale / 2)
        item.setVisible(True)
        return item

    def end(self) -> None:
        for item in self._items[self._used :]:
            item.setVisible(False)

    def visible(self) -> list[QtWidgets.QGraphicsSimpleTextItem]:
        return self._items[: self._used]
