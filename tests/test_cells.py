"""The pure cell geometry of the views (explorer/views/cells.py): no Qt needed or loaded."""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.views.cells import (
    axis_strips,
    boundary_segments,
    cell_at,
    cell_rects,
    centre_cells,
    grid_segments,
    hatch_segments,
    horizontal_runs,
    label_rectangles,
    padded_canvas,
    padding_rects,
    rect_centres,
    tile_at,
    tile_origin,
    value_rects,
)
from swin_model.windows import cyclic_shift

label_maps = st.integers(0, 7).flatmap(
    lambda rows: st.integers(0, 7).flatmap(
        lambda cols: arrays(np.int64, (rows, cols), elements=st.integers(0, 3))
    )
)


def test_importing_the_cells_module_loads_no_qt() -> None:
    code = (
        "import sys, explorer.views.cells\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'))\n"
        "print(','.join(qt))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"Qt modules loaded: {done.stdout.strip()}"


# --- runs and rectangles ---------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(label_maps)
def test_label_rectangles_cover_every_cell_once_with_its_label(labels: np.ndarray) -> None:
    rects = label_rectangles(labels)
    assert rects.dtype == np.int64 and rects.shape[1] == 5
    covered = np.zeros(labels.shape, dtype=np.int64)
    rebuilt = np.full(labels.shape, -1, dtype=np.int64)
    for row, col, height, width, label in rects:
        assert height >= 1 and width >= 1
        covered[row : row + height, col : col + width] += 1
        rebuilt[row : row + height, col : col + width] = label
        assert (labels[row : row + height, col : col + width] == label).all()
    assert (covered == 1).all()
    np.testing.assert_array_equal(rebuilt, labels)


@settings(max_examples=100, deadline=None)
@given(label_maps)
def test_label_rectangles_are_whole_runs_merged_downwards(labels: np.ndarray) -> None:
    rects = label_rectangles(labels)
    rows, cols = labels.shape
    spans = {(int(r), int(c), int(w), int(v)): int(h) for r, c, h, w, v in rects}
    for (row, col, width, value), height in spans.items():
        # whole runs: on every row, the neighbours left and right carry another label
        if col > 0:
            assert (labels[row : row + height, col - 1] != value).all()
        if col + width < cols:
            assert (labels[row : row + height, col + width] != value).all()
        # nothing identical continues right below (it would have been merged)
        assert (row + height, col, width, value) not in spans
    assert len(rects) <= rows * cols


@given(label_maps)
def test_horizontal_runs_rebuild_the_map(labels: np.ndarray) -> None:
    if labels.size == 0:
        return
    rows, starts, ends, values = horizontal_runs(labels)
    rebuilt = np.full(labels.shape, -1, dtype=np.int64)
    for row, start, end, value in zip(rows, starts, ends, values, strict=True):
        assert end > start
        rebuilt[row, start:end] = value
    np.testing.assert_array_equal(rebuilt, labels)


def test_value_rects_place_cells_with_scale_and_offset() -> None:
    labels = np.array([[0, 0, 1], [0, 0, 1], [2, 2, 2]])
    rects = value_rects(labels, 10.0, offset=(5.0, -5.0), skip=(2,))
    assert set(rects) == {0, 1}
    np.testing.assert_array_equal(rects[0], [[5.0, -5.0, 20.0, 20.0]])
    np.testing.assert_array_equal(rects[1], [[25.0, -5.0, 10.0, 20.0]])


def test_cell_rects_and_label_places() -> None:
    np.testing.assert_array_equal(cell_rects(np.array([[1, 2], [0, 0]]), 8), [[16, 8, 8, 8], [0, 0, 8, 8]])
    assert cell_rects(np.zeros((0, 2), dtype=np.int64), 8).shape == (0, 4)
    rects = np.array([[0, 0, 2, 3, 7], [2, 1, 1, 1, 4]])
    np.testing.assert_array_equal(rect_centres(rects, 10), [[15.0, 10.0], [15.0, 25.0]])
    np.testing.assert_array_equal(centre_cells(rects), [[1, 1], [2, 1]])
    strips = axis_strips(np.array([0, 3]), 1.5, 0.25)
    np.testing.assert_array_equal(
        strips,
        [[0, -1.75, 1, 1.5], [3, -1.75, 1, 1.5], [-1.75, 0, 1.5, 1], [-1.75, 3, 1.5, 1]],
    )


# --- from the scene back to the grid -------------------------------------------------------------


@given(
    rows=st.integers(1, 12),
    cols=st.integers(1, 12),
    scale=st.sampled_from([1, 4, 8.0, 32, 0.5]),
    fraction_x=st.floats(0, 1, exclude_max=True),
    fraction_y=st.floats(0, 1, exclude_max=True),
    data=st.data(),
)
def test_cell_at_finds_the_cell_under_a_point(rows, cols, scale, fraction_x, fraction_y, data) -> None:
    row = data.draw(st.integers(0, rows - 1))
    col = data.draw(st.integers(0, cols - 1))
    x, y = (col + fraction_x) * scale, (row + fraction_y) * scale
    if x // scale == col and y // scale == row:  # skip points rounded onto the next cell
        assert cell_at(x, y, scale, rows, cols) == (row, col)
    # the middle of each cell's rectangle maps back to the cell
    left, top, width, height = cell_rects(np.array([[row, col]]), scale)[0]
    assert cell_at(left + width / 2, top + height / 2, scale, rows, cols) == (row, col)


@pytest.mark.parametrize(
    ("x", "y"),
    [(-0.01, 5), (5, -0.01), (40, 5), (5, 24), (math.nan, 1), (1, math.inf), (-math.inf, 3)],
)
def test_cell_at_is_none_outside_the_grid(x: float, y: float) -> None:
    assert cell_at(x, y, 8, 3, 5) is None  # 3 rows x 5 cols of 8 px: 40 x 24


def test_cell_at_edges_and_return_type() -> None:
    assert cell_at(0, 0, 8, 3, 5) == (0, 0)
    assert cell_at(39.999, 23.999, 8, 3, 5) == (2, 4)
    token = cell_at(np.float64(9.5), np.float64(17.0), 8, 3, 5)
    assert token == (2, 1) and all(type(value) is int for value in token)


def test_tiles_round_trip_and_gaps() -> None:
    size, step, per_row, per_column = 4, 6, 3, 2
    for index in range(per_row * per_column):
        left, top = tile_origin(index, per_row, step)
        assert tile_at(left + 0.5, top + 0.5, size, step, per_row, per_column) == index
        assert tile_at(left + size - 0.01, top + size - 0.01, size, step, per_row, per_column) == index
        assert tile_at(left + size + 0.5, top, size, step, per_row, per_column) is None  # the gap
    assert tile_at(per_row * step + 1, 1, size, step, per_row, per_column) is None
    assert tile_at(-1, 1, size, step, per_row, per_column) is None


# --- line segments -----------------------------------------------------------------------------


def test_grid_segments() -> None:
    segments = grid_segments(2, 3, 1, 1, 10.0)
    assert segments.shape == (4 + 3, 4) and segments.dtype == np.float64
    vertical, horizontal = segments[:4], segments[4:]
    np.testing.assert_array_equal(vertical[:, 0], [0, 10, 20, 30])
    np.testing.assert_array_equal(vertical[:, [1, 3]], [[0, 20]] * 4)
    np.testing.assert_array_equal(horizontal[:, 1], [0, 10, 20])
    np.testing.assert_array_equal(horizontal[:, [0, 2]], [[0, 30]] * 3)
    inner = grid_segments(4, 4, 2, 2, 1.0, outline=False)
    np.testing.assert_array_equal(inner, [[2, 0, 2, 4], [0, 2, 4, 2]])
    uneven = grid_segments(5, 5, 2, 2, 1.0)  # the last window is cut: the border still closes
    assert 5.0 in uneven[:, 0] and 5.0 in uneven[:, 1]


def test_boundary_segments() -> None:
    labels = np.array([[0, 0, 1], [0, 0, 1], [2, 2, 2]])
    np.testing.assert_array_equal(boundary_segments(labels, 10.0), [[20, 0, 20, 20], [0, 20, 30, 20]])
    with_outline = boundary_segments(labels, 10.0, outline=True)
    assert len(with_outline) == 2 + 4
    border = [[0, 0, 30, 0], [30, 0, 30, 30], [30, 30, 0, 30], [0, 30, 0, 0]]
    np.testing.assert_array_equal(with_outline[2:], border)
    shifted = boundary_segments(labels, 10.0, offset=(-10, 5))
    np.testing.assert_array_equal(shifted, [[10, 5, 10, 25], [-10, 25, 20, 25]])
    assert boundary_segments(np.array([[0, -1, 1]]), 10.0, ignore=-1).shape == (0, 4)
    assert boundary_segments(np.zeros((3, 3), dtype=np.int64), 1.0).shape == (0, 4)


@given(
    x=st.integers(0, 50),
    y=st.integers(0, 50),
    width=st.integers(0, 30),
    height=st.integers(0, 30),
    spacing=st.sampled_from([1.0, 2.5, 4.0, 7.0]),
)
def test_hatch_segments_stay_inside_and_run_at_45_degrees(x, y, width, height, spacing) -> None:
    segments = hatch_segments(np.array([[x, y, width, height]], dtype=np.float64), spacing)
    assert segments.shape[1] == 4
    if width == 0 or height == 0:
        assert len(segments) == 0
        return
    x0, y0, x1, y1 = segments.T
    tolerance = 1e-9
    for xs, ys in ((x0, y0), (x1, y1)):
        assert (xs >= x - tolerance).all() and (xs <= x + width + tolerance).all()
        assert (ys >= y - tolerance).all() and (ys <= y + height + tolerance).all()
    np.testing.assert_allclose(x0 + y0, x1 + y1)
    k = (x0 + y0) / spacing
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)


