"""Figure "windows": the selected stage's token grid and its M×M windows over the photo."""

from __future__ import annotations

import math

import numpy as np
from PySide6 import QtCore, QtGui

from swin_model.windows import locate_token, reverse_cyclic_shift, window_index_map

from .base import FigureView, PhotoLayer
from .cells import cell_at, label_rectangles, offset_grid_segments
from .density import MIN_LINE_SPACING_PX, detail_is_stale, divisor_step, line_step, plan_grid_labels
from .items import (
    ExportHook,
    Label,
    Panel,
    boundary_path,
    cells_in_path,
    grid_path,
    make_path_item,
    number_size,
    segments_path,
    value_paths,
)
from .text_pool import LruCache, TextPool, TextPoolCache

__all__ = ["HINT", "SHIFTED_WINDOW_COLOR", "WindowsView"]

SHIFTED_WINDOW_COLOR = "#E69F00"
HINT = "Window {window} is selected (filled) · click a window to select another."
"""Shown under the figure on screen only (in the hover line), never in an export."""


class WindowsView(FigureView):
    """Window partition of the selected stage, mapped back to pixels (one token is
    ``stride`` pixels a side), with the padding to a multiple of the window hatched.

    In a shifted (SW-MSA) block the windows the block really uses are drawn dashed on the
    original grid: the regular partition moved by the shift, wrapping around the edges.
    The selected window (``state.window``, under the block's shift) is filled on screen (not
    in an export: it is an interaction mark). A click emits ``windowPicked`` with the window
    under the pointer.

    Levels of detail (:mod:`explorer.views.density`), from the panel's pixels per image
    pixel: token borders are drawn every k tokens, k the smallest divisor of M that keeps
    them 4 px apart (none when only k = M would: the window borders remain); window borders
    likewise every k windows when windows are under 4 px; window numbers go on every k-th
    window row and column, so that no two overlap, each inside its window piece.
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
        self.window_grid = make_path_item(viewbox, z=12, crisp=True)
        self.window_grid.setToolTip("Borders of the M×M windows (W-MSA).")
        self.shifted_grid = make_path_item(viewbox, z=13, crisp=True)
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
        self._scale = 0.0
        self._steps = (1, 1)
        self._label_step = 1
        self._label_steps: dict[object, int] = {}
        self.export_hook = ExportHook(self.set_exporting)
        viewbox.addItem(self.export_hook, ignoreBounds=True)
        viewbox.sigTransformChanged.connect(self._transform_changed)

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

    def label_items(self) -> list[Label]:
        """The window-number labels drawn (their boxes are in screen pixels)."""
        return self.labels.visible()

    def label_step(self) -> int:
        """Window numbers are drawn on every k-th window row and column."""
        return self._label_step

    def line_steps(self) -> tuple[int, int]:
        """(token step, window step) of the drawn grid: token borders every k tokens (0:
        none, only window borders), window borders every k windows."""
        return self._steps

    def set_exporting(self, exporting: bool) -> None:
        """Hide the on-screen marks (the selected window) while the scene is painted for
        export, and show them again after (called through :class:`ExportHook`)."""
        for item in (self.selection_fill, self.selection_edge):
            item.setOpacity(0.0 if exporting else 1.0)

    # --- level of detail ----------------------------------------------------------------

    def _transform_changed(self, *_: object) -> None:
        """Resizing or zooming: redraw (soon) when the level of detail changes."""
        if self._disposed or self.context is None:
            return
        if detail_is_stale(self._scale, self.panel.pixels_per_unit()):
            self.redraw_soon()

    # --- drawing ------------------------------------------------------------------------

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        geometry = context.geometry
        stride, window, shift = geometry.stride, geometry.window_size, context.shift
        rows, cols = geometry.padded_height, geometry.padded_width
        self.photo.draw(self, rows * stride, cols * stride)
        self.panel.set_extent(0, 0, cols * stride, rows * stride)
        if detail_is_stale(self._scale, self.panel.pixels_per_unit()):
            self._scale = self.panel.pixels_per_unit()
        scale = self._scale
        token_step = divisor_step(stride * scale, window)
        window_step = line_step(window * stride * scale)
        self._steps = (0 if token_step == window else token_step, window_step)
        # dense window borders (solid and dashed) would cover the photo: thinner pens
        border = max(1.0, min(self.theme.thick_width, window * window_step * stride * scale / 8))
        edge_gap = math.ceil(MIN_LINE_SPACING_PX / (stride * scale) - 1e-9)  # tokens
        key = (rows, cols, window, shift, stride, self._steps, edge_gap, border, self.theme.name)
        drawing = self._drawings.fetch(
            key[:7], lambda: self._grid_drawing(rows, cols, window, shift, stride, self._steps, edge_gap)
        )
        if key != self._grid_key:
            self._grid_key = key
            self._selection_key = None
            self._partition = drawing["partition"]
            tokens = drawing["tokens"]
            self.token_grid.setPath(tokens if tokens is not None else QtGui.QPainterPath())
            self.token_grid.setPen(self.pen(self.theme.grid, width=1.0, alpha=70))
            self.token_grid.setVisible(bool(self._steps[0]))
            self.window_grid.setPath(drawing["windows"])
            self.window_grid.setPen(self.pen(self.theme.grid, border, alpha=140 if shift else 255))
            if shift:
                self.shifted_grid.setPath(drawing["shifted"])
                self.shifted_grid.setPen(self.pen(SHIFTED_WINDOW_COLOR, border, dashed=True))
            self.shifted_grid.setVisible(bool(shift))
        label_key = (key, scale)
        self.labels.show(label_key, lambda pool: self._draw_labels(pool, drawing["pieces"], stride, scale))
        self._label_step = self._label_steps.get(label_key, 1)
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
        self.set_note(self._note())
        if not self._hover_label.text().strip() or self._hover_label.text().startswith("Window "):
            self._hover_label.setText(self._hint())

    @staticmethod
    def _grid_drawing(
        rows: int, cols: int, window: int, shift: int, stride: int, steps: tuple[int, int], edge_gap: float
    ) -> dict[str, object]:
        """The paths and window pieces of one geometry at one level of detail (remembered):
        token borders every ``steps[0]`` tokens (0: none), window borders every ``steps[1]``
        windows, shifted borders no closer than ``edge_gap`` tokens to the map's edge."""
        token_step, window_step = steps
        partition = reverse_cyclic_shift(window_index_map(rows, cols, window), shift, dims=(0, 1))
        period = window * window_step
        # the shifted borders (every window_step-th), none closer to the edge than 4 px
        shifted = None
        if shift:
            shifted = segments_path(offset_grid_segments(rows, cols, period, shift, stride, edge_gap))
        return {
            "partition": partition,
            "tokens": grid_path(rows, cols, token_step, token_step, stride) if token_step else None,
            "windows": grid_path(rows, cols, period, period, stride),
            "shifted": shifted,
            "pieces": label_rectangles(partition),
        }

    def _draw_labels(self, pool: TextPool, pieces: np.ndarray, stride: int, scale: float) -> None:
        """Window numbers on every k-th window row and column (k from the label size and
        the windows' size on screen), each inside its window piece, none overlapping."""
        assert self.context is not None
        geometry = self.context.geometry
        font = self.qfont(self.theme.small_size, bold=True)
        digits = np.floor(np.log10(np.maximum(pieces[:, 4], 1))).astype(np.int64) + 1
        widths = {count: number_size(count, font) for count in np.unique(digits).tolist()}
        plan = plan_grid_labels(
            pieces[:, [1, 0, 3, 2]] * stride,
            np.stack(np.divmod(pieces[:, 4], geometry.windows_per_row), axis=1),
            geometry.window_size * stride,
            scale,
            np.array([widths[count] for count in digits.tolist()]).reshape(-1, 2),
            (0, 0, geometry.padded_width * stride, geometry.padded_height * stride),
        )
        if len(self._label_steps) > 64:
            self._label_steps.clear()
        self._label_steps[(self._grid_key, scale)] = plan.step
        box = self.brush(self.theme.background, alpha=150)
        colour = self.theme.foreground if self.theme.name == "screen" else "#000000"
        for index in np.flatnonzero(plan.keep):
            x, y = plan.centres[index]
            label = pool.add(str(pieces[index, 4]), float(x), float(y), colour, font)
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
        token_step, window_step = self._steps
        detail = [f"One token = {geometry.stride}×{geometry.stride} px."]
        if token_step == 0:
            detail.append("Token borders are left out at this size (only window borders).")
        elif token_step > 1:
            detail.append(f"Thin lines: every {token_step} tokens.")
        if window_step > 1:
            detail.append(f"Window borders: every {window_step} windows.")
        if self._label_step > 1:
            detail.append(f"Window numbers: one window in {self._label_step} along rows and columns.")
        lines.append(" ".join(detail))
        return "<br>".join(lines)

    def _hint(self) -> str:
        return HINT.format(window=self.context.window if self.context is not None else 0)

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
            return self._hint()
        token = self.token_at(point.x(), point.y())
        if token is None:
            return self._hint()
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
