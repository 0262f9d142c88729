"""The lecture's figures (ViT against Swin, the architecture, the block pair) draw what
swin_model.windows and count_macs compute (pytest-qt, offscreen): every check reads the
drawn text and boxes back, and the expected values come from the geometry and cost
functions or from the lecture's formulas written out term by term."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import itertools
import re
from dataclasses import dataclass

import numpy as np
import pytest
from PySide6 import QtCore

from explorer.export.offscreen import prepare_offscreen
from explorer.figures import FIGURE_NAMES, build_figures, figure, tab_figures
from explorer.state import ExplorerState, model_config
from explorer.views.architecture import ArchitectureView
from explorer.views.base import FigureView
from explorer.views.block import BlockView, shape_lines
from explorer.views.lecture_layout import (
    VIT_B16,
    Rect,
    block_cells,
    block_pair,
    merging_slots,
    symbolic_shape,
    vit_grid,
    vit_msa_omega,
)
from explorer.views.vit_vs_swin import VitVsSwinView
from swin_model import preset
from swin_model.flops import count_macs
from swin_model.windows import stage_geometry

LECTURE_FIGURES = ("vit-vs-swin", "architecture", "block")


@dataclass(frozen=True)
class FakePrepared:
    display: np.ndarray
    pixels: np.ndarray


def prepared_for(size: int) -> FakePrepared:
    display = np.random.default_rng(2).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    return FakePrepared(display=display, pixels=np.zeros((3, size, size), dtype=np.float32))


def laid_out(qtbot, view_class: type[FigureView], state: ExplorerState, theme: str = "screen") -> FigureView:
    """A view drawn for ``state`` and laid out offscreen at the export size (as export does)."""
    view = view_class()
    qtbot.addWidget(view)
    view.set_theme(theme)
    view.update_state(state, prepared_for(state.img_size))
    prepare_offscreen(view)
    return view


def geometries_of(state: ExplorerState):
    return stage_geometry(model_config(state), state.img_size, state.img_size)


def report_of(state: ExplorerState):
    return count_macs(model_config(state), state.img_size, state.img_size)


def evaluate(formula: str) -> int:
    """Evaluate "4·196·768² + 2·196²·768" as integer arithmetic."""
    expression = formula.replace("·", "*").replace("²", "**2")
    assert re.fullmatch(r"[0-9*+() ]+", expression), expression
    return int(eval(expression))


UNITS = {"G": 10**9, "M": 10**6, "K": 10**3, "": 1}


def parse_count(text: str) -> tuple[float, int]:
    """("21.68 M" or "Ω = 145.11 M" or "QKV 86.70 M") → (21.68, 10⁶): the last number of
    ``text`` and its unit."""
    match = re.search(r"([0-9]+(?:\.[0-9]+)?)(?: ([GMK]))?$", text)
    assert match, text
    return float(match.group(1)), UNITS[match.group(2) or ""]


def assert_count(text: str, macs: int) -> None:
    """``text`` writes ``macs`` to its two decimals."""
    value, unit = parse_count(text)
    if unit == 1:
        assert value == macs, text
    else:
        assert abs(value * unit - macs) <= 0.005 * unit + 1e-6 * macs, (text, macs)


def view_point(view, x: float, y: float) -> QtCore.QPointF:
    """The scene point of diagram point (x, y)."""
    return view.panel.viewbox.mapViewToScene(QtCore.QPointF(x, y))


def text_rects(view) -> list[tuple[str, QtCore.QRectF]]:
    items = view.diagram.visible_texts()
    return [(item.text(), item.sceneBoundingRect()) for item in items if item.isVisible()]


def overlapping(rects: list[tuple[str, QtCore.QRectF]]) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes overlap by more than half a pixel each way."""
    pairs = []
    for (text_a, a), (text_b, b) in itertools.combinations(rects, 2):
        inner = a.adjusted(0.5, 0.5, -0.5, -0.5)
        if inner.intersects(b.adjusted(0.5, 0.5, -0.5, -0.5)):
            pairs.append((text_a, text_b))
    return pairs


