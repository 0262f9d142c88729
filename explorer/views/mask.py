"""Figure "mask": the 0/−100 attention mask of the selected window, and of every window."""

from __future__ import annotations

import math

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.palette import MASK_COLORS, REGION_COLORS, region_text_color
from swin_model.windows import MASK_VALUE, mask_of_regions

from .base import FigureView
from .cells import axis_strips, cell_at, horizontal_runs, tile_at, tile_origin, value_rects
from .density import (
    VECTOR_CELL_LIMIT,
    block_mean_codes,
    detail_is_stale,
    downsample_factor,
    fit_scale,
    label_boxes,
    place_labels,
    plan_grid_labels,
)
from .geometry_cache import cached_mask, cached_slot_regions, cached_token_positions
from .items import (
    CrispPathItem,
    ExportHook,
    FieldImage,
    Label,
    Panel,
    cells_in_path,
    make_path_item,
    number_size,
    rect_path,
    rgb,
    text_size,
    value_paths,
)
from .text_pool import LruCache, TextPool

__all__ = ["HINT", "MaskView"]

MAX_TILE_LABELS_PER_SIDE = 4
"""The small multiples are numbered on every k-th row and column, k such that at most this
many numbers go along a side (all of them up to 4×4 windows); hover tells any number."""

_GAP_VALUE = 1
"""Marks the gaps between the small multiples (neither 0 nor -100)."""

_BLOCKED, _GAP = 1, 2
"""Codes of the overview canvas drawn as an image: 0 allowed (mask 0), 1 blocked (−100), 2 gap."""

STRIP = 1.6
"""Least width of the region strips along the matrix axes, in cells (wider when a cell is
so small on screen that the region numbers would not fit)."""

STRIP_GAP = 0.25
"""Space between the region strips and the matrix, in cells."""

AXIS_GAP_PX = 4.0
"""Space between the region strips and the axis titles, in pixels."""

HINT = "Click a window of the overview (right) to see its mask."
"""Shown under the figure on screen only (in the hover line), never in an export."""

_CLICK_HINT = " Click one of them at the right to see it."
"""The note's invitation to click: on screen only (left out while the scene is exported)."""

class WindowMasks:
    """The (num_windows, N, N) float32 attention masks of a shifted grid
    (:func:`~explorer.views.geometry_cache.cached_mask`), one window at a time: a view
    shows one window's mask, so the whole array (tens of MB at large inputs) is built
    only when all of it is asked for. A window's mask is −100 where the official regions
    of its query and key slots (``slot_regions`` (num_windows, N)) differ, 0 elsewhere."""

    def __init__(self, height: int, width: int, window_size: int, shift_size: int) -> None:
        self._key = (height, width, window_size, shift_size)
        self.slot_regions = cached_slot_regions(height, width, window_size, shift_size)
        count, size = self.slot_regions.shape
        self.shape = (count, size, size)

    def __len__(self) -> int:
        return len(self.slot_regions)

    def window(self, index: int) -> np.ndarray:
        """(N, N) float32 mask of window ``index`` (:func:`swin_model.windows.mask_of_regions`)."""
        return mask_of_regions(self.slot_regions[index])

    def __getitem__(self, index: int) -> np.ndarray:
        return self.window(index)

    def value(self, window: int, query: int, key: int) -> float:
        """The mask's value for ``query`` and ``key`` (slots) of window ``window``."""
        return float(mask_of_regions(self.slot_regions[window, [query, key]])[0, 1])

    def is_masked(self, window: int) -> bool:
        """Whether window ``window`` holds more than one region (its mask is not all 0)."""
        regions = self.slot_regions[window]
        return bool((regions != regions[0]).any())

    def masked_windows(self) -> int:
        """How many windows hold more than one region (their mask is not all 0)."""
        return int((self.slot_regions != self.slot_regions[:, :1]).any(axis=1).sum())

    def full(self) -> np.ndarray:
        """(num_windows, N, N) float32, read-only: every window's mask."""
        return cached_mask(*self._key)


MAX_SPARSE_TILES = 512
""":func:`tile_code_counts` adds the tiles that hold a blocked cell one by one; beyond this
many the whole canvas is counted at once instead."""


