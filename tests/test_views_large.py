"""Levels of detail: the mask, windows, patches and attention views stay light and correct
from 32 to 1536 px (issues 9 and 10).

The arithmetic of :mod:`explorer.views.density` is checked without Qt over sweeps
(hypothesis): grid lines keep their spacing, block means are means, labels never overlap
and never leave the figure, and window numbers are thinned only when they cannot all fit.
The views are then built offscreen at 224, 1024 and 1536 px and read back: no item per
cell, dense fields painted as an image whose pixels are the mask's values (or their block
means), labels apart on screen, and exports free of interaction hints and selection marks.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import re
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.palette import MASK_COLORS
from explorer.state import ExplorerState, InferenceResult, RecordMeta, model_config
from explorer.views.cells import label_rectangles
from explorer.views.density import (
    LABEL_GAP_PX,
    MIN_LINE_SPACING_PX,
    VECTOR_CELL_LIMIT,
    block_mean,
    block_mean_codes,
    boxes_overlap,
    detail_is_stale,
    divisor_step,
    downsample_factor,
    fit_scale,
    line_step,
    place_labels,
    plan_grid_labels,
    power_of_two_step,
)
from swin_model.windows import (
    attention_mask_array,
    reverse_cyclic_shift,
    stage_geometry,
    window_index_map,
)

# --- lines ---------------------------------------------------------------------------------------

spacings = st.floats(0.05, 60.0, allow_nan=False)
minimums = st.floats(0.5, 20.0, allow_nan=False)


@given(spacing=spacings, minimum=minimums)
def test_line_step_is_the_smallest_step_that_keeps_lines_apart(spacing, minimum):
    step = line_step(spacing, minimum)
    assert step * spacing >= minimum - 1e-6
    assert step == 1 or (step - 1) * spacing < minimum


@given(spacing=spacings, period=st.integers(1, 32), minimum=minimums)
def test_divisor_step_keeps_lines_on_window_borders(spacing, period, minimum):
    step = divisor_step(spacing, period, minimum)
    assert period % step == 0
    assert step * spacing >= minimum - 1e-6 or step == period
    smaller = [k for k in range(1, step) if period % k == 0]
    assert all(k * spacing < minimum for k in smaller)


@given(spacing=spacings, minimum=minimums)
def test_power_of_two_step_keeps_the_borders_of_a_later_stage(spacing, minimum):
    step = power_of_two_step(spacing, minimum)
    assert step & (step - 1) == 0
    assert step * spacing >= minimum - 1e-6
    assert step == 1 or step // 2 * spacing < minimum


def test_line_steps_at_the_sizes_the_views_meet():
    # 1536 px shown ~715 px wide: a 4-px token is 1.86 px, a 7-token window 13 px
    assert divisor_step(1.86, 7) == 7  # token borders give way to window borders
    assert divisor_step(1.86, 12) == 3  # every 3rd token: 5.6 px, on the window borders
    assert power_of_two_step(1.86) == 4  # patches: every 4th line, stage 3's tokens
    assert line_step(13.0) == 1


def _unit_edges(segments: np.ndarray) -> set[tuple[int, int, int, int]]:
    """Axis-aligned segments (K, 4) cut into unit edges (x0, y0, x1, y1), x0 <= x1, y0 <= y1."""
    edges = set()
    for x0, y0, x1, y1 in np.rint(segments).astype(int).tolist():
        x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
        for step in range(max(x1 - x0, y1 - y0)):
            x, y = x0 + step * (x1 > x0), y0 + step * (y1 > y0)
            edges.add((x, y, x + (x1 > x0), y + (y1 > y0)))
    return edges


@settings(max_examples=40, deadline=None)
@given(window=st.integers(2, 9), per_row=st.integers(2, 5), per_column=st.integers(2, 5), data=st.data())
def test_offset_grid_lines_are_the_borders_of_the_shifted_windows(window, per_row, per_column, data):
    """(A shifted block has at least two windows a side: the shift is off for a map no
    larger than the window.)"""
    from explorer.views.cells import boundary_segments, offset_grid_segments

    shift = data.draw(st.integers(0, window - 1))
    rows, cols = per_column * window, per_row * window
    partition = reverse_cyclic_shift(window_index_map(rows, cols, window), shift, dims=(0, 1))
    expected = _unit_edges(boundary_segments(partition, 1.0, outline=True))
    assert _unit_edges(offset_grid_segments(rows, cols, window, shift, 1.0)) == expected


@given(drawn=st.floats(0.01, 100.0), ratio=st.floats(0.2, 5.0))
def test_a_drawing_is_redone_when_the_scale_shrinks_or_grows_a_quarter_octave(drawn, ratio):
    stale = detail_is_stale(drawn, drawn * ratio)
    assert stale == (ratio < 1 - 1e-9 or ratio >= 2**0.25)


@given(px_per_cell=st.floats(0.01, 50.0))
def test_downsample_factor_keeps_image_pixels_about_one_screen_pixel(px_per_cell):
    factor = downsample_factor(px_per_cell)
    assert factor >= 1
    assert factor == 1 or factor * px_per_cell <= 1 + 1e-9
    assert (factor + 1) * px_per_cell > 1 - 1e-9 or factor == 1


@given(available=st.floats(100.0, 3000.0), content=st.integers(4, 1024),
       text=st.floats(0.0, 60.0), strip=st.floats(0.5, 3.0))
def test_fit_scale_leaves_room_for_text_of_a_fixed_size(available, content, text, strip):
    def margin(scale: float) -> float:
        return strip * scale + text

    scale = fit_scale(available, content, margin)
    used = (scale * content + 2 * margin(scale)) * 1.04
    if available / 1.04 - 2 * text > 0:  # the text leaves room for the content
        assert used == pytest.approx(available, rel=1e-6)
    else:
        assert scale * content == pytest.approx(1.0)


# --- fields --------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(image=arrays(np.uint8, st.tuples(st.integers(1, 23), st.integers(1, 23), st.sampled_from([3, 4]))),
       factor=st.integers(1, 9), fill=st.integers(0, 255))
def test_block_mean_is_the_rounded_mean_of_each_block(image, factor, fill):
    reduced = block_mean(image, factor, np.full(image.shape[2], fill, dtype=np.uint8))
    height, width, channels = image.shape
    assert reduced.shape == (-(-height // factor), -(-width // factor), channels)
    for row in range(reduced.shape[0]):
        for col in range(reduced.shape[1]):
            block = np.full((factor, factor, channels), fill, dtype=np.float64)
            part = image[row * factor:(row + 1) * factor, col * factor:(col + 1) * factor]
            block[:part.shape[0], :part.shape[1]] = part
            expected = np.floor(block.mean(axis=(0, 1)) + 0.5)
            np.testing.assert_array_equal(reduced[row, col], expected)


@settings(max_examples=60, deadline=None)
@given(codes=arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40)), elements=st.integers(0, 2)),
       factor=st.integers(1, 12))
def test_block_mean_of_codes_equals_the_block_mean_of_their_colours(codes, factor):
    palette = np.array([[200, 200, 200], [74, 74, 74], [30, 31, 32]], dtype=np.uint8)
    np.testing.assert_array_equal(block_mean_codes(codes, palette, factor, 2),
                                  block_mean(palette[codes], factor, palette[2]))


# --- labels --------------------------------------------------------------------------------------


def _pairwise_apart(boxes: np.ndarray, gap: float) -> bool:
    """No two of the (K, 4) boxes come closer than ``gap`` on both axes."""
    a, b = boxes[:, None, :], boxes[None, :, :]
    close = ((a[..., 0] < b[..., 2] + gap) & (b[..., 0] < a[..., 2] + gap)
             & (a[..., 1] < b[..., 3] + gap) & (b[..., 1] < a[..., 3] + gap))
    np.fill_diagonal(close, False)
    return not close.any()


box_lists = st.lists(
    st.tuples(st.floats(-20, 300), st.floats(-20, 300), st.floats(1, 60), st.floats(1, 30)),
    min_size=0, max_size=60,
)


@settings(max_examples=80, deadline=None)
@given(raw=box_lists, gap=st.floats(0.0, 6.0))
def test_place_labels_keeps_apart_boxes_inside_bounds_and_no_fewer(raw, gap):
    boxes = np.array([(x, y, x + w, y + h) for x, y, w, h in raw]).reshape(-1, 4)
    bounds = (0.0, 0.0, 250.0, 250.0)
    keep = place_labels(boxes, bounds, gap_px=gap)
    kept = boxes[keep]
    assert _pairwise_apart(kept, gap)
    assert np.all(kept[:, :2] >= -1e-6) and np.all(kept[:, 2:] <= 250 + 1e-6)
    # greedy and maximal: a box left out lies outside, or comes too close to one kept before it
    for index in np.flatnonzero(~keep):
        box = boxes[index]
        inside = box[0] >= 0 and box[1] >= 0 and box[2] <= 250 and box[3] <= 250
        earlier = boxes[:index][keep[:index]]
        assert not inside or any(boxes_overlap(box, other, gap) for other in earlier)


@dataclass(frozen=True)
class Pieces:
    """The window pieces of one stage in scene units (image pixels): rects (K, 4) of
    (x, y, w, h), the window's (row, col) (K, 2), the window's index (K,), the pitch and
    the figure's (width, height)."""

    rects: np.ndarray
    grid: np.ndarray
    windows: np.ndarray
    pitch: float
    extent: tuple[float, float]


