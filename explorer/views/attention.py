"""Figure "attention": the real model's attention of one query token, mapped back to pixels."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.palette import MASK_COLORS, REGION_COLORS, region_text_color
from explorer.state import InferenceResult
from swin_model.rollout import attention_rollout, block_order
from swin_model.windows import MASK_VALUE, locate_token

from .base import FigureView, PhotoLayer, result_matches
from .cells import cell_at, cell_rects, label_rectangles, rect_centres, value_rects
from .density import VECTOR_CELL_LIMIT, block_mean, detail_is_stale, downsample_factor
from .geometry_cache import cached_mask, cached_slot_regions, cached_token_positions
from .heat import LevelCells, sequential_levels
from .items import (
    ColorCells,
    FieldImage,
    Label,
    Panel,
    boundary_path,
    cells_in_path,
    grid_path,
    make_path_item,
    rect_path,
    rgb,
)
from .text_pool import TextPool

__all__ = ["ATTENTION_COLOR", "HINT", "RANDOM_WEIGHTS_BADGE", "ROLLOUT_NEEDS_BLOCKS", "AttentionView"]

ATTENTION_COLOR = "#FFD000"
MAX_ALPHA = 230
MASKED_ALPHA = 200
"""Opacity of the dark "masked" fill over keys that the mask gives −100."""
WAITING_TEXT = "waiting for the model…"
ROLLOUT_NEEDS_BLOCKS = "rollout needs every block: run with rollout on"
RANDOM_WEIGHTS_BADGE = "random weights: the map shows the mechanism, its pattern carries no meaning"
ROLLOUT_LEVELS = 24
"""Opacity levels of the rollout map (level 0, no weight, is not drawn)."""
HINT = "Click the image to pick another query."
"""Shown under the figure on screen only (in the hover line), never in an export."""


def _attention_rgba(weights: np.ndarray) -> np.ndarray:
    """(K, 4) uint8: the weight fill of each of the (K,) ``weights``, opacity ∝ weight / max."""
    weights = np.asarray(weights, dtype=np.float64)
    peak = float(weights.max()) if weights.size and weights.max() > 0 else 1.0
    rgba = np.empty((len(weights), 4), dtype=np.uint8)
    rgba[:, :3] = rgb(ATTENTION_COLOR)
    rgba[:, 3] = np.rint(MAX_ALPHA * weights / peak).astype(np.uint8)
    return rgba


@lru_cache(maxsize=MAX_ALPHA + 1)
def _attention_brush(alpha: int) -> QtGui.QBrush:
    """The weight fill at opacity ``alpha`` (shared: a redraw sets up to 2·M² of them)."""
    return FigureView.brush(ATTENTION_COLOR, alpha=alpha)


class AttentionView(FigureView):
    """Attention weights of the query token over the keys of its window, for the selected
    stage, block and head, from the last model run.

    Left, over the photo: window slots are mapped back to the tokens they came from through
    the reverse roll (:func:`swin_model.windows.window_token_positions`) and drawn as
    translucent rects, one per key token, opacity proportional to weight / max weight. In a
    shifted block the window's tokens can sit in several corners of the map. Right: the same
    window as the block computes it, after the roll: M×M slots, the regions it holds (dashed
    borders, official numbers). Keys that the mask blocks for this query (−100: another
    region) are filled with the mask view's dark grey in both panels: their weight is ≈ 0.
    A result whose model, input size, stage or block differ from the state is not drawn.
    The query is framed in exports too (the figure is about it; the caption names it).

    With "Rollout" checked (``rolloutCheck``), the photo shows instead the attention
    rollout of the query through every block up to the selected one
    (:func:`swin_model.rollout.attention_rollout`) on the 4×4 patches; it needs the attention
    of every block up to it: the result's ``all_attention`` ({(stage, block) 0-based:
    (num_windows, heads, N, N)}) or else its ``captured`` blocks' ``attention``. Without
    trained weights the title carries a badge saying the maps carry no meaning.
    """

    rolloutRequested = QtCore.Signal(bool)
    """The user switched the rollout on or off: runs must capture every block (on) or may
    capture the selected block only (off)."""

    explanation = (
        "Attention map: how much the query token (white) attends to each token of its "
        "window in the real model, for the selected head; dark grey keys are masked."
    )

    def _build(self) -> None:
        self.panel = Panel(self.body, 0, 0)
        self.photo = PhotoLayer(self.panel)
        viewbox = self.panel.viewbox
        self.key_cells = ColorCells()
        self.key_cells.setZValue(9)
        self.key_cells.setToolTip("The query's weight on each key of its window: opacity ∝ weight / max.")
        viewbox.addItem(self.key_cells, ignoreBounds=True)
        self.masked_tokens = make_path_item(viewbox, z=10, crisp=True)
        self.masked_tokens.setToolTip("Keys from another region: the mask adds −100, weight ≈ 0.")
        self.window_outline = make_path_item(viewbox, z=14)
        self.window_outline.setToolTip("The query's window (its tokens, mapped back through the roll).")
        self.region_lines = make_path_item(viewbox, z=15)
        self.region_lines.setToolTip("Borders between the shift regions inside the window.")
        self.query_item = QtWidgets.QGraphicsRectItem()
        self.query_item.setZValue(20)
        self.query_item.setToolTip("The query token.")
        viewbox.addItem(self.query_item, ignoreBounds=True)
        self.status = Label()
        self.status.setZValue(40)
        viewbox.addItem(self.status, ignoreBounds=True)

        self.window_panel = Panel(self.body, 0, 1, with_image=False)
        self.body.layout.setColumnStretchFactor(0, 4)
        self.body.layout.setColumnStretchFactor(1, 3)
        slots = self.window_panel.viewbox
        self.slot_cells = ColorCells()
        self.slot_cells.setZValue(6)
        slots.addItem(self.slot_cells, ignoreBounds=True)
        self.slot_masked = make_path_item(slots, z=7, crisp=True)
        self.slot_masked.setToolTip("Slots the mask blocks for this query (−100): weight ≈ 0.")
        self.slot_grid = make_path_item(slots, z=8, crisp=True)
        self.slot_regions = make_path_item(slots, z=9)
        self.slot_regions.setToolTip("Borders between the shift regions in the window.")
        self.slot_outline = make_path_item(slots, z=9)
        self.slot_query = QtWidgets.QGraphicsRectItem()
        self.slot_query.setZValue(20)
        slots.addItem(self.slot_query, ignoreBounds=True)
        self.slot_labels = TextPool(slots)
        self._shown: dict[tuple[int, int], float] = {}
        self._slot_shown = np.zeros(0)
        self._masked_row = np.zeros(0, dtype=bool)
        self._status_text = WAITING_TEXT
        self._summary = ""
        self._window_key: tuple[object, ...] | None = None

        self.rollout_check = QtWidgets.QCheckBox("Rollout through every block")
        self.rollout_check.setObjectName("rolloutCheck")
        self.rollout_check.setToolTip(
            "Attention rollout: multiply the head-averaged attention of every block up to the "
            "selected one, each mixed half-and-half with the identity (the residual), mapped back "
            "through every roll and merge to the image's patches."
        )
        self.controls.addWidget(self.rollout_check)
        self.controls.addStretch(1)
        self.rollout_cells = LevelCells(viewbox, ROLLOUT_LEVELS, z=9)
        self.rollout_field = FieldImage()
        self.rollout_field.setZValue(9)
        self.rollout_field.setVisible(False)
        viewbox.addItem(self.rollout_field, ignoreBounds=True)
        self._rollout_scale = 0.0
        viewbox.sigTransformChanged.connect(self._transform_changed)
        self._rollout: np.ndarray | None = None
        self._rollout_key: tuple[object, ...] | None = None
        self._rollout_status = ""
        self.rollout_check.toggled.connect(self._rollout_toggled)

    # --- data ---------------------------------------------------------------------------

    def is_showing_result(self) -> bool:
        return bool(self._shown)

    def status_text(self) -> str:
        """ "" while a result is drawn; otherwise why not (waiting, stale, error)."""
        return "" if self._shown else self._status_text

    def rollout_enabled(self) -> bool:
        return self.rollout_check.isChecked()

    def set_rollout(self, enabled: bool) -> None:
        """Check or uncheck "Rollout" (emits rolloutRequested when it changes)."""
        self.rollout_check.setChecked(enabled)

    def view_options(self) -> dict[str, str]:
        return {"rollout": "on" if self.rollout_enabled() else "off"}

    def set_view_option(self, name: str, value: str) -> None:
        if name != "rollout" or value not in ("on", "off"):
            raise ValueError(f"the {self.figure_name} figure takes rollout=on or rollout=off, "
                             f"not {name}={value}")
        self.set_rollout(value == "on")

    def rollout_weights(self) -> np.ndarray | None:
        """(h1, w1) rollout over the stage-1 patches as computed, None when not shown."""
        return None if self._rollout is None else self._rollout.copy()

    def rollout_status(self) -> str:
        """ "" while the rollout is drawn (or off); otherwise why it is not."""
        return self._rollout_status

    @property
    def token_rects(self) -> list[ColorCells]:
        """The items that draw the key weights on the photo (one :class:`ColorCells`)."""
        return [self.key_cells]

    def drawn_rollout_levels(self) -> np.ndarray:
        """(h1, w1) opacity level of each patch as drawn (-1: nothing drawn); read from the
        level paths, or from the image's opacities when the rollout is painted as one."""
        if not self.rollout_field.isVisible() or self._rollout is None:
            return self.rollout_cells.drawn_levels()
        alphas = self.rollout_field.pixels_alpha()
        factor = round(self.rollout_field.cell_size() / self.context.config.patch_size) if self.context else 1
        rows, cols = self._rollout.shape
        alphas = alphas[np.arange(rows)[:, None] // factor, np.arange(cols)[None, :] // factor]
        by_alpha = {round(MAX_ALPHA * level / (ROLLOUT_LEVELS - 1)): level
                    for level in range(1, ROLLOUT_LEVELS)}
        return np.vectorize(lambda alpha: by_alpha.get(int(alpha), -1), otypes=[np.int64])(alphas)

    def rollout_is_image(self) -> bool:
        """Whether the rollout is painted as one image (more patches than vector cells)."""
        return self.rollout_field.isVisible()

    def drawn_token_weights(self) -> dict[tuple[int, int], float]:
        """{(row, col) of a token of the padded grid: weight} for every key cell drawn,
        read back from the painted cells (position / stride) and the weights kept with them."""
        assert self.context is not None
        stride = self.context.geometry.stride
        if not self.key_cells.isVisible():
            return {}
        rects, _, values = self.key_cells.cells()
        return {(round(y / stride), round(x / stride)): float(value)
                for (x, y, _, _), value in zip(rects.tolist(), values.tolist(), strict=True)}

    def drawn_key_alphas(self) -> dict[tuple[int, int], int]:
        """{(row, col): opacity 0-255} of every key cell as painted."""
        assert self.context is not None
        stride = self.context.geometry.stride
        rects, rgba, _ = self.key_cells.cells()
        return {(round(y / stride), round(x / stride)): int(alpha)
                for (x, y, _, _), alpha in zip(rects.tolist(), rgba[:, 3].tolist(), strict=True)}

    def drawn_slot_weights(self) -> np.ndarray:
        """(M²,) weight of each slot of the window panel as drawn (empty before a result)."""
        return self._slot_shown.copy()

    def drawn_masked_slots(self) -> np.ndarray:
        """(M²,) bool: the slots the window panel fills as masked, read from the path."""
        if self.context is None:
            return np.zeros(0, dtype=bool)
        size = self.context.geometry.window_size
        if not self.slot_masked.isVisible():
            return np.zeros(size * size, dtype=bool)
        return cells_in_path(self.slot_masked.path(), size, size, 1.0).reshape(-1)

    def drawn_masked_tokens(self) -> set[tuple[int, int]]:
        """(row, col) of the padded grid that the photo panel fills as masked."""
        if self.context is None or not self.masked_tokens.isVisible():
            return set()
        geometry = self.context.geometry
        inside = cells_in_path(
            self.masked_tokens.path(), geometry.padded_height, geometry.padded_width, geometry.stride
        )
        return {(int(row), int(col)) for row, col in zip(*np.nonzero(inside), strict=True)}

    def brightest_rect(self) -> QtCore.QRectF | None:
        """The pixel rect of the most opaque key token drawn."""
        rects, rgba, _ = self.key_cells.cells()
        if not self.key_cells.isVisible() or len(rects) == 0:
            return None
        return QtCore.QRectF(*rects[int(np.argmax(rgba[:, 3]))].tolist())

    # --- level of detail ----------------------------------------------------------------

    def _transform_changed(self, *_: object) -> None:
        """Resizing or zooming: redraw (soon) when the rollout image needs another detail."""
        if (not self._disposed and self.context is not None and self.rollout_field.isVisible()
                and detail_is_stale(self._rollout_scale, self.panel.pixels_per_unit())):
            self.redraw_soon()

    # --- drawing ------------------------------------------------------------------------

    def _result_changed(self) -> None:
        self._redraw()

    def _usable_result(self) -> tuple[InferenceResult | None, str]:
        context = self.context
        assert context is not None
        result = self.result
        if result is None:
            return None, WAITING_TEXT
        if result.error:
            return None, f"the model run failed: {result.error}"
        if not result_matches(result, context.state) or result.attention is None:
            return None, WAITING_TEXT
        geometry = context.geometry
        meta = result.record_meta
        if meta is not None and (meta.window_size, meta.shift_size, meta.padded_size) != (
            geometry.window_size, context.shift, (geometry.padded_height, geometry.padded_width)
        ):
            return None, "the model's windows differ from the geometry shown"
        if result.attention.shape[0] != geometry.num_windows or context.head >= result.attention.shape[1]:
            return None, WAITING_TEXT
        return result, ""

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        geometry = context.geometry
        stride, window_size, shift = geometry.stride, geometry.window_size, context.shift
        rows, cols = geometry.padded_height, geometry.padded_width
        self.photo.draw(self, rows * stride, cols * stride)
        self.panel.set_extent(0, 0, cols * stride, rows * stride)
        query_row, query_col = context.query
        window, slot = locate_token(query_row, query_col, rows, cols, window_size, shift)
        positions = cached_token_positions(rows, cols, window_size, shift)[window]  # N, 2
        regions = cached_slot_regions(rows, cols, window_size, shift)[window]  # N
        self.query_item.setRect(QtCore.QRectF(query_col * stride, query_row * stride, stride, stride))
        self.query_item.setPen(self.pen("#FFFFFF", self.theme.thick_width + 1))
        window_key = (window, rows, cols, window_size, shift, stride, self.theme.name)
        if window_key != self._window_key:
            self._window_key = window_key
            self._draw_window(positions, regions, shift)
            self._draw_slots(regions, shift)
        self.slot_query.setRect(QtCore.QRectF(slot % window_size, slot // window_size, 1, 1))
        self.slot_query.setPen(self.pen(self.theme.accent, self.theme.thick_width + 1))
        result, reason = self._usable_result()
        self._shown = {}
        if result is None:
            self._status_text = reason
            for item in (self.key_cells, self.slot_cells):
                item.setVisible(False)
            self.masked_tokens.setVisible(False)
            self.slot_masked.setVisible(False)
            self._slot_shown = np.zeros(0)
            self._masked_row = np.zeros(0, dtype=bool)
            self.status.configure(
                reason, self.theme.foreground, self.qfont(self.theme.title_size + 2, bold=True), (0.5, 0.5)
            )
            self.status.set_box(self.brush(self.theme.background, alpha=200))
            self.status.setPos(cols * stride / 2, rows * stride / 2)
            self.status.setVisible(True)
            self._summary = ""
        else:
            self.status.setVisible(False)
            attention = result.attention
            assert attention is not None  # _usable_result checked it
            weights = np.asarray(attention[window, context.head, slot], dtype=np.float64)  # N
            self._masked_row = self._mask_row(result, window, slot)
            self._draw_weights(positions, weights, stride)
            self._draw_slot_weights(weights)
            self._draw_masked(positions, stride)
            self._summary = self._weights_summary(weights)
        self._draw_rollout(result is not None)
        if self.rollout_enabled():
            title = (f"attention rollout of query ({query_row}, {query_col}) through "
                     f"{self._rollout_depth()} blocks, heads averaged")
        else:
            title = (f"attention of query ({query_row}, {query_col}) · window {window} · "
                     f"head {context.head + 1}")
        shown = self._rollout is not None or (bool(self._shown) and not self.rollout_enabled())
        if shown and not context.state.checkpoint_path:
            title += (f" <span style='background-color:#6B4A00; color:#FFE3A3'>&nbsp;{RANDOM_WEIGHTS_BADGE}"
                      f"&nbsp;</span>")
        self.style_title(self.panel.title, title)
        self.style_title(
            self.window_panel.title,
            f"window {window} after the roll ({window_size}×{window_size} slots)"
            if shift
            else f"window {window} ({window_size}×{window_size} slots)",
        )
        self.set_note(self._note(window))
        if not self._hover_label.text().strip():
            self._hover_label.setText(HINT)

    # --- rollout ------------------------------------------------------------------------

    def _rollout_toggled(self, enabled: bool) -> None:
        self.rolloutRequested.emit(enabled)
        if self.context is not None:
            self._dirty = True
            if not self._hidden_in_window():
                self.flush()

    def _rollout_depth(self) -> int:
        """How many blocks the rollout goes through (the selected one included)."""
        assert self.context is not None
        return block_order(self.context.config).index((self.context.stage, self.context.block)) + 1

    def _rollout_attention(self) -> tuple[list[np.ndarray] | None, str]:
        """The attention of every block up to the selected one, in forward order, from the
        result's ``all_attention``; None and the reason when it is not there."""
        context = self.context
        assert context is not None
        result = self.result
        if result is None:
            return None, WAITING_TEXT
        if result.error:
            return None, f"the model run failed: {result.error}"
        if not result_matches(result, context.state, with_block=False):
            return None, WAITING_TEXT
        every_block = getattr(result, "all_attention", None)
        if not every_block:
            captured = getattr(result, "captured", None) or {}
            every_block = {key: block.attention for key, block in captured.items()}
        if not every_block:
            return None, ROLLOUT_NEEDS_BLOCKS
        needed = block_order(context.config)[: self._rollout_depth()]
        if any(key not in every_block for key in needed):
            return None, ROLLOUT_NEEDS_BLOCKS
        return [np.asarray(every_block[key]) for key in needed], ""

    def _draw_rollout(self, block_result_shown: bool) -> None:
        """In rollout mode: the rollout on the photo's patches instead of the window weights
        (or the reason it cannot be drawn); otherwise hide it."""
        context = self.context
        assert context is not None
        if not self.rollout_enabled():
            self._rollout, self._rollout_status = None, ""
            self.rollout_cells.set_visible(False)
            self.rollout_field.setVisible(False)
            return
        self.key_cells.setVisible(False)
        self.masked_tokens.setVisible(False)
        attentions, reason = self._rollout_attention()
        if attentions is None:
            self._rollout, self._rollout_status = None, reason
            self.rollout_cells.set_visible(False)
            self.rollout_field.setVisible(False)
            geometry = context.geometry
            self.status.configure(
                reason, self.theme.foreground, self.qfont(self.theme.title_size + 2, bold=True), (0.5, 0.5)
            )
            self.status.set_box(self.brush(self.theme.background, alpha=200))
            self.status.setPos(geometry.padded_width * geometry.stride / 2,
                               geometry.padded_height * geometry.stride / 2)
            self.status.setVisible(True)
            return
        self.status.setVisible(False)
        row, col = context.query
        key = (id(self.result), context.stage, context.block, row, col)
        if key != self._rollout_key or self._rollout is None:
            self._rollout = attention_rollout(context.config, *context.image_shape, attentions,
                                              context.stage + 1, context.block + 1, row, col)
            self._rollout_key = key
        self._rollout_status = ""
        # square root: the query's own patches keep most of the weight (the residual), and a
        # linear scale would hide how far the rest spreads
        levels = sequential_levels(np.sqrt(self._rollout), ROLLOUT_LEVELS)
        levels[levels == 0] = -1
        patch = context.config.patch_size
        if levels.size <= VECTOR_CELL_LIMIT:
            self.rollout_field.setVisible(False)
            self.rollout_cells.set_brushes([_attention_brush(round(MAX_ALPHA * level / (ROLLOUT_LEVELS - 1)))
                                            for level in range(ROLLOUT_LEVELS)])
            self.rollout_cells.set_levels(levels, patch)
            return
        # more patches than vector cells: one translucent image, at the screen's detail
        self.rollout_cells.set_visible(False)
        if detail_is_stale(self._rollout_scale, self.panel.pixels_per_unit()):
            self._rollout_scale = self.panel.pixels_per_unit()
        factor = downsample_factor(patch * self._rollout_scale)
        alphas = np.where(levels > 0, np.rint(MAX_ALPHA * levels / (ROLLOUT_LEVELS - 1)), 0).astype(np.uint8)
        rgba = np.empty((*levels.shape, 4), dtype=np.uint8)
        rgba[..., :3] = rgb(ATTENTION_COLOR)
        rgba[..., 3] = alphas
        self.rollout_field.set_field(block_mean(rgba, factor, (0, 0, 0, 0)), 0.0, 0.0, float(patch * factor),
                                     reduced=factor > 1, smooth=factor * patch * self._rollout_scale < 1)
        self.rollout_field.setVisible(True)

    def _rollout_note(self) -> str:
        context = self.context
        assert context is not None
        depth = self._rollout_depth()
        if self._rollout is None:
            status = self._rollout_status[:1].upper() + self._rollout_status[1:]
            return (f"<b>{status}.</b> The rollout multiplies the attention of all {depth} blocks up to "
                    f"this one; a run records them only while “Rollout” is on.")
        peak = float(self._rollout.max())
        return (
            f"Attention rollout through {depth} blocks: per block the head-averaged attention A, "
            f"mixed with the identity for the residual (0.5·A + 0.5·I, rows renormalised; padded "
            f"tokens carry nothing and are dropped), multiplied block after block and mapped back "
            f"through every roll and 2×2 merge to the {context.config.patch_size}×"
            f"{context.config.patch_size} patches. Yellow opacity ∝ √(weight / max) (max {peak:.4f}). "
            f"Right: the selected block's own window weights."
        )

    def _mask_row(self, result: InferenceResult, window: int, slot: int) -> np.ndarray:
        """(N,) bool: the keys the mask blocks for the query (−100), none in a W-MSA block."""
        assert self.context is not None
        geometry = self.context.geometry
        size = geometry.window_size**2
        if not self.context.shift:
            return np.zeros(size, dtype=bool)
        if result.mask is not None:
            row = np.asarray(result.mask[window, slot])
        else:
            row = cached_mask(
                geometry.padded_height, geometry.padded_width, geometry.window_size, self.context.shift
            )[window, slot]
        return row == MASK_VALUE

    def _draw_window(self, positions: np.ndarray, regions: np.ndarray, shift: int) -> None:
        """The query's window on the photo: its outline and the borders between its regions."""
        assert self.context is not None
        geometry = self.context.geometry
        rows, cols, stride = geometry.padded_height, geometry.padded_width, geometry.stride
        member = np.zeros((rows + 2, cols + 2), dtype=np.int64)
        member[positions[:, 0] + 1, positions[:, 1] + 1] = 1
        self.window_outline.setPath(boundary_path(member, stride, offset=(-stride, -stride)))
        self.window_outline.setPen(self.pen(self.theme.accent, self.theme.thick_width))
        self.region_lines.setVisible(bool(shift))
        if shift:
            region_grid = np.full((rows + 2, cols + 2), -1, dtype=np.int64)
            region_grid[positions[:, 0] + 1, positions[:, 1] + 1] = regions
            borders = boundary_path(region_grid, stride, offset=(-stride, -stride), ignore=-1)
            self.region_lines.setPath(borders)
            self.region_lines.setPen(self.pen(self.theme.accent, self.theme.thick_width, dashed=True))

    def _draw_slots(self, regions: np.ndarray, shift: int) -> None:
        """The window panel's geometry: M×M slots, region borders and numbers."""
        assert self.context is not None
        size = self.context.geometry.window_size
        self.slot_grid.setPath(grid_path(size, size, 1, 1, 1.0))
        self.slot_grid.setPen(self.pen(self.theme.grid, width=1.0, alpha=70))
        self.slot_outline.setPath(grid_path(size, size, size, size, 1.0))
        self.slot_outline.setPen(self.pen(self.theme.accent, self.theme.thick_width))
        region_grid = regions.reshape(size, size)
        self.slot_regions.setVisible(bool(shift))
        self.slot_labels.begin()
        if shift:
            self.slot_regions.setPath(boundary_path(region_grid, 1.0))
            self.slot_regions.setPen(self.pen(self.theme.accent, self.theme.thick_width, dashed=True))
            font = self.qfont(self.theme.small_size, bold=True)
            pieces = label_rectangles(region_grid)
            for region, (x, y) in zip(pieces[:, 4], rect_centres(pieces, 1), strict=True):
                label = self.slot_labels.add(str(region), x, y, region_text_color(region), font)
                label.set_box(self.brush(REGION_COLORS[region]), self.pen("#000000", 1.0))
        self.slot_labels.end()
        self.window_panel.set_extent(-0.25, -0.25, size + 0.5, size + 0.5)

    def _draw_weights(self, positions: np.ndarray, weights: np.ndarray, stride: int) -> None:
        """The query's weight on each key token, at the token's place on the photo: one
        cell per key, opacity ∝ weight / max weight (one item for the whole window)."""
        self.key_cells.set_cells(cell_rects(positions, stride), _attention_rgba(weights), weights)
        self.key_cells.setVisible(True)
        self._shown = {(int(row), int(col)): float(weight)
                       for (row, col), weight in zip(positions.tolist(), weights.tolist(), strict=True)}

    def _draw_slot_weights(self, weights: np.ndarray) -> None:
        """The query's weights on the window panel, one translucent cell per slot."""
        assert self.context is not None
        size = self.context.geometry.window_size
        slots = np.arange(len(weights))
        self.slot_cells.set_cells(cell_rects(np.stack([slots // size, slots % size], axis=1), 1.0),
                                  _attention_rgba(weights), weights)
        self.slot_cells.setVisible(True)
        self._slot_shown = weights.copy()

    def _draw_masked(self, positions: np.ndarray, stride: int) -> None:
        """Fill the keys the mask blocks, on the photo and on the window panel."""
        assert self.context is not None
        size = self.context.geometry.window_size
        masked = self._masked_row
        any_masked = bool(masked.any())
        self.masked_tokens.setVisible(any_masked)
        self.slot_masked.setVisible(any_masked)
        if not any_masked:
            return
        brush = self.brush(MASK_COLORS[MASK_VALUE], alpha=MASKED_ALPHA)
        self.masked_tokens.setPath(rect_path(cell_rects(positions[masked], stride)))
        self.masked_tokens.setBrush(brush)
        slots = value_rects(masked.reshape(size, size).astype(np.int64), 1)
        self.slot_masked.setPath(rect_path(slots[1]))
        self.slot_masked.setBrush(self.brush(MASK_COLORS[MASK_VALUE]))

    def _weights_summary(self, weights: np.ndarray) -> str:
        assert self.context is not None
        peak = float(weights.max())
        text = f"Yellow opacity ∝ weight / max weight (max {peak:.3f} over {len(weights)} keys)."
        if self.context.shift:
            masked = self._masked_row
            other = float(weights[masked].sum())
            same = float(weights[~masked].sum())
            text += (
                f" Weight on the query's own region: {same:.4f}; on the other regions "
                f"(mask −100, dark grey): {other:.1e}."
            )
        return text

    def _note(self, window: int) -> str:
        context = self.context
        assert context is not None
        if self.rollout_enabled():
            return self._rollout_note()
        head = f"head {context.head + 1}/{context.geometry.num_heads}"
        if not self._shown:
            status = self._status_text[:1].upper() + self._status_text[1:]
            return (
                f"<b>{status}</b><br>The geometry is drawn at once; "
                f"the attention ({head}) appears when the model has run on this stage and block."
            )
        if context.shift:
            dashed = "; dashed: borders between regions" if not self.region_lines.path().isEmpty() else ""
            layout = (
                f"Right: window {window} as the block computes it, after the roll. Left: its tokens "
                f"at their place in the image (reverse roll){dashed}."
            )
        else:
            layout = "W-MSA block: the window is a plain M×M square and nothing is masked."
        return f"{self._summary}<br>{layout}"

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        row, col = self.context.query
        return [*self.context.caption_parts(head=True), f"query ({row}, {col})"]

    # --- mouse --------------------------------------------------------------------------

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        point = self.panel.view_point(scene_pos)
        if point is None:
            return HINT
        token = self.query_token_at(point.x(), point.y())
        if token is None:
            return HINT
        if self._rollout is not None:
            assert self.context is not None
            patch = self.context.config.patch_size
            cell = cell_at(point.x(), point.y(), patch, *self._rollout.shape)
            if cell is None:
                return f"token {token}"
            return f"token {token} · patch {cell} · rollout weight {self._rollout[cell]:.5f}"
        if not self._shown:
            return f"token {token}"
        weight = self._shown.get(token)
        if weight is None:
            return f"token {token} · outside the query's window: no attention"
        return f"token {token} · weight {weight:.4f}"

    def _clicked(self, scene_pos: QtCore.QPointF) -> None:
        point = self.panel.view_point(scene_pos)
        if point is not None:
            self.pick_at(point.x(), point.y())