def tile_code_counts(
    slot_regions: np.ndarray, per_row: int, per_column: int, step: int, factor: int
) -> np.ndarray | None:
    """float32 (3, ⌈H/f⌉, ⌈W/f⌉): how many cells of each code (0 allowed, 1 blocked, 2 gap)
    each f×f block of the overview canvas (H, W) = (per_column·step, per_row·step) holds,
    the canvas completed with gap up to a multiple of f, as
    :func:`~explorer.views.density.block_mean_codes` counts them, without building the
    canvas. ``slot_regions`` (num_windows, N) gives each window slot's region; tile w is the
    (N, N) mask of window w, blocked where query and key regions differ. The gaps repeat
    along each axis, so the cells outside the gaps of a block are a product of two per-axis
    counts; blocked cells lie only in the tiles of windows that hold several regions (the
    last row and column of windows), counted tile by tile. None when too many tiles hold
    several regions (:data:`MAX_SPARSE_TILES`)."""
    size = slot_regions.shape[1]
    several = np.flatnonzero((slot_regions != slot_regions[:, :1]).any(axis=1))
    if len(several) > MAX_SPARSE_TILES:
        return None
    height, width = per_column * step, per_row * step
    rows, cols = -(-height // factor), -(-width // factor)

    def in_tiles(cells: int, length: int) -> np.ndarray:
        """(cells/f,) cells of each block along one axis that lie in a tile (not a gap)."""
        position = np.arange(cells * factor)
        inside = (position % step < size) & (position < length)
        return inside.reshape(cells, factor).sum(axis=1).astype(np.float32)

    area = factor * factor
    counts = np.zeros((3, rows, cols), dtype=np.float32)
    counts[_GAP] = area - in_tiles(rows, height)[:, None] * in_tiles(cols, width)[None, :]
    for window in several:
        left, top = (int(value) for value in tile_origin(int(window), per_row, step))
        regions = slot_regions[window]
        offset_y, offset_x = top % factor, left % factor
        blocks_y, blocks_x = -(-(offset_y + size) // factor), -(-(offset_x + size) // factor)
        flags = np.zeros((blocks_y * factor, blocks_x * factor), dtype=np.float32)
        flags[offset_y : offset_y + size, offset_x : offset_x + size] = regions[:, None] != regions[None, :]
        sums = flags.reshape(blocks_y, factor, blocks_x, factor).sum(axis=(1, 3))
        first_y, first_x = top // factor, left // factor
        counts[_BLOCKED, first_y : first_y + blocks_y, first_x : first_x + blocks_x] += sums
    counts[0] = area - counts[1:].sum(axis=0)
    return counts


def mean_colours(counts: np.ndarray, palette: np.ndarray, factor: int) -> np.ndarray:
    """uint8 (rows, cols, C): each block's count-weighted mean of the ``palette`` (K, C)
    colours, ``counts`` (K, rows, cols) float32 cells of each code per f×f block, rounded as
    :func:`~explorer.views.density.block_mean_codes` rounds."""
    area = factor * factor
    total = np.full((*counts.shape[1:], palette.shape[1]), area // 2, dtype=np.float32)
    for code, colour in enumerate(np.asarray(palette, dtype=np.uint8).astype(np.float32)):
        total += counts[code][..., None] * colour
    colours: np.ndarray = np.floor(total / area + 1e-4).astype(np.uint8)
    return colours


class MaskView(FigureView):
    """The M²×M² mask that a shifted block adds to the attention logits of one window:
    0 where query and key come from the same region, −100 where they don't. Region strips
    along the axes say which region each slot holds. Beside it, every window's mask as
    small multiples (click one to select it); the selected one is framed, in exports too
    (the frame says which window the matrix shows, and the caption names it).

    Levels of detail (:mod:`explorer.views.density`): the matrix and the small multiples are
    vector rectangles up to :data:`~explorer.views.density.VECTOR_CELL_LIMIT` cells and one
    image beyond (the matrix from M = 17, the overview from 224 px at M = 7), reduced by
    block means where a cell is smaller than a pixel; region numbers and window numbers are
    placed so that none overlaps another or leaves the panel."""

    explanation = (
        "Attention mask: after the roll, tokens from different regions share a window, "
        "and adding −100 to their logits makes their softmax weight ≈ 0."
    )

    def _build(self) -> None:
        self.matrix_panel = Panel(self.body, 0, 0, with_image=False)
        self.overview_panel = Panel(self.body, 0, 1, with_image=False)
        self.body.layout.setColumnStretchFactor(0, 3)
        self.body.layout.setColumnStretchFactor(1, 2)
        viewbox = self.matrix_panel.viewbox
        self.cells: dict[float, CrispPathItem] = {
            value: make_path_item(viewbox, z=5, crisp=True) for value in MASK_COLORS
        }
        self.cells[0.0].setToolTip("0: same region, attention allowed.")
        self.cells[MASK_VALUE].setToolTip("−100: different regions, attention blocked.")
        self.matrix_field = FieldImage()
        self.matrix_field.setZValue(5)
        self.matrix_field.setVisible(False)
        self.matrix_field.setToolTip("The mask as one image (M > 16: too many cells for vectors).")
        viewbox.addItem(self.matrix_field, ignoreBounds=True)
        self.strips = {
            region: make_path_item(viewbox, z=5, crisp=True) for region in range(len(REGION_COLORS))
        }
        self.strip_labels = TextPool(viewbox)
        self.axis_labels = TextPool(viewbox)
        self.empty_label = Label()
        self.empty_label.setZValue(40)
        viewbox.addItem(self.empty_label, ignoreBounds=True)
        overview = self.overview_panel.viewbox
        self.tiles = {value: make_path_item(overview, z=5) for value in MASK_COLORS}
        self.tile_field = FieldImage()
        self.tile_field.setZValue(5)
        self.tile_field.setVisible(False)
        self.tile_field.setToolTip(
            "Every window's mask: light 0, dark −100 (one image: too many cells for vectors)."
        )
        overview.addItem(self.tile_field, ignoreBounds=True)
        self.tile_selection = QtWidgets.QGraphicsRectItem()
        self.tile_selection.setZValue(20)
        overview.addItem(self.tile_selection, ignoreBounds=True)
        self.tile_labels = TextPool(overview)
        self._masks: WindowMasks | None = None
        self._regions = np.zeros((0, 0), dtype=np.int64)
        self._overview_key: tuple[object, ...] | None = None
        self._overview_paths = LruCache(4)
        self._overview_canvases = LruCache(2)
        self._overview_images = LruCache(3)
        self._matrix_key: tuple[object, ...] | None = None
        self._matrix_room = 0.0  # pixels a side the matrix was laid out for (3 % under the panel's)
        self._overview_scale = 0.0
        self._overview_drawn: tuple[object, ...] | None = None
        self._tile_label_step = 1
        self._exporting = False
        self.export_hook = ExportHook(self.set_exporting)
        viewbox.addItem(self.export_hook, ignoreBounds=True)
        viewbox.sigTransformChanged.connect(self._transform_changed)
        overview.sigTransformChanged.connect(self._transform_changed)

    # --- data ---------------------------------------------------------------------------

    def has_mask(self) -> bool:
        """False for W-MSA blocks and stages without shift (the official code uses no mask)."""
        return self._masks is not None

    def drawn_mask(self) -> np.ndarray | None:
        """(N, N) float32 mask of the selected window read back from the drawn cells (NaN
        where no cell is drawn), or None when the block has no mask."""
        if self._masks is None:
            return None
        size = self._masks.shape[-1]
        drawn = np.full((size, size), np.nan, dtype=np.float32)
        if self.matrix_field.isVisible():
            pixels = self.matrix_field.pixels()
            factor = round(self.matrix_field.cell_size())
            cells = pixels[(np.arange(size) // factor)[:, None], (np.arange(size) // factor)[None, :]]
            for value, colour in MASK_COLORS.items():
                drawn[np.all(cells == rgb(colour), axis=-1)] = value
            return drawn
        for value, item in self.cells.items():
            drawn[cells_in_path(item.path(), size, size, 1.0)] = value
        return drawn

    def matrix_is_image(self) -> bool:
        """Whether the selected window's mask is painted as one image (M > 16)."""
        return self._masks is not None and self.matrix_field.isVisible()

    def drawn_overview(self) -> np.ndarray | None:
        """(num_windows, N, N) masks read back from the small multiples, or None. Drawn as
        an image, a cell is read from the image pixel over it: its value where the pixel has
        exactly a mask colour, NaN where the pixel mixes several cells (reduced image)."""
        if self._masks is None:
            return None
        count, size, _ = self._masks.shape
        per_row = self.context.geometry.windows_per_row if self.context else 1
        step = size + self._gap(size)
        drawn = np.full(self._masks.shape, np.nan, dtype=np.float32)
        if self.overview_is_image():
            return self._decode_overview(count, size, per_row, step)
        for window in range(count):
            offset = tile_origin(window, per_row, step)
            for value, item in self.tiles.items():
                drawn[window][cells_in_path(item.path(), size, size, 1.0, offset)] = value
        return drawn

    def overview_is_image(self) -> bool:
        """Whether the small multiples are painted as one image (too many cells for vectors)."""
        return self._masks is not None and self.tile_field.isVisible()

    def overview_image(self) -> tuple[np.ndarray, int]:
        """The overview image as painted, uint8 (h, w, 3), and how many cells a side one of
        its pixels covers (1: full detail; f: the mean colour of f×f cells)."""
        return self.tile_field.pixels(), round(self.tile_field.cell_size())

    def _decode_overview(self, count: int, size: int, per_row: int, step: int) -> np.ndarray:
        pixels, factor = self.overview_image()
        colours = {value: np.array(rgb(hex_colour)) for value, hex_colour in MASK_COLORS.items()}
        drawn = np.full((count, size, size), np.nan, dtype=np.float32)
        offsets = np.arange(size)
        for window in range(count):
            left, top = tile_origin(window, per_row, step)
            cells = pixels[((top + offsets) // factor)[:, None], ((left + offsets) // factor)[None, :]]
            for value, colour in colours.items():
                drawn[window][np.all(cells == colour, axis=-1)] = value
        return drawn

    def tile_label_items(self) -> list[Label]:
        """The window numbers drawn on the overview."""
        return self.tile_labels.visible()

    def matrix_label_items(self) -> list[Label]:
        """The region numbers and axis titles drawn beside the matrix."""
        return [*self.strip_labels.visible(), *self.axis_labels.visible()]

    def tile_label_step(self) -> int:
        """Every k-th row and column of the overview carries window numbers."""
        return self._tile_label_step

    def set_exporting(self, exporting: bool) -> None:
        """While the scene is painted for export (through :class:`ExportHook`), the note
        leaves out what only makes sense on screen (the invitation to click)."""
        if exporting != self._exporting:
            self._exporting = exporting
            if self.context is not None:
                self.set_note(self._note())

    # --- level of detail ----------------------------------------------------------------

    def _transform_changed(self, *_: object) -> None:
        """Resizing or zooming: redraw (soon) when a level of detail changes."""
        if self._disposed or self.context is None or self._exporting:
            return
        if detail_is_stale(self._matrix_room, self.matrix_panel.available_px()) or detail_is_stale(
            self._overview_scale, self.overview_panel.pixels_per_unit()
        ):
            self.redraw_soon()

    def drawn_slot_regions(self) -> np.ndarray:
        """(N,) official region along the matrix axes, read from the strip colours (-1: none)."""
        if self._masks is None:
            return np.zeros(0, dtype=np.int64)
        size = self._masks.shape[-1]
        drawn = np.full(size, -1, dtype=np.int64)
        for region, item in self.strips.items():
            if item.isVisible():
                inside = cells_in_path(item.path(), 1, size, 1.0, offset=(0.0, -STRIP / 2 - 0.5))
                drawn[inside[0]] = region
        return drawn

    # --- drawing ------------------------------------------------------------------------

    @staticmethod
    def _gap(size: int) -> int:
        return max(2, size // 6)

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        geometry = context.geometry
        rows, cols, window = geometry.padded_height, geometry.padded_width, geometry.window_size
        shift = context.shift
        overview_key = (rows, cols, window, shift, self.theme.name)
        if overview_key != self._overview_key:
            self._overview_key = overview_key
            self._matrix_key = None
            self._overview_drawn = None
            if shift:
                self._masks = WindowMasks(rows, cols, window, shift)
                self._regions = self._masks.slot_regions
            else:
                self._masks = None
        self._draw_overview()
        available = self.matrix_panel.available_px()
        if detail_is_stale(self._matrix_room, available):
            # planned for 3 % less room: small shrinks (a splitter moved a little) keep it valid
            self._matrix_room = 0.97 * available
        matrix_key = (context.window, overview_key, self._matrix_room)
        if matrix_key != self._matrix_key:
            self._matrix_key = matrix_key
            self._draw_matrix(self._matrix_room)
        self._draw_selection()
        self.style_title(self.matrix_panel.title, self._matrix_title())
        self.style_title(self.overview_panel.title, f"all {geometry.num_windows} windows" if shift else "")
        self.set_note(self._note())
        if not self._hover_label.text().strip():
            self._hover_label.setText(HINT)

    def _matrix_title(self) -> str:
        context = self.context
        assert context is not None
        if self._masks is None:
            return "mask"
        size = self._masks.shape[-1]
        title = f"mask of window {context.window} ({size}×{size}, framed at the right)"
        if not self._masks.is_masked(context.window):
            title += ": all 0, the window holds one region"
        return title

    def _draw_matrix(self, available: float) -> None:
        """The selected window's mask, its region strips and numbers, and the axis titles,
        laid out for a panel ``available`` pixels a side: strips at least as thick as a
        region number, margins that hold the titles (text keeps its pixel size)."""
        assert self.context is not None
        masked = self._masks is not None
        for item in (*self.cells.values(), *self.strips.values()):
            item.setVisible(masked)
        self.matrix_field.setVisible(False)
        self.strip_labels.begin()
        self.axis_labels.begin()
        self.empty_label.setVisible(not masked)
        if not masked:
            self.strip_labels.end()
            self.axis_labels.end()
            self.empty_label.configure(
                "no mask (W-MSA block)",
                self.theme.foreground,
                self.qfont(self.theme.title_size + 4, bold=True),
                (0.5, 0.5),
            )
            self.empty_label.setPos(0, 0)
            self.matrix_panel.set_extent(-1, -1, 2, 2)
            return
        assert self._masks is not None
        window = self.context.window
        mask = self._masks[window]
        size = mask.shape[0]
        font = self.qfont(self.theme.small_size, bold=True)
        label_font = self.qfont(self.theme.label_size)
        number_width, number_height = number_size(1, font)
        axis_width, axis_height = text_size("key slot j →", label_font)
        query_width, query_height = text_size("← query slot i", label_font)

        def margin_px(scale: float) -> float:  # one side: strip, gap, axis title
            return (max(STRIP * scale, number_height) + STRIP_GAP * scale + AXIS_GAP_PX + axis_height) / 2

        scale = fit_scale(available, size, margin_px)
        self._draw_cells(mask, scale)
        thickness = max(STRIP, number_height / scale)
        regions = self._regions[window]
        for region, item in self.strips.items():
            present = regions == region
            item.setVisible(bool(present.any()))
            if not present.any():
                continue
            item.setPath(rect_path(axis_strips(np.nonzero(present)[0], thickness, STRIP_GAP)))
            item.setBrush(self.brush(REGION_COLORS[region]))
        axis_offset = thickness + STRIP_GAP + AXIS_GAP_PX / scale
        margin = axis_offset + axis_height / scale
        # the axis titles first: the region numbers must leave them room
        axis_boxes = np.array([
            [size / 2 * scale - axis_width / 2, -axis_offset * scale - axis_height,
             size / 2 * scale + axis_width / 2, -axis_offset * scale],
            [-axis_offset * scale - query_height, size / 2 * scale - query_width / 2,
             -axis_offset * scale, size / 2 * scale + query_width / 2],
        ])
        _, starts, ends, runs = horizontal_runs(regions[None, :])
        middles = (starts + ends) / 2
        strip_middle = -thickness / 2 - STRIP_GAP
        along_top = np.stack([middles, np.full(len(middles), strip_middle)], axis=1)
        along_left = along_top[:, ::-1]
        centres = np.concatenate([along_top, along_left]) * scale
        run_boxes = np.stack([starts, np.full(len(starts), -thickness - STRIP_GAP), ends,
                              np.full(len(starts), -STRIP_GAP)], axis=1) * scale
        containers = np.concatenate([run_boxes, run_boxes[:, [1, 0, 3, 2]]])
        order = np.argsort(-np.tile(ends - starts, 2), kind="stable")
        keep = np.zeros(len(centres), dtype=bool)
        keep[order] = place_labels(
            label_boxes(centres[order], (number_width, number_height)),
            (-margin * scale, -margin * scale, size * scale, size * scale),
            containers[order],
            taken=axis_boxes,
        )
        for index in np.flatnonzero(keep):
            region = int(runs[index % len(runs)])
            x, y = centres[index] / scale
            self.strip_labels.add(str(region), float(x), float(y), region_text_color(region), font)
        self.strip_labels.end()
        self.axis_labels.add(
            "key slot j →", size / 2, -axis_offset, self.theme.foreground, label_font, anchor=(0.5, 1.0)
        )
        self.axis_labels.add(
            "← query slot i",  # rotated to read upwards: the arrow points down, as i grows
            -axis_offset,
            size / 2,
            self.theme.foreground,
            label_font,
            anchor=(1.0, 0.5),
            angle=-90,
        )
        self.axis_labels.end()
        self.matrix_panel.set_extent(-margin, -margin, size + margin, size + margin)

    def _draw_cells(self, mask: np.ndarray, scale: float) -> None:
        """The (N, N) ``mask``: vector rectangles up to VECTOR_CELL_LIMIT cells, else one
        image at the detail of ``scale`` pixels per cell."""
        size = mask.shape[0]
        as_image = size * size > VECTOR_CELL_LIMIT
        self.matrix_field.setVisible(as_image)
        for item in self.cells.values():
            item.setVisible(not as_image)
        if as_image:
            factor = downsample_factor(scale)
            rgb = block_mean_codes((mask != 0).astype(np.uint8), self._palette(), factor, _GAP)
            self.matrix_field.set_field(rgb, 0.0, 0.0, float(factor), reduced=factor > 1,
                                        smooth=factor * scale < 1)
            return
        cells = value_rects(mask, 1.0)
        for value, item in self.cells.items():
            item.set_rects(cells.get(int(value), np.zeros((0, 4))))
            item.setBrush(self.brush(MASK_COLORS[value]))

    def _palette(self) -> np.ndarray:
        """(3, 3) uint8 RGB of the codes 0 (mask 0), 1 (mask −100) and 2 (background)."""
        return np.array(
            [rgb(colour) for colour in (MASK_COLORS[0.0], MASK_COLORS[MASK_VALUE], self.theme.background)],
            dtype=np.uint8,
        )

    def _tile_paths(self, per_row: int, per_column: int, step: int) -> dict[int, QtGui.QPainterPath]:
        """One path per mask value covering its cells in every small multiple (remembered
        per geometry: going back to a recent stage or block needs no new paths)."""
        assert self._masks is not None
        count, size, _ = self._masks.shape
        canvas = np.full((per_column * step, per_row * step), _GAP_VALUE, dtype=np.int64)
        for window in range(count):
            left, top = tile_origin(window, per_row, step)
            canvas[top : top + size, left : left + size] = self._masks[window].astype(np.int64)
        return value_paths(canvas, 1.0, skip=(_GAP_VALUE,))

    def _tile_canvas(self, per_row: int, per_column: int, step: int) -> np.ndarray:
        """uint8 (per_column·step, per_row·step): the small multiples as codes (0 allowed,
        1 blocked, 2 gap), tile (r, c) at (c·step, r·step)."""
        assert self._masks is not None
        size = self._masks.shape[-1]
        canvas = np.full((per_column, step, per_row, step), _GAP, dtype=np.uint8)
        blocked = (self._masks.full() != 0).astype(np.uint8) * _BLOCKED  # num_windows, N, N
        canvas[:, :size, :, :size] = blocked.reshape(per_column, per_row, size, size).transpose(0, 2, 1, 3)
        return canvas.reshape(per_column * step, per_row * step)

    def _tile_image(self, per_row: int, per_column: int, step: int, factor: int) -> np.ndarray:
        """uint8 RGB of the small multiples, each pixel the mean colour of factor×factor cells."""
        if factor > 1:
            counts = tile_code_counts(self._regions, per_row, per_column, step, factor)
            if counts is not None:
                return mean_colours(counts, self._palette(), factor)
        geometry_key = self._overview_key[:4] if self._overview_key else None
        canvas = self._overview_canvases.fetch(
            geometry_key, lambda: self._tile_canvas(per_row, per_column, step)
        )
        return block_mean_codes(canvas, self._palette(), factor, _GAP)

    def _draw_overview(self) -> None:
        assert self.context is not None
        geometry = self.context.geometry
        if self._masks is None:
            self.tile_labels.begin()
            for item in self.tiles.values():
                item.setVisible(False)
            self.tile_field.setVisible(False)
            self.tile_selection.setVisible(False)
            self.tile_labels.end()
            self._overview_drawn = None
            return
        count, size, _ = self._masks.shape
        gap = self._gap(size)
        step = size + gap
        per_row, per_column = geometry.windows_per_row, geometry.windows_per_column
        self.overview_panel.set_extent(-gap, -gap, per_row * step + gap, per_column * step + gap)
        scale = self.overview_panel.pixels_per_unit()
        if detail_is_stale(self._overview_scale, scale):
            self._overview_scale = scale
        scale = self._overview_scale
        drawn_key = (self._overview_key, scale)
        if drawn_key == self._overview_drawn:
            return
        self._overview_drawn = drawn_key
        as_image = count * size * size > VECTOR_CELL_LIMIT
        for item in self.tiles.values():
            item.setVisible(not as_image)
        self.tile_field.setVisible(as_image)
        if as_image:
            factor = downsample_factor(scale)
            rgb = self._overview_images.fetch(
                (self._overview_key, factor), lambda: self._tile_image(per_row, per_column, step, factor)
            )
            self.tile_field.set_field(rgb, 0.0, 0.0, float(factor), reduced=factor > 1,
                                      smooth=factor * scale < 1)
        else:
            paths = self._overview_paths.fetch(
                (geometry.padded_height, geometry.padded_width, geometry.window_size, self.context.shift),
                lambda: self._tile_paths(per_row, per_column, step),
            )
            for value, item in self.tiles.items():
                item.setPath(paths.get(int(value), rect_path(np.zeros((0, 4)))))
                item.setBrush(self.brush(MASK_COLORS[value]))
        self._draw_tile_labels(count, size, step, per_row, per_column, scale)

    def _draw_tile_labels(self, count: int, size: int, step: int, per_row: int, per_column: int,
                          scale: float) -> None:
        """Window numbers on every k-th small multiple (at most
        :data:`MAX_TILE_LABELS_PER_SIDE` a side), none overlapping, none leaving the panel."""
        self.tile_labels.begin()
        windows = np.arange(count)
        grid = np.stack(np.divmod(windows, per_row), axis=1)
        pieces = np.stack([grid[:, 1] * step, grid[:, 0] * step, np.full(count, size), np.full(count, size)],
                          axis=1).astype(np.float64)
        font = self.qfont(self.theme.small_size, bold=True)
        digits = np.floor(np.log10(np.maximum(windows, 1))).astype(np.int64) + 1
        sizes = {count: number_size(count, font) for count in np.unique(digits).tolist()}
        gap = step - size
        plan = plan_grid_labels(
            pieces, grid, step, scale, np.array([sizes[count] for count in digits.tolist()]).reshape(-1, 2),
            (-gap, -gap, per_row * step, per_column * step),
            min_step=math.ceil(max(per_row, per_column) / MAX_TILE_LABELS_PER_SIDE),
        )
        self._tile_label_step = plan.step
        box = self.brush("#FFFFFF", alpha=200)
        for window in np.flatnonzero(plan.keep):
            x, y = plan.centres[window]
            label = self.tile_labels.add(str(window), float(x), float(y), "#000000", font)
            label.set_box(box)
        self.tile_labels.end()

    def _draw_selection(self) -> None:
        assert self.context is not None
        if self._masks is None:
            return
        size = self._masks.shape[-1]
        step = size + self._gap(size)
        per_row = self.context.geometry.windows_per_row
        window = self.context.window
        pad = self._gap(size) / 3
        left, top = tile_origin(window, per_row, step)
        self.tile_selection.setVisible(True)
        self.tile_selection.setRect(QtCore.QRectF(left - pad, top - pad, size + 2 * pad, size + 2 * pad))
        self.tile_selection.setPen(self.pen(self.theme.accent, self.theme.thick_width))

    def _note(self) -> str:
        context = self.context
        assert context is not None
        if self._masks is None:
            return (
                f"<b>No mask (W-MSA block): {context.no_shift_reason()}.</b> Every window holds "
                f"neighbouring tokens only and the official code passes no mask. "
                f"{context.shift_hint()}"
            )
        zero, blocked = MASK_COLORS[0.0], MASK_COLORS[MASK_VALUE]
        masked = self._masks.masked_windows()
        return (
            f"<span style='background-color:{zero}'>&nbsp;&nbsp;&nbsp;</span> 0: query and key "
            f"from the same region (attention allowed) &nbsp; "
            f"<span style='background-color:{blocked}'>&nbsp;&nbsp;&nbsp;</span> −100: different "
            f"regions (softmax weight ≈ 0).<br>Strips: the official region of each slot (slots "
            f"are the window's tokens, row-major). {masked} of {len(self._masks)} windows, the last "
            f"row and column, need a mask; the others hold one region."
            + ("" if self._masks.is_masked(context.window) or self._exporting else _CLICK_HINT)
            + (f" Overview: window numbers on one window in {self._tile_label_step} along rows and "
               f"columns." if self._tile_label_step > 1 else "")
        )

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        parts = self.context.caption_parts()
        if self._masks is not None:  # the one mark of the figure, kept in exports: say what it is
            parts.append(f"window {self.context.window} (framed)")
        return parts

    # --- mouse --------------------------------------------------------------------------

    def _overview_window_at(self, x: float, y: float) -> int | None:
        if self._masks is None or self.context is None:
            return None
        size = self._masks.shape[-1]
        geometry = self.context.geometry
        step = size + self._gap(size)
        return tile_at(x, y, size, step, geometry.windows_per_row, geometry.windows_per_column)

    def pick_window_at(self, x: float, y: float) -> None:
        """Emit windowPicked for the small multiple at (x, y) of the overview."""
        window = self._overview_window_at(x, y)
        if window is not None:
            self.windowPicked.emit(window)

    def _slot_token(self, slot: int) -> tuple[int, int]:
        assert self.context is not None
        geometry = self.context.geometry
        positions = cached_token_positions(
            geometry.padded_height, geometry.padded_width, geometry.window_size, self.context.shift
        )
        row, col = positions[self.context.window, slot]
        return int(row), int(col)

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        if self._masks is None:
            return None
        point = self.overview_panel.view_point(scene_pos)
        if point is not None:
            window = self._overview_window_at(point.x(), point.y())
            return HINT if window is None else f"window {window} (click to select)"
        point = self.matrix_panel.view_point(scene_pos)
        if point is None:
            return HINT
        size = self._masks.shape[-1]
        slots = cell_at(point.x(), point.y(), 1, size, size)
        if slots is None:
            return HINT
        i, j = slots
        assert self.context is not None
        regions = self._regions[self.context.window]
        value = self._masks.value(self.context.window, i, j)
        return (
            f"query slot {i} = token {self._slot_token(i)}, region {regions[i]} · key slot {j} = "
            f"token {self._slot_token(j)}, region {regions[j]} · mask {value:g}"
        )

    def _clicked(self, scene_pos: QtCore.QPointF) -> None:
        point = self.overview_panel.view_point(scene_pos)
        if point is not None:
            self.pick_window_at(point.x(), point.y())