def window_pieces(size: int, window_size: int, stage: int, block: int) -> Pieces:
    """The pieces the windows view numbers, from the geometry code (independent of the view)."""
    geometry = stage_geometry(model_config(ExplorerState(img_size=size, window_size=window_size)),
                              size, size)[stage]
    rows, cols, m = geometry.padded_height, geometry.padded_width, geometry.window_size
    stride = geometry.stride
    shift = geometry.block_shift(block)
    partition = reverse_cyclic_shift(window_index_map(rows, cols, m), shift, dims=(0, 1))
    pieces = label_rectangles(partition)  # row, col, height, width, window
    return Pieces(
        rects=pieces[:, [1, 0, 3, 2]].astype(np.float64) * stride,
        grid=np.stack(np.divmod(pieces[:, 4], geometry.windows_per_row), axis=1),
        windows=pieces[:, 4],
        pitch=float(m * stride),
        extent=(float(cols * stride), float(rows * stride)),
    )


def number_boxes(windows: np.ndarray, digit_width: float, height: float) -> np.ndarray:
    """(K, 2) label sizes in pixels of the numbers ``windows``: digits plus 2 px padding."""
    digits = np.floor(np.log10(np.maximum(windows, 1))) + 1
    return np.stack([digits * digit_width + 4, np.full(len(windows), height + 4)], axis=1)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(32, 1536),
    window_size=st.integers(2, 16),
    stage=st.integers(0, 3),
    block=st.integers(0, 1),
    panel_px=st.floats(150.0, 1400.0),
    digit_width=st.floats(4.0, 11.0),
    text_height=st.floats(9.0, 22.0),
)
def test_window_numbers_never_overlap_never_leave_the_figure(
    size, window_size, stage, block, panel_px, digit_width, text_height
):
    pieces = window_pieces(size, window_size, stage, block)
    scale = panel_px / max(pieces.extent)
    sizes = number_boxes(pieces.windows, digit_width, text_height)
    plan = plan_grid_labels(pieces.rects, pieces.grid, pieces.pitch, scale, sizes, (0, 0, *pieces.extent))
    kept = plan.boxes[plan.keep]
    assert _pairwise_apart(kept, LABEL_GAP_PX)
    width, height = pieces.extent[0] * scale, pieces.extent[1] * scale
    assert np.all(kept[:, :2] >= -1e-6)
    assert np.all(kept[:, 2] <= width + 1e-6) and np.all(kept[:, 3] <= height + 1e-6)
    largest = sizes.max(axis=0)
    pitch_px = pieces.pitch * scale
    if plan.step == 1:
        # each number inside its own piece; a window with a piece roomy enough is numbered
        containers = np.concatenate([pieces.rects[:, :2], pieces.rects[:, :2] + pieces.rects[:, 2:]], axis=1)
        boxes = kept / scale
        assert np.all(boxes[:, :2] >= containers[plan.keep, :2] - 1e-6)
        assert np.all(boxes[:, 2:] <= containers[plan.keep, 2:] + 1e-6)
        roomy = np.all(pieces.rects[:, 2:] * scale >= sizes + 2 * LABEL_GAP_PX, axis=1)
        assert set(pieces.windows[roomy].tolist()) <= set(pieces.windows[plan.keep].tolist())
    else:
        # thinned only when the largest number does not fit a window, and thinned for a reason
        assert pitch_px < max(largest) + LABEL_GAP_PX
        assert np.all(pieces.grid[plan.keep] % plan.step == 0)
        if width >= largest[0] and height >= largest[1]:
            assert plan.keep.any(), "a figure that can hold a number shows at least one"


