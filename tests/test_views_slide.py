"""Slide-ready regions, cyclic-shift and merging figures (pytest-qt, offscreen).

Every check reads back what the scene holds: label strings and their scene rectangles,
leader lines, brushes. Views are laid out as export lays them out
(explorer.export.prepare_offscreen), at the input sizes of a lecture (224, 384, 1024) and
the paper's toy grid (32 px, M = 4: 8×8 tokens in 2×2 windows, shift 2), in both themes.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import dataclass

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from explorer.export import prepare_offscreen, render_image
from explorer.palette import MERGE_COLOR_NAMES, MERGE_COLORS, REGION_COLORS, THEMES
from explorer.state import ExplorerState, model_config
from explorer.views.cells import cell_at
from explorer.views.cyclic_shift import CyclicShiftView
from explorer.views.merging import MergingView, zoom_window
from explorer.views.regions import RegionPanel, RegionsView, numbering_of
from swin_model import windows
from swin_model.windows import MERGE_OFFSETS

LETTERS = {0: "A", 1: "C", 2: "C", 3: "B", 6: "B"}


@dataclass(frozen=True)
class FakePrepared:
    display: np.ndarray


def prepared_for(size: int) -> FakePrepared:
    rng = np.random.default_rng(1)
    return FakePrepared(rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8))


def laid_out(qtbot, view_class, state: ExplorerState, theme: str = "slide", numbering: str | None = None):
    view = view_class()
    qtbot.addWidget(view)
    view.set_theme(theme)
    if numbering is not None:
        state = state.replace(numbering=numbering)
    view.update_state(state, prepared_for(state.img_size))
    prepare_offscreen(view)
    return view


def geometry_of(state: ExplorerState) -> windows.StageGeometry:
    return windows.stage_geometry(model_config(state), state.img_size, state.img_size)[state.stage]


def grid_of(geometry: windows.StageGeometry) -> tuple[int, int, int, int]:
    """(padded rows, padded cols, window, shift)."""
    return geometry.padded_height, geometry.padded_width, geometry.window_size, geometry.shift_size


def lecture_text(number: int) -> str:
    return f"{number} {LETTERS[number]}" if number in LETTERS else str(number)


def check_labels(region_panel: RegionPanel, theme: str) -> None:
    """The labels of a panel as drawn: inside the panel, pairwise apart, not too small."""
    labels = region_panel.drawn_labels()
    assert labels
    area = region_panel.panel.viewbox.sceneBoundingRect()
    for label in labels:
        assert area.contains(label.scene_rect), (label.text, label.scene_rect, area)
    for first in range(len(labels)):
        for second in range(first + 1, len(labels)):
            a, b = labels[first].scene_rect, labels[second].scene_rect
            assert not a.adjusted(0.5, 0.5, -0.5, -0.5).intersects(b.adjusted(0.5, 0.5, -0.5, -0.5)), (
                labels[first].text, labels[second].text)
    for item in region_panel.labels.visible():
        assert item.font().pointSizeF() >= THEMES[theme].small_size


PAPER = ExplorerState(img_size=32, window_size=4, stage=0, block=1)
SIZES = [
    ExplorerState(img_size=224, stage=0, block=1),
    ExplorerState(img_size=384, stage=0, block=1),
    ExplorerState(img_size=1024, stage=0, block=1),
    PAPER,
]


# --- regions --------------------------------------------------------------------------------------


@pytest.mark.parametrize("theme", ["slide", "screen"])
@pytest.mark.parametrize("state", SIZES, ids=lambda state: f"{state.img_size}px-M{state.window_size}")
def test_region_labels_are_disjoint_inside_and_every_region_named(qtbot, state, theme):
    view = laid_out(qtbot, RegionsView, state, theme)
    geometry = geometry_of(state)
    rows, cols, m, s = grid_of(geometry)
    official = windows.region_map(rows, cols, m, s)
    for panel in (view.official_regions, view.lecture_regions):
        check_labels(panel, theme)
    # default numbering "both": official numbers on the rolled grid, the lecture's on the original
    assert sorted(view.official_regions.drawn_texts()) == [str(region) for region in range(9)]
    assert sorted(view.lecture_regions.drawn_texts()) == sorted(lecture_text(region) for region in range(9))
    np.testing.assert_array_equal(view.drawn_official_numbers(), official)
    np.testing.assert_array_equal(view.drawn_lecture_map(), windows.lecture_region_map(rows, cols, m, s))
    # a label outside its region points at it: the leader ends on a token of that region
    stride = geometry.stride
    for panel, numbers in ((view.official_regions, official),
                           (view.lecture_regions, windows.lecture_region_map(rows, cols, m, s))):
        for label in panel.drawn_labels():
            assert label.kind in ("inside", "outside")
            token = cell_at(*label.marks, stride, rows, cols)
            assert token is not None and numbers[token] == int(label.text.split()[0])


def test_dense_window_grid_is_thinned_and_the_note_says_so(qtbot):
    view = laid_out(qtbot, RegionsView, ExplorerState(img_size=1024, stage=0, block=1))
    geometry = geometry_of(ExplorerState(img_size=1024))
    panel = view.official_regions
    assert panel.window_step >= 2
    every_line = geometry.windows_per_row + 1 + geometry.windows_per_column + 1
    assert panel.window_lines() < every_line * 0.6
    assert f"every {panel.window_step}" in view.note_text()
    # the lines next to the regions stay: the border between the last two window columns
    path = panel.windows.path()
    x_last = (geometry.padded_width - geometry.window_size) * geometry.stride
    xs = {round(path.elementAt(i).x, 3) for i in range(path.elementCount())}
    assert round(x_last, 3) in xs
    small = laid_out(qtbot, RegionsView, ExplorerState(img_size=224, stage=0, block=1))
    assert small.official_regions.window_step == 1
    assert "every" not in small.note_text()


@pytest.mark.parametrize("numbering", ["official", "lecture", "both"])
def test_numbering_choice_labels_both_grids(qtbot, numbering):
    state = ExplorerState(img_size=224, stage=1, block=1)
    view = laid_out(qtbot, RegionsView, state, numbering=numbering)
    geometry = geometry_of(state)
    rows, cols, m, s = grid_of(geometry)
    official = windows.region_map(rows, cols, m, s)
    lecture_rolled = ((official // 3 + 1) % 3) * 3 + (official % 3 + 1) % 3  # the lecture's relabelling
    original_official = np.roll(official, (s, s), axis=(0, 1))
    rolled = official if numbering in ("official", "both") else lecture_rolled
    original = original_official if numbering == "official" else windows.lecture_region_map(rows, cols, m, s)
    np.testing.assert_array_equal(view.drawn_official_numbers(), rolled)
    np.testing.assert_array_equal(view.drawn_lecture_map(), original)
    lettered = {"0 A", "1 C", "2 C", "3 B", "6 B"}
    assert bool(lettered & set(view.official_regions.drawn_texts())) == (numbering == "lecture")
    assert bool(lettered & set(view.lecture_regions.drawn_texts())) == (numbering != "official")
    left, right = view.panel_titles()
    assert ("official" in left) == (numbering != "lecture") and "rolled grid" in left
    assert ("lecture" in right) == (numbering != "official") and "original grid" in right
    assert left in view.official_panel.title.plain_text()
    # colours follow the tokens whatever the numbering
    np.testing.assert_array_equal(view.drawn_region_map(), official)
    with pytest.raises(ValueError, match="unknown numbering"):
        numbering_of("paper")


def windows_of_labels(panel: RegionPanel, geometry: windows.StageGeometry) -> dict[int, set[int]]:
    """Lecture numbers drawn in each window of a rolled panel, from the labels' places."""
    rows, cols, m = geometry.padded_height, geometry.padded_width, geometry.window_size
    window_map = windows.window_index_map(rows, cols, m)
    viewbox = panel.panel.viewbox
    held: dict[int, set[int]] = {}
    for label in panel.drawn_labels():
        point = viewbox.mapSceneToView(label.scene_rect.center()) if label.kind == "inside" \
            else QtCore.QPointF(*label.marks)
        token = cell_at(point.x(), point.y(), geometry.stride, rows, cols)
        assert token is not None
        held.setdefault(int(window_map[token]), set()).add(int(label.text.split()[0]))
    return held


