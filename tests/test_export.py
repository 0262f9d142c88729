"""Figure export: vector SVG, PNG sizes, PDF, GIF, clipboard, atomic writes, and the File
menu of the explorer window against the command line."""

from __future__ import annotations

import errno
import itertools
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from figure_views import dispose_views
from PIL import Image
from PySide6 import QtGui, QtWidgets

from explorer import export
from explorer.export import atomic, rendering
from explorer.figures import FIGURE_NAMES, animated_figures
from explorer.inference import ModelCache, run_inference
from explorer.state import ExplorerState, InferenceRequest
from swin_model import windows
from swin_model.preprocess import load_image, prepare

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO / "assets" / "coffee.jpg"
SIZE = 112
EXPORT_TIMEOUT_MS = 400_000
"""A 28x28 token grid: 4x4 windows of 7x7 in stage 1, shift 3."""
LAST_WINDOW = 15
"""The bottom-right window of stage 1: after the roll it holds four regions."""
GEOMETRY_ONLY = ("mask", "cost")
"""Figures without a photo: everything in them must be vector."""
VECTOR_TAGS = ("path", "rect", "line", "polyline", "polygon", "text", "circle", "ellipse")


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def svg_elements(data: bytes) -> list[ET.Element]:
    return list(ET.fromstring(data).iter())


def vector_shapes(data: bytes) -> int:
    """Vector primitives in an SVG: each sub-path of a <path> (one per move-to) and each
    rect, line, polyline, polygon, circle, ellipse and text element."""
    count = 0
    for element in svg_elements(data):
        tag = _tag(element)
        if tag == "path":
            count += len(re.findall(r"[Mm]", element.get("d", "")))
        elif tag in VECTOR_TAGS:
            count += 1
    return count


def svg_texts(data: bytes) -> list[str]:
    return ["".join(element.itertext()).strip() for element in svg_elements(data) if _tag(element) == "text"]


def image_elements(data: bytes) -> int:
    return sum(1 for element in svg_elements(data) if _tag(element) == "image")


def mask_run_starts(mask: np.ndarray) -> int:
    """A lower bound on the rectangles that draw ``mask`` (N, N): the cell that starts a
    run of equal values in a row begins a rectangle whose left edge is that column, so
    each distinct (start column, value) pair needs its own shape."""
    starts = set()
    for row in mask:
        begins = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        starts.update((int(col), float(row[col])) for col in begins)
    return len(starts)


@pytest.fixture(scope="module")
def settings_state() -> ExplorerState:
    return ExplorerState(img_size=SIZE, window_size=7, stage=0, block=1, head=0,
                         window=LAST_WINDOW, query=(25, 26))


@pytest.fixture(scope="module")
def prepared():
    return prepare(load_image(PHOTO), SIZE)


@pytest.fixture(scope="module")
def result(settings_state, prepared):
    request = InferenceRequest(request_id=1, state=settings_state, pixels=prepared.pixels,
                               capture=(settings_state.stage, settings_state.block))
    answer = run_inference(request, ModelCache())
    assert answer.error is None, answer.error
    return answer


@pytest.fixture
def views(qapp, settings_state, prepared, result) -> Iterator[dict]:
    """Every figure, laid out offscreen; new for each test (the model's result is shared)."""
    from explorer.figures import FIGURE_NAMES, build_figures

    built = build_figures(settings_state, prepared, result, theme="screen")
    assert tuple(built) == FIGURE_NAMES
    for view in built.values():
        export.prepare_offscreen(view)
    yield built
    dispose_views(built)


@pytest.fixture
def svgs(views) -> dict[str, bytes]:
    return {name: export.render_svg(view) for name, view in views.items()}


# --- SVG is vector -------------------------------------------------------------------------

def test_every_svg_parses_and_is_vector(svgs) -> None:
    for name, data in svgs.items():
        root = ET.fromstring(data)
        assert _tag(root) == "svg"
        assert root.get("width") == str(export.DEFAULT_WIDTH)
        assert vector_shapes(data) >= 5, name
        # the photo is the only raster a figure may hold
        assert image_elements(data) <= 2, name
    for name in GEOMETRY_ONLY:
        assert image_elements(svgs[name]) == 0, name


def test_regions_svg_numbers_the_nine_regions_as_text(svgs) -> None:
    texts = svgs["regions"]
    numbers = {text for text in svg_texts(texts) if text.isdigit()}
    assert numbers >= {str(region) for region in range(9)}
    # region boundaries: at least one shape per region in each of the two numberings
    assert vector_shapes(texts) >= 2 * 9