# --- the pure helpers ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [224, 230, 384, 1024])
def test_vit_omega_is_the_lecture_formula_term_by_term(size):
    side = -(-size // 16)
    tokens, channels = side * side, 768
    qkv, proj = 3 * tokens * channels**2, tokens * channels**2
    qk = av = tokens**2 * channels
    assert vit_grid(size) == (side, side)
    assert vit_msa_omega(size) == qkv + qk + av + proj
    assert (VIT_B16.patch_size, VIT_B16.embed_dim, VIT_B16.depth) == (16, 768, 12)


def test_vit_omega_equals_count_macs_msa_omega_where_the_shapes_coincide():
    """Ω(MSA) of a ViT whose grid and channels equal a Swin stage's is that stage's msa_omega."""
    stages = count_macs(preset("swin-t"), 224, 224).stages
    assert vit_msa_omega(112, patch_size=16, channels=768) == stages[3].msa_omega  # 7×7×768
    assert vit_msa_omega(224, patch_size=32, channels=768) == stages[3].msa_omega
    assert vit_msa_omega(224, patch_size=16, channels=384) == stages[2].msa_omega  # 14×14×384
    assert vit_msa_omega(224, patch_size=4, channels=96) == stages[0].msa_omega  # 56×56×96
    odd = count_macs(preset("swin-t"), 230, 230).stages
    assert vit_msa_omega(230, patch_size=4, channels=96) == odd[0].msa_omega  # 58×58, padded alike


def test_layout_helpers():
    assert [symbolic_shape(stage) for stage in range(4)] == ["H/4×W/4×C", "H/8×W/8×2C", "H/16×W/16×4C",
                                                             "H/32×W/32×8C"]
    assert block_pair(0, 2) == block_pair(1, 2) == (0, 1)
    assert block_pair(4, 6) == (4, 5)
    assert block_pair(2, 3) == (2,)
    assert block_cells(5) == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)]
    paper = merging_slots(4, "paper")
    code = merging_slots(4, "code")
    assert [(slot.after, slot.shown_in, slot.position) for slot in paper] == [
        (0, 1, "start"), (1, 2, "start"), (2, 3, "start")]
    assert [(slot.after, slot.shown_in, slot.position) for slot in code] == [
        (0, 0, "end"), (1, 1, "end"), (2, 2, "end")]
    with pytest.raises(ValueError, match="split"):
        merging_slots(4, "poster")  # type: ignore[arg-type]
    assert Rect(0, 0, 2, 2).overlaps(Rect(1, 1, 2, 2))
    assert not Rect(0, 0, 2, 2).overlaps(Rect(2, 0, 2, 2))
    assert shape_lines(3136, 96, lambda text: len(text) * 0.6) == ("3136×96",)
    assert shape_lines(65536, 192, lambda text: len(text) * 0.6) == ("65536", "×192")


# --- the registry ------------------------------------------------------------------------------


def test_lecture_figures_are_registered_in_teaching_order():
    names = list(FIGURE_NAMES)
    assert names.index("vit-vs-swin") < names.index("architecture") < names.index("patches")
    assert names.index("windows") < names.index("block")
    tabs = [spec.name for spec in tab_figures()]
    assert tabs[:2] == ["vit-vs-swin", "architecture"]
    for name in LECTURE_FIGURES:
        spec = figure(name)
        assert spec.place == "tab" and not spec.needs_model
        assert spec.view_class().explanation


def test_build_figures_draws_the_lecture_figures_without_a_photo(qtbot):
    views = build_figures(ExplorerState(img_size=112, stage=1, block=1), None, names=LECTURE_FIGURES,
                          theme="slide")
    assert tuple(views) == LECTURE_FIGURES
    for name, view in views.items():
        qtbot.addWidget(view)
        assert view.figure_name == name
        caption = view.caption()
        assert "Swin-T" in caption and "input 112×112" in caption and "stage 2/4" in caption
        assert len(view.diagram.visible_texts()) > 10


