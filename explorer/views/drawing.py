"""Vector drawing helpers shared by the figure views.

Everything here turns arrays that :mod:`swin_model.windows` computed into Qt vector items
(paths, rects, text); nothing here knows about windows, shifts or regions. Label maps are
(rows, cols) integer arrays on a token grid; ``scale`` is the side of one cell in scene
units (the stage's stride in pixels for views drawn over the photo).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

__all__ = [
    "Cells",
    "CrispPathItem",
    "Label",
    "LruCache",
    "Panel",
    "ScaledLabels",
    "TextPool",
    "TextPoolCache",
    "WrappedText",
    "boundary_path",
    "cells_in_path",
    "grid_path",
    "hatch_path",
    "label_rectangles",
    "make_path_item",
    "rect_path",
    "value_paths",
    "value_rects",
]

_RECT_CONNECT = np.array([1, 1, 1, 1, 0], dtype=np.int32)


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Horizontal runs of equal values in a 2-D array: (row, start, end, value) arrays,
    ``end`` exclusive, row-major order."""
    height, width = values.shape
    starts_mask = np.ones((height, width), dtype=bool)
    starts_mask[:, 1:] = values[:, 1:] != values[:, :-1]
    rows, starts = np.nonzero(starts_mask)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1] = width
    row_changes = np.nonzero(rows[1:] != rows[:-1])[0]
    ends[row_changes] = width
    return rows, starts, ends, values[rows, starts]


def label_rectangles(labels: np.ndarray) -> np.ndarray:
    """Cover a (rows, cols) label map with rectangles of equal labels.

    Returns an int64 array (K, 5) of (row, col, height, width, label): horizontal runs of
    equal labels, merged downwards while the run below has the same columns and label.
    Every cell is covered by exactly one rectangle.
    """
    labels = np.asarray(labels)
    if labels.size == 0:
        return np.zeros((0, 5), dtype=np.int64)
    rows, starts, ends, values = _runs(labels)
    order = np.lexsort((rows, values, ends, starts))
    rows, starts, ends, values = rows[order], starts[order], ends[order], values[order]
    continues = np.zeros(len(rows), dtype=bool)
    continues[1:] = (
        (starts[1:] == starts[:-1])
        & (ends[1:] == ends[:-1])
        & (values[1:] == values[:-1])
        & (rows[1:] == rows[:-1] + 1)
    )
    first = np.nonzero(~continues)[0]
    heights = np.diff(np.append(first, len(rows)))
    return np.stack(
        [rows[first], starts[first], heights, ends[first] - starts[first], values[first].astype(np.int64)],
        axis=1,
    ).astype(np.int64)


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


def value_rects(
    labels: np.ndarray, scale: float, offset: tuple[float, float] = (0.0, 0.0), skip: Iterable[int] = ()
) -> dict[int, np.ndarray]:
    """Per label value, the (K, 4) rectangles (x, y, width, height) covering that value's
    cells, cell (r, c) at ``offset + (c, r) * scale``. Values in ``skip`` are left out."""
    rects = label_rectangles(labels)
    skipped = set(skip)
    by_value = {}
    for value in np.unique(rects[:, 4]):
        if int(value) in skipped:
            continue
        chosen = rects[rects[:, 4] == value]
        by_value[int(value)] = np.stack(
            [
                offset[0] + chosen[:, 1] * scale,
                offset[1] + chosen[:, 0] * scale,
                chosen[:, 3] * scale,
                chosen[:, 2] * scale,
            ],
            axis=1,
        )
    return by_value


def value_paths(
    labels: np.ndarray, scale: float, offset: tuple[float, float] = (0.0, 0.0), skip: Iterable[int] = ()
) -> dict[int, QtGui.QPainterPath]:
    """One path per label value covering that value's cells (see :func:`value_rects`)."""
    return {value: rect_path(xywh) for value, xywh in value_rects(labels, scale, offset, skip).items()}


