"""Figure "cost": the analytic cost of the current model and input, live, with the lecture's
formulas filled in, MSA against W-MSA over input sizes, and the measured count."""

from __future__ import annotations

from functools import lru_cache, partial

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from explorer.numbers import si
from explorer.palette import MSA_COLOR, WMSA_COLOR
from explorer.resolved import model_label
from explorer.state import MAX_IMAGE_SIZE
from swin_model import SwinConfig
from swin_model.flops import MLP_PART, CostReport, StageCost, attention_omegas, count_macs

from .base import FigureView, result_matches
from .items import WrappedText, cache_axes

__all__ = ["CostView", "cost_report", "msa_formula", "wmsa_formula"]

TICK_SIZES = (112, 224, 384, 512, 640, 768, 896, 1024)


LEGEND = (
    (MSA_COLOR, "Σ depth·Ω(MSA): global attention"),
    (WMSA_COLOR, "Σ depth·Ω(W-MSA): window attention"),
)
"""The plot's curves: (colour, what it shows), in the order of the legend line."""


def msa_formula(stage: StageCost) -> str:
    """Ω(MSA) = 4hwC² + 2(hw)²C with this stage's h, w, C."""
    h, w, c = stage.height, stage.width, stage.channels
    return f"4·{h}·{w}·{c}² + 2·({h}·{w})²·{c}"


def wmsa_formula(stage: StageCost) -> str:
    """Ω(W-MSA) = 4hwC² + 2M²hwC on the grid padded to the window."""
    h, w, c, m = stage.padded_height, stage.padded_width, stage.channels, stage.window_size
    return f"4·{h}·{w}·{c}² + 2·{m}²·{h}·{w}·{c}"


def _two_lines(formula: str) -> str:
    """A formula broken before its "+", so every row of the table has the same shape (and
    nowhere else: the space after the "+" does not break)."""
    return formula.replace(" + ", "<br>+&nbsp;")


_giga = partial(si, digits=3, unit="G", space=True)
"""MACs in G with three decimals: "4.494 G"."""


@lru_cache(maxsize=32)
def cost_report(config: SwinConfig, height: int, width: int) -> CostReport:
    """:func:`count_macs` of ``config`` at ``height`` × ``width`` (remembered: going back
    and forth between two settings recounts nothing)."""
    return count_macs(config, height, width)


CURVE_STEP = 16
"""The curves' input sides: every 16 px from 32."""


