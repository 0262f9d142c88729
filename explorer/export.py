"""Figure export: render a figure view's scene to PNG, SVG, PDF, GIF or the clipboard.

Every format paints the same picture: the visible part of the view's QGraphicsScene
(``FigureView.render_target()``), on the view's background, with an optional caption
underneath. SVG and PDF stay vector: the scene's items are painted through
QSvgGenerator / QPdfWriter, so grid lines, window borders, region numbers and mask cells
arrive as paths, rects and text (only the photo, an image item, is a raster).

Rendering happens in memory; writing is atomic (a temporary file in the destination
folder, then ``os.replace``), so a failed export leaves neither a partial file nor a
temporary one. Failures raise :class:`ExportError`, whose message names the path and the
cause.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import pyqtgraph as pg
from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QMimeData, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
)
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsView

__all__ = [
    "DEFAULT_FRAME_MS",
    "DEFAULT_WIDTH",
    "FORMATS",
    "HOLD_FRAME_MS",
    "MAX_SCALE",
    "SHIFT_FRAMES_DIR",
    "SHIFT_GIF_NAME",
    "ExportError",
    "copy_to_clipboard",
    "export_all",
    "export_figure",
    "export_shift_frames",
    "export_shift_gif",
    "figure_file_names",
    "parse_formats",
    "prepare_offscreen",
    "render_figure",
    "render_image",
    "render_pdf",
    "render_png",
    "render_shift_gif",
    "render_svg",
    "validate_scale",
    "write_atomic",
]

FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
"""File formats of one figure, by extension."""

DEFAULT_WIDTH = 1200
"""Width in pixels of a PNG at scale 1 (and the user-unit width of SVG and PDF pages)."""

MAX_SCALE = 4
"""PNG scale factors run from 1 to MAX_SCALE."""

SHIFT_GIF_NAME = "cyclic-shift.gif"
SHIFT_FRAMES_DIR = "cyclic-shift-frames"
DEFAULT_FRAME_MS = 700
"""How long each intermediate step of the cyclic-shift animation stays on screen."""
HOLD_FRAME_MS = 1600
"""How long the first (before the roll) and last (after it) frames stay on screen."""

OFFSCREEN_FIGURE_SIZE = (1200, 900)
"""Widget size (pixels) of a figure view laid out without a window, before export."""

ProgressCallback = Callable[[int, int, str], None]
"""``progress(done, total, file_name)``, called after each file is written."""


class FigureLike(Protocol):
    """What export needs from a figure view (see explorer/views)."""

    figure_name: str

    def caption(self) -> str: ...

    def render_target(self) -> QGraphicsView: ...


class ExportError(Exception):
    """An export that could not be completed; ``path`` is the file or folder concerned."""

    def __init__(self, path: str | os.PathLike[str], cause: str) -> None:
        self.path = Path(path)
        self.cause = cause
        super().__init__(f"cannot write {self.path}: {cause}")


def _os_reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


# --- options --------------------------------------------------------------------------------

def validate_scale(scale: int) -> int:
    """``scale`` as an int in 1..MAX_SCALE, or ValueError."""
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be an integer from 1 to {MAX_SCALE}, got {scale!r}")
    return scale


def parse_formats(text: str | Iterable[str]) -> tuple[str, ...]:
    """``"png,svg"`` (or an iterable of names) as a de-duplicated tuple of known formats."""
    names = text.split(",") if isinstance(text, str) else list(text)
    formats: list[str] = []
    for raw in names:
        name = raw.strip().lower().lstrip(".")
        if not name:
            continue
        if name not in FORMATS:
            raise ValueError(f"unknown format {raw.strip()!r}; choose from {', '.join(FORMATS)}")
        if name not in formats:
            formats.append(name)
    if not formats:
        raise ValueError(f"no format given; choose from {', '.join(FORMATS)}")
    return tuple(formats)


def figure_file_names(figure_names: Iterable[str], formats: Sequence[str],
                      with_gif: bool = True) -> list[str]:
    """The files :func:`export_all` writes for these figures, in writing order."""
    names = [f"{figure}.{fmt}" for figure in figure_names for fmt in formats]
    if with_gif and "cyclic-shift" in figure_names:
        names.append(SHIFT_GIF_NAME)
    return names


def _caption_text(view: FigureLike, caption: bool | str) -> str:
    if isinstance(caption, str):
        return caption
    return view.caption() if caption else ""


# --- painting -------------------------------------------------------------------------------

def _source_rect(target: QGraphicsView) -> QRectF:
    """The part of the scene the view shows, in scene coordinates, grown to the whole
    layout when the layout is taller or wider than the view (it would be cut off)."""
    shown = target.mapToScene(target.viewport().rect()).boundingRect()
    central = getattr(target, "centralWidget", None)  # pyqtgraph's top-level layout item
    if isinstance(central, QGraphicsItem):
        shown = shown.united(central.sceneBoundingRect())
    return shown


def _background(target: QGraphicsView) -> QColor:
    for brush in (target.backgroundBrush(), target.scene().backgroundBrush()):
        if brush.style() != Qt.BrushStyle.NoBrush:
            return QColor(brush.color())
    return QColor("white")


def _caption_colour(background: QColor) -> QColor:
    return QColor("#111111") if background.lightnessF() >= 0.5 else QColor("#eeeeee")


def _caption_font(width: float) -> QFont:
    font = QFont()
    font.setPixelSize(max(11, round(width / 64)))
    return font


_CAPTION_FLAGS = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap


class _Layout:
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


@contextlib.contextmanager
def _export_mode(target: QGraphicsView, pen_scale: float) -> Iterator[None]:
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
                set_export(True, {"antialias": True, "background": _background(target),
                                  "resolutionScale": pen_scale})
                exporting.append(item)
            if pen_scale != 1.0:
                pen = _item_pen(item)
                if pen is not None and pen.isCosmetic() and pen.style() != Qt.PenStyle.NoPen:
                    pens.append((item, QPen(pen)))
                    wider = QPen(pen)
                    wider.setWidthF(max(pen.widthF(), 1.0) * pen_scale)
                    item.setPen(wider)
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


def _paint(painter: QPainter, view: FigureLike, layout: _Layout) -> None:
    """Paint the page of ``layout`` (background, figure, caption) with ``painter``, whose
    user space is ``layout.width x layout.height``."""
    target = view.render_target()
    source = _source_rect(target)
    background = _background(target)
    # the view's own hints (smooth or blocky images), plus antialiased lines and text
    painter.setRenderHints(target.renderHints() | QPainter.RenderHint.Antialiasing
                           | QPainter.RenderHint.TextAntialiasing)
    painter.fillRect(QRectF(0, 0, layout.width, layout.height), QBrush(background))
    figure_rect = QRectF(0, 0, layout.width, layout.figure_height)
    with _export_mode(target, layout.width / source.width() * _device_scale(painter)):
        target.scene().render(painter, figure_rect, source, Qt.AspectRatioMode.IgnoreAspectRatio)
    if layout.caption:
        painter.setFont(layout.font)
        painter.setPen(_caption_colour(background))
        painter.drawText(layout.caption_rect, _CAPTION_FLAGS, layout.caption)


def _device_scale(painter: QPainter) -> float:
    """How many device pixels one user unit of ``painter`` covers."""
    return max(1.0, painter.worldTransform().m11())


def _dpi(view: FigureLike) -> int:
    """The logical dots per inch the view's fonts were laid out for."""
    return view.render_target().logicalDpiY() or 96


