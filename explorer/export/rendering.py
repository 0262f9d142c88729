"""Rendering a figure in memory: a QImage, PNG, SVG or PDF bytes, or the clipboard.

SVG and PDF stay vector: the scene's items are painted through QSvgGenerator / QPdfWriter,
so grid lines, window borders, region numbers and mask cells arrive as paths, rects and
text (only the photo, an image item, is a raster). Nothing here touches the file system.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QMimeData, QRectF, QSizeF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPageSize, QPainter, QPdfWriter
from PySide6.QtSvg import QSvgGenerator

from .options import DEFAULT_WIDTH, parse_formats, validate_background, validate_scale
from .painting import FigureLike, background_colour, page_layout, paint_page

__all__ = [
    "copy_to_clipboard",
    "encode_image",
    "render_figure",
    "render_image",
    "render_pdf",
    "render_png",
    "render_svg",
]


def _dpi(view: FigureLike) -> int:
    """The logical dots per inch the view's fonts were laid out for."""
    return view.render_target().logicalDpiY() or 96


def _transparent(background: str) -> bool:
    return validate_background(background) == "transparent"


def render_image(view: FigureLike, scale: int = 1, caption: bool | str = False,
                 width: int = DEFAULT_WIDTH, *, title: str = "", background: str = "theme") -> QImage:
    """The figure as an image ``scale * width`` pixels wide (its height follows the view's
    aspect ratio, plus the title and caption bands): RGB on the theme's background, or
    with an alpha channel, 0 where nothing is drawn, when ``background`` is "transparent"."""
    validate_scale(scale)
    transparent = _transparent(background)
    layout = page_layout(view, width, caption, title)
    if transparent:
        image = QImage(width * scale, layout.height * scale, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
    else:
        image = QImage(width * scale, layout.height * scale, QImage.Format.Format_RGB32)
        image.fill(background_colour(view.render_target()))
    painter = QPainter(image)
    try:
        painter.scale(scale, scale)
        paint_page(painter, view, layout, transparent)
    finally:
        painter.end()
    return image


def encode_image(image: QImage, fmt: str) -> bytes:
    """``image`` encoded by Qt as ``fmt`` (e.g. "png"); RuntimeError if Qt cannot."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, fmt.upper()):  # type: ignore[call-overload]  # the stub wants bytes; Qt wants str
        raise RuntimeError(f"Qt could not encode the image as {fmt.upper()}")
    buffer.close()
    return bytes(data.data())


def render_png(view: FigureLike, scale: int = 1, caption: bool | str = False,
               width: int = DEFAULT_WIDTH, *, title: str = "", background: str = "theme") -> bytes:
    """The figure as a PNG file ``scale * width`` pixels wide (see :func:`render_image`)."""
    return encode_image(render_image(view, scale, caption, width, title=title, background=background), "png")


def render_svg(view: FigureLike, caption: bool | str = False, width: int = DEFAULT_WIDTH, *,
               title: str = "", background: str = "theme") -> bytes:
    """The figure as an SVG document of ``width`` user units: vector items stay vector.
    A "transparent" ``background`` leaves out the shape behind the figure."""
    transparent = _transparent(background)
    layout = page_layout(view, width, caption, title)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setResolution(_dpi(view))  # point-sized fonts come out as on screen
    generator.setSize(QSizeF(layout.width, layout.height).toSize())
    generator.setViewBox(QRectF(0, 0, layout.width, layout.height))
    generator.setTitle(f"Swin Explorer: {view.figure_name}")
    generator.setDescription(layout.caption or view.figure_name)
    painter = QPainter(generator)
    try:
        paint_page(painter, view, layout, transparent)
    finally:
        painter.end()
    buffer.close()
    return _strokes_in_user_units(_pixel_size_header(bytes(data.data()), layout.width, layout.height))


_SVG_SIZE = re.compile(rb'<svg width="[^"]*" height="[^"]*"')
_GROUP = re.compile(rb"(<g [^>]*>)(.*?)(</g>)", re.DOTALL)
_STROKE_WIDTH = re.compile(rb'stroke-width="([0-9.eE+-]+)"')
_MATRIX = re.compile(rb' transform="matrix\(([^)]*)\)"')
_NON_SCALING = b' vector-effect="non-scaling-stroke"'
_ELEMENT = re.compile(rb"<(\w+)[^>]*>")
_NUMBER = rb"(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)"
_PAIR = re.compile(_NUMBER + rb"," + _NUMBER)
_POINTS = re.compile(rb'(\s(?:d|points)=")([^"]*)(")')
_RECT_FIELD = re.compile(rb'\s(x|y|width|height)="' + _NUMBER + rb'"')
Matrix = tuple[float, float, float, float, float, float]


def _strokes_in_user_units(svg: bytes) -> bytes:
    """Qt writes a cosmetic pen (a line as wide on screen at any zoom) as a stroke with
    ``vector-effect="non-scaling-stroke"`` inside a transformed group, which some renderers
    (librsvg, the one behind many slide tools) ignore: they draw the line as wide as the
    group's scale makes it, and a plot's lines thick in one direction. Each such group's
    shapes are given in page coordinates instead (the transform applied to their points),
    so that the stroke width is the intended one in every renderer."""

    def fix(group: re.Match[bytes]) -> bytes:
        start, body, end = group.groups()
        if _NON_SCALING not in body:
            return group.group(0)
        body = body.replace(_NON_SCALING, b"")
        matrix = _MATRIX.search(start)
        if matrix is None:
            return start + body + end
        a, b, c, d, e, f = (float(value) for value in matrix.group(1).split(b","))
        kinds = {element.group(1) for element in _ELEMENT.finditer(body)}
        if kinds <= {b"path", b"polyline", b"polygon", b"rect"} and (b == c == 0 or b"rect" not in kinds):
            start = start[:matrix.start()] + start[matrix.end():]
            return start + _transformed(body, (a, b, c, d, e, f)) + end
        width = _STROKE_WIDTH.search(start)
        scale = abs(a * d - b * c) ** 0.5
        if width is not None and scale > 0:
            user_width = f"{float(width.group(1)) / scale:.6g}".encode()
            start = start[:width.start(1)] + user_width + start[width.end(1):]
        return start + body + end

    return _GROUP.sub(fix, svg)


def _transformed(body: bytes, matrix: Matrix) -> bytes:
    """``body``'s paths, polylines and (axis-aligned) rectangles with ``matrix`` applied."""
    a, b, c, d, e, f = matrix

    def point(pair: re.Match[bytes]) -> bytes:
        x, y = float(pair.group(1)), float(pair.group(2))
        return f"{a * x + c * y + e:.6g},{b * x + d * y + f:.6g}".encode()

    def points(attribute: re.Match[bytes]) -> bytes:
        return attribute.group(1) + _PAIR.sub(point, attribute.group(2)) + attribute.group(3)

    def rect(element: re.Match[bytes]) -> bytes:
        tag = element.group(0)
        if element.group(1) != b"rect":
            return _POINTS.sub(points, tag)
        fields = {name.decode(): float(value) for name, value in _RECT_FIELD.findall(tag)}
        x0, y0 = a * fields.get("x", 0.0) + e, d * fields.get("y", 0.0) + f
        x1 = x0 + a * fields.get("width", 0.0)
        y1 = y0 + d * fields.get("height", 0.0)
        values = {"x": min(x0, x1), "y": min(y0, y1), "width": abs(x1 - x0), "height": abs(y1 - y0)}
        return _RECT_FIELD.sub(lambda field: f' {field.group(1).decode()}="'
                               f'{values[field.group(1).decode()]:.6g}"'.encode(), tag)

    return _ELEMENT.sub(rect, body)


def _pixel_size_header(svg: bytes, width: float, height: float) -> bytes:
    """QSvgGenerator states the size in millimetres; state it in pixels, so that the
    drawing opens at the PNG's scale-1 size."""
    return _SVG_SIZE.sub(f'<svg width="{width:g}" height="{height:g}"'.encode(), svg, count=1)


def render_pdf(view: FigureLike, caption: bool | str = False, width: int = DEFAULT_WIDTH, *,
               title: str = "", background: str = "theme") -> bytes:
    """The figure as a one-page vector PDF whose page has the figure's proportions
    (``width`` units at the screen's dpi); a "transparent" ``background`` paints nothing
    behind the figure."""
    transparent = _transparent(background)
    layout = page_layout(view, width, caption, title)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setCreator("Swin Explorer")
    writer.setTitle(f"Swin Explorer: {view.figure_name}")
    dpi = _dpi(view)
    writer.setResolution(dpi)  # point-sized fonts come out as on screen
    points_per_unit = 72 / dpi
    writer.setPageSize(QPageSize(QSizeF(layout.width * points_per_unit, layout.height * points_per_unit),
                                 QPageSize.Unit.Point, view.figure_name))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0))
    painter = QPainter(writer)
    try:
        painter.setWindow(0, 0, round(layout.width), layout.height)
        painter.setViewport(0, 0, writer.width(), writer.height())
        paint_page(painter, view, layout, transparent)
    finally:
        painter.end()
    buffer.close()
    return bytes(data.data())


def render_figure(view: FigureLike, fmt: str, scale: int = 1, caption: bool | str = False, *,
                  title: str = "", background: str = "theme") -> bytes:
    """The bytes of the figure file in format ``fmt`` (png, svg or pdf); ``scale`` applies
    to PNG only (vector formats have no pixel size)."""
    fmt = parse_formats(fmt)[0]
    if fmt == "png":
        return render_png(view, scale, caption, title=title, background=background)
    if fmt == "svg":
        return render_svg(view, caption, title=title, background=background)
    return render_pdf(view, caption, title=title, background=background)


def copy_to_clipboard(view: FigureLike, scale: int = 1, caption: bool | str = False, *,
                      title: str = "", background: str = "theme") -> QImage:
    """Put the figure on the clipboard as an image and as SVG; returns the image."""
    image = render_image(view, scale, caption, title=title, background=background)
    mime = QMimeData()
    mime.setImageData(image)
    mime.setData("image/svg+xml", QByteArray(render_svg(view, caption, title=title, background=background)))
    QGuiApplication.clipboard().setMimeData(mime)
    return image