# --- the photo -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Photo:
    display: np.ndarray


def test_padded_canvas_puts_the_photo_top_left() -> None:
    photo = Photo(np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3))
    canvas = padded_canvas(photo, (4, 4), 6, 5, (9, 9, 9))
    assert canvas.shape == (6, 5, 3) and canvas.dtype == np.uint8
    np.testing.assert_array_equal(canvas[:4, :4], photo.display)
    assert (canvas[4:] == 9).all() and (canvas[:, 4:] == 9).all()
    resized = padded_canvas(Photo(np.zeros((8, 8, 3), dtype=np.uint8)), (4, 4), 4, 4, (1, 1, 1))
    assert (resized == 0).all()
    assert (padded_canvas(None, (4, 4), 5, 5, (7, 8, 9)) == [7, 8, 9]).all()


def test_padded_canvas_keeps_a_landscape_photo_and_pads_below_it() -> None:
    photo = Photo(np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3))
    canvas = padded_canvas(photo, (3, 5), 8, 8, (9, 9, 9))
    np.testing.assert_array_equal(canvas[:3, :5], photo.display)
    assert (canvas[3:] == 9).all() and (canvas[:, 5:] == 9).all()
    stretched = padded_canvas(photo, (6, 10), 8, 12, (9, 9, 9))  # prepared for another size
    np.testing.assert_array_equal(stretched[:6:2, :10:2], photo.display)


