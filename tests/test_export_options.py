"""Export options: caption text, title, transparent background and PNG scale, the same from
the File menu's options as from the command line; intervals that never break across lines;
exported figures without interaction hints."""

from __future__ import annotations

import dataclasses
import io
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
from PySide6 import QtGui

from explorer import export
from explorer.cli import build_parser
from explorer.export.options import ExportOptions
from explorer.export.painting import caption_text, page_layout
from explorer.export_job import ExportRequest, export_arguments
from explorer.figures import FIGURE_NAMES
from explorer.numbers import NO_BREAK_SPACE, keep_intervals_together
from explorer.palette import theme
from explorer.state import ExplorerState
from swin_model.preprocess import load_image, prepare

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO / "assets" / "chelsea.jpg"
SIZE = 64
"""A 16x16 token grid: small and quick, every figure still drawn."""
CAPTION = "Lecture 7: regions [−7, −3) and [−3, end)"
TITLE = "Shifted windows"
INTERVALS = re.compile(r"\[[^\[\]]*?\)")


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _svg_texts(data: bytes) -> str:
    """Every text of an SVG, joined, with no-break spaces as spaces."""
    texts = ("".join(element.itertext()) for element in ET.fromstring(data).iter() if _tag(element) == "text")
    return " ".join(texts).replace(NO_BREAK_SPACE, " ")


def _number(text: str | None) -> float:
    return float(re.sub(r"[^0-9.eE+-]", "", text or "0") or 0)


def _page_fills(data: bytes) -> list[str]:
    """The fills (their own, or inherited from their groups) of the rectangles that cover
    the whole page of an SVG."""
    root = ET.fromstring(data)
    width, height = _number(root.get("width")), _number(root.get("height"))
    fills: list[str] = []

    def visit(element: ET.Element, fill: str) -> None:
        fill = element.get("fill", fill)
        if _tag(element) == "rect":
            covers = (_number(element.get("width")) >= 0.99 * width
                      and _number(element.get("height")) >= 0.99 * height)
            if covers and fill != "none":
                fills.append(fill)
        for child in element:
            visit(child, fill)

    visit(root, "black")  # SVG's initial fill
    return fills


@pytest.fixture(scope="module")
def state() -> ExplorerState:
    return ExplorerState(img_size=SIZE, window_size=4, stage=0, block=1, window=-1)


@pytest.fixture(scope="module")
def prepared():
    return prepare(load_image(PHOTO), SIZE)


@pytest.fixture
def views(qapp, state, prepared) -> Iterator[dict]:
    """Every figure, laid out offscreen (no model result: the geometry is what matters)."""
    from explorer.figures import build_figures

    built = build_figures(state, prepared, None, theme="screen")
    for view in built.values():
        export.prepare_offscreen(view)
    yield built
    dispose_views(built)


# --- the options themselves ------------------------------------------------------------------

def test_options_are_checked_and_give_the_caption() -> None:
    assert ExportOptions().caption_value is True
    assert ExportOptions(caption_text="  mine ").caption_value == "mine"
    assert ExportOptions(caption=False, caption_text="mine").caption_value is False
    assert ExportOptions(background="transparent").transparent
    for bad in ({"scale": 0}, {"scale": export.MAX_SCALE + 1}, {"background": "blue"}, {"theme": "dark"}):
        with pytest.raises(ValueError):
            ExportOptions(**bad)  # type: ignore[arg-type]


def test_command_line_choices_are_the_export_choices() -> None:
    from explorer import cli

    assert cli.BACKGROUNDS == export.BACKGROUNDS


