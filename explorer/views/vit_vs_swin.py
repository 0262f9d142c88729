"""Figure "vit-vs-swin": ViT and Swin side by side on the same image, in the lecture's terms:
patches, resolutions, attention, and the cost of one layer, with the cost of the whole
model's attention plotted against the input size."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from explorer.numbers import si
from explorer.palette import MSA_COLOR, WMSA_COLOR
from explorer.resolved import model_label
from swin_model.flops import CostReport, StageCost
from swin_model.windows import StageGeometry

from .base import FigureView
from .cells import padded_canvas, padding_rects
from .cost import TICK_SIZES, attention_curves, cost_report
from .items import Panel, cache_axes, grid_path, hatch_path, make_path_item, rect_path
from .lecture_diagram import Diagram, diagram_sizes
from .lecture_layout import VIT_B16, Rect, shape_text, vit_grid, vit_msa_omega

__all__ = ["VitVsSwinView", "vit_attention_curve"]

MIN_DRAWN_CELL = 3.0
"""Token grids whose cells would be smaller than this (diagram units) are not drawn line by
line: they would print as a grey wash. The text gives the grid's size instead."""

MIN_THICK_WINDOW = 12.0
"""Windows at least this wide (diagram units) get thick borders; narrower ones thin borders."""

MIN_DRAWN_WINDOW = 4.0
"""Windows narrower than this are not drawn one by one (only their map's outline)."""

VIT_LAYER_GROUPS = 4
"""ViT's layers are drawn as this many maps (layers 1-3, 4-6, ...): each the same grid."""


def vit_attention_curve(sides: np.ndarray) -> np.ndarray:
    """ViT-B/16's attention cost of the whole model, depth·Ω(MSA), in MACs, for square
    inputs of side ``sides`` (px), shape (K,) like ``sides``."""
    return np.asarray([VIT_B16.depth * vit_msa_omega(int(side)) for side in sides], dtype=np.float64)