def _layout(view: FigureLike, width: float, caption: bool | str) -> _Layout:
    return _Layout(_source_rect(view.render_target()), width, _caption_text(view, caption))


def render_image(view: FigureLike, scale: int = 1, caption: bool | str = False,
                 width: int = DEFAULT_WIDTH) -> QImage:
    """The figure as an RGB image ``scale * width`` pixels wide (its height follows the
    view's aspect ratio, plus the caption band)."""
    validate_scale(scale)
    layout = _layout(view, width, caption)
    image = QImage(width * scale, layout.height * scale, QImage.Format.Format_RGB32)
    image.fill(_background(view.render_target()))
    painter = QPainter(image)
    try:
        painter.scale(scale, scale)
        _paint(painter, view, layout)
    finally:
        painter.end()
    return image


def _image_bytes(image: QImage, fmt: str) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, fmt.upper()):
        raise RuntimeError(f"Qt could not encode the image as {fmt.upper()}")
    buffer.close()
    return bytes(data.data())


def render_png(view: FigureLike, scale: int = 1, caption: bool | str = False,
               width: int = DEFAULT_WIDTH) -> bytes:
    return _image_bytes(render_image(view, scale, caption, width), "png")


def render_svg(view: FigureLike, caption: bool | str = False, width: int = DEFAULT_WIDTH) -> bytes:
    """The figure as an SVG document of ``width`` user units: vector items stay vector."""
    layout = _layout(view, width, caption)
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
        _paint(painter, view, layout)
    finally:
        painter.end()
    buffer.close()
    return _pixel_size_header(bytes(data.data()), layout.width, layout.height)


