"""The relative position bias, receptive field and attention-rollout views (pytest-qt,
offscreen): every check reads back what was drawn and compares it with an independent
construction (the official index lines, the official resize, unit edges of a field)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PySide6 import QtCore, QtWidgets

from explorer.figures import FIGURE_NAMES, build_figures, figure
from explorer.resolved import resolve
from explorer.state import ExplorerState, InferenceResult, RecordMeta, model_config
from explorer.views.attention import RANDOM_WEIGHTS_BADGE, ROLLOUT_NEEDS_BLOCKS, AttentionView
from explorer.views.heat import DIVERGING_LEVELS, diverging_levels, sequential_levels
from explorer.views.receptive_field import BAR_STEP, SHIFT_OFF_COLOR, SHIFT_ON_COLOR, ReceptiveFieldView
from explorer.views.relative_position import RANDOM_BADGE, TRAINED_BADGE, RelativePositionView
from swin_model import SwinTransformer, capture_attention, preset, windows
from swin_model.rollout import attention_rollout


@dataclass(frozen=True)
class FakePrepared:
    display: np.ndarray
    pixels: np.ndarray


def prepared_for(size: int) -> FakePrepared:
    rng = np.random.default_rng(0)
    display = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    pixels = (display.transpose(2, 0, 1).astype(np.float32) / 255.0 - 0.45) / 0.225
    return FakePrepared(display=display, pixels=pixels)


@dataclass(frozen=True)
class RichResult(InferenceResult):
    """A result with the fields these views ask the inference for."""

    bias_tables: dict | None = field(default=None, repr=False)
    all_attention: dict | None = field(default=None, repr=False)
    captured: dict = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Captured:
    """What the rollout reads of one captured block."""

    attention: np.ndarray


def make_view(qtbot, view_class, state: ExplorerState):
    view = view_class()
    qtbot.addWidget(view)
    view.resize(1200, 850)
    view.update_state(resolve(state), prepared_for(state.img_size))
    return view


def official_index(window: int, table: int) -> np.ndarray:
    """The official relative position index lines, with a table of side 2T-1."""
    coords = np.stack(np.meshgrid(np.arange(window), np.arange(window), indexing="ij")).reshape(2, -1)
    relative = coords[:, :, None] - coords[:, None, :]
    relative = relative + (table - 1)
    return relative[0] * (2 * table - 1) + relative[1]


def query_slot_by_hand(query: tuple[int, int], padded: tuple[int, int], window: int, shift: int
                       ) -> tuple[int, int]:
    """(row, col) of the query inside its window after rolling up-left by ``shift``."""
    rolled = ((query[0] - shift) % padded[0], (query[1] - shift) % padded[1])
    return rolled[0] % window, rolled[1] % window


def test_registry_has_both_figures_in_teaching_order() -> None:
    assert figure("relative-position").needs_model
    assert not figure("receptive-field").needs_model
    names = list(FIGURE_NAMES)
    assert names.index("attention") < names.index("relative-position") < names.index("merging")
    assert names.index("merging") < names.index("receptive-field")


# --- relative position bias --------------------------------------------------------------------


@pytest.mark.parametrize(("img_size", "stage", "block", "window_size", "query"), [
    (224, 0, 1, 7, (20, 22)), (224, 0, 0, 7, (3, 3)), (224, 3, 1, 12, (2, 5)), (230, 1, 1, 7, (28, 3)),
])
def test_window_labels_are_the_official_offsets_and_cells(qtbot, img_size, stage, block, window_size, query):
    state = ExplorerState(img_size=img_size, stage=stage, block=block, window_size=window_size, query=query)
    view = make_view(qtbot, RelativePositionView, state)
    context = resolve(state)
    geometry = context.geometry
    size = geometry.window_size
    table = context.config.stage_window(stage)
    q_row, q_col = query_slot_by_hand(query, (geometry.padded_height, geometry.padded_width), size,
                                      context.shift)
    assert view.query_slot() == q_row * size + q_col
    index = official_index(size, table)
    side = 2 * table - 1
    texts: dict[tuple[int, int], list[str]] = {}
    for item in view.slot_labels.visible():
        centre = item.mapRectToParent(item.boundingRect()).center()
        cell = view.window_cell
        texts.setdefault((int(centre.y() // cell), int(centre.x() // cell)), []).append(item.text())
    assert len(texts) == size * size
    for (key_row, key_col), (delta, cell) in texts.items():
        d_row, d_col = q_row - key_row, q_col - key_col
        assert [int(part) for part in delta.split(",")] == [d_row, d_col]
        assert int(cell.lstrip("#")) == (d_row + table - 1) * side + d_col + table - 1
        assert int(cell.lstrip("#")) == index[q_row * size + q_col, key_row * size + key_col]
    # the read cells outlined in the table are exactly the query's row of the index
    expected = np.zeros((side, side), dtype=bool)
    expected.reshape(-1)[index[q_row * size + q_col]] = True
    assert view.drawn_read_outline() == unit_edges(expected)
    assert not view.has_values()
    assert "waiting for the model" in view.table_panel.title.plain_text()
    assert "waiting for the model" in view.note_text().lower()


def test_without_values_the_matrix_shows_the_index(qtbot):
    state = ExplorerState(stage=0, block=1, query=(10, 10))
    view = make_view(qtbot, RelativePositionView, state)
    index = official_index(7, 7)
    expected = np.rint(index / index.max() * (DIVERGING_LEVELS - 1)).astype(np.int64)
    assert np.array_equal(view.drawn_matrix_levels(), expected)
    assert (view.drawn_table_levels() == -1).all()
    assert view.resize_mode() == ""


def seeded_table(window: int, heads: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.0, size=((2 * window - 1) ** 2, heads)).astype(np.float32)


@pytest.mark.parametrize("checkpoint", [False, True])
def test_values_are_drawn_from_the_table_with_a_badge(qtbot, checkpoint):
    config = preset("swin-t")
    state = ExplorerState(stage=0, block=1, head=2, query=(20, 22))
    if checkpoint:
        state = state.replace(checkpoint_path="/tmp/trained.pth", checkpoint_config=config)
    view = make_view(qtbot, RelativePositionView, state)
    table = seeded_table(7, 3)
    view.set_bias_table(table)
    assert view.has_values()
    limit = float(np.abs(table[:, 2]).max())
    assert view.color_limit() == pytest.approx(limit)
    assert np.array_equal(view.drawn_table_levels(), diverging_levels(table[:, 2], limit).reshape(13, 13))
    index = official_index(7, 7)
    slot = view.query_slot()
    slot_levels = view.drawn_slot_levels().reshape(-1)
    assert np.array_equal(slot_levels, diverging_levels(table[index[slot], 2], limit))
    assert np.array_equal(view.drawn_matrix_levels(), diverging_levels(table[index, 2], limit))
    title = view.table_panel.title.plain_text()
    assert (TRAINED_BADGE if checkpoint else RANDOM_BADGE) in title
    assert (RANDOM_BADGE in title) != checkpoint
    # the same table, seen as a preview of another window
    assert view.resize_mode() == "preview"
    original, resized = view.drawn_resize_levels()
    assert original.shape == (13, 13) and resized.shape == (23, 23)


def official_resize(table: np.ndarray, new_window: int) -> np.ndarray:
    tensor = torch.from_numpy(table)
    length, heads = tensor.shape
    side, new_side = int(length**0.5), 2 * new_window - 1
    resized = F.interpolate(tensor.permute(1, 0).view(1, heads, side, side), size=(new_side, new_side),
                            mode="bicubic")
    return resized.view(heads, new_side * new_side).permute(1, 0).numpy()


def test_a_table_trained_at_another_window_is_resized_side_by_side(qtbot):
    state = ExplorerState(window_size=12, stage=0, block=1, head=1, query=(20, 22))
    view = make_view(qtbot, RelativePositionView, state)
    trained = seeded_table(7, 3, seed=4)
    view.set_bias_table(trained)
    assert view.resize_mode() == "resized"
    expected = official_resize(trained, 12)
    np.testing.assert_allclose(view.table_values(), expected, rtol=1e-6, atol=1e-6)
    limit = view.color_limit()
    assert limit == pytest.approx(max(np.abs(trained[:, 1]).max(), np.abs(expected[:, 1]).max()))
    original, resized = view.drawn_resize_levels()
    assert np.array_equal(original, diverging_levels(trained[:, 1], limit).reshape(13, 13))
    assert np.array_equal(resized, diverging_levels(expected[:, 1], limit).reshape(23, 23))
    assert np.array_equal(view.drawn_table_levels(), resized)
    title = view.resize_panel.title.plain_text()
    assert "trained at M = 7" in title and "M = 12" in title
    texts = [label.toPlainText() for label in view.resize_labels.visible()]
    assert "M = 7: 13×13" in texts and "M = 12: 23×23" in texts


def test_result_tables_are_read_per_block_and_stale_ones_ignored(qtbot):
    state = ExplorerState(stage=1, block=1, query=(5, 5))
    view = make_view(qtbot, RelativePositionView, state)
    tables = {(1, 0): seeded_table(7, 6, seed=1), (1, 1): seeded_table(7, 6, seed=2)}
    view.update_result(RichResult(request_id=3, state=state, bias_tables=tables))
    assert view.has_values()
    np.testing.assert_array_equal(view.table_values(), tables[(1, 1)])
    view.update_state(resolve(state.replace(block=0)), prepared_for(224))
    np.testing.assert_array_equal(view.table_values(), tables[(1, 0)])
    view.update_result(RichResult(request_id=4, state=state.replace(model_name="swin-s"), bias_tables=tables))
    assert not view.has_values()
    assert view.status_text().startswith("values: waiting")


def test_explicit_table_is_dropped_when_the_block_changes(qtbot):
    state = ExplorerState(stage=0, block=1)
    view = make_view(qtbot, RelativePositionView, state)
    view.set_bias_table(seeded_table(7, 3))
    assert view.has_values()
    view.update_state(resolve(state.replace(block=0)), prepared_for(224))
    assert not view.has_values()


def test_clicking_a_slot_picks_its_token_and_hover_names_the_cell(qtbot):
    state = ExplorerState(stage=0, block=1, query=(20, 22))
    view = make_view(qtbot, RelativePositionView, state)
    context = resolve(state)
    geometry = context.geometry
    window, _ = windows.locate_token(20, 22, geometry.padded_height, geometry.padded_width, 7, 3)
    positions = windows.window_token_positions(geometry.padded_height, geometry.padded_width, 7, 3)[window]
    with qtbot.waitSignal(view.queryPicked) as blocker:
        view.pick_slot(10)
    assert tuple(blocker.args) == tuple(int(v) for v in positions[10])
    view.show()
    qtbot.waitExposed(view)
    viewbox = view.window_panel.viewbox
    scene_point = viewbox.mapViewToScene(QtCore.QPointF(3.5 * view.window_cell, 1.5 * view.window_cell))
    text = view._hover_text(scene_point)
    slot = view.query_slot()
    cell = official_index(7, 7)[slot, 1 * 7 + 3]
    assert f"table cell #{cell}" in text and "Δ = (" in text


# --- receptive field ---------------------------------------------------------------------------


def unit_edges(mask: np.ndarray) -> set[tuple[int, int, int, int]]:
    """Unit edges between cells inside and outside ``mask`` (outside the grid counts as outside)."""
    padded = np.pad(mask, 1)
    edges = set()
    rows, cols = mask.shape
    for row in range(rows + 1):
        for col in range(cols + 1):
            if padded[row, col + 1] != padded[row + 1, col + 1] and col < cols:
                edges.add((col, row, col + 1, row))
            if padded[row + 1, col] != padded[row + 1, col + 1] and row < rows:
                edges.add((col, row, col, row + 1))
    return edges


@pytest.mark.parametrize(("img_size", "stage", "block", "query", "shifted"), [
    (224, 0, 1, (20, 22), True), (224, 1, 1, (5, 6), True), (224, 2, 0, (3, 3), False),
    (230, 1, 1, (28, 3), True),
])
def test_receptive_field_is_drawn_on_the_patches(qtbot, img_size, stage, block, query, shifted):
    state = ExplorerState(img_size=img_size, stage=stage, block=block, query=query, shifted=shifted)
    view = make_view(qtbot, ReceptiveFieldView, state)
    config = model_config(state)
    expected = windows.receptive_field(config, img_size, img_size, stage + 1, block + 1, *query)
    other = windows.receptive_field(config.replace(shifted=not shifted), img_size, img_size,
                                    stage + 1, block + 1, *query)
    assert np.array_equal(view.drawn_field(), expected)
    assert np.array_equal(view.drawn_outside(), ~expected)
    assert view.drawn_outline() == unit_edges(expected)
    assert view.drawn_outline(other=True) == unit_edges(other)
    stride = resolve(state).geometry.stride
    assert view.drawn_token() == QtCore.QRectF(query[1] * stride, query[0] * stride, stride, stride)
    count = int(expected.sum())
    assert f"{count} of {expected.size} patches" in view.panel.title.plain_text()
    assert ("with shifted windows" in view.panel.title.plain_text()) == shifted


def test_growth_bars_read_back_both_settings(qtbot):
    state = ExplorerState(stage=0, block=1, query=(20, 22))
    view = make_view(qtbot, ReceptiveFieldView, state)
    config = model_config(state)
    total = 56 * 56
    bars = view.drawn_bars()
    for shifted in (True, False):
        growth = windows.receptive_field_growth(config.replace(shifted=shifted), 224, 224, 20, 22)
        assert bars[shifted] == pytest.approx([100.0 * count / total for _, _, count in growth])
    # window attention alone: the first two blocks stay in one 7x7 window
    assert bars[False][:2] == pytest.approx([100 * 49 / total] * 2)
    assert all(off <= on + 1e-9 for on, off in zip(bars[True], bars[False], strict=True))
    legend = view.chart.title.plain_text()
    assert "■ shift on: whole image ◆ at 3.2" in legend
    assert "■ shift off (W-MSA only): whole image ◆ at 4.1" in legend
    assert view.chart_texts().count("◆") == 2
    assert view.bars[True].brush().color().name().upper() == SHIFT_ON_COLOR
    assert view.bars[False].brush().color().name().upper() == SHIFT_OFF_COLOR
    selected = view.selected_bar.path().boundingRect()
    assert selected.left() < BAR_STEP + 1 < selected.right() < 2 * BAR_STEP  # block 1.2: the second pair
    note = view.note_text()
    assert "whole image first after stage 3 block 2" in note
    assert "196 patches (6.2 % of the 3136)" in note


def test_receptive_field_click_picks_the_token(qtbot):
    state = ExplorerState(stage=1, block=1, query=(5, 6))
    view = make_view(qtbot, ReceptiveFieldView, state)
    with qtbot.waitSignal(view.queryPicked) as blocker:
        view.pick_at(8 * 9 + 1, 8 * 3 + 7)
    assert tuple(blocker.args) == (3, 9)
    with qtbot.assertNotEmitted(view.queryPicked):
        view.pick_at(-1, 5)


# --- attention rollout -------------------------------------------------------------------------


def captured_result(state: ExplorerState, every_block: bool) -> RichResult:
    torch.manual_seed(0)
    model = SwinTransformer(model_config(state)).eval()
    pixels = torch.from_numpy(prepared_for(state.img_size).pixels).unsqueeze(0)
    with torch.inference_mode(), capture_attention(model) as records:
        model(pixels)
    chosen = next(r for r in records if (r.stage, r.block) == (state.stage, state.block))
    return RichResult(
        request_id=1, state=state, attention=chosen.attn.numpy(),
        mask=None if chosen.mask is None else chosen.mask.numpy(),
        record_meta=RecordMeta(chosen.stage, chosen.block, chosen.window_size, chosen.shift_size,
                               chosen.grid_size, chosen.padded_size),
        all_attention={(r.stage, r.block): r.attn.numpy() for r in records} if every_block else None,
    )


def test_rollout_control_asks_for_every_block(qtbot):
    state = ExplorerState(img_size=64, stage=1, block=1, query=(3, 4))
    view = make_view(qtbot, AttentionView, state)
    check = view.findChild(QtWidgets.QCheckBox, "rolloutCheck")
    assert check is not None and not check.isChecked()
    with qtbot.waitSignal(view.rolloutRequested) as blocker:
        check.setChecked(True)
    assert blocker.args == [True]
    view.update_result(captured_result(state, every_block=False))
    assert view.rollout_status() == ROLLOUT_NEEDS_BLOCKS
    assert view.status.isVisible() and view.status.toPlainText() == ROLLOUT_NEEDS_BLOCKS
    assert (view.drawn_rollout_levels() == -1).all()
    assert ROLLOUT_NEEDS_BLOCKS[:20].lower() in view.note_text().lower()


@pytest.mark.parametrize(("stage", "block", "query"), [(0, 1, (10, 3)), (1, 1, (3, 4)), (2, 0, (1, 1))])
def test_rollout_is_drawn_from_every_blocks_attention(qtbot, stage, block, query):
    state = ExplorerState(img_size=64, stage=stage, block=block, query=query)
    view = make_view(qtbot, AttentionView, state)
    result = captured_result(state, every_block=True)
    view.set_rollout(True)
    view.update_result(result)
    assert view.rollout_status() == ""
    config = model_config(state)
    order = [(s, b) for s, depth in enumerate(config.depths) for b in range(depth)]
    needed = order[: order.index((stage, block)) + 1]
    expected = attention_rollout(config, 64, 64, [result.all_attention[key] for key in needed],
                                 stage + 1, block + 1, *query)
    np.testing.assert_allclose(view.rollout_weights(), expected)
    levels = sequential_levels(np.sqrt(expected), 24)
    levels[levels == 0] = -1
    assert np.array_equal(view.drawn_rollout_levels(), levels)
    assert not any(item.isVisible() for item in view.token_rects)
    assert RANDOM_WEIGHTS_BADGE in view.panel.title.plain_text()
    assert f"through {len(needed)} blocks" in view.panel.title.plain_text()
    # off again: the window weights come back and the rollout goes
    view.set_rollout(False)
    assert view.rollout_weights() is None
    assert (view.drawn_rollout_levels() == -1).all()
    assert view.is_showing_result()
    assert any(item.isVisible() for item in view.token_rects)


def test_rollout_also_reads_the_captured_blocks(qtbot):
    state = ExplorerState(img_size=64, stage=1, block=0, query=(2, 2))
    view = make_view(qtbot, AttentionView, state)
    full = captured_result(state, every_block=True)
    captured = {key: Captured(attention=value) for key, value in full.all_attention.items()}
    view.set_rollout(True)
    view.update_result(RichResult(request_id=2, state=state, attention=full.attention,
                                  record_meta=full.record_meta, captured=captured))
    assert view.rollout_status() == ""
    expected = attention_rollout(model_config(state), 64, 64,
                                 [full.all_attention[key] for key in [(0, 0), (0, 1), (1, 0)]], 2, 1, 2, 2)
    np.testing.assert_allclose(view.rollout_weights(), expected)
    del captured[(0, 1)]
    view.update_result(RichResult(request_id=3, state=state, attention=full.attention,
                                  record_meta=full.record_meta, captured=captured))
    assert view.rollout_status() == ROLLOUT_NEEDS_BLOCKS


def test_a_checkpoint_result_has_no_random_badge(qtbot):
    config = preset("swin-t", img_size=64)
    state = ExplorerState(img_size=64, stage=0, block=1, checkpoint_path="/tmp/x.pth",
                          checkpoint_config=config)
    view = make_view(qtbot, AttentionView, state)
    view.update_result(captured_result(state, every_block=False))
    assert view.is_showing_result()
    assert RANDOM_WEIGHTS_BADGE not in view.panel.title.plain_text()


# --- export ------------------------------------------------------------------------------------


@pytest.mark.parametrize("theme", ["screen", "slide"])
def test_new_figures_build_offscreen_for_export(qtbot, theme):
    state = ExplorerState(img_size=112, stage=1, block=1, query=(5, 5))
    views = build_figures(state, prepared_for(112), None, theme=theme,
                          names=("relative-position", "receptive-field"))
    assert set(views) == {"relative-position", "receptive-field"}
    for name, view in views.items():
        qtbot.addWidget(view)
        assert view.figure_name == name
        assert view.caption().startswith("Swin-T")
        scene = view.render_target().scene()
        assert scene.itemsBoundingRect().width() > 0


def test_a_model_run_carries_the_tables_the_view_draws(qtbot):
    from explorer.inference import ModelCache, run_inference
    from explorer.state import InferenceRequest

    state = ExplorerState(img_size=64, stage=1, block=1, query=(3, 3))
    cache = ModelCache()
    pixels = np.zeros((3, 64, 64), dtype=np.float32)
    result = run_inference(InferenceRequest(request_id=1, state=state, pixels=pixels, capture=(1, 1)), cache)
    assert result.error is None and result.trained_window is None
    model_table = cache.model_for(state).layers[1].blocks[1].attn.relative_position_bias_table
    view = make_view(qtbot, RelativePositionView, state)
    view.update_result(result)
    assert view.has_values()
    np.testing.assert_array_equal(view.table_values(), model_table.detach().numpy())