@pytest.mark.parametrize("options", [
    ExportOptions(),
    ExportOptions(scale=3, caption_text="-starts with a dash [−7, −3)", title="--title-like",
                  background="transparent", theme="slide"),
    ExportOptions(caption=False, title=TITLE),
])
def test_the_window_passes_its_options_to_the_command_line(options: ExportOptions, tmp_path: Path) -> None:
    """The arguments of a background export, read back by the command line's parser, are the
    window's options: the child process writes what the window asked for."""
    request = ExportRequest(options=options, formats=("png", "svg"), figures=("mask", "regions"), gif=False)
    state = ExplorerState(img_size=96, window_size=6, stage=1, block=0, head=2, window=3, query=(4, 5))
    args = build_parser().parse_args(export_arguments(state, tmp_path / "in.png", tmp_path / "out", request))
    assert (args.scale, args.title, args.background, args.theme) == (options.scale, options.title,
                                                                      options.background, options.theme)
    assert args.caption == options.caption_value
    assert (args.format, args.figures, args.gif, args.frames) == ("png,svg", "mask,regions", False, False)
    assert (args.stage, args.block, args.head, args.window, args.query) == (2, 1, 3, 3, "4,5")


def test_command_line_caption_forms() -> None:
    parse = build_parser().parse_args
    base = ["export", "photo.jpg", "--out", "out"]
    assert parse(base).caption is True
    assert parse([*base, "--caption"]).caption is True
    assert parse([*base, "--caption", CAPTION]).caption == CAPTION
    assert parse([*base, "--no-caption"]).caption is False
    assert parse([*base, "--title", TITLE, "--background", "transparent"]).title == TITLE


def test_options_are_remembered_in_the_settings(qtbot, settings_file: Path) -> None:
    from explorer.export_menu import ExportOptionsDialog, load_options, save_options
    from explorer.settings import open_settings

    assert load_options(open_settings(settings_file)) == ExportOptions()
    chosen = ExportOptions(scale=2, caption=True, caption_text=CAPTION, title=TITLE, background="transparent",
                           theme="slide")
    save_options(open_settings(settings_file), chosen)
    assert load_options(open_settings(settings_file)) == chosen
    dialog = ExportOptionsDialog(chosen)
    qtbot.addWidget(dialog)
    assert dialog.options() == chosen  # the form shows what it was given
    dialog.caption_check.setChecked(False)
    assert not dialog.caption_text.isEnabled()
    dialog.title_text.setText("  Another title ")
    dialog.background_combo.setCurrentIndex(export.BACKGROUNDS.index("theme"))
    dialog.scale_spin.setValue(4)
    assert dialog.options() == ExportOptions(scale=4, caption=False, caption_text=CAPTION,
                                             title="Another title", theme="slide")
    settings = open_settings(settings_file)
    settings.setValue("export/scale", "9")
    settings.setValue("export/background", "purple")
    assert load_options(settings) == dataclasses.replace(chosen, scale=export.MAX_SCALE, background="theme")


# --- what the options draw -----------------------------------------------------------------------