def test_mask_svg_has_the_structure_of_the_mask(views, svgs, settings_state) -> None:
    geometry = views["mask"].context.geometry
    shift = geometry.block_shift(settings_state.block)
    assert shift == 3
    mask = windows.attention_mask(geometry.padded_height, geometry.padded_width,
                                  geometry.window_size, shift)[LAST_WINDOW].numpy()  # N, N
    assert mask.shape == (49, 49)
    assert set(np.unique(mask)) == {0.0, windows.MASK_VALUE}
    data = svgs["mask"]
    assert image_elements(data) == 0
    assert vector_shapes(data) >= mask_run_starts(mask) >= 20
    # a window without a mask is drawn with fewer shapes than one with four regions
    view = views["mask"]
    view.update_state(settings_state.replace(window=0), view.prepared)
    plain = export.render_svg(view)
    view.update_state(settings_state, view.prepared)
    assert vector_shapes(plain) < vector_shapes(data)


def test_mask_svg_draws_every_cell_in_its_colour(views, svgs, settings_state) -> None:
    """Rasterise the SVG with Qt's SVG renderer and read each of the 49x49 cells back at
    its centre: 0 cells are sky blue, −100 cells vermillion, as the official mask says."""
    from PySide6.QtCore import QPointF

    from explorer.palette import MASK_COLORS

    view = views["mask"]
    geometry = view.context.geometry
    mask = windows.attention_mask(geometry.padded_height, geometry.padded_width, geometry.window_size,
                                  geometry.block_shift(settings_state.block))[LAST_WINDOW].numpy()
    page = _rasterise(svgs["mask"])
    target = view.render_target()
    source = target.mapToScene(target.viewport().rect()).boundingRect()
    factor = export.DEFAULT_WIDTH / source.width()
    viewbox = view.matrix_panel.viewbox
    expected = {value: np.array(QtGui.QColor(colour).getRgb()[:3]) for value, colour in MASK_COLORS.items()}
    size = mask.shape[0]
    for row in range(size):
        for col in range(size):
            point = viewbox.mapViewToScene(QPointF(col + 0.5, row + 0.5)) - source.topLeft()
            pixel = page[round(point.y() * factor), round(point.x() * factor)].astype(int)
            assert np.abs(pixel - expected[float(mask[row, col])]).max() <= 8, (row, col, pixel)


def _rasterise(svg: bytes) -> np.ndarray:
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(svg)
    assert renderer.isValid()
    image = QtGui.QImage(renderer.defaultSize(), QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor("magenta"))
    painter = QtGui.QPainter(image)
    renderer.render(painter)
    painter.end()
    return _array(image)


def test_svg_renders_like_the_png(views, svgs) -> None:
    png = export.render_image(views["regions"])
    a = _rasterise(svgs["regions"]).astype(np.int16)
    b = _array(png).astype(np.int16)
    assert a.shape == b.shape
    assert not np.any(np.all(a == (255, 0, 255), axis=-1)), "the SVG leaves part of the page empty"
    assert np.mean(np.abs(a - b)) < 12


def _array(image: QtGui.QImage) -> np.ndarray:
    rgb = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    data = np.frombuffer(bytes(rgb.constBits()), dtype=np.uint8)
    return data.reshape(rgb.height(), rgb.bytesPerLine())[:, :rgb.width() * 3].reshape(
        rgb.height(), rgb.width(), 3)


# --- PNG, PDF, caption, theme ---------------------------------------------------------------

def test_png_width_is_scale_times_base_width(views, tmp_path: Path) -> None:
    view = views["windows"]
    base = export.render_image(view)
    assert base.width() == export.DEFAULT_WIDTH >= 1200
    for scale in (2, 4):
        path = export.export_figure(view, tmp_path / f"windows-x{scale}.png", scale=scale)
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.width == scale * export.DEFAULT_WIDTH
            assert abs(image.height - scale * base.height()) <= scale


