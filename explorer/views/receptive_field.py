"""Figure "receptive-field": which patches of the image can reach one token, block after
block, with and without the shifted windows (from :func:`swin_model.windows.receptive_field`)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PySide6 import QtCore

from swin_model import SwinConfig
from swin_model.windows import receptive_field, receptive_field_growth

from .base import FigureView, PhotoLayer
from .cells import cell_at, value_rects
from .heat import path_unit_edges
from .items import Panel, boundary_path, cells_in_path, make_path_item, rect_path, segments_path
from .text_pool import TextPool

__all__ = ["SHIFT_OFF_COLOR", "SHIFT_ON_COLOR", "ReceptiveFieldView", "cached_field", "cached_growth"]

SHIFT_ON_COLOR = "#009E73"
"""Shifted windows on (W-MSA and SW-MSA alternate): bluish green."""
SHIFT_OFF_COLOR = "#CC79A7"
"""Shifted windows off (W-MSA only): reddish purple."""
X_UNIT = 10.0
Y_UNIT = 5.0
"""Chart units of one bar's width and of one step of the vertical layout. The chart is drawn
this large so its view box scales units to pixels by about 1: SVG renderers that ignore
``vector-effect: non-scaling-stroke`` (librsvg 2.54) then keep the outlines thin."""
BAR = X_UNIT
"""Width of one bar."""
CHART_HEIGHT = 60.0 * Y_UNIT
"""Height of a bar at 100 %."""
BAR_STEP = 3.0 * X_UNIT
"""Chart units per block: a bar for each setting and a gap."""
OUTSIDE_ALPHA = 150
FIELD_ALPHA = 70


@lru_cache(maxsize=16)
def cached_growth(config: SwinConfig, shape: tuple[int, int], patch_row: int, patch_col: int
                  ) -> tuple[tuple[int, int, int], ...]:
    """:func:`swin_model.windows.receptive_field_growth` on an input of ``shape`` = (H, W)."""
    return tuple(receptive_field_growth(config, *shape, patch_row, patch_col))


@lru_cache(maxsize=32)
def cached_field(config: SwinConfig, shape: tuple[int, int], stage: int, block: int, row: int, col: int
                 ) -> np.ndarray:
    """:func:`swin_model.windows.receptive_field` on an input of ``shape`` = (H, W) (1-based
    stage and block), read-only."""
    field = receptive_field(config, *shape, stage, block, row, col)
    field.setflags(write=False)
    return field


def first_full(growth: tuple[tuple[int, int, int], ...], total: int) -> tuple[int, int] | None:
    """(stage, block), 1-based, of the first block after which the field is every patch."""
    for stage, block, count in growth:
        if count >= total:
            return stage, block
    return None


def _percent(count: int, total: int) -> str:
    value = 100.0 * count / total
    return f"{value:.0f} %" if value >= 10 or value == 0 else f"{value:.1f} %"


class ReceptiveFieldView(FigureView):
    """The receptive field of the query token after the selected block: the stage-1 patches
    (4×4 pixels) that can change it, drawn on the photo (filled, in the colour of the
    current setting; the other setting's field dashed). Beside it, for the token at the same
    place of the image after every block of the network, the field's size in % of the image
    with shifted windows on and off, and where each first covers the whole image. Without
    the shift a token sees one window's footprint until a merge widens it."""

    explanation = (
        "Receptive field: the patches that can influence a token. Window attention alone keeps "
        "it inside one window until merging; the shifted windows let it grow every block."
    )

    def _build(self) -> None:
        self.panel = Panel(self.body, 0, 0)
        self.photo = PhotoLayer(self.panel)
        viewbox = self.panel.viewbox
        self.outside = make_path_item(viewbox, z=8, crisp=True)
        self.outside.setToolTip("Patches that cannot reach the token (darkened).")
        self.field_fill = make_path_item(viewbox, z=9, crisp=True)
        self.field_fill.setToolTip("The receptive field: patches that can change the token.")
        self.field_edge = make_path_item(viewbox, z=12)
        self.other_edge = make_path_item(viewbox, z=13)
        self.other_edge.setToolTip("The field with the other setting of the shift (dashed).")
        self.token_item = make_path_item(viewbox, z=20)
        self.token_item.setToolTip("The query token at the selected stage.")

        self.chart = Panel(self.body, 0, 1, with_image=False, aspect_locked=False)
        self.body.layout.setColumnStretchFactor(0, 3)
        self.body.layout.setColumnStretchFactor(1, 3)
        chart = self.chart.viewbox
        self.gridlines = make_path_item(chart, z=2)
        self.bars = {shifted: make_path_item(chart, z=5, crisp=True) for shifted in (True, False)}
        self.bars[True].setToolTip("Field size with shifted windows (W-MSA and SW-MSA alternate).")
        self.bars[False].setToolTip("Field size with W-MSA only (no shift).")
        self.stage_lines = make_path_item(chart, z=3)
        self.selected_bar = make_path_item(chart, z=8)
        self.selected_bar.setToolTip("The selected stage and block.")
        self.chart_labels = TextPool(chart)
        self._growth: dict[bool, tuple[tuple[int, int, int], ...]] = {}
        self._field = np.zeros((0, 0), dtype=bool)
        self._other = np.zeros((0, 0), dtype=bool)
        self._patch_grid = (0, 0)
        self._legend: list[str] = []

    # --- read back (tests) --------------------------------------------------------------------

    def field(self) -> np.ndarray:
        """(h1, w1) bool: the field as computed for the current state."""
        return self._field.copy()

    def drawn_field(self) -> np.ndarray:
        """(h1, w1) bool: the stage-1 patches the drawn field fill covers."""
        rows, cols = self._patch_grid
        assert self.context is not None
        return cells_in_path(self.field_fill.path(), rows, cols, self.context.config.patch_size)

    def drawn_outside(self) -> np.ndarray:
        """(h1, w1) bool: the patches darkened as outside the field."""
        rows, cols = self._patch_grid
        assert self.context is not None
        return cells_in_path(self.outside.path(), rows, cols, self.context.config.patch_size)

    def drawn_outline(self, other: bool = False) -> set[tuple[int, int, int, int]]:
        """Unit edges (x0, y0, x1, y1), in patches, of the drawn outline of the field (or of
        the other setting's dashed field), read from the path's line segments."""
        assert self.context is not None
        item = self.other_edge if other else self.field_edge
        return path_unit_edges(item.path(), self.context.config.patch_size)

    def drawn_bars(self) -> dict[bool, list[float]]:
        """{shifted: [% of the image per block in forward order]} read from the bar rects."""
        bars = {}
        for shifted, item in self.bars.items():
            rects = [polygon.boundingRect() for polygon in item.path().toSubpathPolygons()]
            rects.sort(key=lambda rect: rect.left())
            bars[shifted] = [rect.height() / CHART_HEIGHT * 100.0 for rect in rects]
        return bars

    def drawn_token(self) -> QtCore.QRectF:
        return self.token_item.path().boundingRect()

    def growth(self, shifted: bool) -> tuple[tuple[int, int, int], ...]:
        return self._growth.get(shifted, ())

    def chart_texts(self) -> list[str]:
        return [label.toPlainText() for label in self.chart_labels.visible()]

    # --- drawing ------------------------------------------------------------------------------

    def _configs(self) -> dict[bool, SwinConfig]:
        assert self.context is not None
        config = self.context.config
        return {shifted: config.replace(shifted=shifted) for shifted in (True, False)}

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        geometry = context.geometry
        stride = geometry.stride
        patch = context.config.patch_size
        shape = context.image_shape
        self.photo.draw(self, geometry.padded_height * stride, geometry.padded_width * stride)
        self.panel.set_extent(0, 0, geometry.padded_width * stride, geometry.padded_height * stride)
        row, col = context.query
        stage, block = context.stage + 1, context.block + 1
        configs = self._configs()
        shifted = context.config.shifted
        self._field = cached_field(configs[shifted], shape, stage, block, row, col)
        self._other = cached_field(configs[not shifted], shape, stage, block, row, col)
        self._patch_grid = self._field.shape
        patch_row, patch_col = row << context.stage, col << context.stage
        self._growth = {
            setting: cached_growth(configs[setting], shape, patch_row, patch_col) for setting in (True, False)
        }
        self._draw_field(patch, shifted)
        self.token_item.setPath(rect_path(np.array([[col * stride, row * stride, stride, stride]])))
        self.token_item.setPen(self.pen("#FFFFFF", self.theme.thick_width + 1))
        self._draw_chart()
        total = self._field.size
        count = int(self._field.sum())
        setting = "with shifted windows" if shifted else "without shift"
        self.style_title(
            self.panel.title,
            f"receptive field of token ({row}, {col}) after stage {stage} block {block} {setting}: "
            f"{count} of {total} patches ({_percent(count, total)})",
        )
        self.style_title(self.chart.title, "field size after every block (token at the same place)<br>"
                         + " &nbsp; ".join(self._legend))
        self.set_note(self._note())

    def _draw_field(self, patch: int, shifted: bool) -> None:
        colour = SHIFT_ON_COLOR if shifted else SHIFT_OFF_COLOR
        other_colour = SHIFT_OFF_COLOR if shifted else SHIFT_ON_COLOR
        rows, cols = self._field.shape
        cells = value_rects(self._field.astype(np.int64), patch)
        self.field_fill.set_rects(cells.get(1, np.zeros((0, 4))))
        self.field_fill.setBrush(self.brush(colour, alpha=FIELD_ALPHA))
        self.outside.set_rects(cells.get(0, np.zeros((0, 4))))
        self.outside.setBrush(self.brush("#000000", alpha=OUTSIDE_ALPHA))
        edge = np.zeros((rows + 2, cols + 2), dtype=np.int64)
        edge[1:-1, 1:-1] = self._field
        self.field_edge.setPath(boundary_path(edge, patch, offset=(-patch, -patch)))
        self.field_edge.setPen(self.pen(colour, self.theme.thick_width))
        other = np.zeros((rows + 2, cols + 2), dtype=np.int64)
        other[1:-1, 1:-1] = self._other
        self.other_edge.setPath(boundary_path(other, patch, offset=(-patch, -patch)))
        self.other_edge.setPen(self.pen(other_colour, self.theme.thick_width, dashed=True))

    def _draw_chart(self) -> None:
        context = self.context
        assert context is not None
        total = self._field.size
        blocks = len(self._growth[True])
        width = blocks * BAR_STEP
        labels = self.chart_labels
        labels.begin()
        small = self.qfont(self.theme.small_size)
        grid = []
        for percent in (0, 25, 50, 75, 100):
            y = CHART_HEIGHT * (1 - percent / 100)
            grid.append((-0.5 * X_UNIT, y, width, y))
            labels.add(f"{percent} %", -0.8 * X_UNIT, y, self.theme.foreground, small, anchor=(1.0, 0.5))
        self.gridlines.setPath(segments_path(np.array(grid, dtype=np.float64)))
        self.gridlines.setPen(self.pen(self.theme.grid, width=1.0, alpha=60))
        for shifted, item in self.bars.items():
            rects = []
            for index, (_, _, count) in enumerate(self._growth[shifted]):
                height = CHART_HEIGHT * count / total
                left = index * BAR_STEP + (0.0 if shifted else BAR)
                rects.append((left, CHART_HEIGHT - height, BAR, height))
            item.set_rects(np.array(rects, dtype=np.float64))
            item.setBrush(self.brush(SHIFT_ON_COLOR if shifted else SHIFT_OFF_COLOR))
        separators = []
        stage_spans: dict[int, list[float]] = {}
        previous_stage = None
        for index, (stage, block, _) in enumerate(self._growth[True]):
            centre = index * BAR_STEP + BAR
            labels.add(f"{stage}.{block}", centre, CHART_HEIGHT + Y_UNIT, self.theme.foreground, small,
                       anchor=(0.5, 0.0))
            stage_spans.setdefault(stage, []).append(centre)
            if previous_stage is not None and stage != previous_stage:
                x = index * BAR_STEP - 0.5 * X_UNIT
                separators.append((x, -Y_UNIT, x, CHART_HEIGHT + 6.0 * Y_UNIT))
            previous_stage = stage
        for stage, centres in stage_spans.items():
            labels.add(f"stage {stage}", (centres[0] + centres[-1]) / 2, CHART_HEIGHT + 4.0 * Y_UNIT,
                       self.theme.muted, small, anchor=(0.5, 0.0))
        self.stage_lines.setPath(segments_path(np.array(separators, dtype=np.float64).reshape(-1, 4)))
        self.stage_lines.setPen(self.pen(self.theme.foreground, width=1.0, dashed=True, alpha=160))
        legend = []
        for shifted in (True, False):
            full = first_full(self._growth[shifted], total)
            colour = SHIFT_ON_COLOR if shifted else SHIFT_OFF_COLOR
            name = "shift on" if shifted else "shift off (W-MSA only)"
            if full is not None:
                index = [(s, b) for s, b, _ in self._growth[shifted]].index(full)
                x = index * BAR_STEP + (0.5 if shifted else 1.5) * BAR
                marker_font = self.qfont(self.theme.small_size, bold=True)
                labels.add("◆", x, -0.4 * Y_UNIT, colour, marker_font, anchor=(0.5, 1.0))
                name += f": whole image ◆ at {full[0]}.{full[1]}"
            legend.append(f"<span style='color:{colour}'>■ {name}</span>")
        self._legend = legend
        selected = [(s, b) for s, b, _ in self._growth[True]].index((context.stage + 1, context.block + 1))
        self.selected_bar.setPath(rect_path(np.array([[selected * BAR_STEP - 0.3 * X_UNIT, -0.3 * Y_UNIT,
                                                       2.6 * X_UNIT, CHART_HEIGHT + 0.6 * Y_UNIT]])))
        self.selected_bar.setPen(self.pen(self.theme.accent, self.theme.thick_width))
        labels.end()
        self.chart.set_extent(-5.0 * X_UNIT, -4.0 * Y_UNIT, width + 6.0 * X_UNIT,
                              CHART_HEIGHT + 12.0 * Y_UNIT)

    def _note(self) -> str:
        context = self.context
        assert context is not None
        total = self._field.size
        parts = []
        for shifted in (True, False):
            name = "shift on" if shifted else "shift off"
            full = first_full(self._growth[shifted], total)
            where = f"stage {full[0]} block {full[1]}" if full else "never (not by the last block)"
            parts.append(f"{name}: whole image first after <b>{where}</b>")
        header = "".join(f"<td align='right'>{stage}.{block}</td>" for stage, block, _ in self._growth[True])
        rows = []
        for shifted in (True, False):
            colour = SHIFT_ON_COLOR if shifted else SHIFT_OFF_COLOR
            cells = "".join(f"<td align='right'>{count}</td>" for _, _, count in self._growth[shifted])
            rows.append(f"<tr><td style='color:{colour}'><b>{'shift on' if shifted else 'shift off'}"
                        f"</b></td>{cells}</tr>")
        table = (f"<table cellspacing='0' cellpadding='2'><tr><td>patches after block</td>{header}</tr>"
                 f"{''.join(rows)}</table>")
        count_on = int(self._growth[True][self._selected_index()][2])
        count_off = int(self._growth[False][self._selected_index()][2])
        return (
            f"Selected stage {context.stage + 1} block {context.block + 1}: {count_on} patches "
            f"({_percent(count_on, total)} of the {total}) with the shift, {count_off} "
            f"({_percent(count_off, total)}) without. {'; '.join(parts)}.<br>{table}"
            f"A block mixes a token with its window (SW-MSA: its shifted window, own region only: the "
            f"mask stops the wrap-around); merging joins 2×2 groups; the MLP mixes nothing. Filled: "
            f"{'with' if context.config.shifted else 'without'} the shift; dashed: "
            f"{'without' if context.config.shifted else 'with'}."
        )

    def _selected_index(self) -> int:
        assert self.context is not None
        key = (self.context.stage + 1, self.context.block + 1)
        return [(s, b) for s, b, _ in self._growth[True]].index(key)

    # --- mouse ------------------------------------------------------------------------------

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        context = self.context
        assert context is not None
        point = self.panel.view_point(scene_pos)
        if point is not None:
            patch = context.config.patch_size
            rows, cols = self._patch_grid
            cell = cell_at(point.x(), point.y(), patch, rows, cols)
            if cell is None:
                return None
            inside = "inside" if self._field[cell] else "outside"
            token = self.query_token_at(point.x(), point.y())
            return f"patch {cell} · {inside} the field · token {token} (click to pick it)"
        point = self.chart.view_point(scene_pos)
        if point is None:
            return None
        index = int(point.x() // BAR_STEP)
        if not 0 <= index < len(self._growth[True]) or point.x() < 0:
            return None
        stage, block, on = self._growth[True][index]
        off = self._growth[False][index][2]
        total = self._field.size
        return (f"after stage {stage} block {block}: {on} patches ({_percent(on, total)}) with the shift, "
                f"{off} ({_percent(off, total)}) without")

    def _clicked(self, scene_pos: QtCore.QPointF) -> None:
        point = self.panel.view_point(scene_pos)
        if point is not None:
            self.pick_at(point.x(), point.y())

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        row, col = self.context.query
        return [*self.context.caption_parts(), f"token ({row}, {col})"]