@pytest.mark.parametrize("window_size", [7, 12])
def test_every_window_is_numbered_at_384_px(window_size):
    """Issue 9: at 384 px the window numbers disappeared. A 384-px input shown 700 px wide
    with 8-pt bold numbers: every window keeps its number."""
    pieces = window_pieces(384, window_size, 0, 1)
    scale = 700 / max(pieces.extent)
    plan = plan_grid_labels(pieces.rects, pieces.grid, pieces.pitch, scale,
                            number_boxes(pieces.windows, 7.0, 13.0), (0, 0, *pieces.extent))
    assert plan.step == 1
    assert set(pieces.windows[plan.keep].tolist()) == set(pieces.windows.tolist())


# --- the views, offscreen -------------------------------------------------------------------------

@dataclass(frozen=True)
class FakePrepared:
    display: np.ndarray
    pixels: np.ndarray


def prepared_for(size: int) -> FakePrepared:
    display = np.random.default_rng(0).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    return FakePrepared(display=display, pixels=np.zeros((3, size, size), dtype=np.float32))


def synthetic_result(state: ExplorerState) -> InferenceResult:
    """Attention (num_windows, heads, N, N) rows of random weights summing to 1."""
    geometry = stage_geometry(model_config(state), state.img_size, state.img_size)[state.stage]
    n = geometry.tokens_per_window
    shape = (geometry.num_windows, geometry.num_heads, n, n)
    weights = np.random.default_rng(1).random(shape, dtype=np.float32)
    weights /= weights.sum(-1, keepdims=True)
    return InferenceResult(
        request_id=1, state=state, attention=weights,
        record_meta=RecordMeta(stage=state.stage, block=state.block, window_size=geometry.window_size,
                               shift_size=geometry.block_shift(state.block),
                               grid_size=(geometry.height, geometry.width),
                               padded_size=(geometry.padded_height, geometry.padded_width)),
    )


