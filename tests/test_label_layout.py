"""Label placement without collisions (explorer.views.label_layout): pure, no Qt.

The property tests place the labels of the real shift regions (swin_model.windows) of
inputs from 32 to 1536 pixels and windows from 2 to 16, on the rolled and on the original
grid, in both numberings, and check the guarantees: every box inside the figure, no two
boxes overlapping, no label below the minimum size, no leader through another label.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.views.cells import label_rectangles
from explorer.views.label_layout import (
    Box,
    LabelRequest,
    SimpleTextMetrics,
    gutter_for,
    line_step,
    needs_outside,
    place_labels,
    thin_segments,
)
from swin_model.config import preset
from swin_model.windows import lecture_region_map, region_map, stage_geometry

METRICS = SimpleTextMetrics()
SLIDE_SIZES = (20.0, 18.0, 16.0)  # 15, 13.5 and 12 pt at 96 dpi
LETTERS = {0: "A", 1: "C", 2: "C", 3: "B", 6: "B"}


def _segment_crosses(segment: tuple[float, float, float, float], box: Box) -> bool:
    """Sampled test (independent of the module's clipping): does the segment pass through
    the interior of ``box`` shrunk by half a pixel?"""
    x0, y0, x1, y1 = segment
    inner = box.expanded(-0.5)
    for t in np.linspace(0.0, 1.0, 400):
        x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        if inner.x < x < inner.right and inner.y < y < inner.bottom:
            return True
    return False


def region_requests(img_size: int, window: int, grid: str, numbering: str,
                    panel: float) -> tuple[list[LabelRequest], Box, Box]:
    """The label requests of the first shifted stage's regions (stage 1 when none shifts)
    drawn in a ``panel``-pixel square, with room around the map when labels must go
    outside (as the views fit their panels); returns (requests, bounds, map box)."""
    geometries = stage_geometry(preset("swin-t", img_size=img_size, window_size=window), img_size, img_size)
    geometry = next((g for g in geometries if g.shift_size), geometries[0])
    rows, cols = geometry.padded_height, geometry.padded_width
    m, s = geometry.window_size, geometry.shift_size
    if grid == "rolled":
        numbers = region_map(rows, cols, m, s)
        if numbering == "lecture" and s:
            numbers = ((numbers // 3 + 1) % 3) * 3 + (numbers % 3 + 1) % 3
    else:
        numbers = lecture_region_map(rows, cols, m, s)
        if numbering == "official" and s:
            numbers = np.roll(region_map(rows, cols, m, s), (s, s), axis=(0, 1))

    def text(value: int) -> str:
        if numbering == "lecture" and value in LETTERS and s:
            return f"{value} {LETTERS[value]}"
        return str(value)

    rects = label_rectangles(numbers)

    def requests_at(scale: float, left: float, top: float) -> list[LabelRequest]:
        found = []
        for value in np.unique(rects[:, 4]):
            own = rects[rects[:, 4] == value]
            row, col, height, width, _ = own[np.argmax(own[:, 2] * own[:, 3])]
            target = Box(left + col * scale, top + row * scale, width * scale, height * scale)
            found.append(LabelRequest(text(int(value)), target))
        return found

    side = max(rows, cols)
    scale = panel / side
    requests = requests_at(scale, 0.0, 0.0)
    gutter = 0.0
    if needs_outside(requests, METRICS, SLIDE_SIZES[-1]):
        gutter = min(gutter_for(requests, METRICS, SLIDE_SIZES[0]), panel / 4)
    scale = (panel - 2 * gutter) / side
    bounds = Box(0.0, 0.0, panel, panel)
    return requests_at(scale, gutter, gutter), bounds, Box(gutter, gutter, cols * scale, rows * scale)


def check_layout(requests: list[LabelRequest], bounds: Box, layout, sizes=SLIDE_SIZES,
                 gap: float = 2.0) -> None:
    placed = layout.labels
    assert sorted([label.index for label in placed] + list(layout.dropped)) == list(range(len(requests)))
    for label in placed:
        assert bounds.contains(label.box), (label, bounds)
        assert label.size >= min(sizes)
        assert label.text == requests[label.index].text
        width, height = METRICS(label.text, label.size)
        assert (label.box.width, label.box.height) == pytest.approx((width, height))
        if label.kind == "inside":
            assert requests[label.index].target.contains(label.box)
        if label.kind == "outside":
            assert label.leader is not None
            x1, y1 = label.leader[2:]
            target = requests[label.index].target
            assert target.x <= x1 <= target.right and target.y <= y1 <= target.bottom
            assert not label.box.overlaps(target)
    for first in range(len(placed)):
        for second in range(first + 1, len(placed)):
            a, b = placed[first].box, placed[second].box
            apart = not a.expanded(gap / 2 - 1e-6).overlaps(b.expanded(gap / 2 - 1e-6))
            assert apart, (placed[first], placed[second])
    for label in placed:
        if label.leader is None:
            continue
        for other in placed:
            if other is not label:
                assert not _segment_crosses(label.leader, other.box), (label, other)


@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    img_size=st.integers(32, 1536),
    window=st.integers(2, 16),
    grid=st.sampled_from(["rolled", "original"]),
    numbering=st.sampled_from(["official", "lecture"]),
    panel=st.floats(320.0, 900.0),
)
def test_region_labels_never_collide_and_are_never_clipped(img_size, window, grid, numbering, panel):
    requests, bounds, drawn_map = region_requests(img_size, window, grid, numbering, panel)
    layout = place_labels(requests, bounds, METRICS, SLIDE_SIZES, avoid=[drawn_map])
    check_layout(requests, bounds, layout)
    # with room left around the map every region is named: beside it, or in the legend
    assert not layout.dropped


@settings(max_examples=40, deadline=None)
@given(
    boxes=st.lists(
        st.tuples(st.floats(0, 380), st.floats(0, 380), st.floats(1, 120), st.floats(1, 120)),
        min_size=1, max_size=14,
    ),
    texts=st.lists(st.text(alphabet="0123456789 ABCx=[]:,", min_size=1, max_size=12),
                   min_size=14, max_size=14),
)
def test_arbitrary_targets_keep_the_guarantees(boxes, texts):
    """Targets anywhere, overlapping, partly outside the bounds, texts of any length: the
    boxes that are placed still keep every guarantee; the rest are dropped, not clipped."""
    requests = [LabelRequest(texts[index], Box(*box)) for index, box in enumerate(boxes)]
    bounds = Box(0.0, 0.0, 400.0, 400.0)
    check_layout(requests, bounds, place_labels(requests, bounds, METRICS, SLIDE_SIZES))


def test_a_label_that_fits_goes_inside_at_the_largest_size():
    request = LabelRequest("4", Box(100, 100, 200, 200))
    layout = place_labels([request], Box(0, 0, 400, 400), METRICS, SLIDE_SIZES)
    (label,) = layout.labels
    assert label.kind == "inside" and label.size == SLIDE_SIZES[0]
    assert label.box.centre == pytest.approx(request.target.centre)


def test_a_thin_strip_gets_an_outside_label_with_a_leader():
    strip = Box(300, 40, 6, 300)  # 6 px wide: no label fits
    layout = place_labels([LabelRequest("2 C", strip)], Box(0, 0, 400, 400), METRICS, SLIDE_SIZES,
                          avoid=[Box(20, 40, 286, 300)])
    (label,) = layout.labels
    assert label.kind == "outside"
    assert label.box.x >= strip.right  # off the map, beside the strip
    assert label.leader is not None and strip.x <= label.leader[2] <= strip.right


def test_a_label_that_may_not_go_outside_joins_the_legend_or_is_dropped():
    tiny = Box(10, 10, 4, 4)
    layout = place_labels([LabelRequest("x0", tiny, allow_outside=False),
                           LabelRequest("x1", tiny, allow_outside=False, allow_legend=False)],
                          Box(0, 0, 200, 100), METRICS, SLIDE_SIZES)
    assert [label.kind for label in layout.labels] == ["legend"]
    assert layout.labels[0].size == min(SLIDE_SIZES)
    assert layout.labels[0].box.bottom == pytest.approx(100.0)  # the legend fills from the bottom
    assert layout.dropped == (1,)


def test_no_room_at_all_drops_instead_of_clipping():
    request = LabelRequest("a long label", Box(0, 0, 5, 5))
    layout = place_labels([request], Box(0, 0, 30, 30), METRICS, SLIDE_SIZES)
    assert layout.labels == () and layout.dropped == (0,)


def test_line_step_and_thinning_keep_the_outline_and_the_chosen_side():
    assert line_step(30.0, 28.0) == 1
    assert line_step(10.0, 28.0) == 3
    assert line_step(0.0, 28.0) == 1
    # a 10 x 10 grid of unit cells: vertical lines at x = 0..10, horizontal at y = 0..10
    xs = np.arange(11.0)
    segments = np.concatenate([np.stack([xs, np.zeros(11), xs, np.full(11, 10.0)], axis=1),
                               np.stack([np.zeros(11), xs, np.full(11, 10.0), xs], axis=1)])
    kept = thin_segments(segments, 3, "start")
    vertical = sorted(kept[np.isclose(kept[:, 0], kept[:, 2]), 0])
    assert vertical == [0, 1, 4, 7, 10]
    kept_end = thin_segments(segments, 3, "end")
    vertical_end = sorted(kept_end[np.isclose(kept_end[:, 0], kept_end[:, 2]), 0])
    assert vertical_end == [0, 3, 6, 9, 10]
    horizontal = sorted(kept[~np.isclose(kept[:, 0], kept[:, 2]), 1])
    assert horizontal == vertical
    np.testing.assert_array_equal(thin_segments(segments, 1), segments)


def test_the_module_imports_without_qt():
    script = ("import sys; import explorer.views.label_layout; "
              "print(any(name.startswith(('PySide6', 'pyqtgraph')) for name in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=str(Path(__file__).resolve().parent.parent))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.parametrize(("img_size", "window", "grid"),
                         [(1536, 7, "rolled"), (1024, 7, "original"), (224, 7, "original")])
def test_dense_regions_go_outside_with_leaders(img_size, window, grid):
    """Strips a few pixels wide cannot hold a label: it sits beside them, with a leader."""
    requests, bounds, drawn_map = region_requests(img_size, window, grid, "lecture", 480.0)
    layout = place_labels(requests, bounds, METRICS, SLIDE_SIZES, avoid=[drawn_map])
    check_layout(requests, bounds, layout)
    outside = layout.of_kind("outside")
    assert outside and not layout.dropped
    assert len(layout.of_kind("inside")) + len(outside) == len(requests)