def _edge_thickness(view, scale: int) -> int:
    """Pixels of the mask view's window-selection frame (a cosmetic pen) crossed by a
    vertical scan through the middle of its top edge, in a PNG at ``scale``."""
    from PySide6.QtCore import QPointF

    item = view.tile_selection
    colour = np.array(item.pen().color().getRgb()[:3])
    rect = item.rect()
    target = view.render_target()
    source = target.mapToScene(target.viewport().rect()).boundingRect()
    factor = scale * export.DEFAULT_WIDTH / source.width()
    edge = item.mapToScene(QPointF(rect.center().x(), rect.top())) - source.topLeft()
    x, y = round(edge.x() * factor), round(edge.y() * factor)
    column = _array(export.render_image(view, scale))[max(0, y - 8 * scale):y + 8 * scale, x].astype(int)
    return int(np.sum(np.abs(column - colour).max(axis=1) <= 40))


def test_lines_scale_with_the_png(views) -> None:
    """Cosmetic pens keep their width in device pixels; export widens them with the scale,
    so a 4x PNG is the 1x PNG with 4x thicker lines, not hairlines."""
    view = views["mask"]
    pen_width = view.tile_selection.pen().widthF()
    thin, thick = _edge_thickness(view, 1), _edge_thickness(view, 4)
    assert thin >= 1
    assert 3 * thin <= thick <= 5 * thin + 2
    assert view.tile_selection.pen().widthF() == pen_width  # restored after the export


def test_caption_adds_a_band_of_text(views) -> None:
    view = views["mask"]
    plain = export.render_image(view, caption=False)
    captioned = export.render_image(view, caption=True)
    assert captioned.width() == plain.width()
    assert captioned.height() > plain.height() + 10
    band = _array(captioned)[plain.height():]
    background = band[0, 0]
    assert np.any(np.any(band != background, axis=-1)), "the caption band is empty"
    caption = view.caption()
    for part in ("M = 7", f"{SIZE}×{SIZE}"):
        assert part in caption
    assert caption in svg_texts(export.render_svg(view, caption=True))


def test_pdf_is_one_vector_page(views, tmp_path: Path) -> None:
    path = export.export_figure(views["regions"], tmp_path / "regions.pdf", caption=True)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 1
    assert b"/FontFile" in data or b"/FontFile2" in data  # text stays text (embedded font)


def test_slide_theme_is_white(views, settings_state, prepared, result) -> None:
    from explorer.figures import build_figures

    slide = build_figures(settings_state, prepared, result, theme="slide", names=("regions",))["regions"]
    export.prepare_offscreen(slide)
    try:
        corner_slide = _array(export.render_image(slide))[2, 2]
        corner_screen = _array(export.render_image(views["regions"]))[2, 2]
        assert tuple(corner_slide) == (255, 255, 255)
        assert tuple(corner_screen) != (255, 255, 255)
    finally:
        dispose_views([slide])


# --- the cyclic shift ------------------------------------------------------------------------

def test_shift_gif_has_one_frame_per_step(views, tmp_path: Path) -> None:
    view = views["cyclic-shift"]
    steps = view.shift_steps()
    assert steps == 3 + 1  # before the roll and after each of the s = 3 one-token steps
    view.set_shift_step(2)
    path = export.export_shift_gif(view, tmp_path / "shift.gif")
    assert view.shift_step() == 2, "the view's step is restored"
    with Image.open(path) as gif:
        assert gif.n_frames == steps
        assert gif.width == export.DEFAULT_WIDTH
        frames = []
        for index in range(gif.n_frames):
            gif.seek(index)
            frames.append(np.asarray(gif.convert("RGB"), dtype=np.int16))
    assert all(np.any(a != b) for a, b in itertools.pairwise(frames))


def test_shift_frames_are_numbered_pngs(views, tmp_path: Path) -> None:
    paths = export.export_shift_frames(views["cyclic-shift"], tmp_path / "frames", scale=1)
    assert [path.name for path in paths] == [f"cyclic-shift-{k:02d}.png" for k in range(1, 5)]
    for path in paths:
        with Image.open(path) as frame:
            assert frame.width == export.DEFAULT_WIDTH


# --- many figures, clipboard ---------------------------------------------------------------