class VitVsSwinView(FigureView):
    """ViT-B/16 (left) and the selected Swin (right) on the same photo.

    ViT: the photo cut into 16×16 patches, one 1/16 map in every layer (drawn as four
    groups of three layers) with one global window, and Ω(MSA) = 4hwC² + 2(hw)²C of one
    layer with ViT-B's C = 768. Swin: 4×4 patches, the four stage maps at 1/4 … 1/32 drawn
    to the same scale with their M×M windows (padding hatched), and Ω(W-MSA) =
    4hwC² + 2M²hwC of one layer per stage (``count_macs``). Below, the attention cost of the
    whole model against the input size: ViT's 12·Ω(MSA) and Swin's Σ depth·Ω(W-MSA), the
    current size marked.
    """

    explanation = (
        "ViT against Swin: ViT keeps one 1/16 map and attends globally (cost grows with the "
        "square of the tokens); Swin builds a 1/4 → 1/32 hierarchy and attends inside M×M "
        "windows (cost grows linearly)."
    )

    def _build(self) -> None:
        self.panel = Panel(self.body, 0, 0, with_image=False)
        viewbox = self.panel.viewbox
        self.photos = {name: pg.ImageItem() for name in ("vit", "swin")}
        for photo in self.photos.values():
            photo.setZValue(-10)
            viewbox.addItem(photo)
        self.map_fill = make_path_item(viewbox, z=1, crisp=True)
        self.padding_fill = make_path_item(viewbox, z=2, crisp=True)
        self.padding_hatch = make_path_item(viewbox, z=3)
        self.token_lines = make_path_item(viewbox, z=4)
        self.patch_lines = make_path_item(viewbox, z=4)
        self.swin_windows = make_path_item(viewbox, z=6)
        self.swin_small_windows = make_path_item(viewbox, z=6)
        self.vit_windows = make_path_item(viewbox, z=6)
        self.padding_fill.setToolTip("Zero padding to a multiple of the window.")
        self.swin_windows.setToolTip("Swin's M×M windows: attention stays inside each.")
        self.swin_small_windows.setToolTip(
            "Swin's M×M windows, thin where they are small; a map whose windows are too small to "
            "draw shows only its outline (the text gives their number)."
        )
        self.vit_windows.setToolTip("ViT's one global window: every token attends to every other.")
        self.diagram = Diagram(viewbox)
        self.plot = self.body.addPlot(row=2, col=0)
        self.plot.setMenuEnabled(False)
        menu = self.plot.ctrlMenu  # a parentless widget: owned by the view, so it goes with it
        menu.setParent(self, menu.windowFlags())
        self.plot.setMinimumHeight(150)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        cache_axes(self.plot)
        self.legend = self.plot.addLegend(offset=(10, 10))
        self.vit_curve = self.plot.plot(name=f"{VIT_B16.name}: {VIT_B16.depth} layers × Ω(MSA)")
        self.swin_curve = self.plot.plot(name="Swin: Σ blocks Ω(W-MSA)")
        self.current = pg.ScatterPlotItem(size=11)
        self.current.setZValue(10)
        self.plot.addItem(self.current)
        self.plot.setToolTip(
            "Attention cost of the whole model (every layer's MSA or W-MSA, no MLP) against the "
            "input size; spacing ∝ pixels, so Swin's cost is a straight line and ViT's a parabola."
        )
        self.body.layout.setRowStretchFactor(1, 3)
        self.body.layout.setRowStretchFactor(2, 1)
        self.report: CostReport | None = None
        self._curve_key: tuple[object, ...] | None = None
        self._photo_keys: dict[str, tuple[object, ...]] = {}
        self._photo_prepared: dict[str, object] = {}
        self._drawn_key: tuple[object, ...] | None = None

    # --- reading back ------------------------------------------------------------------------

    def drawn_text(self, key: tuple[object, ...]) -> str:
        """The text drawn with ``key`` ("" if none): ("vit-omega",) the filled-in formula
        of one ViT layer, ("vit-total",), ("swin-omega", s) under stage s's map,
        ("swin-formula",) the selected stage's filled-in formula, ("swin-shape", s),
        ("swin-windows", s), ("vit-shape", g), ("vit-patches",), ("swin-patches",) ..."""
        item = self.diagram.texts_by_key.get(key)
        return item.text() if item is not None and item.isVisible() else ""

    def map_rect(self, key: tuple[object, ...]) -> Rect | None:
        """Where a map lies (diagram units): ("swin-map", s) the real grid of stage s,
        ("swin-padded", s) with its padding, ("vit-map", g), ("vit-photo",), ("swin-photo",)."""
        return self.diagram.key_rect(key)

    def curve_data(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{"vit", "swin", "current"}: (x = input pixels H·W, y = G MACs) as plotted."""
        vit_x, vit_y = self.vit_curve.getData()
        swin_x, swin_y = self.swin_curve.getData()
        current = self.current.getData()
        return {"vit": (vit_x, vit_y), "swin": (swin_x, swin_y), "current": (current[0], current[1])}

    # --- drawing -----------------------------------------------------------------------------

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        shape = context.image_shape
        key = (
            context.config,
            shape,
            context.stage,
            model_label(context.state),
            self.theme.name,
            id(self.prepared),
        )
        if key == self._drawn_key:
            return
        self._drawn_key = key
        self.report = cost_report(context.config, *shape)
        self._draw_diagram()
        self._draw_curves()
        self.set_note(self._note())

    def _draw_diagram(self) -> None:
        context = self.context
        report = self.report
        assert context is not None and report is not None
        diagram = self.diagram
        theme = self.theme
        small, large = diagram_sizes(theme)
        line = 1.3 * small
        gap = 1.0 * small
        diagram.begin()
        vit_lines, vit_maps, vit_formula = self._vit_texts()
        swin_lines, swin_maps, swin_formula = self._swin_texts(report)
        # the side of one map: wide enough for the text under it
        titles = [self._vit_title(group) for group in range(VIT_LAYER_GROUPS)] + [
            f"stage {g.stage + 1} · 1/{g.stride}" for g in context.geometries
        ]
        map_side = max(
            7.0 * small,
            *(
                diagram.measure(text, small, bold)[0] + 0.4 * small
                for texts in (*vit_maps, *swin_maps)
                for text, bold in texts
            ),
            *(diagram.measure(text, small, True)[0] + 0.6 * small for text in titles),
        )
        row_width = 4 * map_side + 3 * gap
        photo_side = 1.5 * map_side
        info_width = max(diagram.measure(text, small, bold)[0] for text, bold in (*vit_lines, *swin_lines))
        formula_width = max(
            diagram.measure(text, small, bold)[0] for text, bold in (*vit_formula, *swin_formula)
        )
        half = max(row_width, photo_side + gap + max(info_width, formula_width))
        separation = 2.5 * small
        lefts = {"vit": 0.0, "swin": half + separation}

        fills: list[Rect] = []
        paddings: list[Rect] = []
        token_path = QtGui.QPainterPath()
        patch_path = QtGui.QPainterPath()
        swin_window_path = QtGui.QPainterPath()
        small_window_path = QtGui.QPainterPath()
        vit_window_path = QtGui.QPainterPath()
        foreground, muted = theme.foreground, theme.muted
        heading_y = 0.0
        photo_top = heading_y + 1.5 * large
        # beside the photo: the facts, then the cost formula filled in
        formula_y = photo_top + max(len(vit_lines), len(swin_lines)) * line + 0.5 * small
        text_bottom = formula_y + max(len(vit_formula), len(swin_formula)) * line
        titles_y = max(photo_top + photo_side, text_bottom) + 1.0 * small
        maps_top = titles_y + line
        below_y = maps_top + map_side + 0.4 * small
        under_lines = max(len(texts) for texts in (*vit_maps, *swin_maps))
        vit_h, vit_w = vit_grid(*context.image_shape)
        swin_name = model_label(context.state)
        for name, left in lefts.items():
            is_vit = name == "vit"
            heading = diagram.text(
                VIT_B16.name if is_vit else swin_name,
                left,
                heading_y,
                large,
                foreground,
                bold=True,
                key=(f"{name}-heading",),
            )
            heading_width = diagram.measure(heading.text(), large, True)[0]
            diagram.text(
                f"one resolution (1/{VIT_B16.patch_size}), global attention"
                if is_vit
                else f"a hierarchy (1/{context.geometries[0].stride} … "
                f"1/{context.geometries[-1].stride}), window attention",
                left + heading_width + 0.6 * small,
                heading_y + 0.5 * large,
                small,
                muted,
                anchor=(0.0, 0.5),
                key=(f"{name}-sub",),
            )
            photo = Rect(left, photo_top, photo_side, photo_side)
            patch = VIT_B16.patch_size if is_vit else context.config.patch_size
            rows, cols = (
                (vit_h, vit_w) if is_vit else (context.geometries[0].height, context.geometries[0].width)
            )
            photo_extent = max(rows, cols) * patch
            scale = photo_side / photo_extent
            self._draw_photo(name, photo.x, photo.y, rows * patch, cols * patch, scale)
            if patch * scale >= MIN_DRAWN_CELL:
                patch_path.addPath(grid_path(rows, cols, 1, 1, patch * scale).translated(photo.x, photo.y))
            diagram.box(photo, self.pen(foreground, theme.line_width), None, z=7, key=(f"{name}-photo",))
            for index, (text, bold) in enumerate(vit_lines if is_vit else swin_lines):
                diagram.text(
                    text,
                    photo.right + gap,
                    photo_top + index * line,
                    small,
                    foreground if bold else muted,
                    bold=bold,
                    key=(f"{name}-info", index),
                )
            for index, (text, bold) in enumerate(vit_formula if is_vit else swin_formula):
                key_name = (
                    ("vit-formula", "vit-omega", "vit-total")
                    if is_vit
                    else ("swin-formula-general", "swin-formula", "swin-total")
                )
                diagram.text(
                    text,
                    photo.right + gap,
                    formula_y + index * line,
                    small,
                    foreground if bold else muted,
                    bold=bold,
                    key=(key_name[min(index, 2)],),
                )
        # ViT: every layer the same 1/16 map with one global window
        vit_cell = map_side / max(vit_h, vit_w)
        for group in range(VIT_LAYER_GROUPS):
            x = lefts["vit"] + group * (map_side + gap)
            rect = Rect(x, maps_top, vit_w * vit_cell, vit_h * vit_cell)
            diagram.text(
                self._vit_title(group),
                x + map_side / 2,
                titles_y,
                small,
                foreground,
                bold=True,
                anchor=(0.5, 0.0),
                key=("vit-title", group),
            )
            fills.append(rect)
            if vit_cell >= MIN_DRAWN_CELL:
                token_path.addPath(grid_path(vit_h, vit_w, 1, 1, vit_cell).translated(rect.x, rect.y))
            vit_window_path.addRect(QtCore.QRectF(rect.x, rect.y, rect.width, rect.height))
            diagram.region(rect, ("vit-map", group))
            for index, (text, bold) in enumerate(vit_maps[group]):
                diagram.text(
                    text,
                    x + map_side / 2,
                    below_y + index * line,
                    small,
                    foreground if bold else muted,
                    bold=bold,
                    anchor=(0.5, 0.0),
                    key=(("vit-shape", "vit-windows", "vit-omega-map")[index], group),
                )
        # Swin: the four stage maps to one scale (image pixels → units), padding beyond
        geometries = context.geometries
        largest = max(max(g.padded_height, g.padded_width) * g.stride for g in geometries)
        pixel = map_side / max(largest, geometries[0].height * geometries[0].stride)
        for geometry in geometries:
            stage = geometry.stage
            x = lefts["swin"] + stage * (map_side + gap)
            cell = geometry.stride * pixel
            real = Rect(x, maps_top, geometry.width * cell, geometry.height * cell)
            padded = Rect(x, maps_top, geometry.padded_width * cell, geometry.padded_height * cell)
            diagram.text(
                f"stage {stage + 1} · 1/{geometry.stride}",
                x + map_side / 2,
                titles_y,
                small,
                foreground,
                bold=True,
                anchor=(0.5, 0.0),
                key=("swin-title", stage),
            )
            fills.append(real)
            for px, py, pw, ph in padding_rects(
                (geometry.height, geometry.width), geometry.padded_height, geometry.padded_width
            ):
                paddings.append(Rect(x + px * cell, maps_top + py * cell, pw * cell, ph * cell))
            if cell >= MIN_DRAWN_CELL:
                token_path.addPath(
                    grid_path(geometry.height, geometry.width, 1, 1, cell).translated(x, maps_top)
                )
            window_side = geometry.window_size * cell
            if window_side >= MIN_THICK_WINDOW:
                swin_window_path.addPath(
                    grid_path(
                        geometry.padded_height,
                        geometry.padded_width,
                        geometry.window_size,
                        geometry.window_size,
                        cell,
                    ).translated(x, maps_top)
                )
            elif window_side >= MIN_DRAWN_WINDOW:
                small_window_path.addPath(
                    grid_path(
                        geometry.padded_height,
                        geometry.padded_width,
                        geometry.window_size,
                        geometry.window_size,
                        cell,
                    ).translated(x, maps_top)
                )
            else:
                small_window_path.addRect(QtCore.QRectF(padded.x, padded.y, padded.width, padded.height))
            diagram.region(real, ("swin-map", stage))
            diagram.region(padded, ("swin-padded", stage))
            keys = ("swin-shape", "swin-windows", "swin-shift", "swin-omega")
            for index, (text, bold) in enumerate(swin_maps[stage]):
                diagram.text(
                    text,
                    x + map_side / 2,
                    below_y + index * line,
                    small,
                    foreground if bold else muted,
                    bold=bold,
                    anchor=(0.5, 0.0),
                    key=(keys[index], stage),
                )
        divider_x = half + separation / 2
        diagram.line([(divider_x, heading_y), (divider_x, below_y + under_lines * line)])
        diagram.end(self.pen(muted, theme.line_width), self.brush(muted))

        self.map_fill.setPath(rect_path(np.array([[r.x, r.y, r.width, r.height] for r in fills])))
        self.map_fill.setBrush(self.brush(foreground, alpha=28))
        padding_array = np.array([[r.x, r.y, r.width, r.height] for r in paddings]).reshape(-1, 4)
        self.padding_fill.setPath(rect_path(padding_array))
        self.padding_fill.setBrush(self.brush(theme.padding, alpha=70))
        self.padding_hatch.setPath(hatch_path(padding_array, spacing=0.45 * small))
        self.padding_hatch.setPen(self.pen(foreground, width=1.0, alpha=120))
        self.token_lines.setPath(token_path)
        self.token_lines.setPen(self.pen(muted, width=1.0, alpha=150))
        self.patch_lines.setPath(patch_path)
        self.patch_lines.setPen(self.pen(theme.grid, width=1.0, alpha=130))
        self.swin_windows.setPath(swin_window_path)
        self.swin_windows.setPen(self.pen(WMSA_COLOR, theme.thick_width))
        self.swin_small_windows.setPath(small_window_path)
        self.swin_small_windows.setPen(self.pen(WMSA_COLOR, theme.line_width))
        self.vit_windows.setPath(vit_window_path)
        self.vit_windows.setPen(self.pen(MSA_COLOR, theme.thick_width))
        extent = diagram.extent.grown(0.5 * small)
        self.panel.set_extent(extent.x, extent.y, extent.width, extent.height)
        self.style_title(
            self.panel.title, f"{VIT_B16.name} against {swin_name} on the same {context.input_text()} image"
        )

    @staticmethod
    def _vit_title(group: int) -> str:
        """ "layers 1-3": the ViT layers map ``group`` stands for."""
        per_group = VIT_B16.depth // VIT_LAYER_GROUPS
        first = group * per_group + 1
        return f"layers {first}-{first + per_group - 1}"

    def _vit_texts(
        self,
    ) -> tuple[list[tuple[str, bool]], list[list[tuple[str, bool]]], list[tuple[str, bool]]]:
        """ViT's lines beside the photo, under each map, and its cost formula: (text, bold)."""
        context = self.context
        assert context is not None
        height, width = context.image_shape
        patch, channels = VIT_B16.patch_size, VIT_B16.embed_dim
        rows, cols = vit_grid(height, width)
        tokens = rows * cols
        padded = rows * patch != height or cols * patch != width
        beside = [
            (f"{patch}×{patch} px patches of {patch}·{patch}·3 = {patch * patch * 3} values", True),
            (f"{rows}×{cols} = {tokens} tokens, C = {channels}, {VIT_B16.num_heads} heads", False),
            (f"{VIT_B16.depth} layers at 1/{patch}: each token sees all {tokens}", False),
        ]
        if padded:
            beside.append((f"padded to {rows * patch}×{cols * patch} px", False))
        omega = vit_msa_omega(height, width)
        per_map = [
            (shape_text(rows, cols, channels), True),
            (f"1 window of {tokens}", False),
            (f"Ω = {si(omega, 2, space=True)}", False),
        ]
        formula = [
            (f"Ω(MSA) = 4hwC² + 2(hw)²C, h×w = {rows}×{cols}, C = {channels}:", False),
            (f"4·{tokens}·{channels}² + 2·{tokens}²·{channels} = {omega:,} per layer", True),
            (f"× {VIT_B16.depth} layers = {si(VIT_B16.depth * omega, 2, space=True)} MACs", False),
        ]
        return beside, [per_map] * VIT_LAYER_GROUPS, formula

    def _swin_texts(
        self, report: CostReport
    ) -> tuple[list[tuple[str, bool]], list[list[tuple[str, bool]]], list[tuple[str, bool]]]:
        """Swin's lines beside the photo, under each stage map, and its cost formula."""
        context = self.context
        assert context is not None
        config = context.config
        first = context.geometries[0]
        patch = config.patch_size
        fractions = " → ".join(f"1/{g.stride}" for g in context.geometries)
        beside = [
            (f"{patch}×{patch} px patches of {patch}·{patch}·3 = {patch * patch * 3} values", True),
            (
                f"{first.height}×{first.width} = {first.height * first.width} tokens, "
                f"C = {config.embed_dim}, heads {'-'.join(map(str, config.num_heads))}",
                False,
            ),
            (f"blocks {'-'.join(map(str, config.depths))} at {fractions}", False),
            (f"each token sees its M×M = {config.window_size}×{config.window_size} window", False),
        ]
        per_map = [
            self._stage_lines(geometry, report.stages[geometry.stage]) for geometry in context.geometries
        ]
        selected: StageCost = report.stages[context.stage]
        height, width = selected.padded_height, selected.padded_width
        total = sum(stage.depth * stage.wmsa_omega for stage in report.stages)
        blocks = sum(stage.depth for stage in report.stages)
        formula = [
            (f"Ω(W-MSA) = 4hwC² + 2M²hwC, h, w padded to M; stage {context.stage + 1}:", False),
            (
                f"4·{height}·{width}·{selected.channels}² + 2·{selected.window_size}²·{height}·{width}·"
                f"{selected.channels} = {selected.wmsa_omega:,}",
                True,
            ),
            (f"Σ over the {blocks} blocks = {si(total, 2, space=True)} MACs", False),
        ]
        return beside, per_map, formula

    @staticmethod
    def _stage_lines(geometry: StageGeometry, stage: StageCost) -> list[tuple[str, bool]]:
        shift = f"shift {geometry.shift_size}" if geometry.shift_size else "no shift"
        return [
            (shape_text(geometry.height, geometry.width, geometry.channels), True),
            (f"{geometry.windows_per_column}×{geometry.windows_per_row} windows", False),
            (f"M = {geometry.window_size}, {shift}", False),
            (f"Ω = {si(stage.wmsa_omega, 2, space=True)}", False),
        ]

    def _draw_photo(self, name: str, x: float, y: float, extent_height: int, extent_width: int,
                    scale: float) -> None:
        """The photo on an ``extent`` px canvas (padding grey), its top-left at (x, y),
        ``scale`` diagram units a pixel."""
        context = self.context
        assert context is not None
        shape = context.image_shape
        photo = self.photos[name]
        key = (shape, extent_height, extent_width, self.theme.name)
        if key != self._photo_keys.get(name) or self._photo_prepared.get(name) is not self.prepared:
            self._photo_keys[name], self._photo_prepared[name] = key, self.prepared
            fill = QtGui.QColor(self.theme.padding)
            canvas = padded_canvas(
                self.prepared, shape, extent_height, extent_width, (fill.red(), fill.green(), fill.blue())
            )
            photo.setImage(canvas, autoLevels=False, levels=None)
        photo.setRect(QtCore.QRectF(x, y, extent_width * scale, extent_height * scale))

    def _draw_curves(self) -> None:
        context = self.context
        report = self.report
        assert context is not None and report is not None
        height, width = context.image_shape
        size = max(height, width)
        largest = int(np.ceil(max(448, min(1024, 2 * size), size) / 16) * 16)
        curve_config = context.config.replace(img_size=224, shifted=True)
        key = (curve_config, largest, self.theme.name)
        line_width = self.theme.thick_width
        if key != self._curve_key:
            self._curve_key = key
            sides, _, swin = attention_curves(curve_config, largest)
            pixels = sides.astype(np.float64) ** 2
            self.vit_curve.setData(
                pixels, vit_attention_curve(sides) / 1e9, pen=pg.mkPen(MSA_COLOR, width=line_width)
            )
            self.swin_curve.setData(pixels, swin / 1e9, pen=pg.mkPen(WMSA_COLOR, width=line_width))
            ticks = [(float(side**2), str(side)) for side in TICK_SIZES if side <= largest]
            self.plot.getAxis("bottom").setTicks([ticks])
            self.plot.setXRange(0, float(largest**2), padding=0.02)
        vit_now = VIT_B16.depth * vit_msa_omega(height, width) / 1e9
        swin_now = sum(stage.depth * stage.wmsa_omega for stage in report.stages) / 1e9
        self.current.setData(
            [float(height * width)] * 2,
            [vit_now, swin_now],
            brush=[pg.mkBrush(MSA_COLOR), pg.mkBrush(WMSA_COLOR)],
            pen=pg.mkPen(self.theme.foreground, width=1.5),
        )
        _, vit_curve = self.vit_curve.getData()
        top = max(vit_now, float(vit_curve.max()) if vit_curve is not None and len(vit_curve) else 1.0)
        self.plot.setYRange(0, top * 1.05, padding=0)
        self.swin_curve.opts["name"] = f"{model_label(context.state)}: Σ blocks Ω(W-MSA)"
        for sample, label in self.legend.items:
            if sample.item is self.swin_curve:
                label.setText(
                    self.swin_curve.opts["name"],
                    color=self.theme.foreground,
                    size=f"{self.theme.small_size}pt",
                )
        self.plot.setTitle(
            f"attention cost of the whole model vs input size (current: {context.input_text()} px)",
            color=self.theme.foreground,
            size=f"{self.theme.label_size}pt",
        )

    def _note(self) -> str:
        context = self.context
        assert context is not None
        return (
            f"Ω: MACs of one attention layer (QKV, QKᵀ, softmax·V, projection), as the official "
            f"flops(); ViT-B/16 with C = {VIT_B16.embed_dim}, Swin per stage from count_macs "
            f"(M = {context.config.window_size}). Maps to one scale, padding hatched. The plot sums "
            f"every layer's attention, no MLPs."
        )

    # --- the rest of the contract ---------------------------------------------------------------

    def _dispose(self) -> None:
        self.plot.close()

    def _theme_changed(self) -> None:
        self._curve_key = None
        self._drawn_key = None
        for axis in ("left", "bottom"):
            item = self.plot.getAxis(axis)
            item.setPen(self.theme.foreground)
            item.setTextPen(self.theme.foreground)
            item.setStyle(tickFont=self.qfont(self.theme.small_size))
        style = {"color": self.theme.foreground, "font-size": f"{self.theme.small_size}pt"}
        self.plot.setLabel("left", "G MACs", **style)
        self.plot.setLabel("bottom", "input side (px); spacing ∝ pixels H·W", **style)
        self.legend.setLabelTextColor(self.theme.foreground)
        self.legend.setLabelTextSize(f"{self.theme.small_size}pt")
        for _, label in self.legend.items:
            label.setText(label.text, color=self.theme.foreground, size=f"{self.theme.small_size}pt")
        self.legend.setBrush(self.brush(self.theme.background, alpha=200))

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        parts = self.context.caption_parts(block=False)[:3]
        parts.append(f"vs {VIT_B16.name} (C = {VIT_B16.embed_dim})")
        return parts

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        context = self.context
        if context is None:
            return None
        if self.plot.sceneBoundingRect().contains(scene_pos):
            point = self.plot.vb.mapSceneToView(scene_pos)
            if point.x() <= 0:
                return None
            return f"input ≈ {round(float(np.sqrt(point.x())))} px · {point.y():.2f} G MACs"
        point = self.panel.view_point(scene_pos)
        if point is None:
            return None
        key = self.diagram.hit(point.x(), point.y())
        if not isinstance(key, tuple):
            return None
        if key[0] in ("swin-map", "swin-padded"):
            geometry = context.geometries[int(key[1])]
            return (
                f"stage {geometry.stage + 1}: {geometry.height}×{geometry.width} tokens of "
                f"{geometry.stride}×{geometry.stride} px, {geometry.num_windows} windows of "
                f"{geometry.window_size}×{geometry.window_size}"
            )
        if key[0] == "vit-map":
            rows, cols = vit_grid(*context.image_shape)
            return f"ViT: {rows}×{cols} tokens of 16×16 px, one window of all {rows * cols}"
        return None