def _segments_path(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> QtGui.QPainterPath:
    xs = np.stack([x0, x1], axis=1).ravel().astype(np.float64)
    ys = np.stack([y0, y1], axis=1).ravel().astype(np.float64)
    if len(xs) == 0:
        return QtGui.QPainterPath()
    return pg.arrayToQPath(xs, ys, connect="pairs", finiteCheck=False)


def grid_path(
    rows: int, cols: int, step_rows: int, step_cols: int, scale: float, outline: bool = True
) -> QtGui.QPainterPath:
    """Lines every ``step`` cells across a ``rows x cols`` grid of cells of side ``scale``
    (with the outer border when ``outline``)."""
    first = 0 if outline else 1
    col_lines = np.arange(first * step_cols, cols + (1 if outline else 0), step_cols)
    row_lines = np.arange(first * step_rows, rows + (1 if outline else 0), step_rows)
    if outline:
        col_lines = np.unique(np.append(col_lines, cols))
        row_lines = np.unique(np.append(row_lines, rows))
    else:
        col_lines = col_lines[col_lines < cols]
        row_lines = row_lines[row_lines < rows]
    width, height = cols * scale, rows * scale
    x0 = np.concatenate([col_lines * scale, np.zeros(len(row_lines))])
    x1 = np.concatenate([col_lines * scale, np.full(len(row_lines), width)])
    y0 = np.concatenate([np.zeros(len(col_lines)), row_lines * scale])
    y1 = np.concatenate([np.full(len(col_lines), height), row_lines * scale])
    return _segments_path(x0, y0, x1, y1)


def _true_runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True along axis 1 of a 2-D bool array: (line, start, end) arrays."""
    padded = np.zeros((flags.shape[0], flags.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = flags
    steps = np.diff(padded, axis=1)
    line_start, start = np.nonzero(steps == 1)
    _, end = np.nonzero(steps == -1)
    return line_start, start, end


def boundary_path(
    labels: np.ndarray,
    scale: float,
    offset: tuple[float, float] = (0.0, 0.0),
    outline: bool = False,
    ignore: int | None = None,
) -> QtGui.QPainterPath:
    """Line segments between neighbouring cells of different labels (merged along each line),
    plus the outer border of the map when ``outline``. Cells labelled ``ignore`` draw no
    border with anything."""
    labels = np.asarray(labels)
    height, width = labels.shape
    vertical = labels[:, 1:] != labels[:, :-1]
    horizontal = labels[1:, :] != labels[:-1, :]
    if ignore is not None:
        vertical &= (labels[:, 1:] != ignore) & (labels[:, :-1] != ignore)
        horizontal &= (labels[1:, :] != ignore) & (labels[:-1, :] != ignore)
    # vertical lines between columns c and c+1
    column, row_start, row_end = _true_runs(vertical.T)
    vx = (column + 1) * scale
    # horizontal lines between rows r and r+1
    row, col_start, col_end = _true_runs(horizontal)
    hy = (row + 1) * scale
    x0 = np.concatenate([vx, col_start * scale])
    x1 = np.concatenate([vx, col_end * scale])
    y0 = np.concatenate([row_start * scale, hy])
    y1 = np.concatenate([row_end * scale, hy])
    if outline:
        w, h = width * scale, height * scale
        x0 = np.concatenate([x0, [0, w, w, 0]])
        y0 = np.concatenate([y0, [0, 0, h, h]])
        x1 = np.concatenate([x1, [w, w, 0, 0]])
        y1 = np.concatenate([y1, [0, h, h, 0]])
    return _segments_path(x0 + offset[0], y0 + offset[1], x1 + offset[0], y1 + offset[1])


def hatch_path(rects: np.ndarray, spacing: float) -> QtGui.QPainterPath:
    """45-degree hatching lines clipped to each rectangle of ``rects`` (K, 4) = (x, y, w, h).
    Drawn as plain line segments, so the hatch stays vector in SVG and PDF."""
    x0s, y0s, x1s, y1s = [], [], [], []
    for x, y, w, h in np.asarray(rects, dtype=np.float64).reshape(-1, 4):
        if w <= 0 or h <= 0:
            continue
        # lines x + y = k, k from the rectangle's top-left to bottom-right corner
        ks = np.arange(np.ceil((x + y) / spacing) * spacing, x + w + y + h, spacing)
        start_x = np.clip(ks - y, x, x + w)
        start_y = ks - start_x
        end_x = np.clip(ks - (y + h), x, x + w)
        end_y = ks - end_x
        keep = (start_y <= y + h) & (end_y >= y)
        x0s.append(start_x[keep])
        y0s.append(start_y[keep])
        x1s.append(end_x[keep])
        y1s.append(end_y[keep])
    if not x0s:
        return QtGui.QPainterPath()
    return _segments_path(np.concatenate(x0s), np.concatenate(y0s), np.concatenate(x1s), np.concatenate(y1s))


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
        self.text_item = QtWidgets.QGraphicsSimpleTextItem(self)
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


class TextPool:
    """Reusable labels in one view box: a redraw reuses the labels it drew last time
    (unchanged ones cost nothing) and hides the rest."""

    def __init__(self, viewbox: pg.ViewBox, z: float = 30.0) -> None:
        self._viewbox = viewbox
        self._z = z
        self._items: list[Label] = []
        self._used = 0

    def begin(self) -> None:
        self._used = 0

    def add(
        self,
        text: str,
        x: float,
        y: float,
        color: str,
        font: QtGui.QFont,
        anchor: tuple[float, float] = (0.5, 0.5),
        angle: float = 0.0,
    ) -> Label:
        if self._used == len(self._items):
            item = Label()
            item.setZValue(self._z)
            self._viewbox.addItem(item, ignoreBounds=True)
            self._items.append(item)
        item = self._items[self._used]
        self._used += 1
        item.configure(text, color, font, anchor, angle)
        item.setPos(x, y)
        item.setVisible(True)
        return item

    def end(self) -> None:
        for item in self._items[self._used :]:
            if item.isVisible():
                item.setVisible(False)

    def visible(self) -> list[Label]:
        return self._items[: self._used]

    def set_shown(self, shown: bool) -> None:
        """Show or hide every label this pool drew last."""
        for item in self._items[: self._used]:
            item.setVisible(shown)


class LruCache(OrderedDict):
    """A dict that forgets its least recently used entries beyond ``capacity``."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def fetch(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value for ``key``, computed (and remembered) on a miss."""
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = compute()
        while len(self) > self.capacity:
            self.popitem(last=False)
        return value


class TextPoolCache:
    """One label pool per key, so that going back to a recent state only toggles
    visibility instead of rewriting every label."""

    def __init__(self, viewbox: pg.ViewBox, capacity: int = 3, z: float = 30.0) -> None:
        self._viewbox = viewbox
        self._z = z
        self._capacity = capacity
        self._pools: OrderedDict[Hashable, TextPool] = OrderedDict()
        self._spare: list[TextPool] = []
        self.current: TextPool | None = None

    def show(self, key: Hashable, draw: Callable[[TextPool], None]) -> TextPool:
        """Show the labels of ``key``; ``draw(pool)`` fills a pool on a miss (between
        ``begin`` and ``end``, which this calls)."""
        pool = self._pools.get(key)
        if pool is None:
            pool = self._spare.pop() if self._spare else TextPool(self._viewbox, self._z)
            pool.begin()
            draw(pool)
            pool.end()
            self._pools[key] = pool
            while len(self._pools) > self._capacity:
                _, evicted = self._pools.popitem(last=False)
                evicted.set_shown(False)
                self._spare.append(evicted)
        self._pools.move_to_end(key)
        if pool is not self.current:
            if self.current is not None:
                self.current.set_shown(False)
            pool.set_shown(True)
            self.current = pool
        return pool

    def clear(self) -> None:
        """Forget every pool (after a theme change)."""
        for pool in self._pools.values():
            pool.set_shown(False)
            self._spare.append(pool)
        self._pools.clear()
        self.current = None

    def visible(self) -> list[Label]:
        return self.current.visible() if self.current is not None else []


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


class WrappedText(pg.GraphicsWidget):
    """Rich text in a graphics layout that wraps to the width the layout gives it (a
    LabelItem would instead force the layout as wide as its longest line)."""

    def __init__(self, centered: bool = False) -> None:
        super().__init__()
        self.centered = centered
        self.item = QtWidgets.QGraphicsTextItem(self)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(60)

    def set_html(self, html: str, color: str, point_size: float) -> None:
        """Show ``html``; font and colour are only reset when they change, because each
        reset lays the whole text out again."""
        content = (html, color, point_size)
        previous = getattr(self, "_content", None)
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

    def resizeEvent(self, event: QtWidgets.QGraphicsSceneResizeEvent) -> None:
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