def test_animation_files_follow_the_registry() -> None:
    from explorer.figures import FIGURE_NAMES, animated_figures

    animated = [spec.name for spec in animated_figures()]
    assert animated, "the registry has an animated figure"
    assert export.figure_file_names(iter(FIGURE_NAMES), ("png",)) == (
        [f"{name}.png" for name in FIGURE_NAMES] + [export.animation_file_name(name) for name in animated])
    assert export.figure_file_names(FIGURE_NAMES, ("svg",), with_gif=False) == [
        f"{name}.svg" for name in FIGURE_NAMES]
    still = [name for name in FIGURE_NAMES if name not in animated]
    assert export.figure_file_names(still, ("svg", "pdf")) == [
        f"{name}.{fmt}" for name in still for fmt in ("svg", "pdf")]
    # the cyclic-shift names other modules import are those of the registry's animated figure
    assert export.animation_file_name(animated[0]) == export.SHIFT_GIF_NAME
    assert export.frames_folder_name(animated[0]) == export.SHIFT_FRAMES_DIR
    # frame numbers are zero-padded to sort in order
    assert export.frame_file_name(animated[0], 3, 4) == f"{animated[0]}-03.png"
    assert export.frame_file_name(animated[0], 7, 120) == f"{animated[0]}-007.png"


def test_export_all_writes_every_figure(views, tmp_path: Path) -> None:
    progress: list[tuple[int, int, str]] = []
    written = export.export_all(views, tmp_path / "all", ("svg",), progress=lambda *a: progress.append(a))
    expected = [f"{name}.svg" for name in views] + ["cyclic-shift.gif"]
    assert [path.name for path in written] == expected
    assert sorted(os.listdir(tmp_path / "all")) == sorted(expected)
    assert progress == [(k, len(expected), name) for k, name in enumerate(expected, start=1)]


def test_copy_to_clipboard_puts_image_and_svg(views) -> None:
    image = export.copy_to_clipboard(views["merging"])
    clipboard = QtGui.QGuiApplication.clipboard()
    assert clipboard.image().width() == image.width() == export.DEFAULT_WIDTH
    svg = bytes(clipboard.mimeData().data("image/svg+xml"))
    assert _tag(ET.fromstring(svg)) == "svg"


# --- atomic writes and errors ---------------------------------------------------------------

def _leftovers(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def test_failure_mid_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "figure.svg"

    def chunks():
        yield b"<svg>half a drawing"
        raise RuntimeError("renderer died")

    with pytest.raises(RuntimeError, match="renderer died"):
        export.write_atomic(target, chunks())
    assert _leftovers(tmp_path) == []
    # an existing file survives a failed overwrite untouched
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        export.write_atomic(target, chunks())
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == ["figure.svg"]


def test_renderer_failure_becomes_export_error(views, tmp_path: Path, monkeypatch) -> None:
    def broken(*_args, **_kwargs):
        raise RuntimeError("no paint engine")

    monkeypatch.setattr(rendering, "render_svg", broken)
    target = tmp_path / "mask.svg"
    with pytest.raises(export.ExportError) as caught:
        export.export_figure(views["mask"], target)
    assert str(target) in str(caught.value) and "no paint engine" in str(caught.value)
    assert _leftovers(tmp_path) == []


def test_full_disk_is_a_clear_error(views, tmp_path: Path, monkeypatch) -> None:
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, stream):
            self.stream = stream
            self.written = 0

        def write(self, data: bytes) -> int:
            if self.written:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.written = self.stream.write(data[:10])
            return self.written

        def __getattr__(self, name):
            return getattr(self.stream, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.stream.close()

    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    target = tmp_path / "mask.png"

    def two_chunks():
        yield b"0123456789abcdef"
        yield b"more"

    with pytest.raises(export.ExportError) as caught:
        export.write_atomic(target, two_chunks())
    message = str(caught.value)
    assert str(target) in message and "No space left on device" in message
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_unwritable_folder_is_a_clear_error(views, tmp_path: Path, where: str) -> None:
    if where == "under-a-file":
        (tmp_path / "file.txt").write_text("a file, not a folder")
        folder = tmp_path / "file.txt" / "sub"
    else:
        folder = Path("/proc/swin-explorer-export")
    with pytest.raises(export.ExportError) as caught:
        export.export_figure(views["mask"], folder / "mask.svg")
    assert str(folder) in str(caught.value)
    assert caught.value.cause  # the operating system's reason
    with pytest.raises(export.ExportError):
        export.export_all(views, folder, ("png",))


def test_bad_options_are_rejected(views, tmp_path: Path) -> None:
    with pytest.raises(export.ExportError, match="scale"):
        export.export_figure(views["mask"], tmp_path / "mask.png", scale=5)
    with pytest.raises(export.ExportError, match="unknown format"):
        export.export_figure(views["mask"], tmp_path / "mask.bmp")
    assert export.parse_formats("SVG, png,svg") == ("svg", "png")
    assert _leftovers(tmp_path) == []


# --- the explorer window's File menu against the command line --------------------------------

@pytest.fixture
def main_window(qtbot, settings_file: Path, monkeypatch):
    from explorer import MainWindow
    from explorer.settings import open_settings

    settings = open_settings(settings_file)
    settings.setValue("controls/imageSizeSpin", SIZE)
    settings.sync()
    window = MainWindow(PHOTO, settings=str(settings_file), cache=ModelCache())
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.resultsShown, timeout=120_000):
        pass
    yield window
    window.close()


