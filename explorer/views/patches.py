"""Figure "patches": the 4x4 patch grid over the photo, and the query token."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from swin_model.windows import patch_grid

from .base import FigureView, PhotoLayer
from .cells import cell_at
from .items import Panel, grid_path, make_path_item

__all__ = ["PatchesView"]


class PatchesView(FigureView):
    """The photo cut into P×P patches, each one token of stage 1.

    Hover reads out a patch's row, column and token index; a click picks the query token
    (emitted in the selected stage's grid, whose tokens cover 2^stage patches a side).
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
        self._grid_key: tuple[int, ...] | None = None

    def grid_shape(self) -> tuple[int, int]:
        """(rows, cols) of the patch grid: the stage-1 token grid."""
        assert self.context is not None
        return patch_grid(self.context.image_size, self.context.image_size, self.context.config.patch_size)

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        patch = context.config.patch_size
        rows, cols = self.grid_shape()
        extent_h, extent_w = rows * patch, cols * patch
        self.photo.draw(self, extent_h, extent_w)
        key = (rows, cols, patch, hash(self.theme))
        if key != self._grid_key:
            self._grid_key = key
            self.grid.setPath(grid_path(rows, cols, 1, 1, patch))
            self.grid.setPen(self.pen(self.theme.grid, width=1.0, alpha=110))
        stride = context.geometry.stride
        row, col = context.query
        self.query_item.setRect(QtCore.QRectF(col * stride, row * stride, stride, stride))
        self.query_item.setPen(self.pen(self.theme.accent, self.theme.thick_width))
        self.style_title(self.panel.title, f"{rows}×{cols} patches of {patch}×{patch} px")
        self.panel.set_extent(0, 0, extent_w, extent_h)
        size = context.image_size
        padded = (
            f", zero-padded to {extent_h}×{extent_w} px (hatched)"
            if extent_h != size or extent_w != size
            else ""
        )
        self.set_note(
            f"{size}×{size} px{padded} → {rows}×{cols} = {rows * cols} patches of {patch}×{patch}×3 "
            f"= {patch * patch * 3} values → linear embedding to C = {context.config.embed_dim}.<br>"
            f"Query: stage {context.stage + 1} token ({row}, {col}), {stride}×{stride} px "
            f"= {stride // patch}×{stride // patch} patches. Click the image to pick the query."
        )

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        rows, cols = self.grid_shape()
        patch = self.context.config.patch_size
        row, col = self.context.query
        return [
            *self.context.caption_parts(block=False)[:3],
            f"patch {patch}×{patch} → {rows}×{cols} tokens",
            f"query ({row}, {col})",
        ]

    def patch_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, col) of the patch under pixel (x, y), or None outside the grid."""
        assert self.context is not None
        return cell_at(x, y, self.context.config.patch_size, *self.grid_shape())

    def pick_at(self, x: float, y: float) -> None:
        """Emit queryPicked for the selected stage's token under pixel (x, y)."""
        assert self.context is not None
        geometry = self.context.geometry
        token = cell_at(x, y, geometry.stride, geometry.height, geometry.width)
        if token is not None:
            self.queryPicked.emit(*token)

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        point = self.panel.view_point(scene_pos)
        patch = None if point is None else self.patch_at(point.x(), point.y())
        if point is None or patch is None:
            return None
        row, col = patch
        _, cols = self.grid_shape()
        assert self.context is not None
        size = self.context.image_size
        where = (
            "padding"
            if point.x() >= size or point.y() >= size
            else f"pixel ({int(point.y())}, {int(point.x())})"
        )
        return f"patch row {row}, col {col} · token index {row * cols + col} · {where}"

    def _clicked(self, scene_pos: QtCore.QPointF) -> None:
        point = self.panel.view_point(scene_pos)
        if point is not None:
            self.pick_at(point.x(), point.y())