def test_the_lecture_sentence_on_the_rolled_grid(qtbot):
    """Stage 3 of 224 px (14×14, M = 7, shift 3) in the lecture's numbering: one window
    holds regions 5 and 3, the bottom-right window holds 0, 2, 6 and 8."""
    state = ExplorerState(img_size=224, stage=2, block=1)
    geometry = geometry_of(state)
    assert (geometry.padded_height, geometry.window_size, geometry.shift_size) == (14, 7, 3)
    view = laid_out(qtbot, RegionsView, state, numbering="lecture")
    assert all(label.kind == "inside" for label in view.official_regions.drawn_labels())
    held = windows_of_labels(view.official_regions, geometry)
    assert held == {0: {4}, 1: {5, 3}, 2: {7, 1}, 3: {0, 2, 6, 8}}
    assert "the top-right window holds regions 3 and 5" in view.note_text()
    assert "the bottom-right window holds regions 0, 2, 6 and 8" in view.note_text()

    shift_view = laid_out(qtbot, CyclicShiftView, state, numbering="lecture")
    assert shift_view.shift_step() == shift_view.shift_steps() - 1  # opens after the roll
    assert windows_of_labels(shift_view.regions, geometry) == held


# --- cyclic shift ---------------------------------------------------------------------------------


@pytest.mark.parametrize("theme", ["slide", "screen"])
@pytest.mark.parametrize("state", SIZES, ids=lambda state: f"{state.img_size}px-M{state.window_size}")
def test_every_cyclic_shift_frame_shows_before_and_current(qtbot, state, theme):
    view = laid_out(qtbot, CyclicShiftView, state, theme)
    geometry = geometry_of(state)
    rows, cols, m, s = grid_of(geometry)
    original = np.roll(windows.region_map(rows, cols, m, s), (s, s), axis=(0, 1))
    extents = set()
    for step in range(view.shift_steps()):
        view.set_shift_step(step)
        np.testing.assert_array_equal(view.drawn_before_map(), original)
        np.testing.assert_array_equal(view.drawn_region_map(), np.roll(original, (-step, -step), axis=(0, 1)))
        check_labels(view.before_regions, theme)
        check_labels(view.regions, theme)
        assert len(view.regions.drawn_texts()) == 9
        extents.add((view.before_panel.viewbox.viewRect().getRect(), view.panel.viewbox.viewRect().getRect()))
    assert len(extents) == 1, "the panels keep one layout through the animation"
    before, after = view.panel_titles()
    assert "before the roll" in before and "lecture" in before
    assert f"{geometry.num_windows} equal" in after and "official" in after


