"""Figure "merging": the 2x2 patch merging of the selected stage, its order and its shapes."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.palette import MERGE_COLORS, text_color_on
from swin_model.windows import MERGE_OFFSETS

from .base import FigureView, PhotoLayer
from .cells import cell_at, value_rects
from .items import (
    Cells,
    CrispPathItem,
    Panel,
    ScaledLabels,
    WrappedText,
    cells_in_path,
    grid_path,
    make_path_item,
)
from .text_pool import LruCache

__all__ = ["MergingView"]

MERGE_ALPHA = 90


class MergingView(FigureView):
    """Patch merging at the end of the selected stage (the official code's placement).

    Each 2×2 group of tokens is concatenated in the order x0, x1, x2, x3 of
    :data:`swin_model.windows.MERGE_OFFSETS` (C → 4C), normalised, and projected to 2C. The
    grid shows every token coloured by its place in the order, the group borders and the
    query's group labelled; odd grids gain a zero row or column first (hatched). The text
    gives the real shapes and the paper-versus-code split of the stages.
    """

    explanation = (
        "Patch merging: each 2×2 group of neighbouring tokens is concatenated (C → 4C) and "
        "linearly projected to 2C, halving the resolution and doubling the channels."
    )

    def _build(self) -> None:
        self.panel = Panel(self.body, 0, 0)
        self.photo = PhotoLayer(self.panel)
        viewbox = self.panel.viewbox
        self.positions: dict[int, CrispPathItem] = {}
        for index in range(len(MERGE_OFFSETS)):
            item = make_path_item(viewbox, z=7, crisp=True)
            item.setToolTip(
                f"x{index}: the token at offset {MERGE_OFFSETS[index]} (row, col) of each 2×2 "
                f"group, concatenated in place {index}."
            )
            self.positions[index] = item
        self.groups = make_path_item(viewbox, z=12, crisp=True)
        self.groups.setToolTip("2×2 groups: each becomes one token of the next stage.")
        self.query_group = make_path_item(viewbox, z=13)
        self.labels = ScaledLabels(viewbox)
        self.label_cells = []
        for _ in MERGE_OFFSETS:
            cell = QtWidgets.QGraphicsRectItem()
            cell.setZValue(30)
            viewbox.addItem(cell, ignoreBounds=True)
            self.label_cells.append(cell)
        self.diagram = WrappedText()
        self.body.addItem(self.diagram, row=0, col=1, rowspan=2)
        self.body.layout.setColumnStretchFactor(0, 3)
        self.body.layout.setColumnStretchFactor(1, 2)
        self._key: tuple[object, ...] | None = None
        self._paths = LruCache(4)
        self._order_shape = (0, 0)

    def has_merging(self) -> bool:
        assert self.context is not None
        return self.context.stage < len(self.context.geometries) - 1

    def drawn_merge_order(self) -> np.ndarray:
        """(2·h', 2·w') place 0-3 in the concatenation order of each token of the merged
        grid (h' × w' is the next stage's grid), read from the drawn cells; -1 where none."""
        rows, cols = self._order_shape
        drawn = np.full((rows, cols), -1, dtype=np.int64)
        if self.context is None:
            return drawn
        stride = self.context.geometry.stride
        for index, item in self.positions.items():
            if item.isVisible():
                drawn[cells_in_path(item.path(), rows, cols, stride)] = index
        return drawn

    def diagram_text(self) -> str:
        return self.diagram.plain_text()

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        geometry = context.geometry
        stride = geometry.stride
        merging = self.has_merging()
        if merging:
            following = context.geometries[context.stage + 1]
            rows, cols = 2 * following.height, 2 * following.width
        else:
            rows, cols = geometry.height, geometry.width
        self.photo.draw(self, rows * stride, cols * stride)
        key = (rows, cols, stride, merging, self.theme.name)
        if key != self._key:
            self._key = key
            self._order_shape = (rows, cols) if merging else (0, 0)
            cells, groups = self._paths.fetch(
                (rows, cols, stride), lambda: self._order_cells(rows, cols, stride)
            )
            for index, item in self.positions.items():
                item.setVisible(merging)
                item.set_rects(cells[index])
                item.setBrush(self.brush(MERGE_COLORS[index], alpha=MERGE_ALPHA))
            self.groups.setVisible(merging)
            self.groups.setPath(groups)
            heavy = max(rows, cols) <= 32
            self.groups.setPen(
                self.pen(self.theme.grid, self.theme.thick_width if heavy else self.theme.line_width + 0.5)
            )
        self._draw_query_group(merging)
        self.panel.set_extent(0, 0, cols * stride, rows * stride)
        title = (
            f"stage {context.stage + 1}: {geometry.height}×{geometry.width} tokens in 2×2 groups"
            if merging
            else f"stage {context.stage + 1}: the last stage has no merging"
        )
        self.style_title(self.panel.title, title)
        self.diagram.set_html(self._diagram_html(), self.theme.foreground, self.theme.small_size)
        self.set_note(self._note())

    @staticmethod
    def _order_cells(rows: int, cols: int, stride: int) -> tuple[dict[int, Cells], QtGui.QPainterPath]:
        """The cells of each place x0-x3 and the 2×2 group borders of a ``rows x cols``
        grid (remembered per grid: moving between stages asks for them again)."""
        order = np.zeros((rows, cols), dtype=np.int64)
        for index, (row_offset, col_offset) in enumerate(MERGE_OFFSETS):
            order[row_offset::2, col_offset::2] = index
        rects = value_rects(order, stride)
        cells = {index: Cells.of(rects.get(index, np.zeros((0, 4)))) for index in range(len(MERGE_OFFSETS))}
        return cells, grid_path(rows, cols, 2, 2, stride)

    def _draw_query_group(self, merging: bool) -> None:
        context = self.context
        assert context is not None
        stride = context.geometry.stride
        self.labels.begin()
        self.query_group.setVisible(merging)
        if merging:
            row, col = context.query
            top, left = row - row % 2, col - col % 2
            self.query_group.setPath(grid_path(2, 2, 2, 2, stride).translated(left * stride, top * stride))
            self.query_group.setPen(self.pen(self.theme.accent, self.theme.thick_width + 1.5))
            for index, (row_offset, col_offset) in enumerate(MERGE_OFFSETS):
                x, y = (left + col_offset) * stride, (top + row_offset) * stride
                self.labels.add(
                    f"x{index}",
                    x + stride / 2,
                    y + stride / 2,
                    stride * 0.42,
                    text_color_on(MERGE_COLORS[index]),
                )
                cell = self.label_cells[index]
                cell.setRect(QtCore.QRectF(x, y, stride, stride))
                cell.setBrush(self.brush(MERGE_COLORS[index]))
                cell.setPen(self.pen(self.theme.background, width=0.0, alpha=0))
        for cell in self.label_cells:
            cell.setVisible(merging)
        self.labels.end()

    def _diagram_html(self) -> str:
        context = self.context
        assert context is not None
        geometry = context.geometry
        channels = geometry.channels
        if not self.has_merging():
            return (
                f"<b>No patch merging after stage {context.stage + 1}</b>: the official code ends "
                f"the last stage with its blocks; a LayerNorm and the pooled head follow."
            )
        following = context.geometries[context.stage + 1]
        slices = {index: f"[{row}::2, {col}::2]" for index, (row, col) in enumerate(MERGE_OFFSETS)}

        def cell(index: int, detail: str) -> str:
            colour = MERGE_COLORS[index]
            return (
                f"<td bgcolor='{colour}' style='color:{text_color_on(colour)}' align='center'>"
                f"<b>x{index}</b><br>{detail}</td>"
            )

        by_place = {offset: index for index, offset in enumerate(MERGE_OFFSETS)}
        group = "".join(
            "<tr>" + "".join(cell(by_place[(row, col)], slices[by_place[(row, col)]]) for col in (0, 1))
            + "</tr>"
            for row in (0, 1)
        )
        concatenated = "".join(cell(index, f"{channels}") for index in range(len(MERGE_OFFSETS)))
        h, w, h2, w2 = geometry.height, geometry.width, following.height, following.width
        pad = f"<br>{h}×{w} is odd: a zero row/column is added first (hatched)." if (h % 2 or w % 2) else ""
        return (
            f"<b>Patch merging, end of stage {context.stage + 1}</b><br>"
            f"one 2×2 group [rows::2, cols::2]:"
            f"<table cellspacing='2' cellpadding='3'>{group}</table>"
            f"concatenated in this order, C = {channels} each:"
            f"<table cellspacing='2' cellpadding='3'><tr>{concatenated}</tr></table>"
            f"→ 4C = {4 * channels}<br>"
            f"→ LayerNorm({4 * channels})<br>"
            f"→ Linear {4 * channels} → {2 * channels}<br>&nbsp;&nbsp;(no bias, "
            f"{4 * channels * 2 * channels:,} weights)<br><br>"
            f"<b>{h}×{w}×{channels}<br>→ {h2}×{w2}×{4 * channels}<br>→ {h2}×{w2}×{2 * channels}</b>{pad}"
        )

    def _split_table(self) -> str:
        context = self.context
        assert context is not None
        depths = context.config.depths
        last = len(depths) - 1
        code, paper = [], []
        for stage, depth in enumerate(depths):
            bold = ("<b>", "</b>") if stage == context.stage else ("", "")
            code.append(
                f"{bold[0]}[{'embed, ' if stage == 0 else ''}{depth} blocks"
                f"{', merge' if stage < last else ''}]{bold[1]}"
            )
            paper.append(f"{bold[0]}[{'embed' if stage == 0 else 'merge'}, {depth} blocks]{bold[1]}")
        return (
            f"<i>Official code</i> (merging ends stages 1-{last}): {' '.join(code)}<br>"
            f"<i>Paper</i> (merging starts stages 2-{last + 1}): {' '.join(paper)}<br>"
            f"Same network, split differently."
        )

    def _note(self) -> str:
        assert self.context is not None
        if not self.has_merging():
            return f"The last stage keeps its resolution; there is nothing to merge.<br>{self._split_table()}"
        row, col = self.context.query
        return (
            f"Colours: the place of each token in the concatenation (x0 blue, x1 orange, x2 green, "
            f"x3 purple); the labelled group holds the query ({row}, {col}).<br>{self._split_table()}"
        )

    def _caption_parts(self) -> list[str]:
        context = self.context
        assert context is not None
        geometry = context.geometry
        parts = context.caption_parts(block=False)[:3]
        if self.has_merging():
            following = context.geometries[context.stage + 1]
            parts.append(
                f"merging {geometry.height}×{geometry.width}×{geometry.channels} → "
                f"{following.height}×{following.width}×{following.channels}"
            )
        else:
            parts.append("no merging (last stage)")
        return parts

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        point = self.panel.view_point(scene_pos)
        if point is None or self.context is None or not self.has_merging():
            return None
        token = cell_at(point.x(), point.y(), self.context.geometry.stride, *self._order_shape)
        if token is None:
            return None
        row, col = token
        index = MERGE_OFFSETS.index((row % 2, col % 2))
        return f"token ({row}, {col}) → x{index} of the group that becomes token ({row // 2}, {col // 2})"

    def _clicked(self, scene_pos: QtCore.QPointF) -> None:
        point = self.panel.view_point(scene_pos)
        if point is None or self.context is None:
            return
        geometry = self.context.geometry
        token = cell_at(point.x(), point.y(), geometry.stride, geometry.height, geometry.width)
        if token is not None:
            self.queryPicked.emit(*token)