def test_file_menu_has_the_export_actions(main_window) -> None:
    texts = {action.text().replace("&", ""): action for action in main_window.file_menu.actions()}
    assert "Export figure…" in texts
    assert texts["Export all figures…"].shortcut().toString() == "Ctrl+Shift+E"
    assert texts["Copy figure to clipboard"].shortcut().toString() == "Ctrl+Shift+C"
    assert "Export cyclic shift as GIF…" in texts
    options = main_window.findChild(QtWidgets.QMenu, "exportOptionsMenu")
    names = [action.objectName() for action in options.actions()]
    assert "exportCaption" in names and "exportScale4" in names


def _png_pixels(path: Path) -> np.ndarray:
    """The decoded RGBA pixels of a PNG (or of one still image)."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"))


def _gif_frames(path: Path) -> list[tuple[np.ndarray, int | None]]:
    """Each frame of a GIF as decoded RGB pixels, with its duration in milliseconds."""
    frames = []
    with Image.open(path) as gif:
        for index in range(gif.n_frames):
            gif.seek(index)
            frames.append((np.asarray(gif.convert("RGB")), gif.info.get("duration")))
    return frames


def _pixel_difference(a: np.ndarray, b: np.ndarray) -> str:
    """"" when ``a`` and ``b`` are the same image, else how they differ."""
    if a.shape != b.shape:
        return f"size {a.shape[1]}x{a.shape[0]} != {b.shape[1]}x{b.shape[0]}"
    differs = np.any(a != b, axis=-1)
    if not differs.any():
        return ""
    rows, cols = np.nonzero(differs)
    return (f"{int(differs.sum())} pixels differ (max {int(np.abs(a.astype(int) - b).max())}) in "
            f"rows {rows.min()}-{rows.max()}, columns {cols.min()}-{cols.max()}")


def _content_difference(gui: Path, cli: Path) -> str:
    """"" when the GUI's file and the command line's show the same thing: identical SVG
    bytes, PNGs with identical pixels, GIFs with identical frames and timing, PDFs with the
    same document tree (see :func:`_canonical_pdf`)."""
    suffix = gui.suffix
    if suffix == ".svg":
        return "" if gui.read_bytes() == cli.read_bytes() else "SVG bytes differ"
    if suffix == ".png":
        return _pixel_difference(_png_pixels(gui), _png_pixels(cli))
    if suffix == ".gif":
        gui_frames, cli_frames = _gif_frames(gui), _gif_frames(cli)
        if len(gui_frames) != len(cli_frames):
            return f"{len(gui_frames)} frames != {len(cli_frames)}"
        for number, ((a, a_ms), (b, b_ms)) in enumerate(zip(gui_frames, cli_frames, strict=True), 1):
            if a_ms != b_ms:
                return f"frame {number} lasts {a_ms} ms != {b_ms} ms"
            if difference := _pixel_difference(a, b):
                return f"frame {number}: {difference}"
        return ""
    if suffix == ".pdf":
        same = _canonical_pdf(gui.read_bytes()) == _canonical_pdf(cli.read_bytes())
        return "" if same else "PDF documents differ"
    return f"unexpected file type {suffix}"


_PDF_STAMPS = re.compile(rb"/(?:CreationDate|ModDate) \(D:[^)]*\)|xmp:\w+Date=\"[^\"]*\""
                         rb"|uuid:[0-9a-f-]+|/ID \[ <[0-9a-f]*> <[0-9a-f]*> \]|/[A-Z]{6}\+")
_PDF_OBJECT = re.compile(rb"(?s)(\d+) 0 obj\s*(.*?)endobj")
_PDF_REFERENCE = re.compile(rb"(\d+) 0 R\b")


def _canonical_pdf(pdf: bytes) -> bytes:
    """The document tree of a PDF from QPdfWriter, with every indirect reference replaced
    by the object it names, and without what differs between two writes of the same page
    in two processes: the time stamps, the random document ID, and the numbering of the
    embedded font subsets (their order follows Qt's per-process hash seed)."""
    data = _PDF_STAMPS.sub(b"#", pdf)
    objects = {int(match[1]): match[2] for match in _PDF_OBJECT.finditer(data)}

    def inline(text: bytes, seen: frozenset[int]) -> bytes:
        def resolve(match: re.Match[bytes]) -> bytes:
            number = int(match[1])
            if number in seen:  # a /Parent pointing back up the tree
                return b"<up>"
            head, keyword, stream = objects[number].partition(b"stream")
            return b"{" + inline(head, seen | {number}) + keyword + stream + b"}"

        return _PDF_REFERENCE.sub(resolve, text)

    return inline(data[data.rindex(b"trailer"):data.rindex(b"startxref")], frozenset())


def test_gui_export_matches_the_cli(qtbot, main_window, tmp_path: Path) -> None:
    """Export all from the window (in the background, with every export option set) writes
    the same files as the command line with the same settings and options; Save and Copy
    of the current figure run in the background too."""
    from explorer.export.options import ExportOptions

    actions = main_window.export_actions
    state = main_window.state
    assert state.img_size == SIZE
    options = ExportOptions(caption_text="Lecture 7 · the slices [−7, −3)", title="Shifted windows",
                            background="transparent", theme="slide")
    actions.set_options(options)
    assert actions.transparent_action.isChecked() and actions.slide_action.isChecked()
    gui_dir, cli_dir = tmp_path / "gui", tmp_path / "cli"
    with qtbot.waitSignal(main_window.exportFinished, timeout=EXPORT_TIMEOUT_MS) as finished:
        assert main_window.export_all(gui_dir)
    assert actions.last_error is None, actions.last_error
    assert finished.args[0] and all(path.exists() for path in finished.args[0])

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    command = [sys.executable, "main.py", "export", str(PHOTO), "--out", str(cli_dir),
               "--model", state.model_name, "--img-size", str(state.img_size),
               "--window-size", str(state.window_size), "--stage", str(state.stage + 1),
               "--block", str(state.block + 1), "--head", str(state.head + 1),
               "--window", str(state.window),
               "--query", f"{state.query[0]},{state.query[1]}",
               "--format", ",".join(actions.formats), "--scale", str(options.scale),
               "--theme", options.theme, "--caption", options.caption_text, "--title", options.title,
               "--background", options.background]
    if not state.shifted:
        command.append("--no-shift")
    run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert sorted(os.listdir(gui_dir)) == sorted(os.listdir(cli_dir))
    assert len(os.listdir(gui_dir)) == len(FIGURE_NAMES) * len(export.FORMATS) + len(animated_figures())
    # the same settings give the same figures: SVG byte for byte, PNG and GIF pixel for
    # pixel, PDF object for object
    differences = {name: difference for name in sorted(os.listdir(gui_dir))
                   if (difference := _content_difference(gui_dir / name, cli_dir / name))}
    assert differences == {}
    with Image.open(gui_dir / "mask.png") as image:
        assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0  # transparent

    # Save and Copy of the current figure, at PNG scale 2
    actions.set_scale(2)
    figure = main_window.current_view().figure_name
    with qtbot.waitSignal(main_window.exportFinished, timeout=EXPORT_TIMEOUT_MS) as saved:
        assert main_window.save_figure(tmp_path / "current.png")
    assert saved.args[0] == [tmp_path / "current.png"]
    with Image.open(tmp_path / "current.png") as image:
        assert image.width == 2 * export.DEFAULT_WIDTH
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no scratch left
    assert main_window.current_view().theme.name == "screen"  # the window keeps its look
    clipboard = QtGui.QGuiApplication.clipboard()
    clipboard.clear()
    with qtbot.waitSignal(main_window.figureCopied, timeout=EXPORT_TIMEOUT_MS) as copied:
        assert main_window.copy_figure()
    assert copied.args[0] == figure
    assert clipboard.image().width() == 2 * export.DEFAULT_WIDTH
    assert clipboard.mimeData().hasFormat("image/svg+xml") and clipboard.mimeData().hasFormat("image/png")
    clipboard.clear()
    # an error is shown, not raised
    (tmp_path / "file.txt").write_text("x")
    with qtbot.waitSignal(main_window.exportFailed, timeout=10_000) as failed:
        assert not main_window.save_figure(tmp_path / "file.txt" / "sub.png")
    assert str(tmp_path / "file.txt") in failed.args[0]
    assert actions.last_error == failed.args[0] == main_window.last_error
