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


# --- first draws: label placement, the mask overview, label pools -------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    boxes=st.lists(st.tuples(edges, edges, sides, sides), min_size=0, max_size=8),
    start=st.tuples(edges, edges),
    step=st.sampled_from([0.5, 1.0, 2.5, 3.0]),
    size=st.tuples(sides, sides),
)
def test_overlap_on_the_grid_is_the_box_by_box_overlap(boxes, start, step, size):
    others = [Box(*box) for box in boxes]
    xs = label_layout._positions(start[0], start[0] + 60.0, step)
    ys = label_layout._positions(start[1], start[1] + 45.0, step)
    grid_x, grid_y = (values.ravel() for values in np.meshgrid(xs, ys))
    width, height = size
    expected = label_layout._overlap_areas(grid_x, grid_y, width, height, others)
    found = label_layout._overlap_area_grid(xs, ys, width, height, others)
    assert found.shape == (len(ys), len(xs))
    np.testing.assert_array_equal(found.ravel(), expected)  # bit for bit: same sums, same order


@settings(max_examples=200, deadline=None)
@given(
    cost=st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5, np.inf]), min_size=0, max_size=60),
    count=st.integers(1, 12),
)
def test_first_indices_are_the_stable_sort_prefix(cost, count):
    values = np.asarray(cost, dtype=np.float64)  # few distinct values: many ties
    expected = np.argsort(values, kind="stable")[:count]
    np.testing.assert_array_equal(label_layout._first_indices(values, count), expected)


def test_outside_labels_land_where_the_candidate_by_candidate_search_puts_them(monkeypatch):
    """The grid search of ``_Placer.outside`` against the search it replaces (every free
    candidate built, its overlap summed box by box, all costs sorted), on crowded maps."""

    def outside_by_candidates(self, target, others, width, height):
        xs, ys = self.candidates(width, height)
        if len(xs) == 0:
            return None
        away = label_layout._free(xs, ys, width, height, [target.expanded(self.gap)])
        xs, ys = xs[away], ys[away]
        if len(xs) == 0:
            return None
        dx = np.maximum(np.maximum(target.x - (xs + width), xs - target.right), 0.0)
        dy = np.maximum(np.maximum(target.y - (ys + height), ys - target.bottom), 0.0)
        covered = label_layout._overlap_areas(xs, ys, width, height, [*self.avoid, *others])
        cx, cy = target.centre
        off_middle = np.hypot(xs + width / 2 - cx, ys + height / 2 - cy)
        cost = np.hypot(dx, dy) + 2.0 * covered / max(width, 1.0) + 0.05 * off_middle
        best, tried = None, 0
        for index in np.argsort(cost, kind="stable")[:600]:
            box = Box(float(xs[index]), float(ys[index]), width, height)
            leader = label_layout._leader(box, target)
            if not (self.leader_clear(leader, box) and self.box_clear_of_leaders(box)):
                continue
            crossed = sum(1 for other in others if other.area < 4 * width * height
                          and label_layout._segment_crosses_box(leader, other))
            score = float(cost[index]) + 3.0 * height * crossed
            if best is None or score < best[0]:
                best = (score, box, leader)
            tried += 1
            if crossed == 0 or tried >= 40:
                break
        return None if best is None else (best[1], best[2])

    metrics = label_layout.SimpleTextMetrics()
    layouts = []
    for rows, window, shift in ((8, 4, 2), (14, 7, 3), (12, 6, 3)):
        official = region_map(rows, rows, window, shift)
        scale = 160.0 / rows
        requests = []
        for value in np.unique(official):
            cells = np.argwhere(official == value)
            (y0, x0), (y1, x1) = cells.min(0), cells.max(0) + 1
            target = Box(float(x0) * scale + 40, float(y0) * scale + 30, float(x1 - x0) * scale,
                         float(y1 - y0) * scale)
            requests.append(label_layout.LabelRequest(f"region {value}", target))
        bounds, avoid = Box(0, 0, 240, 220), [Box(40, 30, 160, 160)]
        layouts.append((requests, bounds, avoid))
    placed = [label_layout.place_labels(r, b, metrics, [14, 11, 8], avoid=a) for r, b, a in layouts]
    monkeypatch.setattr(label_layout._Placer, "outside", outside_by_candidates)
    reference = [label_layout.place_labels(r, b, metrics, [14, 11, 8], avoid=a) for r, b, a in layouts]
    assert any(layout.of_kind("outside") for layout in reference)
    assert placed == reference


