"""Figure "windows": the selected stage's token grid and its M×M windows over the photo."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from swin_model.windows import locate_token, reverse_cyclic_shift, window_index_map

from .base import FigureView, PhotoLayer
from .cells import cell_at, label_rectangles, rect_centres
from .items import Panel, boundary_path, cells_in_path, grid_path, make_path_item, value_paths
from .text_pool import LruCache, TextPool, TextPoolCache

__all__ = ["SHIFTED_WINDOW_COLOR", "WindowsView"]

SHIFTED_WINDOW_COLOR = "#E69F00"
MAX_WINDOW_LABELS = 200


class WindowsView(FigureView):
    """Window partition of the selected stage, mapped back to pixels (one token is
    ``stride`` pixels a side), with the padding to a multiple of the window hatched.

    In a shifted (SW-MSA) block the windows the block really uses are drawn dashed on the
    original grid: the regular partition moved by the shift, wrapping around the edges.
    The selected window (``state.window``, under the block's shift) is filled. A click
    emits ``windowPicked`` with the window under the pointer.
    """

    explanation = (
        "Window partition: self-attention is computed only among the M×M tokens of "
        "each window, so the cost grows linearly with the image area."
    )

    def _build(self) -> None:
        self.panel = Panel(self.body, 0, 0)
        self.photo = PhotoLayer(self.panel)
        viewbox = self.panel.viewbox
        self.token_grid = make_path_item(viewbox, z=10, crisp=True)
        self.token_grid.setToolTip("Token grid of the selected stage: one cell is one token.")
        self.window_grid = make_path_item(viewbox, z=12)
        self.window_grid.setToolTip("Borders of the M×M windows (W-MSA).")
        self.shifted_grid = make_path_item(viewbox, z=13)
        self.shifted_grid.setToolTip(
            "Windows of the shifted (SW-MSA) block: the partition moved by "
            "M/2 tokens, wrapping around the edges."
        )
        self.selection_fill = make_path_item(viewbox, z=8, crisp=True)
        self.selection_edge = make_path_item(viewbox, z=14)
        self.labels = TextPoolCache(viewbox)
        self._drawings = LruCache(4)
        self._grid_key: tuple[object, ...] | None = None
        self._selection_key: tuple[object, ...] | None = None
        self._partition = np.zeros((0, 0), dtype=np.int64)

    # --- data ---------------------------------------------------------------------------

    def partition_map(self) -> np.ndarray:
        """(Hp, Wp) index of the window each token of the padded grid falls in, in the
        selected block (the regular partition rolled back by the block's shift)."""
        return self._partition

    def drawn_selection(self) -> np.ndarray:
        """(Hp, Wp) bool: the tokens the selected-window fill covers, read from the path."""
        assert self.context is not None
        geometry = self.context.geometry
        return cells_in_path(
            self.selection_fill.path(), geometry.padded_height, geometry.padded_width, geometry.stride
        )

    def drawn_labels(self) -> list[tuple[int, float, float]]:
        """(window number, x, y) of every window number drawn, in pixels."""
        return [(int(item.toPlainText()), item.pos().x(), item.pos().y()) for item in self.labels.visible()]

    # --- drawing ------------------------------------------------------------------------

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        geometry = context.geometry
        stride, window, shift = geometry.stride, geometry.window_size, context.shift
        rows, cols = geometry.padded_height, geometry.padded_width
        self.photo.draw(self, rows * stride, cols * stride)
        key = (rows, cols, window, shift, stride, self.theme.name)
        if key != self._grid_key:
            self._grid_key = key
            self._selection_key = None
            drawing = self._drawings.fetch(key, lambda: self._grid_drawing(rows, cols, window, shift, stride))
            self._partition = drawing["partition"]
            self.token_grid.setPath(drawing["tokens"])
            self.token_grid.setPen(self.pen(self.theme.grid, width=1.0, alpha=70))
            self.window_grid.setPath(drawing["windows"])
            self.window_grid.setPen(
                self.pen(self.theme.grid, self.theme.thick_width, alpha=140 if shift else 255)
            )
            if shift:
                self.shifted_grid.setPath(drawing["shifted"])
                self.shifted_grid.setPen(self.pen(SHIFTED_WINDOW_COLOR, self.theme.thick_width, dashed=True))
            self.shifted_grid.setVisible(bool(shift))
            self.labels.show(key, lambda pool: self._draw_labels(pool, drawing["pieces"], stride))
        selected = context.window
        if (selected, key) != self._selection_key:
            self._selection_key = (selected, key)
            chosen = (self._partition == selected).astype(np.int64)
            paths = value_paths(chosen, stride, skip=(0,))
            fill = paths.get(1)
            if fill is not None:
                self.selection_fill.setPath(fill)
            self.selection_fill.setBrush(self.brush(self.theme.accent, alpha=80))
            self.selection_edge.setPath(boundary_path(np.pad(chosen, 1), stride, offset=(-stride, -stride)))
            self.selection_edge.setPen(self.pen(self.theme.accent, self.theme.thick_width + 1))
        self.style_title(self.panel.title, self._title())
        self.panel.set_extent(0, 0, cols * stride, rows * stride)
        self.set_note(self._note())

    @staticmethod
    def _grid_drawing(rows: int, cols: int, window: int, shift: int, stride: int) -> dict[str, object]:
        """The paths and window pieces of one geometry (remembered per geometry)."""
        partition = reverse_cyclic_shift(window_index_map(rows, cols, window), shift, dims=(0, 1))
        return {
            "partition": partition,
            "tokens": grid_path(rows, cols, 1, 1, stride),
            "windows": grid_path(rows, cols, window, window, stride),
            "shifted": boundary_path(partition, stride, outline=True) if shift else None,
            "pieces": label_rectangles(partition),
        }

    def _draw_labels(self, pool: TextPool, pieces: np.ndarray, stride: int) -> None:
        if len(pieces) > MAX_WINDOW_LABELS:
            return
        font = self.qfont(self.theme.small_size, bold=True)
        box = self.brush(self.theme.background, alpha=150)
        colour = self.theme.foreground if self.theme.name == "screen" else "#000000"
        for index, (x, y) in zip(pieces[:, 4], rect_centres(pieces, stride), strict=True):
            label = pool.add(str(index), x, y, colour, font)
            label.set_box(box)

    def _title(self) -> str:
        assert self.context is not None
        geometry = self.context.geometry
        return (
            f"stage {geometry.stage + 1}: {geometry.height}×{geometry.width} tokens → "
            f"{geometry.windows_per_column}×{geometry.windows_per_row} windows of "
            f"{geometry.window_size}×{geometry.window_size}"
        )

    def _note(self) -> str:
        context = self.context
        assert context is not None
        geometry = context.geometry
        nominal = context.config.window_size
        lines = []
        if min(geometry.height, geometry.width) <= nominal:
            shrink = (
                f"the window shrinks from {nominal} to {geometry.window_size}"
                if geometry.window_shrunk
                else f"one {geometry.window_size}×{geometry.window_size} window"
            )
            lines.append(
                f"<b>Stage {geometry.stage + 1}: the {geometry.height}×{geometry.width} map is no larger "
                f"than M = {nominal}: {shrink} and the shift is switched off.</b>"
            )
        if geometry.padded_height != geometry.height or geometry.padded_width != geometry.width:
            lines.append(
                f"Padding: {geometry.height}×{geometry.width} tokens are zero-padded to "
                f"{geometry.padded_height}×{geometry.padded_width}, a multiple of "
                f"M = {geometry.window_size} (hatched)."
            )
        if context.shift:
            lines.append(
                f"Block {context.block + 1} is SW-MSA: its windows (dashed) are the regular ones "
                f"(solid) shifted by {context.shift} tokens = {context.shift * geometry.stride} px, "
                f"wrapping around the edges; the cyclic shift turns them back into the regular grid."
            )
        elif not context.config.shifted:
            lines.append("Shifted windows are switched off: every block is W-MSA.")
        elif geometry.shift_size:
            lines.append(
                f"Block {context.block + 1} is W-MSA (no shift); blocks 2, 4, … shift by "
                f"{geometry.shift_size}."
            )
        lines.append(
            f"One token = {geometry.stride}×{geometry.stride} px. Window {context.window} is "
            f"selected; click a window to select it."
        )
        return "<br>".join(lines)

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        geometry = self.context.geometry
        return [
            *self.context.caption_parts(),
            f"{geometry.windows_per_column}×{geometry.windows_per_row} windows",
        ]

    # --- mouse --------------------------------------------------------------------------

    def token_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, col) on the padded grid of the selected stage under pixel (x, y)."""
        assert self.context is not None
        geometry = self.context.geometry
        return cell_at(x, y, geometry.stride, geometry.padded_height, geometry.padded_width)

    def pick_at(self, x: float, y: float) -> None:
        """Emit windowPicked for the window (under the block's shift) at pixel (x, y)."""
        assert self.context is not None
        token = self.token_at(x, y)
        if token is None:
            return
        geometry = self.context.geometry
        window, _ = locate_token(
            *token, geometry.padded_height, geometry.padded_width, geometry.window_size, self.context.shift
        )
        self.windowPicked.emit(window)

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        point = self.panel.view_point(scene_pos)
        if point is None or self.context is None:
            return None
        token = self.token_at(point.x(), point.y())
        if token is None:
            return None
        geometry = self.context.geometry
        window, slot = locate_token(
            *token, geometry.padded_height, geometry.padded_width, geometry.window_size, self.context.shift
        )
        padding = " · padding" if token[0] >= geometry.height or token[1] >= geometry.width else ""
        return f"token ({token[0]}, {token[1]}) · window {window}, slot {slot}{padding}"

    def _clicked(self, scene_pos: QtCore.QPointF) -> None:
        point = self.panel.view_point(scene_pos)
        if point is not None:
            self.pick_at(point.x(), point.y())
