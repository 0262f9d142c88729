"""Figure "patches": the 4x4 patch grid over the photo, and the query token."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from swin_model.windows import patch_grid

from .base import FigureView, PhotoLayer
from .cells import cell_at, offset_grid_segments
from .density import MIN_LINE_SPACING_PX, detail_is_stale, power_of_two_step
from .items import ExportHook, Panel, make_path_item, segments_path

__all__ = ["HINT", "PatchesView"]

HINT = "Click the image to pick the query token (framed)."
"""Shown under the figure on screen only (in the hover line), never in an export."""


class PatchesView(FigureView):
    """The photo cut into P×P patches, each one token of stage 1.

    Hover reads out a patch's row, column and token index; a click picks the query token
    (emitted in the selected stage's grid, whose tokens cover 2^stage patches a side). The
    query's frame is drawn on screen only: the figure is about patches, not the query.

    Level of detail: patch borders closer than 4 px on screen are drawn every k patches, k a
    power of two, so the lines left are the token borders of a later stage.
    """

    explanation = (
        "Patch partition: the image is cut into 4×4-pixel patches, and each patch "
        "(48 numbers) becomes one token after a linear embedding."
    )

    def _build(self) -> None:
        self.panel = Panel(self.body, 0, 0)
        self.photo = PhotoLayer(self.panel)
        self.grid = make_path_item(self.panel.viewbox, z=10, crisp=True)
        self.grid.setToolTip("Patch borders: one patch of P×P pixels is one token.")
        self.query_item = QtWidgets.QGraphicsRectItem()
        self.query_item.setZValue(20)
        self.query_item.setToolTip("The query token of the selected stage.")
        self.panel.viewbox.addItem(self.query_item, ignoreBounds=True)
        self._grid_key: tuple[float, ...] | None = None
        self._scale = 0.0
        self._line_step = 1
        self.export_hook = ExportHook(self.set_exporting)
        self.panel.viewbox.addItem(self.export_hook, ignoreBounds=True)
        self.panel.viewbox.sigTransformChanged.connect(self._transform_changed)

    def line_step(self) -> int:
        """Patch borders are drawn every this many patches."""
        return self._line_step

    def set_exporting(self, exporting: bool) -> None:
        """Hide the query's frame while the scene is painted for export (through
        :class:`ExportHook`), and show it again after."""
        self.query_item.setOpacity(0.0 if exporting else 1.0)

    def _transform_changed(self, *_: object) -> None:
        """Resizing or zooming: redraw (soon) when the level of detail changes."""
        if not self._disposed and self.context is not None and detail_is_stale(
            self._scale, self.panel.pixels_per_unit()
        ):
            self.redraw_soon()

    def grid_shape(self) -> tuple[int, int]:
        """(rows, cols) of the patch grid: the stage-1 token grid."""
        assert self.context is not None
        return patch_grid(self.context.image_height, self.context.image_width, self.context.config.patch_size)

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        patch = context.config.patch_size
        rows, cols = self.grid_shape()
        extent_h, extent_w = rows * patch, cols * patch
        self.photo.draw(self, extent_h, extent_w)
        self.panel.set_extent(0, 0, extent_w, extent_h)
        if detail_is_stale(self._scale, self.panel.pixels_per_unit()):
            self._scale = self.panel.pixels_per_unit()
        self._line_step = step = power_of_two_step(patch * self._scale)
        edge_gap = MIN_LINE_SPACING_PX / (patch * self._scale)  # patches: no line that close to the edge
        key = (rows, cols, patch, step, edge_gap, hash(self.theme))
        if key != self._grid_key:
            self._grid_key = key
            self.grid.setPath(segments_path(offset_grid_segments(rows, cols, step, 0, patch, edge_gap)))
            self.grid.setPen(self.pen(self.theme.grid, width=1.0, alpha=110))
        stride = context.geometry.stride
        row, col = context.query
        self.query_item.setRect(QtCore.QRectF(col * stride, row * stride, stride, stride))
        self.query_item.setPen(self.pen(self.theme.accent, self.theme.thick_width))
        lines = f" (lines every {step} patches)" if step > 1 else ""
        self.style_title(self.panel.title, f"{rows}×{cols} patches of {patch}×{patch} px{lines}")
        height, width = context.image_shape
        padded = (
            f", zero-padded to {extent_h}×{extent_w} px (hatched)"
            if (extent_h, extent_w) != (height, width)
            else ""
        )
        later_stage = f", the token borders of stage {step.bit_length()}" if step <= 8 else ""
        thinned = (
            f"<br>At this size a patch is under 4 screen pixels: the lines are drawn every {step} patches "
            f"({step * patch} px){later_stage}." if step > 1 else ""
        )
        self.set_note(
            f"{height}×{width} px{padded} → {rows}×{cols} = {rows * cols} patches of {patch}×{patch}×3 "
            f"= {patch * patch * 3} values → linear embedding to C = {context.config.embed_dim}.<br>"
            f"A token of stage {context.stage + 1} covers {stride}×{stride} px "
            f"= {stride // patch}×{stride // patch} patches.{thinned}"
        )
        if not self._hover_label.text().strip():
            self._hover_label.setText(HINT)

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        rows, cols = self.grid_shape()
        patch = self.context.config.patch_size
        return [
            *self.context.caption_parts(block=False)[:3],
            f"patch {patch}×{patch} → {rows}×{cols} tokens",
        ]

    def patch_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, col) of the patch under pixel (x, y), or None outside the grid."""
        assert self.context is not None
        return cell_at(x, y, self.context.config.patch_size, *self.grid_shape())

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        point = self.panel.view_point(scene_pos)
        patch = None if point is None else self.patch_at(point.x(), point.y())
        if point is None or patch is None:
            return HINT
        row, col = patch
        _, cols = self.grid_shape()
        assert self.context is not None
        height, width = self.context.image_shape
        where = (
            "padding"
            if point.x() >= width or point.y() >= height
            else f"pixel ({int(point.y())}, {int(point.x())})"
        )
        return f"patch row {row}, col {col} · token index {row * cols + col} · {where}"

    def _clicked(self, scene_pos: QtCore.QPointF) -> None:
        point = self.panel.view_point(scene_pos)
        if point is not None:
            self.pick_at(point.x(), point.y())
