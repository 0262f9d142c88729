"""The figure registry, themes, the cost view, the palette and the vector drawing helpers
(pytest-qt, offscreen)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtSvg, QtWidgets

from explorer.figures import FIGURE_NAMES, build_figures, create_views
from explorer.palette import MASK_COLORS, MERGE_COLORS, REGION_COLORS, THEMES
from explorer.state import ExplorerState, InferenceResult, model_config
from explorer.views.base import FigureView
from explorer.views.cells import label_rectangles
from explorer.views.cost import CostView
from explorer.views.items import (
    CrispPathItem,
    WrappedText,
    boundary_path,
    cells_in_path,
    hatch_path,
    value_paths,
)
from explorer.views.regions import RegionsView
from explorer.views.windows_view import WindowsView
from swin_model import preset
from swin_model.flops import ATTENTION_PARTS, MLP_PART, REPORT_PARTS, count_macs


@dataclass(frozen=True)
class FakePrepared:
    display: np.ndarray
    pixels: np.ndarray


def prepared_for(size: int) -> FakePrepared:
    display = np.random.default_rng(1).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    return FakePrepared(display=display, pixels=np.zeros((3, size, size), dtype=np.float32))


def svg_of(view: FigureView) -> str:
    """The view's scene painted through QSvgGenerator, as text."""
    target = view.render_target()
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    generator = QtSvg.QSvgGenerator()
    generator.setOutputDevice(buffer)
    rect = target.sceneRect()
    generator.setSize(rect.size().toSize())
    generator.setViewBox(QtCore.QRectF(0, 0, rect.width(), rect.height()))
    painter = QtGui.QPainter(generator)
    target.scene().render(painter, QtCore.QRectF(0, 0, rect.width(), rect.height()), rect)
    painter.end()
    return bytes(buffer.data().data()).decode("utf-8", errors="replace")


# --- registry ----------------------------------------------------------------------------------


@pytest.mark.parametrize("theme", ["screen", "slide"])
def test_build_figures_builds_every_figure_offscreen(qtbot, theme):
    state = ExplorerState(img_size=112, stage=1, block=1)
    views = build_figures(state, prepared_for(112), None, theme=theme)
    assert tuple(views) == FIGURE_NAMES
    for name, view in views.items():
        qtbot.addWidget(view)
        assert isinstance(view, FigureView)
        assert view.figure_name == name
        assert view.theme.name == theme
        target = view.render_target()
        assert isinstance(target, QtWidgets.QGraphicsView)
        assert len(target.scene().items()) > 3
        caption = view.caption()
        assert "Swin-T" in caption and "input 112×112" in caption and "stage 2/4" in caption
        assert view.toolTip()
        image = view.grab()
        assert not image.isNull() and image.width() > 0
    assert "waiting" in views["attention"].status_text()
    assert views["cyclic-shift"].shift_steps() == 4


def test_figures_load_without_torch():
    """The window shows the figures while the worker is still importing torch."""
    script = "import sys; import explorer.figures; print('torch' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        cwd=str(Path(__file__).resolve().parent.parent),
    )
    assert done.stdout.strip() == "False", done.stderr


def test_create_views_returns_fresh_empty_views(qtbot):
    first, second = create_views(), create_views()
    for name in FIGURE_NAMES:
        qtbot.addWidget(first[name])
        qtbot.addWidget(second[name])
        assert first[name] is not second[name]
        assert first[name].caption() == name


def test_geometry_is_vector_only_the_photo_is_an_image(qtbot):
    photo_panels = {
        "patches": 1,
        "windows": 1,
        "regions": 2,
        "cyclic-shift": 2,
        "mask": 0,
        "attention": 1,
        "merging": 2,
        "cost": 0,
        "vit-vs-swin": 2,
        "architecture": 1,
        "block": 0,
    }
    views = build_figures(ExplorerState(img_size=112, stage=0, block=1, window=3), prepared_for(112),
                          names=photo_panels)
    assert set(views) == set(photo_panels) & set(FIGURE_NAMES)
    for name, view in views.items():
        qtbot.addWidget(view)
        images = [item for item in view.render_target().scene().items() if isinstance(item, pg.ImageItem)]
        assert len(images) == photo_panels[name], name
    mask_svg = svg_of(views["mask"])
    assert "<image" not in mask_svg
    assert mask_svg.count("<path") > 4
    regions_svg = svg_of(views["regions"])
    assert regions_svg.count("<image") == 2  # the two photos; cells, borders, numbers are vector
    assert regions_svg.count("<path") > 9