def test_paper_toy_grid_looks_like_the_paper(qtbot):
    """8×8 tokens, M = 4, shift 2: 9 unequal windows before the roll, 4 after, every region
    labelled inside itself, token borders drawn."""
    geometry = geometry_of(PAPER)
    assert (geometry.height, geometry.window_size, geometry.shift_size, geometry.num_windows) == (8, 4, 2, 4)
    view = laid_out(qtbot, CyclicShiftView, PAPER)
    assert view.window_pieces() == 4
    view.set_shift_step(0)
    assert view.window_pieces() == 9
    view.set_shift_step(view.shift_steps() - 1)
    regions = laid_out(qtbot, RegionsView, PAPER)
    for panel in (view.before_regions, view.regions, regions.official_regions, regions.lecture_regions):
        assert [label.kind for label in panel.drawn_labels()] == ["inside"] * 9
        assert panel.tokens.isVisible()
        assert panel.window_step == 1


def test_play_at_the_last_step_rewinds(qtbot):
    view = laid_out(qtbot, CyclicShiftView, ExplorerState(img_size=112, stage=1, block=1))
    last = view.shift_steps() - 1
    assert view.shift_step() == last
    view.timer.setInterval(10)
    view.play_button.click()
    assert view.shift_step() == 0 and view.play_button.isChecked()
    qtbot.waitUntil(lambda: not view.play_button.isChecked(), timeout=3000)
    assert view.shift_step() == last
    view.play_button.click()  # again from the end: starts over
    assert view.shift_step() == 0