_SVG_SIZE = re.compile(rb'<svg width="[^"]*" height="[^"]*"')


def _pixel_size_header(svg: bytes, width: float, height: float) -> bytes:
    """QSvgGenerator states the size in millimetres; state it in pixels, so that the
    drawing opens at the PNG's scale-1 size."""
    return _SVG_SIZE.sub(f'<svg width="{width:g}" height="{height:g}"'.encode(), svg, count=1)


def render_pdf(view: FigureLike, caption: bool | str = False, width: int = DEFAULT_WIDTH) -> bytes:
    """The figure as a one-page vector PDF whose page has the figure's proportions
    (``width`` units at the screen's dpi)."""
    layout = _layout(view, width, caption)
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
        _paint(painter, view, layout)
    finally:
        painter.end()
    buffer.close()
    return bytes(data.data())


def render_figure(view: FigureLike, fmt: str, scale: int = 1, caption: bool | str = False) -> bytes:
    """The bytes of the figure file in format ``fmt`` (png, svg or pdf); ``scale`` applies
    to PNG only (vector formats have no pixel size)."""
    fmt = parse_formats(fmt)[0]
    if fmt == "png":
        return render_png(view, scale, caption)
    if fmt == "svg":
        return render_svg(view, caption)
    return render_pdf(view, caption)


# --- writing --------------------------------------------------------------------------------

def _ensure_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(folder, _os_reason(error)) from error
    if not folder.is_dir():
        raise ExportError(folder, "not a folder")


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: str | os.PathLike[str], chunks: Iterable[bytes]) -> Path:
    """Write ``chunks`` to ``path`` through a temporary file in the same folder, then
    rename it into place. On any failure (including one raised by ``chunks`` midway)
    the temporary file is removed and an existing ``path`` is left untouched; OS errors
    become :class:`ExportError`."""
    path = Path(path)
    _ensure_folder(path.parent)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as error:
        raise ExportError(path, _os_reason(error)) from error
    try:
        with os.fdopen(handle, "wb") as stream:
            for chunk in chunks:
                stream.write(chunk)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _file_mode())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise ExportError(path, _os_reason(error)) from error
        raise
    return path


def _render_and_write(path: Path, render: Callable[[], bytes]) -> Path:
    try:
        data = render()
    except ExportError:
        raise
    except Exception as error:
        raise ExportError(path, f"rendering failed: {error}") from error
    return write_atomic(path, [data])


def export_figure(view: FigureLike, path: str | os.PathLike[str], scale: int = 1,
                  caption: bool | str = False, fmt: str | None = None) -> Path:
    """Write ``view`` to ``path``; the format is ``fmt`` or the file's extension."""
    path = Path(path)
    try:
        fmt = parse_formats(fmt or path.suffix)[0]
        validate_scale(scale)
    except ValueError as error:
        raise ExportError(path, str(error)) from error
    return _render_and_write(path, lambda: render_figure(view, fmt, scale, caption))


# --- the cyclic-shift animation ------------------------------------------------------------

def _shift_frames(view: Any, scale: int, caption: bool | str) -> list[QImage]:
    """One image per step of the cyclic-shift view; the view's step is restored."""
    steps = view.shift_steps()
    if steps < 1:
        raise ValueError(f"the {view.figure_name} figure has no animation steps")
    current = getattr(view, "shift_step", None)
    restore = current() if callable(current) else 0
    frames = []
    try:
        for step in range(steps):
            view.set_shift_step(step)
            frames.append(render_image(view, scale, caption))
    finally:
        view.set_shift_step(restore)
    return frames


def _pil_image(image: QImage) -> Image.Image:
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    buffer = bytes(rgb.constBits())
    return Image.frombuffer("RGB", (rgb.width(), rgb.height()), buffer, "raw", "RGB",
                            rgb.bytesPerLine(), 1).copy()