# --- ViT against Swin ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "size", "window", "stage"),
    [("swin-t", 224, 7, 0), ("swin-b", 384, 12, 2), ("swin-t", 230, 7, 1), ("swin-s", 1024, 7, 3)],
)
def test_vit_vs_swin_numbers_follow_the_formulas_and_count_macs(qtbot, model, size, window, stage):
    state = ExplorerState(model_name=model, img_size=size, window_size=window, stage=stage)
    view = laid_out(qtbot, VitVsSwinView, state)
    report = report_of(state)
    geometries = geometries_of(state)
    # ViT: h×w the 16-px grid, C = 768, the formula written out and its value
    side = -(-size // 16)
    tokens = side * side
    formula, value = view.drawn_text(("vit-omega",)).removesuffix(" per layer").split(" = ")
    assert evaluate(formula) == int(value.replace(",", "")) == 4 * tokens * 768**2 + 2 * tokens**2 * 768
    assert f"h×w = {side}×{side}, C = 768" in view.drawn_text(("vit-formula",))
    assert_count(view.drawn_text(("vit-total",)).removesuffix(" MACs"), 12 * vit_msa_omega(size))
    for group in range(4):
        assert view.drawn_text(("vit-shape", group)) == f"{side}×{side}×768"
        assert_count(view.drawn_text(("vit-omega-map", group)), vit_msa_omega(size))
    # Swin: per stage its real shape, windows and Ω(W-MSA) = count_macs' wmsa_omega
    for geometry, cost in zip(geometries, report.stages, strict=True):
        s = geometry.stage
        assert view.drawn_text(("swin-shape", s)) == f"{geometry.height}×{geometry.width}×{geometry.channels}"
        rows = geometry.padded_height // geometry.window_size
        cols = geometry.padded_width // geometry.window_size
        assert view.drawn_text(("swin-windows", s)) == f"{rows}×{cols} windows"
        assert view.drawn_text(("swin-shift", s)).startswith(f"M = {geometry.window_size}, ")
        assert_count(view.drawn_text(("swin-omega", s)), cost.wmsa_omega)
    selected = report.stages[stage]
    formula, value = view.drawn_text(("swin-formula",)).split(" = ")
    assert evaluate(formula) == int(value.replace(",", "")) == selected.wmsa_omega
    h, w = selected.padded_height, selected.padded_width
    c, m = selected.channels, selected.window_size
    assert selected.wmsa_omega == 4 * h * w * c**2 + 2 * m**2 * h * w * c
    assert_count(view.drawn_text(("swin-total",)).removesuffix(" MACs"),
                 sum(s.depth * s.wmsa_omega for s in report.stages))
    # the curves: the current size marked on both, ViT's curve the formula at every size
    data = view.curve_data()
    x, y = data["current"]
    assert x[0] == x[1] == size**2
    assert y[0] == pytest.approx(12 * vit_msa_omega(size) / 1e9)
    assert y[1] == pytest.approx(sum(s.depth * s.wmsa_omega for s in report.stages) / 1e9)
    vit_x, vit_y = data["vit"]
    sides = np.sqrt(vit_x).round().astype(int)
    assert vit_y == pytest.approx([12 * vit_msa_omega(int(s)) / 1e9 for s in sides])
    swin_x, swin_y = data["swin"]
    check = int(np.sqrt(swin_x[-1]).round())
    curve_report = count_macs(model_config(state).replace(img_size=224), check, check)
    assert swin_y[-1] == pytest.approx(sum(s.depth * s.wmsa_omega for s in curve_report.stages) / 1e9)


@pytest.mark.parametrize("size", [224, 230])
def test_vit_vs_swin_stage_maps_are_drawn_to_one_scale(qtbot, size):
    state = ExplorerState(img_size=size)
    view = laid_out(qtbot, VitVsSwinView, state)
    geometries = geometries_of(state)
    pixel = view.map_rect(("swin-map", 0)).width / (geometries[0].width * geometries[0].stride)
    for geometry in geometries:
        real = view.map_rect(("swin-map", geometry.stage))
        padded = view.map_rect(("swin-padded", geometry.stage))
        assert real.width == pytest.approx(geometry.width * geometry.stride * pixel)
        assert padded.height == pytest.approx(geometry.padded_height * geometry.stride * pixel)
        assert (padded.width > real.width) == (geometry.padded_width > geometry.width)
    vit_maps = [view.map_rect(("vit-map", group)) for group in range(4)]
    assert len({(rect.width, rect.height) for rect in vit_maps}) == 1  # one resolution in every layer
    padding_drawn = not view.padding_fill.path().isEmpty()
    assert padding_drawn == (size == 230)


# --- the architecture ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [224, 230])
@pytest.mark.parametrize("split", ["paper", "code"])
def test_architecture_labels_are_the_stage_geometry(qtbot, size, split):
    state = ExplorerState(img_size=size, stage=1, block=0)
    view = ArchitectureView()
    qtbot.addWidget(view)
    view.set_split(split)
    view.update_state(state, prepared_for(size))
    prepare_offscreen(view)
    assert view.split() == split
    geometries = geometries_of(state)
    for geometry in geometries:
        s = geometry.stage
        assert view.drawn_text(("shape", s)) == f"{geometry.height}×{geometry.width}×{geometry.channels}"
        assert view.drawn_text(("symbolic", s)) == symbolic_shape(s)
        assert view.drawn_text(("blocks", s)) == f"×{geometry.depth} blocks"
        assert view.drawn_text(("heads", s)) == f"{geometry.num_heads} heads"
        assert view.drawn_text(("window", s)).startswith(f"M = {geometry.window_size}")
        assert view.drawn_text(("shift", s)) == f"shift {geometry.shift_size}"
        rows = geometry.padded_height // geometry.window_size
        assert view.drawn_text(("windows", s)) == f"{rows}×{rows} windows"
        padded = geometry.padded_height != geometry.height
        assert view.drawn_text(("pad", s)) == (
            f"pad → {geometry.padded_height}×{geometry.padded_width}" if padded else "")
        names = [view.drawn_text(("block", s, block)) for block in range(geometry.depth)]
        assert names == ["SW-MSA" if block % 2 and geometry.shift_size else "W-MSA"
                         for block in range(geometry.depth)]
        assert view.box_rect(("block", s, geometry.depth)) is None
    first = geometries[0]
    assert view.drawn_text(("shape", "partition")) == f"{first.height}×{first.width}×48"
    assert view.drawn_text(("shape", "image")) == f"{size}×{size}×3"
    if size == 224:  # the lecture's example: stage 4 is 7×7, one window, no shift
        assert view.drawn_text(("window", 3)) == "M = 7"
        assert view.drawn_text(("shift", 3)) == "shift 0"
        assert view.drawn_text(("pad", "image")) == ""
    else:  # 230 = 57.5 patches: the image is padded to 232, every stage to a multiple of 7
        assert view.drawn_text(("pad-to", "image")) == "to 232×232"
        assert [view.drawn_text(("pad", s)) for s in range(4)] == [
            "pad → 63×63", "pad → 35×35", "pad → 21×21", "pad → 14×14"]


def test_architecture_switch_moves_patch_merging(qtbot):
    view = laid_out(qtbot, ArchitectureView, ExplorerState(img_size=224))
    assert view.split() == "paper"

    def places() -> list[tuple[int, str]]:
        """Per merging: the stage column holding it, and whether it is above or below the blocks."""
        found = []
        for after in range(3):
            rect = view.box_rect(("merging", after))
            x, y = rect.centre
            stage = next(s for s in range(4) if view.box_rect(("column", s)).contains(x, y))
            first_block = view.box_rect(("block", stage, 0))
            found.append((stage, "start" if y < first_block.y else "end"))
        return found

    paper = places()
    paper_rects = [view.box_rect(("merging", after)) for after in range(3)]
    view.split_check.setChecked(True)  # the switch, as the user ticks it
    assert view.split() == "code"
    code = places()
    assert paper == [(1, "start"), (2, "start"), (3, "start")]
    assert code == [(0, "end"), (1, "end"), (2, "end")]
    assert all(view.box_rect(("merging", after)) != paper_rects[after] for after in range(3))
    # the embedding leaves stage 1 for patch_embed in the code's split
    embedding = view.box_rect(("embedding",))
    frame = view.box_rect(("frame", 0))
    assert not frame.contains(*embedding.centre)
    assert view.box_rect(("patch_embed",)).contains(*embedding.centre)
    view.set_split("paper")
    assert view.box_rect(("frame", 0)).contains(*view.box_rect(("embedding",)).centre)
    assert view.box_rect(("patch_embed",)) is None
    assert "paper's split" in view.caption()


def test_architecture_highlights_the_selection_and_clicks_emit_intents(qtbot):
    view = laid_out(qtbot, ArchitectureView, ExplorerState(img_size=224, stage=2, block=3))
    assert set(view.highlighted()) == {("block", 2, 3), ("frame", 2)}
    target = view.box_rect(("block", 1, 1))
    with qtbot.waitSignal(view.blockPicked, timeout=1000) as blocker:
        view._clicked(view_point(view, *target.centre))
    assert blocker.args == [1, 1]
    title = view.diagram.texts_by_key[("title", 3)]
    with qtbot.waitSignal(view.stagePicked, timeout=1000) as blocker:
        view._clicked(title.sceneBoundingRect().center())
    assert blocker.args == [3]
    merging = view.box_rect(("merging", 0))  # paper: starts stage 2
    with qtbot.waitSignal(view.stagePicked, timeout=1000) as blocker:
        view._clicked(view_point(view, *merging.centre))
    assert blocker.args == [1]
    with qtbot.assertNotEmitted(view.stagePicked), qtbot.assertNotEmitted(view.blockPicked):
        partition = view.box_rect(("partition",))
        view._clicked(view_point(view, *partition.centre))
    assert "stage 2, block 2" in view._hover_text(view_point(view, *target.centre))


def test_architecture_draws_every_block_of_a_deep_stage(qtbot):
    state = ExplorerState(model_name="swin-l", img_size=384, window_size=12, stage=2, block=17)
    view = laid_out(qtbot, ArchitectureView, state)
    blocks = [view.box_rect(("block", 2, block)) for block in range(18)]
    assert all(rect is not None for rect in blocks)
    assert {round(rect.x) for rect in blocks[0::2]} != {round(rect.x) for rect in blocks[1::2]}
    assert set(view.highlighted()) == {("block", 2, 17), ("frame", 2)}
    assert view.drawn_text(("window", 3)) == "M = 12"  # 12×12 at 384: no shrink, no shift
    assert view.drawn_text(("shift", 3)) == "shift 0"


# --- the block pair -------------------------------------------------------------------------------

PART_PREFIXES = {"qkv": "QKV ", "qk": "QKᵀ ", "av": "softmax·V ", "proj": "proj "}


@pytest.mark.parametrize(
    ("model", "size", "stage", "block"),
    [("swin-t", 224, 0, 1), ("swin-t", 230, 1, 0), ("swin-t", 224, 3, 1), ("swin-b", 1024, 2, 5)],
)
def test_block_view_part_costs_equal_count_macs(qtbot, model, size, stage, block):
    state = ExplorerState(model_name=model, img_size=size, stage=stage, block=block)
    view = laid_out(qtbot, BlockView, state)
    geometry = geometries_of(state)[stage]
    costs = report_of(state).stages[stage].blocks
    pair = block_pair(block, geometry.depth)
    assert view.drawn_pair() == pair
    for shown in pair:
        parts = costs[shown].parts
        assert set(parts) == {"norm1", "qkv", "qk", "av", "proj", "norm2", "mlp"}
        for part, macs in parts.items():
            text = view.drawn_text(("cost", shown, part))
            assert text, part
            if part in PART_PREFIXES:
                assert text.startswith(PART_PREFIXES[part])
            assert_count(text, macs)
        assert_count(view.drawn_text(("cost", shown, "attention")), costs[shown].attention)
        tokens, channels = geometry.height * geometry.width, geometry.channels
        assert view.shape_labels(shown) == [f"{tokens}×{channels}"] * 7
        windows = (geometry.padded_height // geometry.window_size) * (
            geometry.padded_width // geometry.window_size)
        assert view.drawn_text(("windows", shown)) == (
            f"windows: {windows} × {geometry.window_size**2} × {channels}")
        assert view.drawn_text(("heads", shown)) == (
            f"{geometry.num_heads} heads of d = {channels // geometry.num_heads}")
        shift = geometry.shift_size if shown % 2 else 0
        title = view.drawn_text(("title", shown))
        if shift:
            assert title == f"Block {shown + 1}: SW-MSA (shift {shift})"
            assert view.drawn_text(("roll", shown)) == f"roll by −{shift}, mask"
        else:
            assert title == f"Block {shown + 1}: W-MSA (no shift)"
    if (size, stage) == (224, 3):  # 7×7 ≤ M: the second block of the pair does not shift
        assert view.drawn_text(("roll", 1)) == "no shift: map ≤ M"


def test_block_view_click_on_attention_picks_that_block(qtbot):
    view = laid_out(qtbot, BlockView, ExplorerState(img_size=224, stage=2, block=2))
    assert view.drawn_pair() == (2, 3)
    assert view.diagram.boxes_by_key[("attention", 2, 2)].pen().widthF() > \
        view.diagram.boxes_by_key[("attention", 2, 3)].pen().widthF()
    for block in (2, 3):
        rect = view.box_rect(("attention", 2, block))
        with qtbot.waitSignal(view.blockPicked, timeout=1000) as blocker:
            view._clicked(view_point(view, *rect.centre))
        assert blocker.args == [2, block]
    with qtbot.assertNotEmitted(view.blockPicked):
        view._clicked(view_point(view, *view.box_rect(("mlp", 3)).centre))
    hover = view._hover_text(view_point(view, *view.box_rect(("attention", 2, 3)).centre))
    parts = report_of(ExplorerState(img_size=224)).stages[2].blocks[3].parts
    assert f"QKV {parts['qkv']:,}" in hover


# --- readable: no text over text, text inside its box -----------------------------------------------


STATES = {
    "vit-vs-swin": [ExplorerState(img_size=224, stage=1), ExplorerState(model_name="swin-l", img_size=1024)],
    "architecture": [ExplorerState(img_size=224, stage=1, block=1),
                     ExplorerState(model_name="swin-l", img_size=1024, stage=2, block=5)],
    "block": [ExplorerState(img_size=224, stage=0, block=1),
              ExplorerState(model_name="swin-l", img_size=1024, stage=0, block=0),
              ExplorerState(model_name="swin-l", img_size=1024, stage=3, block=1)],
}


@pytest.mark.parametrize("theme", ["screen", "slide"])
@pytest.mark.parametrize("name", LECTURE_FIGURES)
def test_lecture_figure_texts_do_not_overlap(qtbot, name, theme):
    for state in STATES[name]:
        splits = ("paper", "code") if name == "architecture" else (None,)
        for split in splits:
            view = figure(name).create()
            qtbot.addWidget(view)
            view.set_theme(theme)
            if split is not None:
                view.set_split(split)
            view.update_state(state, prepared_for(state.img_size))
            prepare_offscreen(view)
            rects = text_rects(view)
            assert len(rects) > 20
            assert overlapping(rects) == [], (state, split)
            shown = view.render_target().mapToScene(view.render_target().viewport().rect()).boundingRect()
            assert all(shown.contains(rect) for _, rect in rects), (state, split)  # nothing clipped
            if name != "vit-vs-swin":
                _assert_box_texts_fit(view)
            view.close()


def _assert_box_texts_fit(view) -> None:
    """Every line written in a box lies inside that box."""
    boxes = {key: item for key, item in view.diagram.boxes_by_key.items() if item.isVisible()}
    for key, text in view.diagram.texts_by_key.items():
        if not text.isVisible():
            continue
        owner = None
        if key[0] == "cost" and key[2] in ("qkv", "qk", "av", "proj", "attention"):
            owner = next(k for k in boxes if k[0] == "attention" and k[2] == key[1])
        elif key[0] == "cost":
            owner = (key[2], key[1])
        elif key[0] in ("merging", "partition", "embedding") and len(key) >= 2:
            owner = key[:-1]
        elif key[0] == "block" and len(key) == 3:
            owner = key
        if owner is None or owner not in boxes:
            continue
        assert boxes[owner].sceneBoundingRect().contains(text.sceneBoundingRect()), (key, text.text())