def shown_view(qtbot, name: str, state: ExplorerState, theme: str = "screen", size=(1000, 760)):
    """The registry's view ``name`` on screen (offscreen), drawn for ``state``."""
    from PySide6 import QtWidgets

    from explorer.figures import figure

    view = figure(name).create()
    qtbot.addWidget(view)
    view.set_theme(theme)
    view.resize(*size)
    view.show()
    QtWidgets.QApplication.processEvents()
    view.update_state(state, prepared_for(state.img_size))
    if name == "attention":
        view.update_result(synthetic_result(state))
    settle(view)
    return view


def settle(view) -> None:
    """Let resizes and zooms reach the view, then draw what they changed."""
    from PySide6 import QtWidgets

    for _ in range(3):
        QtWidgets.QApplication.processEvents()
    view.flush()


MY_VIEWS = ("mask", "windows", "patches", "attention")


@pytest.mark.parametrize("size", [1024, 1536])
@pytest.mark.parametrize("name", MY_VIEWS)
def test_large_inputs_build_without_an_item_per_cell(qtbot, name, size):
    view = shown_view(qtbot, name, ExplorerState(img_size=size, stage=0, block=1))
    items = view.render_target().scene().items()
    geometry = view.context.geometry
    assert geometry.padded_height * geometry.padded_width > 60_000  # tens of thousands of tokens
    assert len(items) < 500, (name, len(items))


def _line_positions(path, vertical: bool) -> np.ndarray:
    """Sorted distinct x (vertical lines) or y of the segments of a grid path."""
    points = np.array([(path.elementAt(i).x, path.elementAt(i).y) for i in range(path.elementCount())])
    starts, ends = points[0::2], points[1::2]
    along = 0 if vertical else 1
    chosen = starts[np.isclose(starts[:, along], ends[:, along]), along]
    return np.unique(chosen)