def test_hidden_view_in_a_window_redraws_when_shown(qtbot):
    holder = QtWidgets.QTabWidget()
    qtbot.addWidget(holder)
    first, hidden = WindowsView(), WindowsView()
    holder.addTab(first, "first")
    holder.addTab(hidden, "second")
    holder.show()
    qtbot.waitExposed(holder)
    state = ExplorerState(img_size=112, stage=0, block=1, window=15)
    hidden.update_state(state, prepared_for(112))
    assert hidden.partition_map().size == 0  # not drawn while hidden
    holder.setCurrentIndex(1)
    qtbot.waitUntil(lambda: hidden.partition_map().shape == (28, 28), timeout=2000)
    other = WindowsView()
    holder.addTab(other, "third")
    other.update_state(state.replace(stage=1), prepared_for(112))
    other.render_target()  # export asks for the scene: drawn at once
    assert other.partition_map().shape == (14, 14)


# --- themes -----------------------------------------------------------------------------------


def test_screen_and_slide_themes(qtbot):
    state = ExplorerState(img_size=112, stage=1, block=1)
    colours = {}
    for theme in ("screen", "slide"):
        view = RegionsView()
        qtbot.addWidget(view)
        view.set_theme(theme)
        view.update_state(state, prepared_for(112))
        background = view.render_target().backgroundBrush().color().name().upper()
        assert background == THEMES[theme].background.upper()
        colours[theme] = {
            region: item.brush().color().name().upper()
            for region, item in view.official_regions.fills.items()
            if item.isVisible()
        }
        label = view.official_regions.labels.visible()[0]
        colours[theme + "-font"] = label.font().pointSizeF()
    assert THEMES["slide"].background.upper() == "#FFFFFF"
    assert (
        colours["screen"]
        == colours["slide"]
        == {region: REGION_COLORS[region].upper() for region in range(9)}
    )
    assert colours["slide-font"] > colours["screen-font"]


def test_switching_theme_restyles_a_drawn_view(qtbot):
    view = WindowsView()
    qtbot.addWidget(view)
    view.update_state(ExplorerState(img_size=112), prepared_for(112))
    screen_width = view.window_grid.pen().widthF()
    view.set_theme("slide")
    assert view.window_grid.pen().widthF() > screen_width
    assert view.note.item.defaultTextColor().name().upper() == THEMES["slide"].foreground.upper()
    with pytest.raises(ValueError, match="unknown theme"):
        view.set_theme("poster")


# --- cost -----------------------------------------------------------------------------------------


def evaluate(formula: str) -> int:
    """Evaluate "4·56·56·96² + 2·(56·56)²·96" as integer arithmetic."""
    expression = formula.replace("·", "*").replace("²", "**2")
    assert re.fullmatch(r"[0-9*+() ]+", expression), expression
    return int(eval(expression))


@pytest.mark.parametrize(
    ("model", "img_size", "window"), [("swin-t", 224, 7), ("swin-b", 384, 12), ("swin-s", 230, 7)]
)
def test_cost_view_numbers_equal_count_macs(qtbot, model, img_size, window):
    state = ExplorerState(model_name=model, img_size=img_size, window_size=window, stage=1)
    view = CostView()
    qtbot.addWidget(view)
    view.update_state(state, prepared_for(img_size))
    report = count_macs(preset(model, img_size=img_size, window_size=window), img_size, img_size)
    rows = view.stage_formulas()
    assert len(rows) == len(report.stages)
    for (msa_line, wmsa_line), stage in zip(rows, report.stages, strict=True):
        msa_formula, msa_value = msa_line.split(" = ")
        wmsa_formula, wmsa_value = wmsa_line.split(" = ")
        assert int(msa_value.replace(",", "")) == stage.msa_omega
        assert int(wmsa_value.replace(",", "")) == stage.wmsa_omega
        assert evaluate(msa_formula) == stage.msa_omega
        assert evaluate(wmsa_formula) == stage.wmsa_omega
        assert f"= {msa_value}" in view.table_text()
    totals = view.totals_text()
    assert f"{report.total / 1e9:.3f} G MACs" in totals
    assert f"{report.flops / 1e9:.3f} G FLOPs" in totals
    assert f"{report.params / 1e6:.2f} M" in totals
    x, y = view.curve_data()["current"]
    assert y[0] == pytest.approx(sum(s.depth * s.msa_omega for s in report.stages) / 1e9)
    assert y[1] == pytest.approx(sum(s.depth * s.wmsa_omega for s in report.stages) / 1e9)
    assert x[0] == report.stages[0].height * report.stages[0].width


