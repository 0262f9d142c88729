"""Painting one figure page: the view's scene on its background, with a caption underneath.

Every format paints the same picture: the visible part of the view's QGraphicsScene
(``FigureView.render_target()``), on the view's background, with an optional caption
underneath. :func:`paint_page` paints that page with any QPainter (an image, an SVG
generator, a PDF writer); :class:`PageLayout` says where the figure and the caption go;
:func:`export_mode` prepares the scene for painting onto another device.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsView

__all__ = [
    "FigureLike",
    "PageLayout",
    "background_colour",
    "caption_text",
    "export_mode",
    "page_layout",
    "paint_page",
]


class FigureLike(Protocol):
    """What export needs from a figure view (see explorer/views)."""

    @property
    def figure_name(self) -> str: ...

    def caption(self) -> str: ...

    def render_target(self) -> QGraphicsView: ...


def caption_text(view: FigureLike, caption: bool | str) -> str:
    """The caption to put under ``view``: ``caption`` itself when it is a string, the
    view's own caption when it is True, none when it is False."""
    if isinstance(caption, str):
        return caption
    return view.caption() if caption else ""


def _source_rect(target: QGraphicsView) -> QRectF:
    """The part of the scene the view shows, in scene coordinates, grown to the whole
    layout when the layout is taller or wider than the view (it would be cut off)."""
    shown = target.mapToScene(target.viewport().rect()).boundingRect()
    central = getattr(target, "centralWidget", None)  # pyqtgraph's top-level layout item
    if isinstance(central, QGraphicsItem):
        shown = shown.united(central.sceneBoundingRect())
    return shown


def background_colour(target: QGraphicsView) -> QColor:
    """The colour behind the figure: the view's background brush, else the scene's, else
    white."""
    for brush in (target.backgroundBrush(), target.scene().backgroundBrush()):
        if brush.style() != Qt.BrushStyle.NoBrush:
            return QColor(brush.color())
    return QColor("white")


def _caption_colour(background: QColor) -> QColor:
    """Dark text on a light background, light text on a dark one."""
    return QColor("#111111") if background.lightnessF() >= 0.5 else QColor("#eeeeee")


def _caption_font(width: float) -> QFont:
    """The caption's font, sized in proportion to the page width."""
    font = QFont()
    font.setPixelSize(max(11, round(width / 64)))
    return font


_CAPTION_FLAGS = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap


class PageLayout:
    """Where the figure and its caption go on a page ``width`` units wide."""

    def __init__(self, source: QRectF, width: float, caption: str) -> None:
        if source.width() <= 0 or source.height() <= 0:
            raise ValueError("the figure has no visible area (was its view laid out?)")
        self.width = float(width)
        self.figure_height = round(width * source.height() / source.width())
        self.caption = caption
        self.font = _caption_font(width)
        margin = self.font.pixelSize() * 0.6
        self.caption_rect = QRectF()
        caption_height = 0.0
        if caption:
            text_width = self.width - 2 * margin
            metrics = QFontMetricsF(self.font)
            bounds = metrics.boundingRect(QRectF(0, 0, text_width, 1e6), _CAPTION_FLAGS, caption)
            self.caption_rect = QRectF(margin, self.figure_height + margin, text_width, bounds.height())
            caption_height = bounds.height() + 2 * margin
        self.height = self.figure_height + round(caption_height)


def page_layout(view: FigureLike, width: float, caption: bool | str) -> PageLayout:
    """The layout of ``view``'s page, ``width`` units wide, with ``caption`` (see
    :func:`caption_text`)."""
    return PageLayout(_source_rect(view.render_target()), width, caption_text(view, caption))


@contextlib.contextmanager
def export_mode(target: QGraphicsView, pen_scale: float) -> Iterator[None]:
    """Prepare the scene for painting onto another device.

    Cosmetic pens keep their width in device pixels whatever the transform, so a 4x render
    would draw hairlines; they are widened by ``pen_scale`` for the render and restored.
    Item caches are turned off (a cached item would be painted as one bitmap), and
    pyqtgraph items are told they are being exported (hover-only buttons stay hidden).
    """
    scene = target.scene()
    prepare = getattr(scene, "prepareForPaint", None)
    if callable(prepare):
        prepare()
    items = scene.items()
    pens: list[tuple[Any, QPen]] = []
    caches: list[tuple[QGraphicsItem, QGraphicsItem.CacheMode]] = []
    exporting: list[Any] = []
    hidden: list[QGraphicsItem] = []
    try:
        for item in items:
            if isinstance(item, QGraphicsPathItem) and item.isVisible() and item.path().isEmpty():
                hidden.append(item)  # draws nothing, but would leave an empty <path d="">
                item.setVisible(False)
            if item.cacheMode() != QGraphicsItem.CacheMode.NoCache:
                caches.append((item, item.cacheMode()))
                item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
            set_export = getattr(item, "setExportMode", None)
            if callable(set_export):
                set_export(True, {"antialias": True, "background": background_colour(target),
                                  "resolutionScale": pen_scale})
                exporting.append(item)
            if pen_scale != 1.0:
                pen = _item_pen(item)
                if pen is not None and pen.isCosmetic() and pen.style() != Qt.PenStyle.NoPen:
                    pens.append((item, QPen(pen)))
                    wider = QPen(pen)
                    wider.setWidthF(max(pen.widthF(), 1.0) * pen_scale)
                    item.setPen(wider)  # type: ignore[attr-defined]  # _item_pen checked it
        yield
    finally:
        for item in hidden:
            item.setVisible(True)
        for item, pen in pens:
            item.setPen(pen)
        for item, mode in caches:
            item.setCacheMode(mode)
        for item in exporting:
            item.setExportMode(False)


def _item_pen(item: Any) -> QPen | None:
    """The pen of a shape item, a line item, an axis or a plot curve (None otherwise)."""
    if not callable(getattr(item, "setPen", None)):
        return None
    if isinstance(item, pg.PlotCurveItem):  # keeps its pen in opts; has no pen() getter
        pen = item.opts.get("pen")
        return pen if isinstance(pen, QPen) else None
    if isinstance(item, pg.PlotDataItem):  # passes its pen on to its curve, handled above
        return None
    getter = getattr(item, "pen", None)
    if not callable(getter):
        return None
    try:
        pen = getter()
    except TypeError:
        return None
    return pen if isinstance(pen, QPen) else None


def _device_scale(painter: QPainter) -> float:
    """How many device pixels one user unit of ``painter`` covers."""
    return max(1.0, painter.worldTransform().m11())


def paint_page(painter: QPainter, view: FigureLike, layout: PageLayout) -> None:
    """Paint the page of ``layout`` (background, figure, caption) with ``painter``, whose
    user space is ``layout.width x layout.height``."""
    target = view.render_target()
    source = _source_rect(target)
    background = background_colour(target)
    # the view's own hints (smooth or blocky images), plus antialiased lines and text
    painter.setRenderHints(target.renderHints() | QPainter.RenderHint.Antialiasing
                           | QPainter.RenderHint.TextAntialiasing)
    painter.fillRect(QRectF(0, 0, layout.width, layout.height), QBrush(background))
    figure_rect = QRectF(0, 0, layout.width, layout.figure_height)
    with export_mode(target, layout.width / source.width() * _device_scale(painter)):
        target.scene().render(painter, figure_rect, source, Qt.AspectRatioMode.IgnoreAspectRatio)
    if layout.caption:
        painter.setFont(layout.font)
        painter.setPen(_caption_colour(background))
        painter.drawText(layout.caption_rect, _CAPTION_FLAGS, layout.caption)