@pytest.mark.parametrize("size", [224, 233, 1024, 1111, 1536])
def test_grid_lines_stay_four_pixels_apart(qtbot, size):
    state = ExplorerState(img_size=size, stage=0, block=1)
    windows = shown_view(qtbot, "windows", state)
    patches = shown_view(qtbot, "patches", state)
    grids = ((windows, windows.token_grid), (windows, windows.window_grid), (windows, windows.shifted_grid),
             (patches, patches.grid))
    for view, item in grids:
        if not item.isVisible():
            assert item is windows.token_grid and windows.line_steps()[0] == 0
            continue
        scale = view.panel.pixels_per_unit()
        for vertical in (True, False):
            gaps = np.diff(_line_positions(item.path(), vertical)) * scale
            assert gaps.min() >= MIN_LINE_SPACING_PX - 1e-6, (size, item.toolTip())
    if size < 512:  # nothing to thin: every token and every patch border
        assert windows.line_steps() == (1, 1) and patches.line_step() == 1
    else:
        assert windows.line_steps()[0] != 1 and patches.line_step() > 1


def test_zooming_in_brings_the_token_borders_back(qtbot):
    from PySide6 import QtCore

    view = shown_view(qtbot, "windows", ExplorerState(img_size=1536, stage=0, block=1))
    assert view.line_steps()[0] == 0 and not view.token_grid.isVisible()
    view.panel.viewbox.setRange(QtCore.QRectF(0, 0, 160, 160), padding=0)
    qtbot.waitUntil(lambda: view.line_steps()[0] == 1, timeout=2000)
    settle(view)
    assert view.token_grid.isVisible()
    assert view.label_items(), "zoomed in, the windows in view are numbered"


# --- dense fields as images ------------------------------------------------------------------------

def _mask_colours(theme_background: str) -> np.ndarray:
    from PySide6 import QtGui

    colours = (MASK_COLORS[0.0], MASK_COLORS[-100.0], theme_background)
    return np.array([QtGui.QColor(colour).getRgb()[:3] for colour in colours], dtype=np.float64)


