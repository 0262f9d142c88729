"""Figure "mask": the 0/−100 attention mask of the selected window, and of every window."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.palette import MASK_COLORS, REGION_COLORS, region_text_color
from swin_model.windows import MASK_VALUE

from .base import FigureView
from .cells import axis_strips, cell_at, horizontal_runs, tile_at, tile_origin, value_rects
from .geometry_cache import cached_mask, cached_slot_regions, cached_token_positions
from .items import CrispPathItem, Label, Panel, cells_in_path, make_path_item, rect_path, value_paths
from .text_pool import LruCache, TextPool

__all__ = ["MaskView"]

MAX_TILE_LABELS = 16
"""Small multiples are numbered up to this many windows (beyond, hover tells the number)."""

_GAP_VALUE = 1
"""Marks the gaps between the small multiples (neither 0 nor -100)."""

STRIP = 1.6
"""Width of the region strips along the matrix axes, in cells."""

STRIP_GAP = 0.25
"""Space between the region strips and the matrix, in cells."""


class MaskView(FigureView):
    """The M²×M² mask that a shifted block adds to the attention logits of one window:
    0 where query and key come from the same region, −100 where they don't. Region strips
    along the axes say which region each slot holds. Beside it, every window's mask as
    small multiples (click one to select it)."""

    explanation = (
        "Attention mask: after the roll, tokens from different regions share a window, "
        "and adding −100 to their logits makes their softmax weight ≈ 0."
    )

    def _build(self) -> None:
        self.matrix_panel = Panel(self.body, 0, 0, with_image=False)
        self.overview_panel = Panel(self.body, 0, 1, with_image=False)
        self.body.layout.setColumnStretchFactor(0, 3)
        self.body.layout.setColumnStretchFactor(1, 2)
        viewbox = self.matrix_panel.viewbox
        self.cells: dict[float, CrispPathItem] = {
            value: make_path_item(viewbox, z=5, crisp=True) for value in MASK_COLORS
        }
        self.cells[0.0].setToolTip("0: same region, attention allowed.")
        self.cells[MASK_VALUE].setToolTip("−100: different regions, attention blocked.")
        self.strips = {
            region: make_path_item(viewbox, z=5, crisp=True) for region in range(len(REGION_COLORS))
        }
        self.strip_labels = TextPool(viewbox)
        self.axis_labels = TextPool(viewbox)
        self.empty_label = Label()
        self.empty_label.setZValue(40)
        viewbox.addItem(self.empty_label, ignoreBounds=True)
        overview = self.overview_panel.viewbox
        self.tiles = {value: make_path_item(overview, z=5) for value in MASK_COLORS}
        self.tile_selection = QtWidgets.QGraphicsRectItem()
        self.tile_selection.setZValue(20)
        overview.addItem(self.tile_selection, ignoreBounds=True)
        self.tile_labels = TextPool(overview)
        self._masks: np.ndarray | None = None
        self._regions = np.zeros((0, 0), dtype=np.int64)
        self._overview_key: tuple[object, ...] | None = None
        self._overview_paths = LruCache(4)
        self._matrix_key: tuple[object, ...] | None = None

    # --- data ---------------------------------------------------------------------------

    def has_mask(self) -> bool:
        """False for W-MSA blocks and stages without shift (the official code uses no mask)."""
        return self._masks is not None

    def drawn_mask(self) -> np.ndarray | None:
        """(N, N) float32 mask of the selected window read back from the drawn cells (NaN
        where no cell is drawn), or None when the block has no mask."""
        if self._masks is None:
            return None
        size = self._masks.shape[-1]
        drawn = np.full((size, size), np.nan, dtype=np.float32)
        for value, item in self.cells.items():
            drawn[cells_in_path(item.path(), size, size, 1.0)] = value
        return drawn

    def drawn_overview(self) -> np.ndarray | None:
        """(num_windows, N, N) masks read back from the small multiples, or None."""
        if self._masks is None:
            return None
        count, size, _ = self._masks.shape
        per_row = self.context.geometry.windows_per_row if self.context else 1
        step = size + self._gap(size)
        drawn = np.full(self._masks.shape, np.nan, dtype=np.float32)
        for window in range(count):
            offset = tile_origin(window, per_row, step)
            for value, item in self.tiles.items():
                drawn[window][cells_in_path(item.path(), size, size, 1.0, offset)] = value
        return drawn

    def drawn_slot_regions(self) -> np.ndarray:
        """(N,) official region along the matrix axes, read from the strip colours (-1: none)."""
        if self._masks is None:
            return np.zeros(0, dtype=np.int64)
        size = self._masks.shape[-1]
        drawn = np.full(size, -1, dtype=np.int64)
        for region, item in self.strips.items():
            if item.isVisible():
                inside = cells_in_path(item.path(), 1, size, 1.0, offset=(0.0, -STRIP / 2 - 0.5))
                drawn[inside[0]] = region
        return drawn

    # --- drawing ------------------------------------------------------------------------

    @staticmethod
    def _gap(size: int) -> int:
        return max(2, size // 6)

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        geometry = context.geometry
        rows, cols, window = geometry.padded_height, geometry.padded_width, geometry.window_size
        shift = context.shift
        overview_key = (rows, cols, window, shift, self.theme.name)
        if overview_key != self._overview_key:
            self._overview_key = overview_key
            self._matrix_key = None
            if shift:
                self._masks = cached_mask(rows, cols, window, shift)
                self._regions = cached_slot_regions(rows, cols, window, shift)
            else:
                self._masks = None
            self._draw_overview()
        matrix_key = (context.window, overview_key)
        if matrix_key != self._matrix_key:
            self._matrix_key = matrix_key
            self._draw_matrix()
        self._draw_selection()
        self.style_title(self.matrix_panel.title, self._matrix_title())
        self.style_title(self.overview_panel.title, f"all {geometry.num_windows} windows" if shift else "")
        self.set_note(self._note())

    def _matrix_title(self) -> str:
        context = self.context
        assert context is not None
        if self._masks is None:
            return "mask"
        size = self._masks.shape[-1]
        title = f"mask of window {context.window} ({size}×{size})"
        if not self._masks[context.window].any():
            title += ": all 0, the window holds one region"
        return title

    def _draw_matrix(self) -> None:
        assert self.context is not None
        masked = self._masks is not None
        for item in (*self.cells.values(), *self.strips.values()):
            item.setVisible(masked)
        self.strip_labels.begin()
        self.axis_labels.begin()
        self.empty_label.setVisible(not masked)
        if not masked:
            self.strip_labels.end()
            self.axis_labels.end()
            self.empty_label.configure(
                "no mask (W-MSA block)",
                self.theme.foreground,
                self.qfont(self.theme.title_size + 4, bold=True),
                (0.5, 0.5),
            )
            self.empty_label.setPos(0, 0)
            self.matrix_panel.set_extent(-1, -1, 2, 2)
            return
        assert self._masks is not None
        window = self.context.window
        mask = self._masks[window]
        size = mask.shape[0]
        cells = value_rects(mask, 1.0)
        for value, item in self.cells.items():
            item.set_rects(cells.get(int(value), np.zeros((0, 4))))
            item.setBrush(self.brush(MASK_COLORS[value]))
        regions = self._regions[window]
        font = self.qfont(self.theme.small_size, bold=True)
        min_run = max(2, size // 24)
        for region, item in self.strips.items():
            present = regions == region
            item.setVisible(bool(present.any()))
            if not present.any():
                continue
            item.setPath(rect_path(axis_strips(np.nonzero(present)[0], STRIP, STRIP_GAP)))
            item.setBrush(self.brush(REGION_COLORS[region]))
        _, starts, ends, runs = horizontal_runs(regions[None, :])
        for start, end, run in zip(starts, ends, runs, strict=True):
            if end - start < min_run:
                continue
            region = int(run)
            middle = (start + end) / 2
            colour = region_text_color(region)
            self.strip_labels.add(str(region), middle, -STRIP / 2 - STRIP_GAP, colour, font)
            self.strip_labels.add(str(region), -STRIP / 2 - STRIP_GAP, middle, colour, font)
        self.strip_labels.end()
        label_font = self.qfont(self.theme.label_size)
        self.axis_labels.add(
            "key slot j →", size / 2, -STRIP - 0.5, self.theme.foreground, label_font, anchor=(0.5, 1.0)
        )
        self.axis_labels.add(
            "← query slot i",  # rotated to read upwards: the arrow points down, as i grows
            -STRIP - 0.5,
            size / 2,
            self.theme.foreground,
            label_font,
            anchor=(1.0, 0.5),
            angle=-90,
        )
        self.axis_labels.end()
        margin = STRIP + 2.5
        self.matrix_panel.set_extent(-margin, -margin, size + margin, size + margin)

    def _tile_paths(self, per_row: int, per_column: int, step: int) -> dict[int, QtGui.QPainterPath]:
        """One path per mask value covering its cells in every small multiple (remembered
        per geometry: going back to a recent stage or block needs no new paths)."""
        assert self._masks is not None
        count, size, _ = self._masks.shape
        canvas = np.full((per_column * step, per_row * step), _GAP_VALUE, dtype=np.int64)
        for window in range(count):
            left, top = tile_origin(window, per_row, step)
            canvas[top : top + size, left : left + size] = self._masks[window].astype(np.int64)
        return value_paths(canvas, 1.0, skip=(_GAP_VALUE,))

    def _draw_overview(self) -> None:
        assert self.context is not None
        geometry = self.context.geometry
        self.tile_labels.begin()
        if self._masks is None:
            for item in self.tiles.values():
                item.setVisible(False)
            self.tile_selection.setVisible(False)
            self.tile_labels.end()
            return
        count, size, _ = self._masks.shape
        gap = self._gap(size)
        step = size + gap
        per_row, per_column = geometry.windows_per_row, geometry.windows_per_column
        paths = self._overview_paths.fetch(
            (geometry.padded_height, geometry.padded_width, geometry.window_size, self.context.shift),
            lambda: self._tile_paths(per_row, per_column, step),
        )
        for value, item in self.tiles.items():
            item.setVisible(True)
            item.setPath(paths.get(int(value), rect_path(np.zeros((0, 4)))))
            item.setBrush(self.brush(MASK_COLORS[value]))
        if count <= MAX_TILE_LABELS:
            font = self.qfont(self.theme.small_size, bold=True)
            for window in range(count):
                left, top = tile_origin(window, per_row, step)
                label = self.tile_labels.add(str(window), left + size / 2, top + size / 2, "#000000", font)
                label.set_box(self.brush("#FFFFFF", alpha=200))
        self.tile_labels.end()
        self.overview_panel.set_extent(-gap, -gap, per_row * step + gap, per_column * step + gap)

    def _draw_selection(self) -> None:
        assert self.context is not None
        if self._masks is None:
            return
        size = self._masks.shape[-1]
        step = size + self._gap(size)
        per_row = self.context.geometry.windows_per_row
        window = self.context.window
        pad = self._gap(size) / 3
        left, top = tile_origin(window, per_row, step)
        self.tile_selection.setVisible(True)
        self.tile_selection.setRect(QtCore.QRectF(left - pad, top - pad, size + 2 * pad, size + 2 * pad))
        self.tile_selection.setPen(self.pen(self.theme.accent, self.theme.thick_width))

    def _note(self) -> str:
        context = self.context
        assert context is not None
        if self._masks is None:
            return (
                f"<b>No mask (W-MSA block): {context.no_shift_reason()}.</b> Every window holds "
                f"neighbouring tokens only and the official code passes no mask. "
                f"{context.shift_hint()}"
            )
        zero, blocked = MASK_COLORS[0.0], MASK_COLORS[MASK_VALUE]
        masked = int((self._masks != 0).any(axis=(1, 2)).sum())
        return (
            f"<span style='background-color:{zero}'>&nbsp;&nbsp;&nbsp;</span> 0: query and key "
            f"from the same region (attention allowed) &nbsp; "
            f"<span style='background-color:{blocked}'>&nbsp;&nbsp;&nbsp;</span> −100: different "
            f"regions (softmax weight ≈ 0).<br>Strips: the official region of each slot (slots "
            f"are the window's tokens, row-major). {masked} of {len(self._masks)} windows, the last "
            f"row and column, need a mask; the others hold one region."
            + ("" if self._masks[context.window].any() else " Click one of them at the right to see it.")
        )

    # --- mouse --------------------------------------------------------------------------

    def _overview_window_at(self, x: float, y: float) -> int | None:
        if self._masks is None or self.context is None:
            return None
        size = self._masks.shape[-1]
        geometry = self.context.geometry
        step = size + self._gap(size)
        return tile_at(x, y, size, step, geometry.windows_per_row, geometry.windows_per_column)

    def pick_window_at(self, x: float, y: float) -> None:
        """Emit windowPicked for the small multiple at (x, y) of the overview."""
        window = self._overview_window_at(x, y)
        if window is not None:
            self.windowPicked.emit(window)

    def _slot_token(self, slot: int) -> tuple[int, int]:
        assert self.context is not None
        geometry = self.context.geometry
        positions = cached_token_positions(
            geometry.padded_height, geometry.padded_width, geometry.window_size, self.context.shift
        )
        row, col = positions[self.context.window, slot]
        return int(row), int(col)

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        if self._masks is None:
            return None
        point = self.overview_panel.view_point(scene_pos)
        if point is not None:
            window = self._overview_window_at(point.x(), point.y())
            return None if window is None else f"window {window} (click to select)"
        point = self.matrix_panel.view_point(scene_pos)
        if point is None:
            return None
        size = self._masks.shape[-1]
        slots = cell_at(point.x(), point.y(), 1, size, size)
        if slots is None:
            return None
        i, j = slots
        assert self.context is not None
        regions = self._regions[self.context.window]
        value = self._masks[self.context.window, i, j]
        return (
            f"query slot {i} = token {self._slot_token(i)}, region {regions[i]} · key slot {j} = "
            f"token {self._slot_token(j)}, region {regions[j]} · mask {value:g}"
        )

    def _clicked(self, scene_pos: QtCore.QPointF) -> None:
        point = self.overview_panel.view_point(scene_pos)
        if point is not None:
            self.pick_window_at(point.x(), point.y())
