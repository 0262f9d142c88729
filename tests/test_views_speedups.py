"""The fast paths of the region, cyclic-shift and merging figures draw what the plain
ones drew (pytest-qt, offscreen).

- the vectorised tests of label placement (:mod:`explorer.views.label_layout`) agree with
  the box-by-box and clip-by-clip ones they replace;
- the windows that hold several regions, found in one pass, are those a window-by-window
  count finds;
- a view that comes back to a state from its caches (paths, maps, label layouts) shows
  what a new view drawn for that state shows; so does the merging zoom moved to another
  place of the same grid, whose label layout is reused;
- linked panels place their labels once per redraw, for their final extents;
- the merging overview builds no per-token cells when it is too fine to colour them;
- plot axes painted from a pixmap on screen still export as they did.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.export import prepare_offscreen
from explorer.state import ExplorerState
from explorer.views import label_layout, regions
from explorer.views.cyclic_shift import CyclicShiftView
from explorer.views.items import ScaledLabels
from explorer.views.label_layout import Box
from explorer.views.merging import MergingView
from explorer.views.regions import RegionsView, shared_windows
from swin_model.windows import official_to_lecture_region, region_map, window_index_map


@dataclass(frozen=True)
class FakePrepared:
    display: np.ndarray


def prepared_for(size: int) -> FakePrepared:
    rng = np.random.default_rng(3)
    return FakePrepared(rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8))


def shown(qtbot, view_class, state: ExplorerState):
    view = view_class()
    qtbot.addWidget(view)
    view.set_theme("slide")
    view.update_state(state, prepared_for(state.img_size))
    prepare_offscreen(view)
    return view


def redrawn(view, state: ExplorerState):
    """``view`` after ``state`` (laid out as export lays it out)."""
    view.update_state(state, prepared_for(state.img_size))
    prepare_offscreen(view)
    return view


# --- pure helpers ------------------------------------------------------------------------------------

edges = st.floats(-50.0, 150.0, allow_nan=False).map(lambda value: round(value * 4) / 4)  # exact ties
sides = st.floats(0.25, 80.0, allow_nan=False).map(lambda value: round(value * 4) / 4)


@settings(max_examples=150, deadline=None)
@given(
    boxes=st.lists(st.tuples(edges, edges, sides, sides), min_size=0, max_size=12),
    start=st.tuples(edges, edges),
    step=st.sampled_from([0.5, 1.0, 2.5, 3.0]),
    size=st.tuples(sides, sides),
)
def test_free_grid_is_the_box_by_box_test(boxes, start, step, size):
    taken = [Box(*box) for box in boxes]
    xs = label_layout._positions(start[0], start[0] + 60.0, step)
    ys = label_layout._positions(start[1], start[1] + 45.0, step)
    grid_x, grid_y = (values.ravel() for values in np.meshgrid(xs, ys))
    width, height = size
    expected = label_layout._free(grid_x, grid_y, width, height, taken)
    edges_array = np.array([(box.x, box.y, box.right, box.bottom) for box in taken], dtype=np.float64)
    found = label_layout._free_grid(xs, ys, width, height, edges_array.reshape(-1, 4))
    np.testing.assert_array_equal(found, expected)


def clip_crosses(segment: tuple[float, float, float, float], box: Box) -> bool:
    """The Liang-Barsky clip alone, without the quick test for boxes far apart."""
    x0, y0, x1, y1 = segment
    dx, dy = x1 - x0, y1 - y0
    low, high = 0.0, 1.0
    for p, q in ((-dx, x0 - box.x), (dx, box.right - x0), (-dy, y0 - box.y), (dy, box.bottom - y0)):
        if abs(p) < 1e-12:
            if q <= 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low >= high:
            return False
    return high - low > 1e-9


@settings(max_examples=300, deadline=None)
@given(segment=st.tuples(edges, edges, edges, edges), box=st.tuples(edges, edges, sides, sides))
def test_segment_test_with_its_quick_rejection_is_the_clip(segment, box):
    assert label_layout._segment_crosses_box(segment, Box(*box)) == clip_crosses(segment, Box(*box))


def windows_one_by_one(official: np.ndarray, window: int) -> dict[tuple[int, ...], list[int]]:
    rows, cols = official.shape
    windows = window_index_map(rows, cols, window)
    lecture = official_to_lecture_region(official)
    groups: dict[tuple[int, ...], list[int]] = {}
    for index in range(int(windows.max()) + 1):
        held = tuple(int(region) for region in np.unique(lecture[windows == index]))
        if len(held) > 1:
            groups.setdefault(held, []).append(index)
    return groups


@pytest.mark.parametrize(("rows", "cols", "window", "shift"),
                         [(8, 8, 4, 2), (56, 56, 7, 3), (14, 28, 7, 3), (196, 196, 7, 3), (24, 36, 12, 6),
                          (16, 16, 16, 0)])
def test_shared_windows_are_the_window_by_window_count(rows, cols, window, shift):
    official = region_map(rows, cols, window, shift)
    expected = windows_one_by_one(official, window)
    assert shared_windows(official, window) == expected
    assert bool(expected) == bool(shift)


# --- views: a state from the caches is the state drawn anew -------------------------------------------


def label_read_out(drawn) -> list[tuple[object, ...]]:
    return [(label.text, label.kind, label.cells, label.fill,
             tuple(round(value, 3) for value in label.scene_rect.getRect())) for label in drawn]


def regions_read_out(view: RegionsView) -> tuple[object, ...]:
    return (
        view.drawn_region_map().tolist(),
        view.drawn_original_colours().tolist(),
        view.drawn_official_numbers().tolist(),
        view.drawn_lecture_map().tolist(),
        label_read_out(view.official_regions.drawn_labels()),
        label_read_out(view.lecture_regions.drawn_labels()),
        view.official_regions.window_lines(),
        view.lecture_regions.window_lines(),
        view.note_text(),
    )


def cyclic_read_out(view: CyclicShiftView) -> tuple[object, ...]:
    return (
        view.drawn_region_map().tolist(),
        view.drawn_before_map().tolist(),
        view.drawn_numbers().tolist(),
        view.window_map().tolist(),
        label_read_out(view.regions.drawn_labels()),
        label_read_out(view.before_regions.drawn_labels()),
        view.panel_titles(),
        view.note_text(),
    )


def merging_read_out(view: MergingView) -> tuple[object, ...]:
    return (
        view.drawn_merge_order().tolist(),
        view.zoom_area(),
        [(text, tuple(round(value, 3) for value in rect.getRect()), token)
         for text, rect, token in view.drawn_zoom_labels()],
        view.legend_entries(),
        view.note_text(),
    )


@pytest.mark.parametrize(("view_class", "read_out"),
                         [(RegionsView, regions_read_out), (CyclicShiftView, cyclic_read_out),
                          (MergingView, merging_read_out)])
@pytest.mark.parametrize(("first", "second"), [
    (ExplorerState(img_size=224, stage=0, block=1), ExplorerState(img_size=224, stage=1, block=1)),
    (ExplorerState(img_size=224, stage=0, block=1, numbering="lecture"),
     ExplorerState(img_size=224, stage=0, block=0, numbering="lecture")),
    (ExplorerState(img_size=512, stage=0, block=1), ExplorerState(img_size=512, stage=1, block=1)),
])
def test_a_state_from_the_caches_is_drawn_as_a_new_view_draws_it(qtbot, view_class, read_out, first, second):
    travelled = shown(qtbot, view_class, first)
    redrawn(travelled, second)
    redrawn(travelled, first)
    regions._LAYOUTS.clear()  # the new view computes its own label layouts
    fresh = shown(qtbot, view_class, first)
    assert read_out(travelled) == read_out(fresh)
    redrawn(travelled, second)
    regions._LAYOUTS.clear()
    assert read_out(travelled) == read_out(shown(qtbot, view_class, second))


@pytest.mark.parametrize("queries", [((10, 10), (30, 22)), ((0, 0), (55, 55)), ((5, 6), (6, 5))])
def test_the_merging_zoom_moved_shows_what_a_new_view_shows(qtbot, queries):
    state = ExplorerState(img_size=224, stage=0, query=queries[0])
    moved = redrawn(shown(qtbot, MergingView, state), state.replace(query=queries[1]))
    regions._LAYOUTS.clear()  # the new view computes its own label layout
    fresh = shown(qtbot, MergingView, state.replace(query=queries[1]))
    assert merging_read_out(moved) == merging_read_out(fresh)
    top, left, height, width = moved.zoom_area()
    tokens = {token for _, _, token in moved.drawn_zoom_labels()}
    assert tokens == {(row, col) for row in range(top, top + height) for col in range(left, left + width)}


@pytest.mark.parametrize("view_class", [RegionsView, CyclicShiftView])
@pytest.mark.parametrize("first", [ExplorerState(img_size=384, stage=0, block=0),
                                   ExplorerState(img_size=384, stage=0, block=1)])
def test_linked_panels_place_their_labels_once_per_redraw(qtbot, monkeypatch, view_class, first):
    view = shown(qtbot, view_class, first)
    calls: list[int] = []
    place = regions.place_labels

    def counted(requests, *args, **kwargs):
        calls.append(len(requests))
        return place(requests, *args, **kwargs)

    monkeypatch.setattr(regions, "place_labels", counted)
    regions._LAYOUTS.clear()
    view.update_state(ExplorerState(img_size=384, stage=1, block=1), prepared_for(384))
    assert len(calls) == 2  # one layout per panel, at its final extent
    for panel in (view.official_regions if view_class is RegionsView else view.before_regions,
                  view.lecture_regions if view_class is RegionsView else view.regions):
        box = panel.panel.viewbox.sceneBoundingRect()
        for label in panel.drawn_labels():
            assert box.contains(label.scene_rect)


@pytest.mark.parametrize(("img_size", "coloured"), [(64, True), (1024, False)])
def test_the_merging_overview_builds_cells_only_when_it_colours_them(qtbot, img_size, coloured):
    view = shown(qtbot, MergingView, ExplorerState(img_size=img_size, stage=0, query=(3, 4)))
    assert view.overview_coloured() == coloured
    for item in view.positions.values():
        assert item.path().isEmpty() != coloured
    order = view.drawn_merge_order()
    top, left, height, width = view.zoom_area()
    zoomed = np.zeros(order.shape, dtype=bool)
    zoomed[top : top + height, left : left + width] = True
    assert (order[~zoomed] >= 0).all() == coloured
    assert (order[zoomed] >= 0).all()


def test_scaled_labels_rewrite_only_what_changed(qtbot):
    import pyqtgraph as pg

    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    viewbox = widget.addViewBox(invertY=True, enableMenu=False)
    labels = ScaledLabels(viewbox)
    labels.begin()
    first = labels.add("+1,0", 1.0, 2.0, 0.5, "#FF0000")
    labels.add("#3", 1.0, 3.0, 0.5, "#000000", bold=False)
    labels.end()
    centre = first.mapRectToParent(first.boundingRect()).center()  # view units
    assert (round(centre.x(), 6), round(centre.y(), 6)) == (1.0, 2.0)
    labels.begin()
    again = labels.add("+1,0", 1.0, 2.0, 0.5, "#FF0000")
    changed = labels.add("-12,+3", 4.0, 3.0, 0.25, "#00FF00", bold=True)
    labels.end()
    assert again is first and again.text() == "+1,0"
    assert changed.text() == "-12,+3" and changed.font().bold()
    assert changed.brush().color().name() == "#00ff00"
    moved = changed.mapRectToParent(changed.boundingRect()).center()
    assert (round(moved.x(), 6), round(moved.y(), 6)) == (4.0, 3.0)
    labels.begin()
    labels.add("0,0", 0.0, 0.0, 0.5, "#000000")
    labels.end()
    assert [item.isVisible() for item in labels._items] == [True, False]


def test_cached_axes_paint_from_a_pixmap_on_screen_and_export_as_vectors(qtbot):
    import pyqtgraph as pg
    from PySide6 import QtWidgets

    from explorer.export.rendering import render_svg
    from explorer.views.vit_vs_swin import VitVsSwinView

    view = VitVsSwinView()
    qtbot.addWidget(view)
    view.update_state(ExplorerState(img_size=224), None)
    prepare_offscreen(view)
    axes = [item for item in view.render_target().scene().items() if isinstance(item, pg.AxisItem)]
    cached = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
    assert axes and all(axis.cacheMode() == cached for axis in axes)
    with_cache = render_svg(view)
    for axis in axes:
        axis.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.NoCache)
    assert render_svg(view) == with_cache
