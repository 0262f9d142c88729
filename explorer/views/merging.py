"""Figure "merging": the 2x2 patch merging of the selected stage, its order and its shapes:
the whole map for context, a zoom on the groups around the query where x0-x3 are large
and labelled, a legend drawn in the same colours, and the shapes."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui

from explorer.palette import MERGE_COLOR_NAMES, MERGE_COLORS, text_color_on
from swin_model.windows import MERGE_OFFSETS

from .base import FigureView, PhotoLayer
from .cells import cell_at, grid_segments, padded_canvas, padding_rects, value_rects
from .items import (
    Cells,
    CrispPathItem,
    Panel,
    WrappedText,
    cells_in_path,
    grid_path,
    hatch_path,
    make_path_item,
    rect_path,
    segments_path,
)
from .regions import LabelSpec, PlacedLabels
from .text_pool import LruCache

__all__ = ["LEGEND_ROWS", "ZOOM_GROUPS", "MergingView", "merge_order_map", "zoom_window"]

MERGE_ALPHA = 110
"""Opacity of the x0-x3 colours over the photo in the zoom (the legend and the label
boxes are opaque)."""
ZOOM_GROUPS = 4
"""The zoom shows up to ZOOM_GROUPS × ZOOM_GROUPS groups of 2×2 tokens."""
LEGEND_ROWS = 2.4
"""Height of the legend band under the zoom, in tokens of the zoom."""
OVERVIEW_PIXELS = 340.0
"""The overview's side in output pixels that its group grid is judged at."""
MIN_GROUP_PITCH = 10.0
"""Group borders closer than this (in the overview) are not drawn."""
COLOURED_TOKEN_PITCH = 14.0
"""The overview colours every token by its place x0-x3 only when tokens are at least this
wide; smaller ones would read as a striped texture (the zoom shows the order)."""


def merge_order_map(rows: int, cols: int) -> np.ndarray:
    """(rows, cols) int64: the place 0-3 in the concatenation of each token of a grid of
    2×2 groups (:data:`swin_model.windows.MERGE_OFFSETS`)."""
    order = np.zeros((rows, cols), dtype=np.int64)
    for index, (row_offset, col_offset) in enumerate(MERGE_OFFSETS):
        order[row_offset::2, col_offset::2] = index
    return order


def zoom_window(
    rows: int, cols: int, query: tuple[int, int], groups: int = ZOOM_GROUPS
) -> tuple[int, int, int, int]:
    """(top, left, height, width) in tokens of the zoom on a (rows, cols) grid of whole 2×2
    groups: up to ``groups`` × ``groups`` groups, the query's group second from the top
    left when the grid allows, always inside the grid."""
    group_rows, group_cols = rows // 2, cols // 2
    shown_rows, shown_cols = min(groups, group_rows), min(groups, group_cols)
    query_group_row, query_group_col = query[0] // 2, query[1] // 2
    top = min(max(query_group_row - 1, 0), group_rows - shown_rows)
    left = min(max(query_group_col - 1, 0), group_cols - shown_cols)
    return 2 * top, 2 * left, 2 * shown_rows, 2 * shown_cols