@pytest.mark.parametrize(("rows", "cols", "window", "shift"),
                         [(8, 8, 4, 2), (14, 21, 7, 3), (28, 14, 7, 3), (24, 24, 12, 6), (63, 63, 7, 3)])
@pytest.mark.parametrize("factor", [2, 3, 5, 8, 13, 64])
def test_mask_overview_counts_give_the_image_of_the_full_canvas(rows, cols, window, shift, factor):
    from explorer.views.density import block_mean_codes
    from explorer.views.geometry_cache import cached_mask, cached_slot_regions
    from explorer.views.mask import _BLOCKED, _GAP, mean_colours, tile_code_counts

    masks = cached_mask(rows, cols, window, shift)
    per_row, per_column = cols // window, rows // window
    size = window * window
    step = size + max(2, size // 6)
    canvas = np.full((per_column, step, per_row, step), _GAP, dtype=np.uint8)
    blocked = (masks != 0).astype(np.uint8) * _BLOCKED
    canvas[:, :size, :, :size] = blocked.reshape(per_column, per_row, size, size).transpose(0, 2, 1, 3)
    canvas = canvas.reshape(per_column * step, per_row * step)
    palette = np.array([[250, 240, 230], [20, 40, 120], [255, 255, 255]], dtype=np.uint8)
    regions = cached_slot_regions(rows, cols, window, shift)
    counts = tile_code_counts(regions, per_row, per_column, step, factor)
    assert counts is not None
    np.testing.assert_array_equal(mean_colours(counts, palette, factor),
                                  block_mean_codes(canvas, palette, factor, _GAP))


def test_window_masks_are_the_official_masks_one_window_at_a_time():
    from explorer.views.geometry_cache import cached_mask
    from explorer.views.mask import WindowMasks

    masks = WindowMasks(14, 21, 7, 3)
    full = cached_mask(14, 21, 7, 3)
    assert masks.shape == full.shape and len(masks) == len(full)
    for window in range(len(full)):
        np.testing.assert_array_equal(masks[window], full[window])
        assert masks[window].dtype == full.dtype
        assert masks.is_masked(window) == bool(full[window].any())
    assert masks.masked_windows() == int(full.any(axis=(1, 2)).sum())
    assert masks.value(5, 0, 48) == float(full[5, 0, 48])
    assert masks.full() is full


def test_pooled_labels_stack_and_sit_as_labels_added_to_the_view_box(qtbot):
    """Pool labels live in one layer item of the view box: they map to the same scene points
    as a label added to the view box itself and stack by the pool's depth."""
    import pyqtgraph as pg
    from PySide6 import QtGui

    from explorer.views.items import Label
    from explorer.views.text_pool import TextPool

    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    viewbox = widget.getViewBox()
    viewbox.setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
    widget.resize(300, 300)
    widget.show()
    font = QtGui.QFont()
    direct = Label()
    direct.setZValue(30)
    viewbox.addItem(direct, ignoreBounds=True)
    direct.configure("7", "#000000", font, (0.5, 0.5))
    direct.setPos(3.0, 4.0)
    below, above = TextPool(viewbox, z=5.0), TextPool(viewbox, z=50.0)
    for pool in (below, above):
        pool.begin()
        pool.add("7", 3.0, 4.0, "#000000", font)
        pool.end()
    pooled_below, pooled_above = below.visible()[0], above.visible()[0]
    for label in (pooled_below, pooled_above):
        assert label.scene() is viewbox.scene()
        assert label.mapToScene(label.rect().center()) == direct.mapToScene(direct.rect().center())
    stacked = [item for item in viewbox.scene().items(direct.mapToScene(direct.rect().center()))
               if isinstance(item, Label)]
    assert stacked.index(pooled_above) < stacked.index(direct) < stacked.index(pooled_below)
