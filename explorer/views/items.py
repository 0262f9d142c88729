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

import math
import weakref
from collections.abc import Callable, Iterable
from typing import Literal, overload

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.numbers import keep_intervals_together

from .cells import boundary_segments, grid_segments, hatch_segments, value_rects
from .density import NOMINAL_PANEL_PX

pg.setConfigOptions(imageAxisOrder="row-major")

__all__ = [
    "Cells",
    "ColorCells",
    "CrispPathItem",
    "ExportHook",
    "FieldImage",
    "Label",
    "Panel",
    "ScaledLabels",
    "WrappedText",
    "boundary_path",
    "cache_axes",
    "cells_in_path",
    "grid_path",
    "hatch_path",
    "make_path_item",
    "number_size",
    "rect_path",
    "rgb",
    "segments_path",
    "text_size",
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


class ColorCells(QtWidgets.QGraphicsPathItem):
    """Cells that each have a colour of their own (an attention weight as an opacity), in
    one item instead of one item per cell. Painted as plain rectangles without
    antialiasing (crisp edges, as :class:`CrispPathItem`); in SVG and PDF each cell is one
    rectangle. The path (every cell) is the item's shape, for hit tests; :meth:`cells`
    reads back what is painted."""

    def __init__(self) -> None:
        super().__init__()
        self.setPen(QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
        self._rects: list[QtCore.QRectF] = []
        self._colors: list[QtGui.QColor] = []
        self._xywh = np.zeros((0, 4))
        self._rgba = np.zeros((0, 4), dtype=np.uint8)
        self._values = np.zeros(0)

    def set_cells(self, rects: np.ndarray, rgba: np.ndarray, values: np.ndarray | None = None) -> None:
        """Paint the (K, 4) rectangles (x, y, width, height) in the (K, 4) uint8 colours
        (red, green, blue, alpha); ``values`` (K,) are kept with them for read-back."""
        xywh = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
        colours = np.asarray(rgba, dtype=np.uint8).reshape(-1, 4)
        if len(colours) != len(xywh):
            raise ValueError(f"{len(xywh)} cells but {len(colours)} colours")
        self._xywh, self._rgba = xywh, colours
        self._values = np.zeros(len(xywh)) if values is None else np.asarray(values, dtype=np.float64).copy()
        shown = colours[:, 3] > 0
        self._rects = [QtCore.QRectF(*row) for row in xywh[shown].tolist()]
        self._colors = [QtGui.QColor(*row) for row in colours[shown].tolist()]
        self.setPath(rect_path(xywh))

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(K, 4) rectangles, (K, 4) uint8 RGBA colours and (K,) values, as painted."""
        return self._xywh.copy(), self._rgba.copy(), self._values.copy()

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionGraphicsItem,
        widget: QtWidgets.QWidget | None = None,
    ) -> None:
        antialiased = painter.testRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        for rect, colour in zip(self._rects, self._colors, strict=True):
            painter.fillRect(rect, colour)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, antialiased)


class FieldImage(QtWidgets.QGraphicsPixmapItem):
    """A dense field of cells painted as one image: pixel (r, c) covers the scene square
    ``(x + c * cell, y + r * cell)`` of side ``cell``. A full image (a pixel per cell) is
    scaled without smoothing (crisp cells when zoomed in), a reduced one smoothly;
    build the image at the level of detail of the screen
    (:func:`explorer.views.density.block_mean`). In SVG and PDF it is one embedded image.

    A plain QGraphicsPixmapItem (not a pyqtgraph ImageItem: no levels, no lookup table,
    no Python overrides)."""

    def __init__(self) -> None:
        super().__init__()
        self.setTransformationMode(QtCore.Qt.TransformationMode.FastTransformation)
        self.setShapeMode(QtWidgets.QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self._cell = 1.0
        self._reduced = False

    def set_field(self, rgb: np.ndarray, x: float, y: float, cell: float, reduced: bool = False,
                  smooth: bool | None = None) -> None:
        """Show ``rgb`` uint8 (h, w, 3), or (h, w, 4) with opacity, with its top-left corner
        at (x, y), each pixel ``cell`` scene units a side; ``reduced``: each pixel is the
        mean of several cells. ``smooth`` (default: ``reduced``) resamples the image
        smoothly to the screen, for an image whose pixels are smaller than a screen pixel."""
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        height, width, channels = rgb.shape
        image_format = (QtGui.QImage.Format.Format_RGBA8888 if channels == 4
                        else QtGui.QImage.Format.Format_RGB888)
        image = QtGui.QImage(rgb.data, width, height, channels * width, image_format)
        self.setPixmap(QtGui.QPixmap.fromImage(image))  # copies: rgb may go
        # a reduced image (a pixel holds several cells) is resampled smoothly to the screen,
        # a full one without smoothing, so that zoomed-in cells keep sharp edges
        self.setTransformationMode(
            QtCore.Qt.TransformationMode.SmoothTransformation if (reduced if smooth is None else smooth)
            else QtCore.Qt.TransformationMode.FastTransformation
        )
        self.setTransform(QtGui.QTransform.fromScale(cell, cell))
        self.setPos(x, y)
        self._cell = float(cell)
        self._reduced = reduced

    def cell_size(self) -> float:
        """Scene units a side of one pixel of the image."""
        return self._cell

    def is_reduced(self) -> bool:
        """Whether each pixel is the mean of several cells."""
        return self._reduced

    def pixels(self) -> np.ndarray:
        """uint8 (h, w, 3): the image as painted, read back from the pixmap."""
        image = self.pixmap().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
        if image.isNull():
            return np.zeros((0, 0, 3), dtype=np.uint8)
        data = np.frombuffer(bytes(image.constBits()), dtype=np.uint8)
        rows = data.reshape(image.height(), image.bytesPerLine())
        return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()

    def pixels_alpha(self) -> np.ndarray:
        """uint8 (h, w): the image's opacity as painted (255 for an opaque image)."""
        image = self.pixmap().toImage().convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
        if image.isNull():
            return np.zeros((0, 0), dtype=np.uint8)
        data = np.frombuffer(bytes(image.constBits()), dtype=np.uint8)
        rows = data.reshape(image.height(), image.bytesPerLine())
        return rows[:, : image.width() * 4].reshape(image.height(), image.width(), 4)[..., 3].copy()


class ExportHook(QtWidgets.QGraphicsRectItem):
    """An invisible item that tells its view when the scene is painted for export.

    :func:`explorer.export.painting.export_mode` calls ``setExportMode(True, options)`` on
    every item of the scene that has that method before painting, and
    ``setExportMode(False)`` after (pyqtgraph's own protocol); this item passes the flag on
    to ``callback`` (held weakly: the item does not keep its view alive)."""

    def __init__(self, callback: Callable[[bool], None]) -> None:
        super().__init__()
        self.setVisible(False)
        self._callback = weakref.WeakMethod(callback)  # type: ignore[arg-type]

    def setExportMode(self, export: bool, opts: dict | None = None) -> None:
        callback = self._callback()
        if callback is not None:
            callback(bool(export))


def cache_axes(plot: pg.PlotItem) -> None:
    """Paint the axes of ``plot`` (their ticks, labels and grid lines) from a pixmap kept
    until they change: replaying an axis' drawing costs several ms a frame, more than the
    rest of a small figure. Export is unaffected (vector output draws the axes anew)."""
    for name in ("left", "bottom", "right", "top"):
        plot.getAxis(name).setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)


def rgb(color: str) -> tuple[int, int, int]:
    """(red, green, blue) 0-255 of a colour name or ``#RRGGBB``."""
    qcolor = QtGui.QColor(color)
    return qcolor.red(), qcolor.green(), qcolor.blue()


def text_size(text: str, font: QtGui.QFont) -> tuple[float, float]:
    """(width, height) in pixels of the box a :class:`Label` draws behind ``text`` in
    ``font`` (the text's bounds plus the label's padding)."""
    item = QtWidgets.QGraphicsSimpleTextItem(text)
    item.setFont(font)
    bounds = item.boundingRect()
    pad = 2 * Label.PADDING
    return bounds.width() + pad, bounds.height() + pad


_NUMBER_SIZES: dict[tuple[str, float, bool, int], tuple[float, float]] = {}


def number_size(digits: int, font: QtGui.QFont) -> tuple[float, float]:
    """The largest :func:`text_size` of a ``digits``-digit number in ``font`` (remembered)."""
    key = (font.family(), font.pointSizeF(), font.bold(), digits)
    size = _NUMBER_SIZES.get(key)
    if size is None:
        sizes = [text_size(str(digit) * digits, font) for digit in range(10)]
        size = _NUMBER_SIZES[key] = (max(w for w, _ in sizes), max(h for _, h in sizes))
    return size


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

    def available_px(self) -> float:
        """The shorter side of the panel's view box in pixels (what a square extent fills);
        :data:`density.NOMINAL_PANEL_PX` before Qt has laid the panel out."""
        side = min(self.viewbox.width(), self.viewbox.height())
        return float(side) if side >= 16 else NOMINAL_PANEL_PX

    def pixels_per_unit(self) -> float:
        """Screen pixels per scene unit at the panel's present zoom (the export at the
        default width paints at this scale too). Before Qt has laid the panel out, its
        extent's longer side is assumed to span :data:`density.NOMINAL_PANEL_PX`."""
        viewbox = self.viewbox
        (left, right), (top, bottom) = viewbox.viewRange()
        width, height = viewbox.width(), viewbox.height()
        if width >= 16 and height >= 16 and right > left and bottom > top:
            scale = min(width / (right - left), height / (bottom - top))
            if math.isfinite(scale) and scale > 0:
                return float(scale)
        if self._extent is not None:
            return NOMINAL_PANEL_PX / max(self._extent[2], self._extent[3], 1e-9)
        return 1.0

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
        html = keep_intervals_together(html)  # "[−7, −3)" never breaks across two lines
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
        self._shown: list[tuple[object, ...] | None] = []
        """What each item shows, (text, x, y, height, colour, bold): an unchanged label
        costs nothing."""
        self._used = 0
        self._fonts: dict[bool, QtGui.QFont] = {}

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
            self._shown.append(None)
        index = self._used
        item = self._items[index]
        self._used += 1
        shown = (text, x, y, height, color, bold)
        previous = self._shown[index]
        if shown == previous:
            item.setVisible(True)
            return item
        self._shown[index] = shown
        if previous is None or previous[5] != bold:
            item.setFont(self._font(bold))
        if previous is None or previous[0] != text:
            item.setText(text)
        if previous is None or previous[4] != color:
            item.setBrush(pg.mkBrush(color))
        scale = height / self._PIXEL_SIZE
        item.setScale(scale)
        bounds = item.boundingRect()
        item.setPos(x - bounds.width() * scale / 2, y - bounds.height() * scale / 2)
        item.setVisible(True)
        return item

    def _font(self, bold: bool) -> QtGui.QFont:
        font = self._fonts.get(bold)
        if font is None:
            font = self._fonts[bold] = QtGui.QFont()
            font.setPixelSize(self._PIXEL_SIZE)
            font.setBold(bold)
        return font

    def end(self) -> None:
        for item in self._items[self._used :]:
            item.setVisible(False)

    def visible(self) -> list[QtWidgets.QGraphicsSimpleTextItem]:
        return self._items[: self._used]