class MergingView(FigureView):
    """Patch merging at the end of the selected stage (the official code's placement).

    Each 2×2 group of tokens is concatenated in the order x0, x1, x2, x3 of
    :data:`swin_model.windows.MERGE_OFFSETS` (C → 4C), normalised, and projected to 2C.
    Left, the whole map with its groups (coloured by place only when the tokens are large
    enough to read) and the zoomed area outlined; middle, the zoom: a few groups around the
    query with every token coloured and labelled x0-x3, the query's group outlined, and a
    legend in the same colours (:data:`explorer.palette.MERGE_COLORS`). Odd grids gain a
    zero row or column first (hatched). The text gives the real shapes and the
    paper-versus-code split of the stages.
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
        self.zoom_halo = make_path_item(viewbox, z=13)
        self.zoom_outline = make_path_item(viewbox, z=13.5)
        self.zoom_outline.setToolTip("The area shown enlarged on the right.")
        self.query_group = make_path_item(viewbox, z=14)

        self.zoom_panel = Panel(self.body, 0, 1)
        zoom_box = self.zoom_panel.viewbox
        self.zoom_padding = make_path_item(zoom_box, z=5, crisp=True)
        self.zoom_padding.setToolTip("Zero padding: an odd map gains a zero row or column before merging.")
        self.zoom_hatch = make_path_item(zoom_box, z=6)
        self.zoom_positions: dict[int, CrispPathItem] = {}
        for index in range(len(MERGE_OFFSETS)):
            item = make_path_item(zoom_box, z=7, crisp=True)
            item.setToolTip(f"x{index}: place {index} in the concatenation of each group.")
            self.zoom_positions[index] = item
        self.zoom_tokens = make_path_item(zoom_box, z=10, crisp=True)
        self.zoom_groups = make_path_item(zoom_box, z=12)
        self.zoom_groups.setToolTip("2×2 groups: each becomes one token of the next stage.")
        self.zoom_query_halo = make_path_item(zoom_box, z=13)
        self.zoom_query = make_path_item(zoom_box, z=13.5)
        self.zoom_query.setToolTip("The query's group.")
        self.zoom_labels = PlacedLabels(self, self.zoom_panel)

        self.diagram = WrappedText()
        self.body.addItem(self.diagram, row=0, col=2, rowspan=2)
        self.body.layout.setColumnStretchFactor(0, 5)
        self.body.layout.setColumnStretchFactor(1, 6)
        self.body.layout.setColumnStretchFactor(2, 5)
        self._key: tuple[object, ...] | None = None
        self._paths = LruCache(8)
        self._order_shape = (0, 0)
        self._zoom = (0, 0, 0, 0)

    def has_merging(self) -> bool:
        assert self.context is not None
        return self.context.stage < len(self.context.geometries) - 1

    # --- read-back ----------------------------------------------------------------------

    def drawn_merge_order(self) -> np.ndarray:
        """(2·h', 2·w') place 0-3 in the concatenation order of each token of the merged
        grid (h' × w' is the next stage's grid), read from the drawn cells of the overview
        and of the zoom; -1 where neither colours a token."""
        rows, cols = self._order_shape
        drawn = np.full((rows, cols), -1, dtype=np.int64)
        if self.context is None:
            return drawn
        stride = self.context.geometry.stride
        for items in (self.positions, self.zoom_positions):
            for index, item in items.items():
                if item.isVisible():
                    drawn[cells_in_path(item.path(), rows, cols, stride)] = index
        return drawn

    def zoom_area(self) -> tuple[int, int, int, int]:
        """(top, left, height, width) in tokens of the zoomed area (zeros: no merging)."""
        return self._zoom

    def overview_coloured(self) -> bool:
        return any(item.isVisible() for item in self.positions.values())

    def drawn_zoom_labels(self) -> list[tuple[str, QtCore.QRectF, tuple[int, int]]]:
        """(text, scene rectangle, token) of each x0-x3 label in the zoom, read from the
        scene; the token is the cell under the label's middle."""
        if self.context is None:
            return []
        stride = self.context.geometry.stride
        viewbox = self.zoom_panel.viewbox
        labels = []
        for drawn in self.zoom_labels.drawn():
            if " = " in drawn.text:
                continue
            middle = viewbox.mapSceneToView(drawn.scene_rect.center())
            token = cell_at(middle.x(), middle.y(), stride, *self._order_shape)
            if token is not None:
                labels.append((drawn.text, drawn.scene_rect, token))
        return labels

    def legend_entries(self) -> list[tuple[str, str]]:
        """(text, box colour #RRGGBB) of each legend entry, read from the scene."""
        return [(drawn.text, drawn.fill) for drawn in self.zoom_labels.drawn() if " = " in drawn.text]

    def diagram_text(self) -> str:
        return self.diagram.plain_text()

    # --- drawing ------------------------------------------------------------------------

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
        self._order_shape = (rows, cols) if merging else (0, 0)
        key = (rows, cols, stride, merging, self.theme.name)
        if key != self._key:
            self._key = key
            self._draw_overview(rows, cols, stride, merging)
        self._draw_zoom(rows, cols, stride, merging)
        self.panel.set_extent(0, 0, cols * stride, rows * stride)
        title = (
            f"stage {context.stage + 1}: {geometry.height}×{geometry.width} tokens in "
            f"{rows // 2}×{cols // 2} groups of 2×2"
            if merging
            else f"stage {context.stage + 1}: the last stage has no merging"
        )
        self.style_title(self.panel.title, title)
        top, left, height, width = self._zoom
        zoom_title = (f"zoom: rows {top}-{top + height - 1}, columns {left}-{left + width - 1}"
                      if merging else "no zoom: nothing is merged after the last stage")
        self.style_title(self.zoom_panel.title, zoom_title)
        self.diagram.set_html(self._diagram_html(), self.theme.foreground, self.theme.small_size)
        self.set_note(self._note())

    def _draw_overview(self, rows: int, cols: int, stride: int, merging: bool) -> None:
        token_pitch = OVERVIEW_PIXELS / max(rows, cols, 1)
        coloured = merging and token_pitch >= COLOURED_TOKEN_PITCH
        # only what is shown is built: a fine map has tens of thousands of groups
        if coloured:
            cells = self._paths.fetch(("cells", rows, cols, stride),
                                      lambda: self._order_cells(rows, cols, stride))
        for index, item in self.positions.items():
            item.setVisible(coloured)
            if coloured:
                item.set_rects(cells[index])
            item.setBrush(self.brush(MERGE_COLORS[index], alpha=MERGE_ALPHA))
        group_pitch = 2 * token_pitch
        self.groups.setVisible(merging)
        if group_pitch >= MIN_GROUP_PITCH:
            self.groups.setPath(self._paths.fetch(("groups", rows, cols, stride),
                                                  lambda: grid_path(rows, cols, 2, 2, stride)))
        else:  # too dense to draw each group: the outline only
            self.groups.setPath(grid_path(rows, cols, rows, cols, stride))
        heavy = group_pitch >= 24
        width = self.theme.thick_width if heavy else self.theme.line_width
        self.groups.setPen(self.pen(self.theme.grid, width, alpha=255 if heavy else 150))

    @staticmethod
    def _order_cells(rows: int, cols: int, stride: int) -> dict[int, Cells]:
        """The cells of each place x0-x3 of a ``rows x cols`` grid (remembered per grid:
        moving between stages asks for them again)."""
        rects = value_rects(merge_order_map(rows, cols), stride)
        return {index: Cells.of(rects.get(index, np.zeros((0, 4)))) for index in range(len(MERGE_OFFSETS))}

    def _draw_zoom(self, rows: int, cols: int, stride: int, merging: bool) -> None:
        context = self.context
        assert context is not None
        theme = self.theme
        for item in (self.zoom_outline, self.zoom_halo, self.query_group, self.zoom_query,
                     self.zoom_query_halo, self.zoom_groups, self.zoom_tokens, self.zoom_padding,
                     self.zoom_hatch, *self.zoom_positions.values()):
            item.setVisible(merging)
        assert self.zoom_panel.image is not None
        self.zoom_panel.image.setVisible(merging)
        if not merging:
            self._zoom = (0, 0, 0, 0)
            self.zoom_labels.set_labels([], (0.0, 0.0, cols * stride, rows * stride))
            return
        row, col = context.query
        top, left, height, width = self._zoom = zoom_window(rows, cols, (row, col))
        x0, y0 = left * stride, top * stride
        zoom_rect = QtCore.QRectF(x0, y0, width * stride, height * stride)
        # outlines over a busy picture: the accent colour on a halo of the background
        outline = rect_path(np.array([[x0, y0, width * stride, height * stride]]))
        if width < cols / 6:  # a small mark on a large map: lines from the edges lead to it
            x1, y1 = x0 + width * stride, y0 + height * stride
            mid_x, mid_y = (x0 + x1) / 2, (y0 + y1) / 2
            leads = np.array([[0, mid_y, x0, mid_y], [x1, mid_y, cols * stride, mid_y],
                              [mid_x, 0, mid_x, y0], [mid_x, y1, mid_x, rows * stride]], dtype=np.float64)
            outline.addPath(segments_path(leads[(leads[:, 0] != leads[:, 2]) | (leads[:, 1] != leads[:, 3])]))
        self.zoom_halo.setPath(outline)
        self.zoom_halo.setPen(self.pen(theme.background, theme.thick_width + 3.0))
        self.zoom_outline.setPath(outline)
        self.zoom_outline.setPen(self.pen(theme.accent, theme.thick_width, dashed=True))
        group_top, group_left = row - row % 2, col - col % 2
        group_rect = np.array([[group_left * stride, group_top * stride, 2 * stride, 2 * stride]])
        self.query_group.setPath(rect_path(group_rect))
        self.query_group.setPen(self.pen(theme.accent, theme.thick_width))

        order = merge_order_map(height, width)
        rects = value_rects(order, stride, offset=(x0, y0))
        for index, item in self.zoom_positions.items():
            item.set_rects(rects.get(index, np.zeros((0, 4))))
            item.setBrush(self.brush(MERGE_COLORS[index], alpha=MERGE_ALPHA))
        shift = np.array([x0, y0, x0, y0])
        self.zoom_tokens.setPath(segments_path(grid_segments(height, width, 1, 1, stride) + shift))
        self.zoom_tokens.setPen(self.pen(theme.muted, theme.line_width, alpha=160))
        self.zoom_groups.setPath(segments_path(grid_segments(height, width, 2, 2, stride) + shift))
        self.zoom_groups.setPen(self.pen(theme.grid, theme.thick_width))
        self.zoom_query_halo.setPath(rect_path(group_rect))
        self.zoom_query_halo.setPen(self.pen(theme.background, theme.thick_width + 6.0))
        self.zoom_query.setPath(rect_path(group_rect))
        self.zoom_query.setPen(self.pen(theme.accent, theme.thick_width + 2.0))

        self._draw_zoom_photo(rows, cols, stride, zoom_rect)
        band = LEGEND_ROWS * stride
        content = (x0, y0, width * stride, height * stride + band)

        specs = []
        for cell_row in range(height):
            for cell_col in range(width):
                index = int(order[cell_row, cell_col])
                specs.append(LabelSpec(
                    f"x{index}",
                    ((left + cell_col) * stride, (top + cell_row) * stride, stride, stride),
                    MERGE_COLORS[index],
                    (top + cell_row, left + cell_col, 1, 1),
                    allow_outside=False,
                    allow_legend=False,
                ))
        # the legend: one entry per place, laid out as a group reads (x0 x2 / x1 x3)
        slot_width, slot_height = width * stride / 2, (band - 0.3 * stride) / 2
        band_top = y0 + height * stride + 0.3 * stride
        for index, (row_offset, col_offset) in enumerate(MERGE_OFFSETS):
            slot = (x0 + col_offset * slot_width, band_top + row_offset * slot_height,
                    slot_width, slot_height)
            specs.append(LabelSpec(
                f"x{index} = [{row_offset}::2, {col_offset}::2]",
                slot,
                MERGE_COLORS[index],
                allow_outside=False,
                allow_legend=False,
            ))
        self.zoom_labels.set_labels(specs, content)

    def _draw_zoom_photo(self, rows: int, cols: int, stride: int, zoom_rect: QtCore.QRectF) -> None:
        """The photo under the zoomed area only (cropped: nothing of the photo shows around
        it), its zero padding grey and hatched."""
        context = self.context
        assert context is not None and self.zoom_panel.image is not None
        theme = self.theme
        fill = QtGui.QColor(theme.padding)
        canvas = padded_canvas(self.prepared, context.image_shape, rows * stride, cols * stride,
                               (fill.red(), fill.green(), fill.blue()))
        x0, y0 = int(zoom_rect.x()), int(zoom_rect.y())
        x1, y1 = int(zoom_rect.right()), int(zoom_rect.bottom())
        self.zoom_panel.image.setImage(np.ascontiguousarray(canvas[y0:y1, x0:x1]), autoLevels=False,
                                       levels=(0, 255))
        self.zoom_panel.image.setRect(zoom_rect)
        padding = []
        for x, y, w, h in padding_rects(context.image_shape, rows * stride, cols * stride):
            left, top = max(x, x0), max(y, y0)
            right, bottom = min(x + w, x1), min(y + h, y1)
            if right > left and bottom > top:
                padding.append((left, top, right - left, bottom - top))
        rects = np.asarray(padding, dtype=np.float64).reshape(-1, 4)
        self.zoom_padding.setPath(rect_path(rects))
        self.zoom_padding.setBrush(self.brush(theme.padding, alpha=90))
        self.zoom_hatch.setPath(hatch_path(rects, spacing=zoom_rect.width() / 24))
        self.zoom_hatch.setPen(self.pen(theme.foreground, width=1.0, alpha=150))

    # --- text ---------------------------------------------------------------------------

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

    def colour_words(self) -> str:
        """ "x0 blue, x1 orange, …": the names of the colours drawn, from the palette."""
        return ", ".join(f"x{index} {name}" for index, name in enumerate(MERGE_COLOR_NAMES))

    def _note(self) -> str:
        assert self.context is not None
        if not self.has_merging():
            return f"The last stage keeps its resolution; there is nothing to merge.<br>{self._split_table()}"
        row, col = self.context.query
        coloured = ("" if self.overview_coloured() else
                    " The whole map (left) is too fine to colour each token; the zoom shows the order.")
        return (
            f"Colours: the place of each token in the concatenation ({self.colour_words()}); the "
            f"outlined group holds the query ({row}, {col}).{coloured}<br>{self._split_table()}"
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

    def _token_at(self, scene_pos: QtCore.QPointF) -> tuple[int, int] | None:
        """The token of the merged grid under ``scene_pos`` in either panel."""
        if self.context is None or not self.has_merging():
            return None
        stride = self.context.geometry.stride
        for panel in (self.panel, self.zoom_panel):
            point = panel.view_point(scene_pos)
            if point is None:
                continue
            token = cell_at(point.x(), point.y(), stride, *self._order_shape)
            if panel is self.zoom_panel and token is not None:
                top, left, height, width = self._zoom
                if not (top <= token[0] < top + height and left <= token[1] < left + width):
                    return None
            return token
        return None

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        token = self._token_at(scene_pos)
        if token is None:
            return None
        row, col = token
        index = MERGE_OFFSETS.index((row % 2, col % 2))
        return (f"token ({row}, {col}) → x{index} ({MERGE_COLOR_NAMES[index]}) of the group that becomes "
                f"token ({row // 2}, {col // 2})")

    def _clicked(self, scene_pos: QtCore.QPointF) -> None:
        token = self._token_at(scene_pos)
        if token is None or self.context is None:
            return
        geometry = self.context.geometry
        if token[0] < geometry.height and token[1] < geometry.width:
            self.queryPicked.emit(*token)