def test_cost_view_takes_its_parts_from_the_cost_model(qtbot):
    """The (S)W-MSA and MLP totals are the parts swin_model.flops names, summed over blocks."""
    assert set(ATTENTION_PARTS) <= set(REPORT_PARTS)
    assert MLP_PART in REPORT_PARTS
    state = ExplorerState(img_size=230, window_size=7, stage=1)
    view = CostView()
    qtbot.addWidget(view)
    view.update_state(state, prepared_for(230))
    report = count_macs(preset("swin-t", img_size=230, window_size=7), 230, 230)
    attention = sum(block.attention for block in report.blocks)
    mlp = sum(block.parts["mlp"] for block in report.blocks)
    assert report.attention_macs == attention
    totals = view.totals_text()
    assert f"(S)W-MSA {attention / 1e9:.3f} G" in totals
    assert f"MLP {mlp / 1e9:.3f} G" in totals


@pytest.mark.parametrize(("model", "img_size", "window"), [("swin-t", 224, 7), ("swin-l", 384, 12)])
def test_cost_text_fits_the_default_dock_width(qtbot, model, img_size, window):
    """At the cost dock's default width (540 px) no word of the table or totals is broken:
    each text's laid-out width stays within the width it is given."""
    view = CostView()
    qtbot.addWidget(view)
    view.resize(540, 640)
    view.show()
    qtbot.waitExposed(view)
    view.update_state(ExplorerState(model_name=model, img_size=img_size, window_size=window), None)
    QtWidgets.QApplication.processEvents()
    for text in (view.table, view.totals, view.note):
        # lay the text out again, allowed to break between words only: a word that does
        # not fit makes it wider than the width the view gives it
        document = text.item.document().clone()
        option = document.defaultTextOption()
        option.setWrapMode(QtGui.QTextOption.WrapMode.WordWrap)
        document.setDefaultTextOption(option)
        document.setTextWidth(text.item.textWidth())
        assert 0 < document.idealWidth() <= text.item.textWidth() + 0.5, text.plain_text()
    assert view.totals.size().width() == pytest.approx(view.plot.size().width(), abs=2)
    assert "parameters" in view.totals_text()


def test_cost_curves_are_quadratic_and_linear_in_tokens(qtbot):
    view = CostView()
    qtbot.addWidget(view)
    view.update_state(ExplorerState(img_size=224), prepared_for(224))
    tokens, msa = view.curve_data()["msa"]
    _, wmsa = view.curve_data()["wmsa"]
    sides = np.sqrt(tokens) * 4
    divisible = np.isin(sides, [224, 448])  # every stage divides by the window here
    assert divisible.sum() == 2
    (t1, t2), (m1, m2), (w1, w2) = tokens[divisible], msa[divisible], wmsa[divisible]
    assert t2 == 4 * t1
    assert w2 == pytest.approx(4 * w1)  # W-MSA: linear in h·w
    assert m2 > 10 * m1  # MSA: the (hw)² term dominates
    large = sides >= 224  # below, padding small maps to a whole window can make W-MSA dearer
    assert np.all(msa[large] > wmsa[large])


def test_cost_view_shows_the_measured_count_of_a_matching_result(qtbot):
    state = ExplorerState(img_size=224)
    view = CostView()
    qtbot.addWidget(view)
    view.update_state(state, prepared_for(224))
    assert "waiting" in view.measured_text()
    analytic = count_macs(model_config(state), 224, 224).matmul_macs
    view.update_result(InferenceResult(request_id=1, state=state, measured_macs=analytic + 1_000_000))
    assert f"{(analytic + 1_000_000) / 1e9:.3f} G" in view.measured_text()
    assert f"{analytic / 1e9:.3f} G analytic" in view.measured_text()
    view.update_result(InferenceResult(request_id=2, state=state.replace(img_size=192), measured_macs=5))
    assert "waiting" in view.measured_text()


# --- palette --------------------------------------------------------------------------------