@pytest.mark.parametrize(("shape", "height", "width"), [((224, 224), 224, 224), ((230, 230), 256, 256),
                                                         ((10, 10), 16, 12), ((168, 224), 168 + 8, 224),
                                                         ((30, 13), 32, 16)])
@pytest.mark.parametrize("roll", [0, 3, 8])
def test_padding_rects_cover_exactly_the_rolled_padding(shape: tuple[int, int], height: int, width: int,
                                                        roll: int):
    padding = np.ones((height, width), dtype=np.int64)
    padding[: shape[0], : shape[1]] = 0
    expected = cyclic_shift(padding, roll, dims=(0, 1))
    drawn = np.zeros((height, width), dtype=np.int64)
    for x, y, w, h in np.asarray(padding_rects(shape, height, width, roll)).astype(int):
        drawn[y : y + h, x : x + w] += 1
    np.testing.assert_array_equal(drawn, expected)


@settings(max_examples=200, deadline=None)
@given(
    extent=st.tuples(st.integers(1, 24), st.integers(1, 24)),
    image=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    roll=st.integers(1, 50),
)
def test_rolled_padding_rects_are_the_rectangles_of_the_rolled_canvas(extent, image, roll):
    """The rectangles computed from the strips are those :func:`label_rectangles` cuts the
    rolled padding canvas into, in the same order."""
    height, width = extent
    shape = (round(image[0] * height), round(image[1] * width))
    padding = np.ones((height, width), dtype=np.int64)
    padding[: shape[0], : shape[1]] = 0
    cells = label_rectangles(cyclic_shift(padding, roll, dims=(0, 1)))
    cells = cells[cells[:, 4] == 1]
    expected = np.stack([cells[:, 1], cells[:, 0], cells[:, 3], cells[:, 2]], axis=1)
    np.testing.assert_array_equal(padding_rects(shape, float(height), float(width), roll), expected)
