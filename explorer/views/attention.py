"""Figure "attention": the real model's attention of one query token, mapped back to pixels."""

from __future__ import annotations

import numpy as np
from pyqtgraph.Qt import QtCore, QtWidgets

from explorer.state import InferenceResult
from swin_model.windows import locate_token, region_map

from .base import FigureView, PhotoLayer, result_matches
from .drawing import Label, Panel, boundary_path, make_path_item
from .geometry_cache import cached_mask, cached_token_positions
from .windows_view import SHIFTED_WINDOW_COLOR

__all__ = ["ATTENTION_COLOR", "AttentionView"]

ATTENTION_COLOR = "#FFD000"
MAX_ALPHA = 230
WAITING_TEXT = "waiting for the model…"


class AttentionView(FigureView):
    """Attention weights of the query token over the keys of its window, for the selected
    stage, block and head, from the last model run.

    Window slots are mapped back to the tokens they came from through the reverse roll
    (:func:`swin_model.windows.window_token_positions`) and drawn as translucent rects, one
    per key token, opacity proportional to weight / max weight. In a shifted block the
    window's tokens can sit in several corners of the map; the dashed lines separate its
    regions, and tokens of other regions get ≈ 0 weight. A result whose model, input size,
    stage or block differ from the state is not drawn.
    """

    figure_name = "attention"
    explanation = (
        "Attention map: how much the query token (white) attends to each token of its "
        "window in the real model, for the selected head."
    )

    def _build(self) -> None:
        self.panel = Panel(self.body, 0, 0)
        self.photo = PhotoLayer(self.panel)
        viewbox = self.panel.viewbox
        self.token_rects: list[QtWidgets.QGraphicsRectItem] = []
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
        self._shown: dict[tuple[int, int], float] = {}
        self._status_text = WAITING_TEXT
        self._summary = ""

    # --- data ---------------------------------------------------------------------------

    def is_showing_result(self) -> bool:
        return bool(self._shown)

    def status_text(self) -> str:
        """ "" while a result is drawn; otherwise why not (waiting, stale, error)."""
        return "" if self._shown else self._status_text

    def drawn_token_weights(self) -> dict[tuple[int, int], float]:
        """{(row, col) of a token of the padded grid: weight} for every key rect drawn,
        read back from the rect items (position / stride) and their stored weights."""
        assert self.context is not None
        stride = self.context.geometry.stride
        weights = {}
        for item in self.token_rects:
            if item.isVisible():
                rect = item.rect()
                token = (round(rect.top() / stride), round(rect.left() / stride))
                weights[token] = float(item.data(0))
        return weights

    def brightest_rect(self) -> QtCore.QRectF | None:
        """The pixel rect of the most opaque key token drawn."""
        visible = [item for item in self.token_rects if item.isVisible()]
        if not visible:
            return None
        return max(visible, key=lambda item: item.brush().color().alpha()).rect()

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
        expected = {
            "window_size": geometry.window_size,
            "shift_size": context.shift,
            "padded_size": (geometry.padded_height, geometry.padded_width),
        }
        if any(
            name in meta and tuple(np.atleast_1d(meta[name])) != tuple(np.atleast_1d(value))
            for name, value in expected.items()
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
        self.query_item.setRect(QtCore.QRectF(query_col * stride, query_row * stride, stride, stride))
        self.query_item.setPen(self.pen("#FFFFFF", self.theme.thick_width + 1))
        self._draw_window(positions, window, shift)
        result, reason = self._usable_result()
        self._shown = {}
        if result is None:
            self._status_text = reason
            for item in self.token_rects:
                item.setVisible(False)
            self.status.configure(
                reason, self.theme.foreground, self.qfont(self.theme.title_size + 2, bold=True), (0.5, 0.5)
            )
            self.status.set_box(self.brush(self.theme.background, alpha=200))
            self.status.setPos(cols * stride / 2, rows * stride / 2)
            self.status.setVisible(True)
            self._summary = ""
        else:
            self.status.setVisible(False)
            weights = np.asarray(result.attention[window, context.head, slot], dtype=np.float64)  # N
            self._draw_weights(positions, weights, stride)
            self._summary = self._weights_summary(weights, window, slot)
        self.style_title(
            self.panel.title,
            f"attention of query ({query_row}, {query_col}) · window {window} · head {context.head + 1}",
        )
        self.set_note(self._note(window))

    def _draw_window(self, positions: np.ndarray, window: int, shift: int) -> None:
        assert self.context is not None
        geometry = self.context.geometry
        rows, cols, stride = geometry.padded_height, geometry.padded_width, geometry.stride
        member = np.zeros((rows + 2, cols + 2), dtype=np.int64)
        member[positions[:, 0] + 1, positions[:, 1] + 1] = 1
        self.window_outline.setPath(boundary_path(member, stride, offset=(-stride, -stride)))
        self.window_outline.setPen(self.pen(self.theme.accent, self.theme.thick_width))
        self.region_lines.setVisible(bool(shift))
        if shift:
            regions = np.full((rows + 2, cols + 2), -1, dtype=np.int64)
            rolled_regions = region_map(rows, cols, geometry.window_size, shift)
            slots = cached_token_positions(rows, cols, geometry.window_size, 0)[window]  # rolled grid
            regions[positions[:, 0] + 1, positions[:, 1] + 1] = rolled_regions[slots[:, 0], slots[:, 1]]
            self.region_lines.setPath(boundary_path(regions, stride, offset=(-stride, -stride), ignore=-1))
            self.region_lines.setPen(self.pen(SHIFTED_WINDOW_COLOR, self.theme.thick_width, dashed=True))

    def _draw_weights(self, positions: np.ndarray, weights: np.ndarray, stride: int) -> None:
        viewbox = self.panel.viewbox
        while len(self.token_rects) < len(weights):
            item = QtWidgets.QGraphicsRectItem()
            item.setZValue(9)
            item.setPen(self.pen("#000000", width=0.0, alpha=0))
            viewbox.addItem(item, ignoreBounds=True)
            self.token_rects.append(item)
        peak = float(weights.max()) if weights.size and weights.max() > 0 else 1.0
        for item, (row, col), weight in zip(self.token_rects, positions, weights, strict=False):
            item.setRect(QtCore.QRectF(col * stride, row * stride, stride, stride))
            item.setBrush(self.brush(ATTENTION_COLOR, alpha=round(MAX_ALPHA * weight / peak)))
            item.setData(0, float(weight))
            item.setVisible(True)
            self._shown[(int(row), int(col))] = float(weight)
        for item in self.token_rects[len(weights) :]:
            item.setVisible(False)

    def _weights_summary(self, weights: np.ndarray, window: int, slot: int) -> str:
        context = self.context
        assert context is not None and self.result is not None
        geometry = context.geometry
        peak = float(weights.max())
        text = f"Opacity ∝ weight / max weight (max {peak:.3f}, {len(weights)} keys)."
        if context.shift:
            if self.result.mask is not None:
                row_mask = np.asarray(self.result.mask[window, slot])
            else:
                row_mask = cached_mask(
                    geometry.padded_height, geometry.padded_width, geometry.window_size, context.shift
                )[window, slot]
            other = float(weights[row_mask != 0].sum())
            same = float(weights[row_mask == 0].sum())
            text += (
                f" Weight on the query's own region: {same:.4f}; on the other regions "
                f"(mask −100): {other:.2e}."
            )
        return text

    def _note(self, window: int) -> str:
        context = self.context
        assert context is not None
        head = f"head {context.head + 1}/{context.geometry.num_heads}"
        if not self._shown:
            status = self._status_text[:1].upper() + self._status_text[1:]
            return (
                f"<b>{status}</b><br>The geometry is drawn at once; "
                f"the attention ({head}) appears when the model has run on this stage and block."
            )
        kind = (
            "Dashed: region borders inside the shifted window."
            if context.shift
            else "W-MSA block: the window is a plain M×M square."
        )
        return (
            f"{self._summary}<br>Window {window} holds the query; its tokens are mapped back "
            f"through the reverse roll. {kind} Click the image to pick another query."
        )

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        row, col = self.context.query
        return [*self.context.caption_parts(head=True), f"query ({row}, {col})"]

    # --- mouse --------------------------------------------------------------------------

    def _token_at(self, x: float, y: float) -> tuple[int, int] | None:
        assert self.context is not None
        geometry = self.context.geometry
        row, col = int(y // geometry.stride), int(x // geometry.stride)
        if x >= 0 and y >= 0 and row < geometry.height and col < geometry.width:
            return row, col
        return None

    def pick_at(self, x: float, y: float) -> None:
        """Emit queryPicked for the token under pixel (x, y) (padding excluded)."""
        token = self._token_at(x, y)
        if token is not None:
            self.queryPicked.emit(*token)

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        point = self.panel.view_point(scene_pos)
        if point is None:
            return None
        token = self._token_at(point.x(), point.y())
        if token is None:
            return None
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