def _srgb_to_linear(channel: np.ndarray) -> np.ndarray:
    return np.where(channel <= 0.04045, channel / 12.92, ((channel + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    xyz = (
        linear_rgb
        @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    )
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB
COLOUR_BLINDNESS = {
    "normal": np.eye(3),
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "tritanopia": np.array(
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]
    ),
}


@pytest.mark.parametrize("vision", list(COLOUR_BLINDNESS))
def test_touching_regions_stay_distinguishable_under_colour_blindness(vision):
    rgb = np.array([[int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)] for colour in REGION_COLORS])
    simulated = np.clip(_srgb_to_linear(rgb) @ COLOUR_BLINDNESS[vision].T, 0, 1)
    lab = _lab(simulated)
    touching = [
        (a, b)
        for a in range(9)
        for b in range(a + 1, 9)
        if (a // 3 == b // 3 and abs(a - b) == 1) or (a % 3 == b % 3 and abs(a - b) == 3)
    ]
    distances = {pair: float(np.linalg.norm(lab[pair[0]] - lab[pair[1]])) for pair in touching}
    assert len(touching) == 12
    assert min(distances.values()) > 25, distances
    assert len(set(REGION_COLORS)) == 9


def test_mask_and_merge_colours_do_not_read_as_regions():
    """The mask view puts region strips beside 0/−100 cells, so the cell colours must not be
    region colours; 0 (attend) is light and −100 (blocked) dark in any colour vision."""
    mask = {value.upper() for value in MASK_COLORS.values()}
    assert not mask & {colour.upper() for colour in REGION_COLORS}
    lightness = {value: _lab(_srgb_to_linear(np.array(
        [[int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]])))[0, 0]
        for value, colour in MASK_COLORS.items()}
    assert lightness[0.0] - lightness[-100.0] > 45
    assert len(set(MERGE_COLORS)) == 4


# --- drawing helpers ------------------------------------------------------------------------


def test_crisp_path_item_paints_without_antialiasing_and_restores_the_painter(qapp):
    image = QtGui.QImage(40, 40, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QtGui.QColor("#000000"))
    scene = QtWidgets.QGraphicsScene()
    item = CrispPathItem()
    path = QtGui.QPainterPath()
    path.addRect(QtCore.QRectF(5.5, 5.5, 20, 20))  # edges half-way through pixels
    item.setPath(path)
    item.setBrush(QtGui.QBrush(QtGui.QColor("#FFFFFF")))
    item.setPen(QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
    scene.addItem(item)
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
    scene.render(painter, QtCore.QRectF(0, 0, 40, 40), QtCore.QRectF(0, 0, 40, 40))
    still_antialiased = painter.testRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.end()
    assert still_antialiased
    greys = {QtGui.QColor(image.pixel(x, 15)).red() for x in range(40)}
    assert greys == {0, 255}  # no half-covered edge pixels




def test_label_rectangles_cover_every_cell_once(qapp):
    rng = np.random.default_rng(3)
    for labels in (
        rng.integers(0, 3, size=(9, 13)),
        np.zeros((4, 4), dtype=np.int64),
        np.kron(rng.integers(0, 4, size=(3, 3)), np.ones((5, 2), dtype=np.int64)),
    ):
        rects = label_rectangles(labels)
        rebuilt = np.full(labels.shape, -1)
        covered = np.zeros(labels.shape, dtype=int)
        for row, col, height, width, value in rects:
            rebuilt[row : row + height, col : col + width] = value
            covered[row : row + height, col : col + width] += 1
        np.testing.assert_array_equal(rebuilt, labels)
        assert covered.min() == covered.max() == 1
    blocks = np.kron(np.arange(4).reshape(2, 2), np.ones((3, 5), dtype=np.int64))
    assert len(label_rectangles(blocks)) == 4  # equal runs merge downwards into one rect each
    paths = value_paths(blocks, 2.0)
    for value, path in paths.items():
        np.testing.assert_array_equal(cells_in_path(path, 6, 10, 2.0), blocks == value)


def test_boundary_and_hatch_paths(qapp):
    labels = np.array([[0, 0, 1], [0, 0, 1], [2, 2, 2]])
    path = boundary_path(labels, 10.0)
    assert path.boundingRect() == QtCore.QRectF(0, 0, 30, 20)  # inner borders only
    assert boundary_path(labels, 10.0, outline=True).boundingRect() == QtCore.QRectF(0, 0, 30, 30)
    stroked = QtGui.QPainterPathStroker()
    stroked.setWidth(0.5)
    outline = stroked.createStroke(path)
    assert outline.contains(QtCore.QPointF(20, 5))  # between column 1 and 2
    assert outline.contains(QtCore.QPointF(5, 20))  # between row 1 and 2
    assert not outline.contains(QtCore.QPointF(10, 5))  # inside region 0
    ignored = boundary_path(np.array([[0, -1, 1]]), 10.0, ignore=-1)
    assert ignored.isEmpty()
    hatch = hatch_path(np.array([[100.0, 0.0, 8.0, 40.0]]), spacing=4.0)
    bounds = hatch.boundingRect()
    assert bounds.left() >= 100.0 and bounds.right() <= 108.0 and bounds.top() >= 0 and bounds.bottom() <= 40
    assert hatch.elementCount() > 10


@pytest.mark.parametrize(("img_size", "window_size"), [(32, 3), (33, 12), (57, 7)])
def test_every_view_copes_with_tiny_maps_and_out_of_range_choices(qtbot, img_size, window_size):
    """Maps smaller than the window, single-token stages, a query, window and head beyond
    the grid: every view draws (clamping the choices) and still tells its caption."""
    views = create_views()
    for view in views.values():
        qtbot.addWidget(view)
    for stage in range(4):
        for block in (0, 1):
            state = ExplorerState(
                img_size=img_size,
                window_size=window_size,
                stage=stage,
                block=block,
                window=999,
                query=(999, 999),
                head=99,
            )
            for name, view in views.items():
                view.update_state(state, None)
                assert f"stage {stage + 1}/4" in view.caption(), name
    cyclic = views["cyclic-shift"]
    for step in range(cyclic.shift_steps()):
        cyclic.set_shift_step(step)
    assert views["merging"].has_merging() is False


# --- lifetimes -------------------------------------------------------------------------------------

VIEWS_DIR = Path(__file__).resolve().parent.parent / "explorer" / "views"


def test_closing_a_view_disposes_its_scene(qtbot):
    """close() ends a view: its scene is emptied while Python is alive, timers stop, and
    later states, results and themes are taken without drawing (or failing)."""
    state = ExplorerState(img_size=112, stage=0, block=1)
    views = build_figures(state, prepared_for(112), None)
    for name, view in views.items():
        qtbot.addWidget(view)
        scene = view.render_target().scene()
        assert len(scene.items()) > 3, name
        if name == "cyclic-shift":
            view.play_button.setChecked(True)
            assert view.timer.isActive()
        view.close()
        assert view.is_disposed(), name
        assert scene.items() == [], name
        if name == "cyclic-shift":
            assert not view.timer.isActive()
        view.update_state(ExplorerState(img_size=224, stage=2, block=0), prepared_for(224))
        view.update_result(None)
        view.set_theme("slide")
        assert "stage 3/4" in view.caption(), name
        view.dispose()  # idempotent


def test_wrapped_text_follows_its_width_through_geometry_changed(qtbot):
    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    text = WrappedText()
    widget.ci.addItem(text, row=0, col=0)
    text.set_html("a few words " * 40, "#000000", 10)
    for width in (400, 700, 300):
        widget.resize(width, 300)
        widget.show()

        def fitted() -> bool:
            return (
                abs(text.item.textWidth() - text.size().width()) <= 0.5
                and text.size().height() == text.item.boundingRect().height()
            )

        qtbot.waitUntil(fitted)
        assert text.size().width() > 0.5 * width
    assert type(text).resizeEvent is QtWidgets.QGraphicsWidget.resizeEvent


def test_no_graphics_parent_in_constructors_and_no_destructor_time_overrides():
    """Graphics children are attached with setParentItem/addItem after construction, and no
    class of the views overrides a virtual that Qt can call from a C++ destructor."""
    for path in sorted(VIEWS_DIR.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"QGraphics\w*Item\(\s*self\b", source), path.name
        assert not re.search(r"def (resizeEvent|itemChange|boundingRect|shape)\(", source), path.name


def test_views_left_open_do_not_crash_python_at_exit():
    """A script that builds and draws every view and exits without closing them: the views'
    exit hook disposes them while Python is alive (no segfault in PySide's clean-up)."""
    script = (
        "from PySide6 import QtWidgets\n"
        "app = QtWidgets.QApplication([])\n"
        "from explorer.figures import create_views\n"
        "from explorer.state import ExplorerState\n"
        "views = create_views()\n"
        "for view in views.values():\n"
        "    view.resize(800, 600)\n"
        "    view.show()\n"
        "    view.update_state(ExplorerState(img_size=224, block=1), None)\n"
        "app.processEvents()\n"
        "print('drawn')\n"
    )
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
            cwd=str(Path(__file__).resolve().parent.parent),
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )
        assert done.returncode == 0 and "drawn" in done.stdout, (done.returncode, done.stderr[-2000:])