def render_shift_gif(view: Any, scale: int = 1, caption: bool | str = False,
                     frame_ms: int = DEFAULT_FRAME_MS) -> bytes:
    """The cyclic-shift steps as a looping animated GIF; the first and last frames are
    held for HOLD_FRAME_MS, the steps between them for ``frame_ms``."""
    frames = [_pil_image(frame) for frame in _shift_frames(view, scale, caption)]
    durations = [frame_ms] * len(frames)
    durations[0] = durations[-1] = max(frame_ms, HOLD_FRAME_MS)
    output = _BytesSink()
    frames[0].save(output, format="GIF", save_all=True, append_images=frames[1:],
                   duration=durations, loop=0, optimize=False, disposal=1)
    return output.getvalue()


class _BytesSink:
    """A minimal binary stream for Pillow's writer."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


def export_shift_gif(view: Any, path: str | os.PathLike[str], scale: int = 1,
                     caption: bool | str = False, frame_ms: int = DEFAULT_FRAME_MS) -> Path:
    """Write the cyclic-shift animation (one frame per ``set_shift_step(k)``) to ``path``."""
    path = Path(path)
    try:
        validate_scale(scale)
    except ValueError as error:
        raise ExportError(path, str(error)) from error
    return _render_and_write(path, lambda: render_shift_gif(view, scale, caption, frame_ms))


def export_shift_frames(view: Any, folder: str | os.PathLike[str], scale: int = 1,
                        caption: bool | str = False) -> list[Path]:
    """Write the cyclic-shift steps as numbered PNGs ``cyclic-shift-01.png`` ... into
    ``folder``; on failure no frame of this call is left behind."""
    folder = Path(folder)
    try:
        validate_scale(scale)
        images = _shift_frames(view, scale, caption)
    except ValueError as error:
        raise ExportError(folder, str(error)) from error
    except Exception as error:
        raise ExportError(folder, f"rendering failed: {error}") from error
    digits = max(2, len(str(len(images))))
    written: list[Path] = []
    try:
        for number, image in enumerate(images, start=1):
            path = folder / f"cyclic-shift-{number:0{digits}d}.png"
            written.append(write_atomic(path, [_image_bytes(image, "png")]))
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    return written


# --- several figures, the clipboard ---------------------------------------------------------

def export_all(views: Mapping[str, Any], folder: str | os.PathLike[str],
               formats: Sequence[str] = FORMATS, scale: int = 1, caption: bool | str = False,
               with_gif: bool = True, progress: ProgressCallback | None = None) -> list[Path]:
    """Write every view in ``views`` (figure name -> view) in every format into ``folder``
    as ``<figure>.<format>``, plus ``cyclic-shift.gif`` when the cyclic-shift figure is
    among them and ``with_gif``. Returns the paths in the order of
    :func:`figure_file_names`."""
    folder = Path(folder)
    formats = parse_formats(formats)
    validate_scale(scale)
    _ensure_folder(folder)
    names = figure_file_names(views, formats, with_gif)
    written: list[Path] = []
    for name in names:
        path = folder / name
        if name == SHIFT_GIF_NAME:
            written.append(export_shift_gif(views["cyclic-shift"], path, scale, caption))
        else:
            figure, fmt = name.rsplit(".", 1)
            written.append(export_figure(views[figure], path, scale, caption, fmt))
        if progress is not None:
            progress(len(written), len(names), name)
    return written


def copy_to_clipboard(view: FigureLike, scale: int = 1, caption: bool | str = False) -> QImage:
    """Put the figure on the clipboard as an image and as SVG; returns the image."""
    image = render_image(view, scale, caption)
    mime = QMimeData()
    mime.setImageData(image)
    mime.setData("image/svg+xml", QByteArray(render_svg(view, caption)))
    QGuiApplication.clipboard().setMimeData(mime)
    return image


# --- views without a window ----------------------------------------------------------------

def prepare_offscreen(view: Any, size: tuple[int, int] = OFFSCREEN_FIGURE_SIZE) -> None:
    """Lay ``view`` out at ``size`` without putting a window on screen, so that its scene
    has the geometry it would have on screen (a hidden widget is never laid out)."""
    from PySide6.QtWidgets import QApplication

    view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    view.resize(*size)
    view.show()
    QApplication.processEvents()
    target = view.render_target()
    central = getattr(target, "centralWidget", None)
    for _ in range(3):  # a layout that needs more height than it got: give it that height
        if not isinstance(central, QGraphicsItem):
            break
        missing = math.ceil(central.sceneBoundingRect().height() - target.viewport().height())
        if missing <= 0:
            break
        view.resize(view.width(), view.height() + missing)
        QApplication.processEvents()
