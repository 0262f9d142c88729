"""Figure "relative-position": the relative position bias of one head, where each
(query, key) pair of a window reads it, and what a change of window does to the table."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui

from explorer.palette import text_color_on
from explorer.state import InferenceResult
from swin_model.windows import locate_token

from .base import FigureView, result_matches
from .cells import cell_at
from .geometry_cache import cached_token_positions
from .heat import (
    DIVERGING,
    DIVERGING_LEVELS,
    LevelCells,
    diverging_levels,
    level_value,
    mix,
    path_unit_edges,
)
from .items import Panel, ScaledLabels, boundary_path, grid_path, make_path_item, rect_path
from .text_pool import TextPool

__all__ = ["RANDOM_BADGE", "WAITING_VALUES", "RelativePositionView", "bias_matrix", "cached_index"]

WAITING_VALUES = "values: waiting for the model…"
RANDOM_BADGE = "random initialisation: the values carry no meaning"
TRAINED_BADGE = "trained weights"
PREVIEW_WINDOWS = (12, 7)
"""The window a preview resizes to: 12 (the official 384 models) unless the table is 12."""
GREY_RAMP = tuple(mix("#2A2A2A", "#E6E6E6", index / (DIVERGING_LEVELS - 1))
                  for index in range(DIVERGING_LEVELS))
"""Neutral ramp for the index structure (no values): darker = lower table cell number."""
RESIZE_GAP = 3.0
"""Cells between the original and the resized table in the resize panel."""
PANEL_SPAN = 400.0
"""Scene units across each panel's cells. Cells are drawn this large (not one unit each) so
the view boxes scale scene units to pixels by about 1: SVG renderers that ignore
``vector-effect: non-scaling-stroke`` (librsvg 2.54, cairosvg) then draw the cosmetic
outlines about as thick as the screen does."""


@lru_cache(maxsize=16)
def cached_index(window_size: int, table_window: int) -> np.ndarray:
    """(M², M²) int64 read-only: :func:`swin_model.windows.relative_position_index`, the
    index the model uses (needs torch)."""
    from swin_model.windows import relative_position_index

    index = relative_position_index(window_size, table_window).numpy().copy()
    index.setflags(write=False)
    return index


@lru_cache(maxsize=8)
def _resized(table_bytes: bytes, shape: tuple[int, int], new_window: int) -> np.ndarray:
    import torch

    from swin_model.bias_resize import resize_bias_table

    table = torch.from_numpy(np.frombuffer(table_bytes, dtype=np.float32).reshape(shape).copy())
    return resize_bias_table(table, new_window).numpy()


def resized_table(table: np.ndarray, new_window: int) -> np.ndarray:
    """((2M'-1)², heads) float32: :func:`swin_model.bias_resize.resize_bias_table` of ``table``."""
    table = np.ascontiguousarray(table, dtype=np.float32)
    return _resized(table.tobytes(), (int(table.shape[0]), int(table.shape[1])), new_window)


def bias_matrix(table: np.ndarray, index: np.ndarray, head: int) -> np.ndarray:
    """(M², M²): the bias one head adds to the logits of each (query, key) pair,
    ``table[index, head]`` as the model's ``position_bias``."""
    return np.asarray(table)[np.asarray(index).reshape(-1), head].reshape(index.shape)


def _table_window(table: np.ndarray) -> int:
    from swin_model.bias_resize import table_window

    return table_window(table)


class RelativePositionView(FigureView):
    """The relative position bias of the selected head of the selected stage and block.

    Top left: the query's window (after the roll, as the block computes it), every key slot
    labelled with its offset Δ = query − key (row, col) and the table cell it reads (the
    model's :func:`swin_model.windows.relative_position_index`). Top right: the
    (2T−1)×(2T−1) table of the head, T the window the stage was built with, the M×M block of
    cells the query reads outlined. Bottom left: the M²×M² bias the head adds to the logits,
    the query's row outlined (without values: the index itself, which cell each pair reads).
    Bottom right: the official bicubic resize of the table, when the trained window differs
    from the current one (else a preview of a resize to another window).

    Values come from the model run (``result.bias_tables[(stage, block)]`` or
    ``result.bias_table`` of the captured block, ((2T−1)², heads)) or from
    :meth:`set_bias_table`; without them the geometry is drawn and the values wait.
    """

    explanation = (
        "Relative position bias: each head learns one value per offset (Δrow, Δcol) between "
        "query and key; the index picks, for every pair of a window, its cell of the table."
    )

    def _build(self) -> None:
        self.window_panel = Panel(self.body, 0, 0, with_image=False)
        self.table_panel = Panel(self.body, 0, 1, with_image=False)
        self.matrix_panel = Panel(self.body, 2, 0, with_image=False)
        self.resize_panel = Panel(self.body, 2, 1, with_image=False)
        self.body.layout.setRowStretchFactor(1, 1)
        self.body.layout.setRowStretchFactor(3, 1)

        slots = self.window_panel.viewbox
        self.slot_cells = LevelCells(slots, DIVERGING_LEVELS, z=5)
        self.slot_grid = make_path_item(slots, z=8, crisp=True)
        self.slot_query = make_path_item(slots, z=12)
        self.slot_query.setToolTip("The query slot: offset (0, 0), the table's centre cell.")
        self.slot_labels = ScaledLabels(slots)

        table = self.table_panel.viewbox
        self.table_cells = LevelCells(table, DIVERGING_LEVELS, z=5)
        self.table_grid = make_path_item(table, z=8, crisp=True)
        self.table_read = make_path_item(table, z=12)
        self.table_read.setToolTip("The M×M cells the query reads: one per key of its window.")
        self.table_centre = make_path_item(table, z=13)
        self.table_centre.setToolTip("Offset (0, 0): a token with itself.")
        self.table_ticks = TextPool(table)

        matrix = self.matrix_panel.viewbox
        self.matrix_cells = LevelCells(matrix, DIVERGING_LEVELS, z=5)
        self.matrix_query = make_path_item(matrix, z=12)
        self.matrix_query.setToolTip("The query's row: the bias added to its logits.")
        self.matrix_labels = TextPool(matrix)

        resize = self.resize_panel.viewbox
        self.original_cells = LevelCells(resize, DIVERGING_LEVELS, z=5)
        self.resized_cells = LevelCells(resize, DIVERGING_LEVELS, z=5)
        self.resize_outline = make_path_item(resize, z=8, crisp=True)
        self.resize_labels = TextPool(resize)
        self.resize_status = TextPool(resize)

        self._explicit: tuple[Any, np.ndarray | None, int | None] | None = None
        self._index = np.zeros((0, 0), dtype=np.int64)
        self._table: np.ndarray | None = None
        self._original: np.ndarray | None = None
        self._limit = 0.0
        self._query_slot = 0
        self._window = 0
        self._status = WAITING_VALUES
        self._resize_mode = ""
        self._preview_window = PREVIEW_WINDOWS[0]
        self.window_cell = self.table_cell = self.matrix_cell = self.resize_cell = 1.0
        """Side of one cell, in scene units, of each panel (see PANEL_SPAN)."""

    # --- data in ------------------------------------------------------------------------

    def set_bias_table(self, table: np.ndarray | None, trained_window: int | None = None) -> None:
        """Show ``table`` ((2T'−1)², heads), the selected block's relative position bias
        table, for the current state's model, stage and block (it is ignored once they
        change). A table whose window T' differs from the stage's T is taken as the trained
        one and resized as the model would use it; ``trained_window`` tells the view that the
        model's own (T-sized) table was already resized at load from that window. None
        clears it (the result's table is used again)."""
        key = self._table_key()
        self._explicit = None if table is None else (key, np.asarray(table, dtype=np.float32), trained_window)
        if self.context is not None:
            self._dirty = True
            if not self._hidden_in_window():
                self.flush()

    def _table_key(self) -> Any:
        if self.context is None:
            return None
        state = self.context.state
        return (state.model_name, state.window_size, state.checkpoint_path, state.checkpoint_config,
                state.stage, state.block)

    def _given_table(self) -> tuple[np.ndarray | None, int | None]:
        """(the selected block's table as given, the trained window when the model's table
        was resized at load), from :meth:`set_bias_table` or the model result."""
        context = self.context
        assert context is not None
        if self._explicit is not None and self._explicit[0] == self._table_key():
            return self._explicit[1], self._explicit[2]
        result: InferenceResult | None = self.result
        if result is None or not result_matches(result, context.state, with_block=False):
            return None, None
        trained = getattr(result, "trained_window", None)
        if trained is None:
            trained = getattr(result, "bias_tables_resized_from", None)
        tables = getattr(result, "bias_tables", None)
        if tables is not None:
            table = tables.get((context.stage, context.block))
            return (None if table is None else np.asarray(table, dtype=np.float32)), trained
        table = getattr(result, "bias_table", None)
        if table is not None and result_matches(result, context.state):
            return np.asarray(table, dtype=np.float32), trained
        return None, None

    # --- read back (tests) ----------------------------------------------------------------

    def has_values(self) -> bool:
        return self._table is not None

    def status_text(self) -> str:
        return self._status

    def query_slot(self) -> int:
        return self._query_slot

    def drawn_slot_labels(self) -> dict[int, str]:
        """{slot: label text} of the window panel, the slot read from the label's position."""
        assert self.context is not None
        size = self.context.geometry.window_size
        labels = {}
        for item in self.slot_labels.visible():
            rect = item.mapRectToParent(item.boundingRect())
            centre = rect.center()
            slot = int(centre.y() // self.window_cell) * size + int(centre.x() // self.window_cell)
            labels[slot] = item.text()
        return labels

    def drawn_read_outline(self) -> set[tuple[int, int, int, int]]:
        """Unit edges (x0, y0, x1, y1), in table cells, of the outline drawn around the cells
        the query reads."""
        return path_unit_edges(self.table_read.path(), self.table_cell)

    def drawn_table_levels(self) -> np.ndarray:
        return self.table_cells.drawn_levels()

    def drawn_matrix_levels(self) -> np.ndarray:
        return self.matrix_cells.drawn_levels()

    def drawn_slot_levels(self) -> np.ndarray:
        return self.slot_cells.drawn_levels()

    def drawn_resize_levels(self) -> tuple[np.ndarray, np.ndarray]:
        """(original, resized) levels drawn in the resize panel (empty when not shown)."""
        return self.original_cells.drawn_levels(), self.resized_cells.drawn_levels()

    def resize_mode(self) -> str:
        """ "resized" (trained window ≠ current), "preview", "resized at load" or ""."""
        return self._resize_mode

    def color_limit(self) -> float:
        """The value of the darkest red (−limit: darkest blue)."""
        return self._limit

    def value_of_level(self, level: int) -> float:
        return float(level_value(level, self._limit))

    def table_values(self) -> np.ndarray | None:
        """The (L², heads) table the block uses (after any resize), None without values."""
        return None if self._table is None else self._table.copy()

    # --- drawing ------------------------------------------------------------------------

    def _table_side(self) -> int:
        assert self.context is not None
        return 2 * self.context.config.stage_window(self.context.stage) - 1

    def _result_changed(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        geometry = context.geometry
        size, shift = geometry.window_size, context.shift
        table_window = context.config.stage_window(context.stage)
        self._index = cached_index(size, table_window)
        row, col = context.query
        self._window, self._query_slot = locate_token(
            row, col, geometry.padded_height, geometry.padded_width, size, shift)
        self._prepare_values(table_window)
        self.window_cell = PANEL_SPAN / size
        self.table_cell = PANEL_SPAN / (2 * table_window - 1)
        self.matrix_cell = PANEL_SPAN / (size * size)
        self._draw_window(size)
        self._draw_table(table_window, size)
        self._draw_matrix(size)
        self._draw_resize(table_window)
        self.set_note(self._note(size, table_window))

    def _prepare_values(self, table_window: int) -> None:
        context = self.context
        assert context is not None
        given, trained = self._given_table()
        self._original, self._table, self._resize_mode = None, None, ""
        if given is None:
            self._status = WAITING_VALUES
            self._limit = 0.0
            return
        given_window = _table_window(given)
        if context.head >= given.shape[1]:
            self._status = "values: the table has fewer heads than the stage"
            self._limit = 0.0
            return
        if given_window != table_window:
            self._original = given
            self._table = resized_table(given, table_window)
            self._resize_mode = "resized"
        else:
            self._table = given
            if trained is not None and trained != table_window:
                self._resize_mode = "resized at load"
            else:
                preview = PREVIEW_WINDOWS[0] if table_window != PREVIEW_WINDOWS[0] else PREVIEW_WINDOWS[1]
                self._original = given
                self._resize_mode = "preview"
                self._preview_window = preview
        values = [self._table[:, context.head]]
        if self._original is not None:
            values.append(self._original[:, context.head])
        self._limit = float(max(np.abs(v).max() for v in values)) or 1.0
        self._status = TRAINED_BADGE if context.state.checkpoint_path else RANDOM_BADGE

    def _brushes(self, neutral: bool) -> list[QtGui.QBrush]:
        colours = GREY_RAMP if neutral else DIVERGING
        return [self.brush(colour) for colour in colours]

    def _value_levels(self, values: np.ndarray) -> np.ndarray:
        return diverging_levels(values, self._limit)

    def _draw_window(self, size: int) -> None:
        context = self.context
        assert context is not None
        query_row, query_col = divmod(self._query_slot, size)
        unit = self.window_cell
        self.slot_grid.setPath(grid_path(size, size, 1, 1, unit))
        self.slot_grid.setPen(self.pen(self.theme.grid, width=1.0, alpha=90))
        self.slot_query.setPath(rect_path(np.array([[query_col, query_row, 1, 1]]) * unit))
        self.slot_query.setPen(self.pen(self.theme.accent, self.theme.thick_width + 1))
        reads = self._index[self._query_slot]  # M²: the table cell of every key
        levels = None
        if self._table is not None:
            levels = self._value_levels(self._table[reads, context.head]).reshape(size, size)
            self.slot_cells.set_brushes(self._brushes(False))
            self.slot_cells.set_levels(levels, unit)
        else:
            self.slot_cells.set_levels(np.full((size, size), -1), unit)
        self.slot_labels.begin()
        for slot in range(size * size):
            key_row, key_col = divmod(slot, size)
            fill = DIVERGING[int(levels[key_row, key_col])] if levels is not None else None
            colour = text_color_on(fill) if fill is not None else self.theme.foreground
            delta = f"{query_row - key_row:+d},{query_col - key_col:+d}".replace("+0", "0")
            cell = int(reads[slot])
            x = (key_col + 0.5) * unit
            self.slot_labels.add(delta, x, (key_row + 0.33) * unit, 0.24 * unit, colour)
            self.slot_labels.add(f"#{cell}", x, (key_row + 0.7) * unit, 0.2 * unit, colour, bold=False)
        self.slot_labels.end()
        kind = "after the roll" if context.shift else "W-MSA"
        self.style_title(
            self.window_panel.title,
            f"window {self._window} ({kind}): Δ = query − key (row, col) and table cell #",
        )
        self.window_panel.set_extent(-0.1 * unit, -0.1 * unit, (size + 0.2) * unit, (size + 0.2) * unit)

    def _draw_table(self, table_window: int, size: int) -> None:
        context = self.context
        assert context is not None
        side = 2 * table_window - 1
        unit = self.table_cell
        self.table_grid.setPath(grid_path(side, side, 1, 1, unit))
        self.table_grid.setPen(self.pen(self.theme.grid, width=1.0, alpha=60))
        if self._table is not None:
            self.table_cells.set_brushes(self._brushes(False))
            levels = self._value_levels(self._table[:, context.head]).reshape(side, side)
            self.table_cells.set_levels(levels, unit)
        else:
            self.table_cells.set_levels(np.full((side, side), -1), unit)
        reads = np.zeros((side + 2, side + 2), dtype=np.int64)
        cells = self._index[self._query_slot]
        reads[cells // side + 1, cells % side + 1] = 1
        self.table_read.setPath(boundary_path(reads, unit, offset=(-unit, -unit)))
        self.table_read.setPen(self.pen(self.theme.accent, self.theme.thick_width + 1))
        centre = side // 2
        self.table_centre.setPath(rect_path(np.array([[centre + 0.3, centre + 0.3, 0.4, 0.4]]) * unit))
        self.table_centre.setBrush(self.brush(self.theme.accent))
        self.table_centre.setPen(self.pen(self.theme.background, width=1.0))
        self.table_ticks.begin()
        font = self.qfont(self.theme.small_size)
        step = 1 if side <= 9 else 2 if side <= 27 else 4
        for cell in range(centre % step, side, step):
            offset = cell - centre
            text = f"{offset:+d}".replace("+0", "0")
            middle = (cell + 0.5) * unit
            self.table_ticks.add(text, middle, -0.15 * unit, self.theme.foreground, font, anchor=(0.5, 1.0))
            self.table_ticks.add(text, -0.15 * unit, middle, self.theme.foreground, font, anchor=(1.0, 0.5))
        label_font = self.qfont(self.theme.label_size)
        self.table_ticks.add("Δcol →", side / 2 * unit, -1.6 * unit, self.theme.foreground, label_font,
                             anchor=(0.5, 1.0))
        self.table_ticks.add("← Δrow", -1.8 * unit, side / 2 * unit, self.theme.foreground, label_font,
                             anchor=(0.5, 1.0), angle=-90)
        self.table_ticks.end()
        badge = ""
        if self._table is not None:
            colours = ("#6B4A00", "#FFE3A3") if not context.state.checkpoint_path else ("#0B5D1E", "#D6F5DD")
            badge = (f" <span style='background-color:{colours[0]}; color:{colours[1]}'>"
                     f"&nbsp;{self._status}&nbsp;</span>")
        else:
            badge = f" <i>({self._status})</i>"
        self.style_title(
            self.table_panel.title,
            f"bias table of head {context.head + 1}/{context.geometry.num_heads}: "
            f"{side}×{side} offsets (T = {table_window}){badge}",
        )
        self.table_panel.set_extent(-2.5 * unit, -2.5 * unit, (side + 3) * unit, (side + 3) * unit)

    def _draw_matrix(self, size: int) -> None:
        context = self.context
        assert context is not None
        count = size * size
        if self._table is not None:
            self.matrix_cells.set_brushes(self._brushes(False))
            levels = self._value_levels(bias_matrix(self._table, self._index, context.head))
            title = f"bias added to the logits, head {context.head + 1} ({count}×{count})"
        else:
            self.matrix_cells.set_brushes(self._brushes(True))
            top = int(self._index.max()) or 1
            levels = np.rint(self._index / top * (DIVERGING_LEVELS - 1)).astype(np.int64)
            title = f"index: the table cell each (query, key) pair reads ({count}×{count}; grey = cell #)"
        unit = self.matrix_cell
        self.matrix_cells.set_levels(levels, unit)
        self.matrix_query.setPath(rect_path(np.array([[0, self._query_slot, count, 1]]) * unit))
        self.matrix_query.setPen(self.pen(self.theme.accent, self.theme.thick_width))
        self.matrix_labels.begin()
        font = self.qfont(self.theme.label_size)
        self.matrix_labels.add("key slot j →", count / 2 * unit, -0.5 * unit, self.theme.foreground, font,
                               anchor=(0.5, 1.0))
        self.matrix_labels.add("← query slot i", -0.5 * unit, count / 2 * unit, self.theme.foreground, font,
                               anchor=(1.0, 0.5), angle=-90)
        self.matrix_labels.end()
        self.style_title(self.matrix_panel.title, title)
        margin = max(1.0, count / 12) * unit
        span = count * unit
        self.matrix_panel.set_extent(-margin, -margin, span + 2 * margin, span + 2 * margin)

    def _draw_resize(self, table_window: int) -> None:
        context = self.context
        assert context is not None
        self.resize_labels.begin()
        self.resize_status.begin()
        font = self.qfont(self.theme.label_size)
        mode = self._resize_mode
        shown = mode in ("resized", "preview") and self._original is not None and self._table is not None
        self.original_cells.set_visible(shown)
        self.resized_cells.set_visible(shown)
        self.resize_outline.setVisible(shown)
        if not shown:
            self.original_cells.set_levels(np.full((0, 0), -1))
            self.resized_cells.set_levels(np.full((0, 0), -1))
            text = "waiting for the model…"
            if mode == "resized at load":
                text = (f"this table was resized at load from T = {self._given_table()[1]} "
                        f"(the original is not in the result)")
            self.resize_status.add(text, 0, 0, self.theme.foreground, self.qfont(self.theme.label_size, True))
            self.resize_panel.set_extent(-200, -100, 400, 200)
            self.style_title(self.resize_panel.title, "a new window: bicubic resize of the table")
            self.resize_labels.end()
            self.resize_status.end()
            return
        assert self._original is not None and self._table is not None
        if mode == "resized":
            original, resized = self._original, self._table
        else:
            original, resized = self._table, resized_table(self._table, self._preview_window)
        before = 2 * _table_window(original) - 1
        after = 2 * _table_window(resized) - 1
        head = context.head
        unit = self.resize_cell = PANEL_SPAN / (before + RESIZE_GAP + after)
        for cells, values, side, left in ((self.original_cells, original, before, 0.0),
                                          (self.resized_cells, resized, after, before + RESIZE_GAP)):
            cells.set_brushes(self._brushes(False))
            levels = self._value_levels(values[:, head]).reshape(side, side)
            cells.set_levels(levels, unit, (left * unit, 0.0))
        outline = np.array([[0, 0, before, before], [before + RESIZE_GAP, 0, after, after]],
                           dtype=np.float64) * unit
        self.resize_outline.setPath(rect_path(outline))
        self.resize_outline.setPen(self.pen(self.theme.foreground, width=1.0))
        trained_m, new_m = (before + 1) // 2, (after + 1) // 2
        self.resize_labels.add(f"M = {trained_m}: {before}×{before}", before / 2 * unit,
                               (before + 0.6) * unit, self.theme.foreground, font, anchor=(0.5, 0.0))
        self.resize_labels.add(f"M = {new_m}: {after}×{after}", (before + RESIZE_GAP + after / 2) * unit,
                               (after + 0.6) * unit, self.theme.foreground, font, anchor=(0.5, 0.0))
        self.resize_labels.add("→", (before + RESIZE_GAP / 2) * unit, min(before, after) / 2 * unit,
                               self.theme.foreground,
                               self.qfont(self.theme.title_size + 4, bold=True))
        self.resize_labels.end()
        self.resize_status.end()
        if mode == "resized":
            title = (f"trained at M = {trained_m}, used at M = {new_m}: bicubic resize "
                     f"(official load_pretrained), head {head + 1}")
        else:
            title = f"if M were {new_m}: the official bicubic resize of this table, head {head + 1}"
        self.style_title(self.resize_panel.title, title)
        width = before + RESIZE_GAP + after
        height = max(before, after) + 3
        self.resize_panel.set_extent(-0.5 * unit, -0.5 * unit, (width + 1) * unit, height * unit)

    def _note(self, size: int, table_window: int) -> str:
        context = self.context
        assert context is not None
        side = 2 * table_window - 1
        shrunk = (f" The stage's window shrank to {size}, so its pairs read only the central "
                  f"{2 * size - 1}×{2 * size - 1} of the {side}×{side} table." if size < table_window else "")
        values = ""
        if self._table is None:
            values = " <b>Values: waiting for the model</b>; the index and the offsets need none."
        else:
            values = (f" Colour: blue negative, red positive, ±{self._limit:.3g} at the ends"
                      f" ({self._status}).")
        return (f"Each head has one learned value per offset: {side}² = {side * side} for "
                f"T = {table_window}. "
                f"The bias of a pair depends only on Δ = query − key, so every query of the window reads "
                f"an M×M block of the table (outlined), shifted by its own position.{shrunk}{values}")

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        row, col = self.context.query
        return [*self.context.caption_parts(head=True), f"query ({row}, {col})"]

    # --- mouse --------------------------------------------------------------------------

    def _slot_at(self, scene_pos: QtCore.QPointF) -> int | None:
        assert self.context is not None
        point = self.window_panel.view_point(scene_pos)
        if point is None:
            return None
        size = self.context.geometry.window_size
        cell = cell_at(point.x(), point.y(), self.window_cell, size, size)
        return None if cell is None else cell[0] * size + cell[1]

    def _slot_token(self, slot: int) -> tuple[int, int]:
        assert self.context is not None
        geometry = self.context.geometry
        positions = cached_token_positions(geometry.padded_height, geometry.padded_width,
                                           geometry.window_size, self.context.shift)
        row, col = positions[self._window, slot]
        return int(row), int(col)

    def pick_slot(self, slot: int) -> None:
        """Emit queryPicked for the token in ``slot`` of the query's window (not padding)."""
        assert self.context is not None
        row, col = self._slot_token(slot)
        geometry = self.context.geometry
        if row < geometry.height and col < geometry.width:
            self.queryPicked.emit(row, col)

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        context = self.context
        assert context is not None
        size = context.geometry.window_size
        side = self._table_side()
        slot = self._slot_at(scene_pos)
        if slot is not None:
            cell = int(self._index[self._query_slot, slot])
            query_row, query_col = divmod(self._query_slot, size)
            key_row, key_col = divmod(slot, size)
            text = (f"key slot {slot} = token {self._slot_token(slot)} · Δ = ({query_row - key_row}, "
                    f"{query_col - key_col}) · table cell #{cell} (row {cell // side}, col {cell % side})")
            return text + self._value_text(cell) + " · click to make it the query"
        point = self.table_panel.view_point(scene_pos)
        if point is not None:
            cell_rc = cell_at(point.x(), point.y(), self.table_cell, side, side)
            if cell_rc is None:
                return None
            cell = cell_rc[0] * side + cell_rc[1]
            return (f"table cell #{cell}: Δ = ({cell_rc[0] - side // 2}, {cell_rc[1] - side // 2})"
                    + self._value_text(cell))
        point = self.matrix_panel.view_point(scene_pos)
        if point is not None:
            count = size * size
            pair = cell_at(point.x(), point.y(), self.matrix_cell, count, count)
            if pair is None:
                return None
            cell = int(self._index[pair])
            return f"query slot {pair[0]}, key slot {pair[1]} · table cell #{cell}" + self._value_text(cell)
        return None

    def _value_text(self, cell: int) -> str:
        if self._table is None or self.context is None:
            return ""
        return f" · bias {float(self._table[cell, self.context.head]):+.4f}"

    def _clicked(self, scene_pos: QtCore.QPointF) -> None:
        slot = self._slot_at(scene_pos)
        if slot is not None:
            self.pick_slot(slot)