def test_static_image_and_frames_hold_both_panels(qtbot):
    from explorer.export import animation_frames

    view = laid_out(qtbot, CyclicShiftView, ExplorerState(img_size=224, stage=0, block=1))
    image = render_image(view)
    frames = animation_frames(view)
    assert len(frames) == view.shift_steps()
    assert view.shift_step() == view.shift_steps() - 1  # restored
    for frame in (image, *frames):
        # both halves of the picture hold the map: region colours on the left and on the right
        pixels = _rgb(frame)
        height, width, _ = pixels.shape
        for half in (pixels[: height * 2 // 3, : width // 2], pixels[: height * 2 // 3, width // 2:]):
            assert _has_colour(half, REGION_COLORS[0])


def _rgb(image: QtGui.QImage) -> np.ndarray:
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    buffer = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return buffer[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def _has_colour(pixels: np.ndarray, colour: str, tolerance: int = 6) -> bool:
    target = np.array(QtGui.QColor(colour).getRgb()[:3])
    return bool(np.any(np.all(np.abs(pixels.astype(int) - target) <= tolerance, axis=-1)))


# --- merging --------------------------------------------------------------------------------------


@pytest.mark.parametrize("theme", ["slide", "screen"])
@pytest.mark.parametrize(("img_size", "stage"), [(224, 0), (1024, 0), (224, 2), (32, 0)])
def test_merging_legend_and_drawn_colours_are_the_palette(qtbot, img_size, stage, theme):
    window = 4 if img_size == 32 else 7
    state = ExplorerState(img_size=img_size, window_size=window, stage=stage, query=(5, 6))
    view = laid_out(qtbot, MergingView, state, theme)
    legend = view.legend_entries()
    assert [text.split()[0] for text, _ in legend] == ["x0", "x1", "x2", "x3"]
    assert [fill for _, fill in legend] == [colour.upper() for colour in MERGE_COLORS]
    for index, item in view.zoom_positions.items():
        assert item.isVisible() and not item.path().isEmpty()
        assert item.brush().color().name().upper() == MERGE_COLORS[index].upper()
    for index, item in view.positions.items():
        assert item.brush().color().name().upper() == MERGE_COLORS[index].upper()
    # the words name the colours drawn
    note = view.note_text()
    for index, name in enumerate(MERGE_COLOR_NAMES):
        assert f"x{index} {name}" in note
    assert "x3 purple" not in note


@pytest.mark.parametrize(("img_size", "stage"), [(224, 0), (1024, 0), (224, 2)])
def test_merging_zoom_labels_every_token_large_around_the_query(qtbot, img_size, stage):
    query = (5, 6)
    state = ExplorerState(img_size=img_size, stage=stage, query=query)
    view = laid_out(qtbot, MergingView, state)
    geometry = geometry_of(state)
    following = windows.stage_geometry(model_config(state), img_size, img_size)[stage + 1]
    rows, cols = 2 * following.height, 2 * following.width
    top, left, height, width = view.zoom_area()
    assert (top, left, height, width) == zoom_window(rows, cols, query)
    assert top <= query[0] < top + height and left <= query[1] < left + width
    assert height == min(8, rows) and width == min(8, cols)
    labels = view.drawn_zoom_labels()
    assert len(labels) == height * width
    by_place = {offset: index for index, offset in enumerate(MERGE_OFFSETS)}
    tokens = set()
    for text, rect, (row, col) in labels:
        assert text == f"x{by_place[(row % 2, col % 2)]}"
        assert rect.height() >= THEMES["slide"].label_size  # large: at least the theme's label size
        tokens.add((row, col))
    assert tokens == {(r, c) for r in range(top, top + height) for c in range(left, left + width)}
    rects = [rect for _, rect, _ in labels]
    for first in range(len(rects)):
        for second in range(first + 1, len(rects)):
            assert not rects[first].intersects(rects[second])
    # the order read from the drawn cells matches the official slices where it is drawn
    drawn = view.drawn_merge_order()
    expected = np.zeros((rows, cols), dtype=np.int64)
    for index, (row_offset, col_offset) in enumerate(MERGE_OFFSETS):
        expected[row_offset::2, col_offset::2] = index
    shown = drawn >= 0
    assert shown[top : top + height, left : left + width].all()
    np.testing.assert_array_equal(drawn[shown], expected[shown])
    assert view.overview_coloured() == (geometry.height <= 28)


def test_merging_last_stage_has_no_zoom(qtbot):
    view = laid_out(qtbot, MergingView, ExplorerState(img_size=224, stage=3))
    assert view.zoom_area() == (0, 0, 0, 0)
    assert view.drawn_zoom_labels() == []
    assert "No patch merging after stage 4" in view.diagram_text()


# --- the numbering control ------------------------------------------------------------------------


def test_control_panel_offers_the_numberings(qtbot):

    from explorer.control_panel import ControlPanel
    from explorer.resolved import resolve
    from explorer.views.regions import NUMBERINGS

    panel = ControlPanel()
    qtbot.addWidget(panel)
    combo = panel.numbering_combo
    assert combo.objectName() == "numberingCombo" and "lecture" in combo.toolTip()
    assert sorted(combo.itemData(index) for index in range(combo.count())) == sorted(NUMBERINGS)
    assert panel.numbering() == "both"
    asked: list[dict] = []
    panel.changed.connect(asked.append)
    combo.setCurrentIndex(combo.findData("lecture"))
    assert asked == [{"numbering": "lecture"}]
    # showing a state never asks for a change
    asked.clear()
    panel.show_state(resolve(ExplorerState()), None)
    assert asked == []