def attention_curves(config: SwinConfig, largest: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input sides (every 16 px up to ``largest``) and the summed attention cost of all
    blocks, Σ depth·Ω(MSA) and Σ depth·Ω(W-MSA), in MACs (:func:`attention_omegas`).
    Counted once per model up to twice the largest input, so a new input size counts
    nothing."""
    sides, msa, wmsa = _curves_to_the_limit(config)
    count = int(np.searchsorted(sides, largest, side="right"))
    if count == len(sides) and largest > sides[-1]:
        sides, msa, wmsa = _curves(config, largest)
        count = len(sides)
    return sides[:count], msa[:count], wmsa[:count]


@lru_cache(maxsize=8)
def _curves_to_the_limit(config: SwinConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _curves(config, 2 * MAX_IMAGE_SIZE)


def _curves(config: SwinConfig, largest: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sides = np.arange(32, largest + 1, CURVE_STEP)
    omegas = np.array([attention_omegas(config, int(side), int(side)) for side in sides], dtype=np.float64)
    for array in (sides, omegas):
        array.setflags(write=False)
    return sides, omegas[:, 0], omegas[:, 1]


class CostView(FigureView):
    """Cost of the selected model at the selected input size, recomputed on every change
    (no model needed): per stage Ω(MSA) and Ω(W-MSA) of one attention layer with the
    numbers filled in, the totals in MACs (official ``flops()`` convention) and FLOPs, the
    parameters, a plot of attention cost against input size with the current size marked,
    and the count measured during the last real forward pass."""

    explanation = (
        "Cost: global attention (MSA) grows with the square of the number of tokens, "
        "window attention (W-MSA) only linearly, because each token sees M² others."
    )

    def _build(self) -> None:
        self.table = WrappedText()
        self.body.addItem(self.table, row=0, col=0)
        # break lines between words only: a table too wide for its panel shows as such (and
        # becomes the compact one) rather than splitting numbers
        option = self.table.item.document().defaultTextOption()
        option.setWrapMode(QtGui.QTextOption.WrapMode.WordWrap)
        self.table.item.document().setDefaultTextOption(option)
        # the chart's title and legend are lines of their own, above and under the plot: the
        # legend never covers a curve, and neither forces the figure wider than its panel
        self.chart_title = WrappedText(centered=True)
        self.body.addItem(self.chart_title, row=1, col=0)
        self.plot = self.body.addPlot(row=2, col=0)
        self.plot.setMenuEnabled(False)
        # the plot's options menu is a parentless widget: the view owns it, so it goes with the view
        menu = self.plot.ctrlMenu
        menu.setParent(self, menu.windowFlags())
        self.plot.setMinimumHeight(110)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        cache_axes(self.plot)
        self.msa_curve = self.plot.plot()
        self.wmsa_curve = self.plot.plot()
        self.current = pg.ScatterPlotItem(size=11)
        self.current.setZValue(10)
        self.plot.addItem(self.current)
        self.plot.setToolTip(
            "Attention cost of all blocks against the input size; the horizontal "
            "axis is linear in the number of tokens h·w, so W-MSA is a straight line "
            "and MSA a parabola."
        )
        self.legend = WrappedText(centered=True)
        self.body.addItem(self.legend, row=3, col=0)
        self.totals = WrappedText()
        self.body.addItem(self.totals, row=4, col=0)
        self.body.layout.setRowStretchFactor(2, 3)
        self.compact_table = False
        """Whether the table shows values only (its panel is too narrow for the formulas)."""
        self._table_width = 0.0
        self._table_timer = QtCore.QTimer(self)
        self._table_timer.setSingleShot(True)
        self._table_timer.timeout.connect(self._refit_table)
        self.table.geometryChanged.connect(self._table_resized)
        self.report: CostReport | None = None
        self._rows: list[tuple[str, str]] = []
        self._curve_key: tuple[object, ...] | None = None
        self._measured_text = ""
        self._drawn_key: tuple[object, ...] | None = None

    # --- data ---------------------------------------------------------------------------

    def stage_formulas(self) -> list[tuple[str, str]]:
        """Per stage the (Ω(MSA), Ω(W-MSA)) lines as displayed: "formula = value"."""
        return list(self._rows)

    def table_text(self) -> str:
        return self.table.plain_text()

    def totals_text(self) -> str:
        return self.totals.plain_text()

    def curve_data(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{"msa", "wmsa", "current"}: (x = stage-1 tokens h·w, y = GMACs) as plotted."""
        msa_x, msa_y = self.msa_curve.getData()
        wmsa_x, wmsa_y = self.wmsa_curve.getData()
        current = self.current.getData()
        return {"msa": (msa_x, msa_y), "wmsa": (wmsa_x, wmsa_y), "current": (current[0], current[1])}

    # --- drawing ------------------------------------------------------------------------

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        shape = context.image_shape
        # block, head, window and query change nothing here
        key = (context.config, shape, context.stage, model_label(context.state), self.theme.name)
        if key == self._drawn_key:
            return
        self._drawn_key = key
        self.report = cost_report(context.config, *shape)
        self._draw_table(self.report)
        self._draw_curves(context.config, max(shape), context.input_text())
        self._draw_totals()
        self.set_note(
            "MACs (multiply-accumulates) as the official flops(); one MAC is two FLOPs. "
            "Ω: one attention layer (QKV, QKᵀ, softmax·V, projection), softmax and scale left "
            "out. W-MSA steps where padding to a multiple of M adds tokens."
        )

    def _result_changed(self) -> None:
        self._draw_totals()

    def _dispose(self) -> None:
        self._table_timer.stop()
        # pyqtgraph's own teardown of a plot, before the scene is cleared: it lets go of the
        # plot's parentless options menu, which would otherwise outlive the view
        self.plot.close()

    def _draw_table(self, report: CostReport) -> None:
        context = self.context
        assert context is not None
        self._rows = []
        body = []
        for stage in report.stages:
            msa_value, wmsa_value = f"{stage.msa_omega:,}", f"{stage.wmsa_omega:,}"
            self._rows.append(
                (f"{msa_formula(stage)} = {msa_value}", f"{wmsa_formula(stage)} = {wmsa_value}")
            )
            ratio = stage.msa_omega / stage.wmsa_omega if stage.wmsa_omega else float("nan")
            bold = " style='font-weight:bold'" if stage.stage == context.stage else ""
            shift = f"shift {stage.shift_size}" if stage.shift_size else "no shift"
            body.append(
                f"<tr{bold}><td>{stage.stage + 1}</td>"
                f"<td>{stage.height}×{stage.width}×{stage.channels}<br>M {stage.window_size}, {shift}, "
                f"×{stage.depth}</td>"
                f"<td style='color:{MSA_COLOR}'>{_two_lines(msa_formula(stage))}"
                f"<br>=&nbsp;{msa_value}</td>"
                f"<td style='color:{WMSA_COLOR}'>{_two_lines(wmsa_formula(stage))}"
                f"<br>=&nbsp;{wmsa_value}</td>"
                f"<td align='right'>{ratio:.1f}×</td></tr>"
            )
        header = (
            "<tr><th align='left'>stage</th><th align='left'>h×w×C<br>M, shift, blocks</th>"
            "<th align='left'>Ω(MSA)<br>= 4hwC² + 2(hw)²C</th>"
            "<th align='left'>Ω(W-MSA), h, w padded<br>= 4hwC² + 2M²hwC</th><th align='right'>ratio</th></tr>"
        )
        table = "<table width='100%' cellspacing='0' cellpadding='2'>{}</table>"
        colour, size = self.theme.foreground, self.theme.small_size
        self.table.set_html(table.format(header + "".join(body)), colour, size)
        self._table_width = self.table.item.textWidth()
        self.compact_table = self._too_narrow_for_formulas()
        if self.compact_table:
            self.table.set_html(table.format(self._compact_rows(report)), self.theme.foreground,
                                self.theme.small_size)

    def _too_narrow_for_formulas(self) -> bool:
        """Whether the view on screen is too narrow for the table with its formulas, at its
        narrowest, drawn at full size (a figure drawn smaller to fit a short panel has more
        scene units across, not more room to read: see explorer.figure_hub.FitToHeight)."""
        graphics = self._graphics
        if not graphics.isVisible() or self.table.size().width() <= 0:
            return False
        narrowest = self.table.item.document().clone()
        narrowest.setTextWidth(0)
        margins = graphics.centralWidget.size().width() - self.table.size().width()
        return narrowest.idealWidth() > graphics.viewport().width() - margins

    def _compact_rows(self, report: CostReport) -> str:
        """The table's rows for a narrow panel: Ω of each stage in G MACs, no formulas."""
        context = self.context
        assert context is not None
        rows = [
            "<tr><th align='left'>stage</th><th align='left'>h×w×C, M, blocks</th>"
            "<th align='right'>Ω(MSA)</th><th align='right'>Ω(W-MSA)</th><th align='right'>ratio</th></tr>"
        ]
        for stage in report.stages:
            ratio = stage.msa_omega / stage.wmsa_omega if stage.wmsa_omega else float("nan")
            bold = " style='font-weight:bold'" if stage.stage == context.stage else ""
            rows.append(
                f"<tr{bold}><td>{stage.stage + 1}</td>"
                f"<td>{stage.height}×{stage.width}×{stage.channels}<br>"
                f"M {stage.window_size}, ×{stage.depth}</td>"
                f"<td align='right' style='color:{MSA_COLOR}'>{_giga(stage.msa_omega)}</td>"
                f"<td align='right' style='color:{WMSA_COLOR}'>{_giga(stage.wmsa_omega)}</td>"
                f"<td align='right'>{ratio:.1f}×</td></tr>"
            )
        return "".join(rows)

    def _table_resized(self) -> None:
        """The table's width changed (the panel was resized): fit the table again, once the
        layout has settled."""
        if self.report is not None and abs(self.table.size().width() - self._table_width) > 0.5:
            self._table_timer.start(0)

    def _refit_table(self) -> None:
        if not self._disposed and self.report is not None and self.context is not None:
            self._draw_table(self.report)

    def _draw_curves(self, config: SwinConfig, size: int, input_text: str) -> None:
        """The curves up to twice the input's longer side ``size``; the current input, of
        ``input_text`` pixels, marked at its number of tokens."""
        largest = max(448, 2 * size)
        largest = int(np.ceil(largest / 16) * 16)
        # the curves depend on neither the input size nor the shift (a roll costs no MACs)
        curve_config = config.replace(img_size=224, shifted=True)
        key = (curve_config, largest, self.theme.name)
        patch = config.patch_size
        if key != self._curve_key:
            self._curve_key = key
            sides, msa, wmsa = attention_curves(curve_config, largest)
            tokens = (np.ceil(sides / patch)) ** 2
            self.msa_curve.setData(tokens, msa / 1e9, pen=pg.mkPen(MSA_COLOR, width=self.theme.thick_width))
            self.wmsa_curve.setData(
                tokens, wmsa / 1e9, pen=pg.mkPen(WMSA_COLOR, width=self.theme.thick_width)
            )
            ticks = [(float(np.ceil(side / patch) ** 2), str(side)) for side in TICK_SIZES if side <= largest]
            self.plot.getAxis("bottom").setTicks([ticks])
            self.plot.setXRange(0, float(np.ceil(largest / patch) ** 2), padding=0.02)
        assert self.report is not None
        msa_now = sum(stage.depth * stage.msa_omega for stage in self.report.stages) / 1e9
        wmsa_now = sum(stage.depth * stage.wmsa_omega for stage in self.report.stages) / 1e9
        tokens_now = float(self.report.stages[0].height * self.report.stages[0].width)
        self.current.setData(
            [tokens_now, tokens_now],
            [msa_now, wmsa_now],
            brush=[pg.mkBrush(MSA_COLOR), pg.mkBrush(WMSA_COLOR)],
            pen=pg.mkPen(self.theme.foreground, width=1.5),
        )
        self.plot.setYRange(0, max(msa_now, float(self._max_visible())) * 1.05, padding=0)
        self.chart_title.set_html(
            f"attention cost of all blocks vs input size (current: {input_text} px)",
            self.theme.foreground,
            self.theme.label_size,
        )

    def _max_visible(self) -> float:
        _, msa = self.msa_curve.getData()
        return float(msa.max()) if msa is not None and len(msa) else 1.0

    def _draw_totals(self) -> None:
        context = self.context
        report = self.report
        if context is None or report is None:
            return
        by_part = report.by_part()
        lines = [
            f"<b>{context.caption_parts(block=False)[0]}, {report.img_height}×{report.img_width}:</b> "
            f"total <b>{_giga(report.total)} MACs</b> = {_giga(report.flops)} FLOPs · "
            f"<b>{si(report.params, unit='M', space=True)}</b> parameters",
            f"(S)W-MSA {_giga(report.attention_macs)} · MLP {_giga(by_part[MLP_PART])} · "
            f"convolutions + matrix products {_giga(report.matmul_macs)}",
        ]
        result = self.result
        matching = result is not None and result_matches(result, context.state, with_block=False)
        if matching and result is not None and result.measured_macs is not None:
            difference = (result.measured_macs - report.matmul_macs) / report.matmul_macs * 100
            self._measured_text = (
                f"Measured in the last forward pass: <b>{_giga(result.measured_macs)}</b> "
                f"vs {_giga(report.matmul_macs)} analytic ({difference:+.2f} %)"
            )
        elif matching:
            from explorer.inference import MEASURE_MACS_LIMIT

            self._measured_text = (
                f"Measured: not counted (the counting pass is skipped above "
                f"{si(MEASURE_MACS_LIMIT, 0, unit='G', space=True)} MACs)"
            )
        else:
            self._measured_text = "Measured: waiting for a model run at this size"
        lines.append(self._measured_text)
        self.totals.set_html("<br>".join(lines), self.theme.foreground, self.theme.small_size)

    def measured_text(self) -> str:
        return self._measured_text

    def _theme_changed(self) -> None:
        self._curve_key = None
        for axis in ("left", "bottom"):
            item = self.plot.getAxis(axis)
            item.setPen(self.theme.foreground)
            item.setTextPen(self.theme.foreground)
            font = self.qfont(self.theme.small_size)
            item.setStyle(tickFont=font)
        style = {"color": self.theme.foreground, "font-size": f"{self.theme.small_size}pt"}
        self.plot.setLabel("left", "G MACs", **style)
        self.plot.setLabel("bottom", "input side (px); spacing ∝ tokens h·w", **style)
        self.legend.set_html(
            "&nbsp;&nbsp;&nbsp; ".join(
                f"<span style='color:{color}'><b>━━</b></span>&nbsp;{text}"
                for color, text in LEGEND
            ),
            self.theme.foreground,
            self.theme.small_size,
        )

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        parts = self.context.caption_parts(block=False)[:3]
        if self.report is not None:
            parts.append(
                f"{_giga(self.report.total)} MACs, {si(self.report.params, unit='M', space=True)} params"
            )
        return parts

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        if not self.plot.sceneBoundingRect().contains(scene_pos) or self.context is None:
            return None
        point = self.plot.vb.mapSceneToView(scene_pos)
        if point.x() <= 0:
            return None
        side = round(np.sqrt(point.x()) * self.context.config.patch_size)
        return f"input ≈ {side} px · {point.y():.2f} G MACs"