def test_transparent_png_has_no_background(views) -> None:
    view = views["regions"]
    opaque = np.asarray(Image.open(io.BytesIO(export.render_png(view, caption=True))).convert("RGBA"))
    transparent = export.render_png(view, caption=True, background="transparent")
    clear = np.asarray(Image.open(io.BytesIO(transparent)))
    assert clear.shape == opaque.shape and clear.shape[2] == 4
    assert np.all(opaque[..., 3] == 255)
    # the corners and the caption band's margin are background: nothing there
    for row, col in ((0, 0), (0, -1), (-1, 0), (-1, -1), (-2, clear.shape[1] // 2)):
        assert clear[row, col, 3] == 0, (row, col)
    assert (clear[..., 3] == 0).mean() > 0.05
    drawn = clear[..., 3] == 255
    assert drawn.mean() > 0.2  # the photo and the grid are there, opaque
    # where the figure draws opaquely, it draws the same colours as on its background
    difference = np.abs(clear[drawn][:, :3].astype(int) - opaque[drawn][:, :3])
    assert difference.max() <= 2


def test_transparent_svg_and_pdf_have_no_background_shape(views) -> None:
    view = views["mask"]
    assert _page_fills(export.render_svg(view, caption=True))  # the theme's background
    assert _page_fills(export.render_svg(view, caption=True, background="transparent")) == []
    opaque = export.render_pdf(view, caption=True)
    clear = export.render_pdf(view, caption=True, background="transparent")
    assert clear.startswith(b"%PDF-") and len(clear) < len(opaque)


def test_title_and_caption_text_frame_the_figure(views) -> None:
    view = views["windows"]
    plain = export.render_image(view)
    framed = export.render_image(view, 1, CAPTION, title=TITLE)
    assert framed.width() == plain.width() and framed.height() > plain.height() + 40
    texts = _svg_texts(export.render_svg(view, CAPTION, title=TITLE))
    assert TITLE in texts and CAPTION in texts
    layout = page_layout(view, export.DEFAULT_WIDTH, CAPTION, TITLE)
    assert layout.title_rect.bottom() <= layout.figure_top < layout.caption_rect.top()
    assert layout.caption_rect.bottom() <= layout.height
    assert page_layout(view, export.DEFAULT_WIDTH, False).figure_top == 0


def test_png_scale_multiplies_the_width(views) -> None:
    image = export.render_image(views["mask"], 2, CAPTION, title=TITLE, background="transparent")
    assert image.width() == 2 * export.DEFAULT_WIDTH
    assert image.hasAlphaChannel()


# --- intervals stay on one line ------------------------------------------------------------------

def test_intervals_get_no_break_spaces() -> None:
    text = "slices [0, −7), [−7, −3), [−3, end), query (25, 26); a, b"
    kept = keep_intervals_together(text)
    assert kept.count(NO_BREAK_SPACE) == 4
    assert kept.replace(NO_BREAK_SPACE, " ") == text
    assert "a, b" in kept  # a plain comma still breaks
    assert keep_intervals_together(kept) == kept


def _line_spans(document: QtGui.QTextDocument) -> list[tuple[int, int]]:
    """(start, end) in the document's plain text of each laid-out line."""
    spans = []
    block = document.begin()
    while block.isValid():
        layout = block.layout()
        for index in range(layout.lineCount()):
            line = layout.lineAt(index)
            start = block.position() + line.textStart()
            spans.append((start, start + line.textLength()))
        block = block.next()
    return spans


def _broken_intervals(document: QtGui.QTextDocument) -> list[str]:
    text = document.toRawText()
    spans = _line_spans(document)
    broken = []
    for match in INTERVALS.finditer(text):
        if not any(start <= match.start() and match.end() <= end for start, end in spans):
            broken.append(match.group(0))
    return broken


def test_the_regions_note_never_breaks_inside_an_interval(qtbot, state, prepared) -> None:
    """The note of the shift regions writes the official slices as "[0, −7), [−7, −3)":
    wrapped at any width, no interval is split between two lines."""
    from explorer.views.regions import RegionsView

    view = RegionsView()
    qtbot.addWidget(view)
    view.update_state(ExplorerState(img_size=224, window_size=7, stage=0, block=1), prepared)
    assert "[−7, −3)" in view.note_text()
    document = view.note.item.document()
    intervals = INTERVALS.findall(document.toRawText())
    assert len(intervals) >= 3
    for width in range(120, 900, 7):
        document.setTextWidth(width)
        assert _broken_intervals(document) == [], width


def test_an_exported_caption_never_breaks_inside_an_interval(views) -> None:
    """The caption under an exported figure keeps "[−7, −3)" on one line, at any width."""
    caption = caption_text(views["mask"], "the slices " + " ".join(["[−7, −3)"] * 30))
    font = QtGui.QFont()
    for width in range(150, 1200, 37):
        layout = QtGui.QTextLayout(caption, font)
        option = QtGui.QTextOption()
        option.setWrapMode(QtGui.QTextOption.WrapMode.WordWrap)
        layout.setTextOption(option)
        layout.beginLayout()
        spans = []
        while (line := layout.createLine()).isValid():
            line.setLineWidth(width)
            spans.append((line.textStart(), line.textStart() + line.textLength()))
        layout.endLayout()
        for match in INTERVALS.finditer(caption):
            assert any(start <= match.start() and match.end() <= end for start, end in spans), width


# --- exported figures carry no interaction hints ---------------------------------------------------

def test_exported_figures_carry_no_click_instruction(views) -> None:
    """No figure's exported drawing tells the reader to click: such hints live in the
    window's hover line only."""
    assert tuple(views) == FIGURE_NAMES
    texts = {name: _svg_texts(export.render_svg(view, caption=True)) for name, view in views.items()}
    hints = {name: text for name, text in texts.items() if re.search(r"\bclick", text, re.IGNORECASE)}
    assert hints == {}


# --- the command line ------------------------------------------------------------------------------

def test_command_line_writes_caption_title_transparency_and_scale(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    run = subprocess.run([sys.executable, "main.py", "export", str(PHOTO), "--out", str(out),
                          "--img-size", str(SIZE), "--window-size", "4", "--figures", "mask,cyclic-shift",
                          "--format", "png,svg", "--scale", "2", "--caption", CAPTION, "--title", TITLE,
                          "--background", "transparent"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "running" not in run.stderr  # no figure of these needs the model
    assert sorted(path.name for path in out.iterdir()) == ["cyclic-shift.gif", "cyclic-shift.png",
                                                           "cyclic-shift.svg", "mask.png", "mask.svg"]
    with Image.open(out / "mask.png") as image:
        pixels = np.asarray(image.convert("RGBA"))
    assert pixels.shape[1] == 2 * export.DEFAULT_WIDTH
    assert pixels[0, 0, 3] == 0 and pixels[-1, -1, 3] == 0 and pixels[..., 3].max() == 255
    svg = (out / "mask.svg").read_bytes()
    texts = _svg_texts(svg)
    assert TITLE in texts and CAPTION in texts
    assert _page_fills(svg) == []
    with Image.open(out / "cyclic-shift.gif") as gif:  # a GIF keeps the theme's background
        assert "transparency" not in gif.info
        corner = np.asarray(gif.convert("RGB").getpixel((0, 0)), dtype=int)
    background = QtGui.QColor(theme("screen").background)
    assert np.abs(corner - (background.red(), background.green(), background.blue())).max() <= 8


# --- moving the background export's files into place ------------------------------------------------

def test_deliver_renames_files_and_a_folder_of_frames_into_place(tmp_path: Path) -> None:
    from explorer.export_job import deliver, scratch_folder_beside

    target = tmp_path / "slides" / "regions.png"
    scratch = scratch_folder_beside(target)
    assert scratch.parent == target.parent and scratch.name.startswith(".")
    (scratch / "regions.png").write_bytes(b"new")
    frames = scratch / "cyclic-shift-frames"
    frames.mkdir()
    for number in (1, 2):
        (frames / f"cyclic-shift-0{number}.png").write_bytes(bytes([number]))
    (scratch / "cyclic-shift.png").write_bytes(b"not asked for")
    target.write_bytes(b"old")
    written = deliver(scratch, {"regions.png": target, "cyclic-shift-frames": tmp_path / "frames"})
    assert written == [target, *(tmp_path / "frames" / f"cyclic-shift-0{number}.png" for number in (1, 2))]
    assert target.read_bytes() == b"new"
    assert not scratch.exists()  # with what was not asked for
    assert sorted(path.name for path in target.parent.iterdir()) == ["regions.png"]
    with pytest.raises(OSError):
        deliver(scratch_folder_beside(target), {"missing.png": target})
    assert sorted(path.name for path in target.parent.iterdir()) == ["regions.png"]
