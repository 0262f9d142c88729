"""The figure views draw exactly what swin_model.windows and count_macs compute (pytest-qt,
offscreen): every accessor reads the drawn items back, and the expected values come from
the geometry functions (or from independent formulas where a check would otherwise be
circular)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PySide6 import QtCore

from explorer.state import ExplorerState, InferenceResult, RecordMeta, model_config
from explorer.views.attention import WAITING_TEXT, AttentionView
from explorer.views.cyclic_shift import CyclicShiftView
from explorer.views.mask import MaskView
from explorer.views.merging import MergingView
from explorer.views.patches import PatchesView
from explorer.views.regions import LECTURE_TITLE, OFFICIAL_TITLE, RegionsView
from explorer.views.windows_view import WindowsView
from swin_model import SwinTransformer, capture_attention, windows


@dataclass(frozen=True)
class FakePrepared:
    """What the views read of a prepared image."""

    display: np.ndarray
    pixels: np.ndarray


def prepared_for(size: int, seed: int = 0) -> FakePrepared:
    rng = np.random.default_rng(seed)
    display = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    pixels = (display.transpose(2, 0, 1).astype(np.float32) / 255.0 - 0.45) / 0.225
    return FakePrepared(display=display, pixels=pixels)


def geometry_of(state: ExplorerState) -> windows.StageGeometry:
    return windows.stage_geometry(model_config(state), state.img_size, state.img_size)[state.stage]


def make_view(qtbot, view_class, state: ExplorerState):
    view = view_class()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.update_state(state, prepared_for(state.img_size))
    return view


# (img_size, stage, block, shifted): square sizes that divide, odd sizes with padding, a
# stage whose map is no larger than the window (stage 4 of 224: 7x7; of 160: 5x5, the
# window shrinks) and the shift switched off.
GEOMETRY_CASES = [
    (224, 0, 1, True),
    (224, 1, 0, True),
    (230, 1, 1, True),
    (233, 2, 1, True),
    (224, 3, 1, True),
    (160, 3, 1, True),
    (112, 0, 1, False),
]


def case_state(img_size: int, stage: int, block: int, shifted: bool, **extra) -> ExplorerState:
    return ExplorerState(img_size=img_size, stage=stage, block=block, shifted=shifted, **extra)


def expected_shift(state: ExplorerState) -> int:
    return geometry_of(state).block_shift(state.block)


# --- windows -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("img_size", "stage", "block", "shifted"), GEOMETRY_CASES)
def test_windows_view_selection_and_numbers_follow_locate_token(qtbot, img_size, stage, block, shifted):
    geometry = geometry_of(case_state(img_size, stage, block, shifted))
    window = geometry.num_windows - 1
    state = case_state(img_size, stage, block, shifted, window=window)
    view = make_view(qtbot, WindowsView, state)
    shift = expected_shift(state)
    hp, wp, m = geometry.padded_height, geometry.padded_width, geometry.window_size
    expected = np.array(
        [[windows.locate_token(r, c, hp, wp, m, shift)[0] == window for c in range(wp)] for r in range(hp)]
    )
    np.testing.assert_array_equal(view.drawn_selection(), expected)
    labels = view.drawn_labels()
    assert {number for number, _, _ in labels} == set(range(geometry.num_windows))
    for number, x, y in labels:
        token = (int(y // geometry.stride), int(x // geometry.stride))
        assert windows.locate_token(*token, hp, wp, m, shift)[0] == number
    assert view.shifted_grid.isVisible() == bool(shift)


@pytest.mark.parametrize(
    ("img_size", "stage", "expect_shrunk"), [(224, 3, False), (160, 3, True), (224, 0, None)]
)
def test_windows_view_says_when_the_window_shrinks_and_the_shift_switches_off(
    qtbot, img_size, stage, expect_shrunk
):
    state = case_state(img_size, stage, 1, True)
    view = make_view(qtbot, WindowsView, state)
    note = view.note_text()
    if expect_shrunk is None:
        assert "switched off" not in note
    else:
        assert "the shift is switched off" in note
        assert ("the window shrinks from 7 to 5" in note) == expect_shrunk
        assert geometry_of(state).window_shrunk == expect_shrunk


@pytest.mark.parametrize("img_size", [224, 230])
def test_padding_area_is_drawn_beyond_the_image(qtbot, img_size):
    state = case_state(img_size, 1, 1, True)
    view = make_view(qtbot, WindowsView, state)
    geometry = geometry_of(state)
    extent = geometry.padded_width * geometry.stride
    area = view.photo.padding_area()
    assert area.contains(QtCore.QPointF(img_size + 0.5, 1.0)) == (extent > img_size)
    assert area.contains(QtCore.QPointF(1.0, img_size + 0.5)) == (extent > img_size)
    assert not area.contains(QtCore.QPointF(img_size - 0.5, img_size - 0.5))


def test_clicking_a_window_emits_its_index(qtbot):
    state = case_state(224, 1, 1, True)
    view = make_view(qtbot, WindowsView, state)
    view.show()
    qtbot.waitExposed(view)
    geometry = geometry_of(state)
    row, col = 2, 26  # a token of the wrapped window in the shifted block
    expected, _ = windows.locate_token(
        row, col, geometry.padded_height, geometry.padded_width, geometry.window_size, geometry.shift_size
    )
    viewbox = view.panel.viewbox
    scene_point = viewbox.mapViewToScene(
        QtCore.QPointF((col + 0.5) * geometry.stride, (row + 0.5) * geometry.stride)
    )
    widget_point = view.render_target().mapFromScene(scene_point)
    with qtbot.waitSignal(view.windowPicked, timeout=2000) as blocker:
        qtbot.mouseClick(view.render_target().viewport(), QtCore.Qt.MouseButton.LeftButton, pos=widget_point)
    assert blocker.args == [expected]


# --- regions and the cyclic shift -------------------------------------------------------------


@pytest.mark.parametrize(("img_size", "stage", "block", "shifted"), GEOMETRY_CASES)
def test_regions_view_draws_official_and_lecture_numbering(qtbot, img_size, stage, block, shifted):
    state = case_state(img_size, stage, block, shifted)
    view = make_view(qtbot, RegionsView, state)
    geometry = geometry_of(state)
    shift = expected_shift(state)
    hp, wp, m = geometry.padded_height, geometry.padded_width, geometry.window_size
    official = windows.region_map(hp, wp, m, shift)
    np.testing.assert_array_equal(view.drawn_region_map(), official)
    np.testing.assert_array_equal(view.drawn_official_numbers(), official)
    np.testing.assert_array_equal(view.drawn_lecture_map(), windows.lecture_region_map(hp, wp, m, shift))
    np.testing.assert_array_equal(
        view.drawn_original_colours(), windows.reverse_cyclic_shift(official, shift, dims=(0, 1))
    )
    assert view.panel_titles() == (OFFICIAL_TITLE, LECTURE_TITLE)
    if not shift:
        assert "No shift" in view.note_text()


def test_region_labels_name_the_lecture_strips(qtbot):
    view = make_view(qtbot, RegionsView, case_state(224, 2, 1, True))
    assert OFFICIAL_TITLE == "official img_mask numbering (rolled grid)"
    assert LECTURE_TITLE == "lecture numbering (original grid)"
    assert OFFICIAL_TITLE in view.official_panel.title.plain_text()
    assert LECTURE_TITLE in view.lecture_panel.title.plain_text()
    texts = set(view.lecture_regions.drawn_texts())
    assert {"0 A", "1 C", "2 C", "3 B", "6 B", "4", "5", "7", "8"} == texts
    assert set(view.official_regions.drawn_texts()) == {str(region) for region in range(9)}
    # the lecture's A, the top-left corner of the original grid, is the official region 8
    assert view.drawn_lecture_map()[0, 0] == 0
    assert view.drawn_original_colours()[0, 0] == 8


@pytest.mark.parametrize(("img_size", "stage"), [(224, 2), (230, 1), (112, 0)])
def test_cyclic_shift_steps_roll_the_regions(qtbot, img_size, stage):
    state = case_state(img_size, stage, 1, True)
    view = make_view(qtbot, CyclicShiftView, state)
    geometry = geometry_of(state)
    hp, wp, m, s = geometry.padded_height, geometry.padded_width, geometry.window_size, geometry.shift_size
    official = windows.region_map(hp, wp, m, s)
    original = windows.reverse_cyclic_shift(official, s, dims=(0, 1))
    assert view.shift_steps() == s + 1
    for step in range(view.shift_steps()):
        view.set_shift_step(step)
        np.testing.assert_array_equal(
            view.drawn_region_map(), windows.cyclic_shift(original, step, dims=(0, 1))
        )
    np.testing.assert_array_equal(view.drawn_region_map(), official)
    assert view.window_pieces() == geometry.num_windows
    assert f"{geometry.num_windows} equal" in view.panel.title.plain_text()
    view.set_shift_step(0)
    assert view.window_pieces() == (geometry.windows_per_column + 1) * (geometry.windows_per_row + 1)
    assert "step 1/" in view.caption()


def test_cyclic_shift_without_shift_has_one_step(qtbot):
    view = make_view(qtbot, CyclicShiftView, case_state(224, 3, 1, True))
    assert view.shift_steps() == 1
    assert not view.play_button.isEnabled()
    np.testing.assert_array_equal(view.drawn_region_map(), np.zeros((7, 7), dtype=np.int64))


def test_cyclic_shift_animation_plays_to_the_last_step(qtbot):
    view = make_view(qtbot, CyclicShiftView, case_state(112, 1, 1, True))
    view.timer.setInterval(10)
    view.play_button.click()
    qtbot.waitUntil(lambda: view.shift_step() == view.shift_steps() - 1, timeout=3000)
    qtbot.waitUntil(lambda: not view.play_button.isChecked(), timeout=3000)


# --- mask ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("img_size", "stage", "window"), [(224, 2, 3), (224, 0, 63), (230, 1, 24), (112, 0, 7)]
)
def test_mask_view_draws_exactly_the_attention_mask(qtbot, img_size, stage, window):
    state = case_state(img_size, stage, 1, True, window=window)
    view = make_view(qtbot, MaskView, state)
    geometry = geometry_of(state)
    hp, wp, m, s = geometry.padded_height, geometry.padded_width, geometry.window_size, geometry.shift_size
    expected = windows.attention_mask(hp, wp, m, s)[window].numpy()
    drawn = view.drawn_mask()
    assert drawn is not None and drawn.shape == (m * m, m * m)
    np.testing.assert_array_equal(drawn, expected)
    assert set(np.unique(drawn)) == {0.0, -100.0}
    # axis strips: the official region of each slot, from the rolled grid (row-major slots)
    row0, col0 = divmod(window, geometry.windows_per_row)
    rolled = windows.region_map(hp, wp, m, s)[row0 * m : (row0 + 1) * m, col0 * m : (col0 + 1) * m]
    np.testing.assert_array_equal(view.drawn_slot_regions(), rolled.reshape(-1))


def test_mask_overview_shows_every_window(qtbot):
    state = case_state(112, 1, 1, True, window=2)
    view = make_view(qtbot, MaskView, state)
    geometry = geometry_of(state)
    expected = windows.attention_mask(
        geometry.padded_height, geometry.padded_width, geometry.window_size, geometry.shift_size
    ).numpy()
    np.testing.assert_array_equal(view.drawn_overview(), expected)
    with qtbot.waitSignal(view.windowPicked, timeout=1000) as blocker:
        size = geometry.tokens_per_window
        step = size + view._gap(size)
        view.pick_window_at(1 * step + 3, 1 * step + 3)  # second row, second column
    assert blocker.args == [geometry.windows_per_row + 1]


@pytest.mark.parametrize(("block", "shifted"), [(0, True), (1, False)])
def test_mask_view_says_no_mask_for_w_msa_blocks(qtbot, block, shifted):
    view = make_view(qtbot, MaskView, case_state(224, 0, block, shifted))
    assert view.drawn_mask() is None
    assert view.empty_label.isVisible()
    assert "no mask (W-MSA block)" in view.empty_label.toPlainText()
    assert not any(item.isVisible() for item in view.cells.values())
    note = view.note_text()
    if shifted:  # block 1 (0-based 0) is W-MSA; the spin box calls the next one block 2
        assert "block 1 is W-MSA" in note and "Pick block 2 (SW-MSA)" in note
    else:
        assert "switched off" in note and "Tick" in note


def test_mask_view_says_when_the_selected_window_holds_one_region(qtbot):
    view = make_view(qtbot, MaskView, case_state(224, 0, 1, True, window=0))
    assert not view.drawn_mask().any()  # window 0 lies inside region 0 after the roll
    assert "one region" in view.matrix_panel.title.plain_text()
    assert "Click one of them" in view.note_text()
    view.update_state(case_state(224, 0, 1, True, window=63), prepared_for(224))
    assert "one region" not in view.matrix_panel.title.plain_text()
    # the query axis reads upwards, so its arrow must come first to point down the rows
    assert "← query slot i" in [label.toPlainText() for label in view.axis_labels.visible()]


# --- attention -----------------------------------------------------------------------------------


def one_hot_result(state: ExplorerState, window: int, query_slot: int, key_slot: int) -> InferenceResult:
    geometry = geometry_of(state)
    shift = geometry.block_shift(state.block)
    n = geometry.tokens_per_window
    attention = np.zeros((geometry.num_windows, geometry.num_heads, n, n), dtype=np.float32)
    attention[window, state.head, query_slot, key_slot] = 1.0
    return InferenceResult(
        request_id=1,
        state=state,
        attention=attention,
        record_meta=RecordMeta(
            stage=state.stage,
            block=state.block,
            window_size=geometry.window_size,
            shift_size=shift,
            grid_size=(geometry.height, geometry.width),
            padded_size=(geometry.padded_height, geometry.padded_width),
        ),
    )


@pytest.mark.parametrize(
    ("img_size", "stage", "block", "query"),
    [(224, 0, 1, (55, 54)), (224, 1, 1, (0, 0)), (230, 1, 1, (28, 3)), (224, 2, 0, (5, 9))],
)
def test_attention_overlay_maps_slots_back_through_the_reverse_roll(qtbot, img_size, stage, block, query):
    state = case_state(img_size, stage, block, True, head=1, query=query)
    geometry = geometry_of(state)
    m, s = geometry.window_size, geometry.block_shift(block)
    hp, wp = geometry.padded_height, geometry.padded_width
    # independent of the geometry code: roll the query up-left by s, then find its window and slot
    rolled = ((query[0] - s) % hp, (query[1] - s) % wp)
    window = (rolled[0] // m) * geometry.windows_per_row + rolled[1] // m
    query_slot = (rolled[0] % m) * m + rolled[1] % m
    key_slot = m * m - 1  # the window's last slot: the bottom-right token after the roll
    key_rolled = (
        (window // geometry.windows_per_row) * m + m - 1,
        (window % geometry.windows_per_row) * m + m - 1,
    )
    key_original = ((key_rolled[0] + s) % hp, (key_rolled[1] + s) % wp)
    view = make_view(qtbot, AttentionView, state)
    assert view.status_text() == WAITING_TEXT
    assert not view.is_showing_result()
    view.update_result(one_hot_result(state, window, query_slot, key_slot))
    assert view.is_showing_result()
    stride = geometry.stride
    assert view.brightest_rect() == QtCore.QRectF(
        key_original[1] * stride, key_original[0] * stride, stride, stride
    )
    weights = view.drawn_token_weights()
    assert weights[key_original] == 1.0
    assert sum(weights.values()) == 1.0
    positions = windows.window_token_positions(hp, wp, m, s)[window]
    assert set(weights) == {(int(r), int(c)) for r, c in positions}


def test_attention_view_ignores_stale_and_failed_results(qtbot):
    state = case_state(224, 1, 1, True, query=(3, 3))
    view = make_view(qtbot, AttentionView, state)
    stale = one_hot_result(state.replace(stage=0), 0, 0, 0)
    view.update_result(stale)
    assert not view.is_showing_result()
    assert view.status_text() == WAITING_TEXT
    view.update_result(InferenceResult(request_id=2, state=state, error="out of memory"))
    assert not view.is_showing_result()
    assert "out of memory" in view.status_text()
    view.update_result(one_hot_result(state, 0, 0, 0))
    assert view.is_showing_result()
    view.update_state(state.replace(block=0), prepared_for(224))  # the result is for block 1
    assert not view.is_showing_result()


def test_real_attention_gives_no_weight_across_regions(qtbot):
    """A real Swin-T (random weights, seed 0) at 112 px: in the shifted block, the query's
    weights on tokens from other regions vanish, as the mask intends."""
    state = case_state(112, 0, 1, True, head=2, query=(27, 26))  # bottom-right: four regions meet
    torch.manual_seed(0)
    model = SwinTransformer(model_config(state)).eval()
    pixels = torch.from_numpy(prepared_for(112).pixels)[None]
    with torch.inference_mode(), capture_attention(model, [(0, 1)]) as records:
        model(pixels)
    record = records[0]
    result = InferenceResult(
        request_id=1,
        state=state,
        attention=record.attn.numpy(),
        mask=record.mask.numpy(),
        record_meta=RecordMeta(
            stage=0,
            block=1,
            window_size=record.window_size,
            shift_size=record.shift_size,
            grid_size=tuple(record.grid_size),
            padded_size=tuple(record.padded_size),
        ),
    )
    view = make_view(qtbot, AttentionView, state)
    view.update_result(result)
    weights = view.drawn_token_weights()
    geometry = geometry_of(state)
    regions = windows.reverse_cyclic_shift(
        windows.region_map(
            geometry.padded_height, geometry.padded_width, geometry.window_size, geometry.shift_size
        ),
        geometry.shift_size,
        dims=(0, 1),
    )
    own = regions[state.query]
    across = sum(weight for token, weight in weights.items() if regions[token] != own)
    within = sum(weight for token, weight in weights.items() if regions[token] == own)
    assert len({regions[token] for token in weights}) == 4
    assert across < 1e-6
    assert within == pytest.approx(1.0, abs=1e-4)
    assert "other regions" in view.note_text()
    # the masked keys are filled dark on the photo: exactly the tokens of the other regions
    assert view.drawn_masked_tokens() == {token for token in weights if regions[token] != own}
    # the window panel shows the same row in slot order (after the roll), with the
    # slots the recorded mask blocks filled as masked
    window, slot = windows.locate_token(
        *state.query, geometry.padded_height, geometry.padded_width, geometry.window_size,
        geometry.shift_size,
    )
    np.testing.assert_allclose(view.drawn_slot_weights(), result.attention[window, state.head, slot])
    np.testing.assert_array_equal(view.drawn_masked_slots(), result.mask[window, slot] != 0)
    assert view.drawn_masked_slots().sum() == len(weights) - sum(
        1 for token in weights if regions[token] == own
    )


def test_attention_window_panel_without_shift_masks_nothing(qtbot):
    state = case_state(224, 1, 0, True, query=(3, 3))
    view = make_view(qtbot, AttentionView, state)
    geometry = geometry_of(state)
    m = geometry.window_size
    # W-MSA: no roll, so the query's slot is its place inside its m x m window
    window = (3 // m) * geometry.windows_per_row + 3 // m
    view.update_result(one_hot_result(state, window, (3 % m) * m + 3 % m, 0))
    assert view.is_showing_result()
    assert not view.drawn_masked_slots().any()
    assert view.drawn_masked_tokens() == set()
    assert view.drawn_slot_weights()[0] == 1.0
    assert "nothing is masked" in view.note_text()


# --- patches and merging ---------------------------------------------------------------------


def test_patches_view_hover_and_click(qtbot):
    state = case_state(230, 2, 1, True, query=(3, 4))
    view = make_view(qtbot, PatchesView, state)
    assert view.grid_shape() == (58, 58)
    bounds = view.grid.path().boundingRect()
    assert (bounds.width(), bounds.height()) == (232.0, 232.0)
    assert view.query_item.rect() == QtCore.QRectF(4 * 16, 3 * 16, 16, 16)
    with qtbot.waitSignal(view.queryPicked, timeout=1000) as blocker:
        view.pick_at(100.0, 37.0)  # stage 3: 16 px tokens
    assert blocker.args == [37 // 16, 100 // 16]
    scene_point = view.panel.viewbox.mapViewToScene(QtCore.QPointF(9.0, 6.0))
    view._on_mouse_moved(scene_point)
    assert "patch row 1, col 2" in view.hover_text()
    assert "token index 60" in view.hover_text()


@pytest.mark.parametrize(("img_size", "stage"), [(224, 0), (224, 2), (230, 1), (233, 2)])
def test_merging_view_draws_the_concatenation_order(qtbot, img_size, stage):
    state = case_state(img_size, stage, 0, True, query=(1, 1))
    view = make_view(qtbot, MergingView, state)
    geometry = geometry_of(state)
    h, w = geometry.height, geometry.width
    coordinates = torch.stack(torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij"), dim=-1)
    merged = windows.merge_patches((coordinates + 1).float()[None])[0]  # h', w', 4*2; 0 = padding
    expected = np.full((2 * merged.shape[0], 2 * merged.shape[1]), -1, dtype=np.int64)
    for index in range(4):
        rows, cols = merged[..., 2 * index].long() - 1, merged[..., 2 * index + 1].long() - 1
        real = rows >= 0
        expected[rows[real].numpy(), cols[real].numpy()] = index
    drawn = view.drawn_merge_order()
    assert drawn.shape == expected.shape
    # the overview colours tokens only when they are large enough; the zoom always does
    shown = (expected >= 0) & (drawn >= 0)
    top, left, height, width = view.zoom_area()
    assert (drawn[top:top + height, left:left + width] >= 0).all()
    np.testing.assert_array_equal(drawn[shown], expected[shown])
    following = windows.stage_geometry(model_config(state), img_size, img_size)[stage + 1]
    c = geometry.channels
    assert f"{h}×{w}×{c}" in view.diagram_text()
    assert f"{following.height}×{following.width}×{4 * c}" in view.diagram_text()
    assert f"{following.height}×{following.width}×{2 * c}" in view.diagram_text()
    assert ("is odd" in view.diagram_text()) == bool(h % 2 or w % 2)


def test_merging_diagram_lays_the_group_out_as_the_official_slices(qtbot):
    view = make_view(qtbot, MergingView, case_state(224, 0, 1, True))
    text = view.diagram_text()
    # official PatchMerging: x0 = x[0::2, 0::2], x1 = x[1::2, 0::2], x2 = x[0::2, 1::2],
    # x3 = x[1::2, 1::2]; the 2x2 group reads row by row: x0 x2 / x1 x3
    spatial = [text.index(f"x{index}\n[{rows}::2, {cols}::2]") for index, rows, cols in
               ((0, 0, 0), (2, 0, 1), (1, 1, 0), (3, 1, 1))]
    assert spatial == sorted(spatial)
    concatenated = [text.index(f"x{index}\n96", spatial[-1]) for index in range(4)]
    assert concatenated == sorted(concatenated)


def test_merging_view_last_stage_and_stage_split(qtbot):
    view = make_view(qtbot, MergingView, case_state(224, 3, 0, True))
    assert not view.has_merging()
    assert view.drawn_merge_order().size == 0
    note = view.note_text()
    assert "[embed, 2 blocks, merge]" in note and "[merge, 6 blocks]" in note
    assert "No patch merging after stage 4" in view.diagram_text()


def test_attention_hover_reads_weights_and_click_picks_the_query(qtbot):
    state = case_state(112, 0, 0, True, query=(2, 3))  # W-MSA block: window 0 holds tokens (0..6, 0..6)
    geometry = geometry_of(state)
    view = make_view(qtbot, AttentionView, state)
    view.update_result(one_hot_result(state, window=0, query_slot=2 * 7 + 3, key_slot=5 * 7 + 6))
    stride = geometry.stride
    inside = view.panel.viewbox.mapViewToScene(QtCore.QPointF(6.5 * stride, 5.5 * stride))
    view._on_mouse_moved(inside)
    assert view.hover_text() == "token (5, 6) · weight 1.0000"
    outside = view.panel.viewbox.mapViewToScene(QtCore.QPointF(20.5 * stride, 20.5 * stride))
    view._on_mouse_moved(outside)
    assert "outside the query's window" in view.hover_text()
    with qtbot.waitSignal(view.queryPicked, timeout=1000) as blocker:
        view.pick_at(9.5 * stride, 1.5 * stride)
    assert blocker.args == [1, 9]