def expected_overview(masks: np.ndarray, per_row: int, gap: int, factor: int, background: str) -> np.ndarray:
    """uint8 RGB of every window's mask laid out as small multiples (gap ``gap``) in the
    mask colours on ``background``, each pixel the mean of ``factor``×``factor`` cells:
    written here with plain loops, independent of the view's code."""
    count, size, _ = masks.shape
    step = size + gap
    per_column = -(-count // per_row)
    colours = _mask_colours(background)
    height = -(-(per_column * step) // factor) * factor
    width = -(-(per_row * step) // factor) * factor
    canvas = np.empty((height, width, 3))
    canvas[:] = colours[2]
    for window in range(count):
        top, left = (window // per_row) * step, (window % per_row) * step
        canvas[top:top + size, left:left + size] = colours[(masks[window] != 0).astype(int)]
    blocks = canvas.reshape(height // factor, factor, width // factor, factor, 3).mean(axis=(1, 3))
    return np.floor(blocks + 0.5).astype(np.uint8)


@pytest.mark.parametrize("size", [224, 1024, 1536])
def test_mask_overview_image_holds_the_mask_values(qtbot, size):
    state = ExplorerState(img_size=size, stage=0, block=1, window=3)
    view = shown_view(qtbot, "mask", state)
    geometry = view.context.geometry
    masks = attention_mask_array(geometry.padded_height, geometry.padded_width, geometry.window_size,
                                 geometry.shift_size)
    assert masks.size > VECTOR_CELL_LIMIT and view.overview_is_image()
    assert not any(item.isVisible() for item in view.tiles.values())
    pixels, factor = view.overview_image()
    expected = expected_overview(masks, geometry.windows_per_row, view._gap(masks.shape[-1]), factor,
                                 view.theme.background)
    assert pixels.shape == expected.shape
    assert np.abs(pixels.astype(int) - expected).max() <= 1  # rounding of the mean
    if factor == 1:
        np.testing.assert_array_equal(view.drawn_overview(), masks)
    else:
        assert size >= 1024  # the panel is ~400 px: thousands of cells a side must be reduced
    # the matrix of the selected window stays vector (M = 7: 2401 cells)
    assert not view.matrix_is_image()
    np.testing.assert_array_equal(view.drawn_mask(), masks[3])


def test_zooming_into_the_overview_shows_every_cell(qtbot):
    from PySide6 import QtCore

    view = shown_view(qtbot, "mask", ExplorerState(img_size=1536, stage=0, block=1))
    assert view.overview_image()[1] > 1
    view.overview_panel.viewbox.setRange(QtCore.QRectF(3000, 3000, 130, 130), padding=0)
    qtbot.waitUntil(lambda: view.overview_image()[1] == 1, timeout=5000)
    geometry = view.context.geometry
    masks = attention_mask_array(geometry.padded_height, geometry.padded_width, geometry.window_size,
                                 geometry.shift_size)
    np.testing.assert_array_equal(view.drawn_overview(), masks)


def test_a_mask_of_more_than_16_by_16_slots_is_one_image(qtbot):
    state = ExplorerState(img_size=512, window_size=20, stage=0, block=1)
    view = shown_view(qtbot, "mask", state)
    geometry = view.context.geometry
    assert geometry.tokens_per_window ** 2 > VECTOR_CELL_LIMIT
    masks = attention_mask_array(geometry.padded_height, geometry.padded_width, geometry.window_size,
                                 geometry.shift_size)
    assert view.matrix_is_image()
    if round(view.matrix_field.cell_size()) == 1:
        np.testing.assert_array_equal(view.drawn_mask(), masks[view.context.window])
    else:  # a reduced image: each pixel the mean colour of its block
        pixels = view.matrix_field.pixels()
        assert pixels.shape[0] < geometry.tokens_per_window


def test_attention_rollout_beyond_the_vector_limit_is_one_translucent_image(qtbot):
    from explorer.state import CapturedBlock
    from explorer.views.attention import ROLLOUT_LEVELS
    from explorer.views.heat import sequential_levels

    state = ExplorerState(img_size=1536, stage=0, block=0, query=(100, 200))
    view = shown_view(qtbot, "attention", state)
    plain = synthetic_result(state)
    assert plain.attention is not None and plain.record_meta is not None
    view.set_rollout(True)
    view.update_result(InferenceResult(
        request_id=2, state=state, attention=plain.attention, record_meta=plain.record_meta,
        captured={(0, 0): CapturedBlock(attention=plain.attention, mask=None, meta=plain.record_meta)},
    ))
    settle(view)
    weights = view.rollout_weights()
    assert weights is not None and weights.size > VECTOR_CELL_LIMIT
    assert view.rollout_is_image()
    expected = sequential_levels(np.sqrt(weights), ROLLOUT_LEVELS)
    expected[expected == 0] = -1
    np.testing.assert_array_equal(view.drawn_rollout_levels(), expected)
    assert len(view.render_target().scene().items()) < 500


# --- labels on screen -------------------------------------------------------------------------------

def _device_boxes(view, items) -> np.ndarray:
    """(K, 4) boxes (x0, y0, x1, y1) in viewport pixels of the labels ``items`` as drawn."""
    target = view.render_target()
    boxes = []
    for item in items:
        rect = item.deviceTransform(target.viewportTransform()).mapRect(item.boundingRect())
        boxes.append((rect.left(), rect.top(), rect.right(), rect.bottom()))
    return np.array(boxes).reshape(-1, 4)


def _panel_box(view, panel) -> np.ndarray:
    rect = view.render_target().mapFromScene(panel.viewbox.sceneBoundingRect()).boundingRect()
    return np.array([rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1], dtype=np.float64)


def _assert_apart_and_inside(boxes: np.ndarray, panel: np.ndarray) -> None:
    assert _pairwise_apart(boxes, 0.0), "labels overlap"
    assert np.all(boxes[:, :2] >= panel[:2] - 0.5) and np.all(boxes[:, 2:] <= panel[2:] + 0.5), "clipped"


@pytest.mark.parametrize("theme", ["screen", "slide"])
@pytest.mark.parametrize(
    ("size", "window_size"), [(224, 7), (384, 7), (384, 12), (1024, 7), (1536, 7), (512, 16)]
)
def test_drawn_window_numbers_are_apart_and_inside(qtbot, size, window_size, theme):
    state = ExplorerState(img_size=size, window_size=window_size, stage=0, block=1)
    view = shown_view(qtbot, "windows", state, theme)
    labels = view.label_items()
    assert labels, "some windows are numbered at every size"
    _assert_apart_and_inside(_device_boxes(view, labels), _panel_box(view, view.panel))
    numbers = {number for number, _, _ in view.drawn_labels()}
    geometry = view.context.geometry
    step = view.label_step()
    if step > 1:  # deliberately thinned, and said so
        assert f"one window in {step}" in view.note_text()
        assert all((number // geometry.windows_per_row) % step == 0 for number in numbers)
    if size == 384 and theme == "screen":
        # issue 9: the numbers were all gone at 384 px; now each window is numbered on a
        # piece that holds its number (the last column's wrapped pieces may be too narrow)
        assert step == 1
        assert len(numbers) >= 0.9 * geometry.num_windows


@pytest.mark.parametrize("theme", ["screen", "slide"])
@pytest.mark.parametrize(("size", "window_size"), [(224, 7), (1536, 7), (512, 16), (256, 2)])
def test_mask_labels_are_apart_and_inside(qtbot, size, window_size, theme):
    state = ExplorerState(img_size=size, window_size=window_size, stage=0, block=1)
    view = shown_view(qtbot, "mask", state, theme)
    for items, panel in ((view.tile_label_items(), view.overview_panel),
                         (view.matrix_label_items(), view.matrix_panel)):
        assert items
        _assert_apart_and_inside(_device_boxes(view, items), _panel_box(view, panel))
    texts = [label.toPlainText() for label in view.matrix_label_items()]
    assert "key slot j →" in texts and "← query slot i" in texts


# --- exports: no hints, no selection marks -----------------------------------------------------------

HINT_WORDS = re.compile(r"click|hover|pick|select it", re.IGNORECASE)


def _svg_texts(data: bytes) -> str:
    import xml.etree.ElementTree as ET

    return " ".join("".join(element.itertext()) for element in ET.fromstring(data).iter()
                    if element.tag.rsplit("}", 1)[-1] == "text")


@pytest.mark.parametrize("name", MY_VIEWS)
def test_exports_carry_no_interaction_hints(qtbot, name):
    from explorer import export

    # window 0 holds one region: the mask's note invites a click on another window
    state = ExplorerState(img_size=224, stage=0, block=1, window=0, query=(3, 4))
    view = shown_view(qtbot, name, state)
    export.prepare_offscreen(view)
    on_screen = view.note_text()
    texts = _svg_texts(export.render_svg(view, caption=True))
    assert texts.strip(), "the figure has text"
    assert not HINT_WORDS.search(texts), HINT_WORDS.search(texts).group(0)
    assert view.note_text() == on_screen  # the note on screen is back after the export
    if name == "mask":
        assert "Click one of them" in on_screen
    hover = view.hover_text()
    assert HINT_WORDS.search(hover), "the hint lives on screen, in the hover line"


@pytest.mark.parametrize(("name", "change"), [("windows", {"window": 20}), ("patches", {"query": (40, 9)})])
def test_selection_marks_stay_on_screen(qtbot, name, change):
    """The windows figure is about the partition and the patches figure about patches: the
    selected window and the query are interaction marks, shown on screen and not exported."""
    from explorer import export
    from explorer.export.rendering import render_image

    state = ExplorerState(img_size=224, stage=0, block=1, window=5, query=(3, 4))
    first, second = shown_view(qtbot, name, state), shown_view(qtbot, name, state.replace(**change))
    for view in (first, second):
        export.prepare_offscreen(view)
    assert first.grab().toImage() != second.grab().toImage()
    assert render_image(first) == render_image(second)


def test_window_borders_thin_out_below_four_pixels(qtbot):
    """M = 2 at 1536 px: 8-px windows are ~3.7 px on screen. Every k-th window border is
    drawn, solid and dashed (the shifted windows' borders lie at the shift, mod k·M), each
    grid's lines at least 4 px apart (a dashed border that close to the edge is left out)."""
    view = shown_view(qtbot, "windows", ExplorerState(img_size=1536, window_size=2, stage=0, block=1))
    geometry = view.context.geometry
    _, window_step = view.line_steps()
    assert window_step >= 2
    scale = view.panel.pixels_per_unit()
    period = geometry.window_size * window_step * geometry.stride
    for item, offset in ((view.window_grid, 0), (view.shifted_grid, view.context.shift * geometry.stride)):
        assert item.isVisible()
        for vertical in (True, False):
            lines = _line_positions(item.path(), vertical)
            inner = lines[(lines > 0) & (lines < geometry.padded_width * geometry.stride)]
            assert len(inner) > 10
            assert np.all((inner - offset) % period == 0)
            assert np.diff(lines).min() * scale >= MIN_LINE_SPACING_PX - 1e-6
    assert f"every {window_step} windows" in view.note_text()
