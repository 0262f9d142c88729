"""Painting one figure page: an optional title, the view's scene on its background, and an
optional caption underneath.

Every format paints the same picture: the visible part of the view's QGraphicsScene
(``FigureView.render_target()``), on the view's background (or on none: transparent), with
an optional title above and caption underneath. :func:`paint_page` paints that page with
any QPainter (an image, an SVG generator, a PDF writer); :class:`PageLayout` says where the
title, the figure and the caption go; :func:`export_mode` prepares the scene for painting
onto another device.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsView

from explorer.numbers import keep_intervals_together

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
    view's own caption when it is True, none when it is False. Intervals such as
    "[−7, −3)" are kept on one line."""
    text = caption if isinstance(caption, str) else view.caption() if caption else ""
    return keep_intervals_together(text.strip())


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


def _title_font(width: float) -> QFont:
    """The title's font: bold, larger than the caption's."""
    font = QFont()
    font.setPixelSize(max(14, round(width / 40)))
    font.setBold(True)
    return font


_CAPTION_FLAGS = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap


def _text_band(text: str, font: QFont, width: float, top: float) -> tuple[QRectF, float]:
    """The rectangle of ``text`` wrapped to ``width`` (less margins) from ``top``, and the
    height of its band, margins included (an empty rectangle and 0 without text)."""
    if not text:
        return QRectF(), 0.0
    margin = font.pixelSize() * 0.6
    text_width = width - 2 * margin
    bounds = QFontMetricsF(font).boundingRect(QRectF(0, 0, text_width, 1e6), _CAPTION_FLAGS, text)
    return QRectF(margin, top + margin, text_width, bounds.height()), bounds.height() + 2 * margin


class PageLayout:
    """Where the title, the figure and the caption go on a page ``width`` units wide: the
    title band on top (when there is a title), the figure, the caption band underneath
    (when there is a caption)."""

    def __init__(self, source: QRectF, width: float, caption: str, title: str = "") -> None:
        if source.width() <= 0 or source.height() <= 0:
            raise ValueError("the figure has no visible area (was its view laid out?)")
        self.width = float(width)
        self.caption = caption
        self.title = title
        self.font = _caption_font(width)
        self.title_font = _title_font(width)
        self.title_rect, title_height = _text_band(title, self.title_font, self.width, 0.0)
        self.figure_top = round(title_height)
        self.figure_height = round(width * source.height() / source.width())
        self.caption_rect, caption_height = _text_band(caption, self.font, self.width,
                                                       self.figure_top + self.figure_height)
        self.height = self.figure_top + self.figure_height + round(caption_height)

    @property
    def figure_rect(self) -> QRectF:
        """Where the figure goes on the page."""
        return QRectF(0, self.figure_top, self.width, self.figure_height)


def page_layout(view: FigureLike, width: float, caption: bool | str, title: str = "") -> PageLayout:
    """The layout of ``view``'s page, ``width`` units wide, with ``caption`` (see
    :func:`caption_text`) and ``title`` (none when empty)."""
    return PageLayout(_source_rect(view.render_target()), width, caption_text(view, caption),
                      keep_intervals_together(title.strip()))


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


def paint_page(painter: QPainter, view: FigureLike, layout: PageLayout, transparent: bool = False) -> None:
    """Paint the page of ``layout`` (background, title, figure, caption) with ``painter``,
    whose user space is ``layout.width x layout.height``. With ``transparent`` nothing is
    painted behind the figure (the texts keep the colour of the theme's background)."""
    target = view.render_target()
    source = _source_rect(target)
    background = background_colour(target)
    # the view's own hints (smooth or blocky images), plus antialiased lines and text
    painter.setRenderHints(target.renderHints() | QPainter.RenderHint.Antialiasing
                           | QPainter.RenderHint.TextAntialiasing)
    if not transparent:
        painter.fillRect(QRectF(0, 0, layout.width, layout.height), QBrush(background))
    with export_mode(target, layout.width / source.width() * _device_scale(painter)):
        target.scene().render(painter, layout.figure_rect, source, Qt.AspectRatioMode.IgnoreAspectRatio)
    for text, rect, font in ((layout.title, layout.title_rect, layout.title_font),
                             (layout.caption, layout.caption_rect, layout.font)):
        if text:
            painter.setFont(font)
            painter.setPen(_caption_colour(background))
            painter.drawText(rect, _CAPTION_FLAGS, text)
