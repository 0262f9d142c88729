"""Cell geometry of the figure views: pure numpy, no Qt, no pyqtgraph.

The views draw label maps: (rows, cols) integer arrays on a token grid, cell (r, c) a square
of side ``scale`` scene units (the stage's stride in pixels for views drawn over the photo,
1 for the slots of a window or a mask) with its top-left corner at ``offset + (c, r)·scale``.
Everything here turns such maps into plain arrays, which :mod:`explorer.views.items` then
turns into Qt paths:

- rectangles of equal labels, (K, 5) int64 (row, col, height, width, label), in cells;
- rectangles to fill, (K, 4) float (x, y, width, height), in scene units;
- line segments to stroke, (K, 4) float64 (x0, y0, x1, y1), in scene units.

It also holds the inverse, :func:`cell_at` (a point of the scene → the cell under it), and
the photo's padded canvas.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Protocol

import numpy as np
from PIL import Image

__all__ = [
    "PreparedLike",
    "axis_strips",
    "boundary_segments",
    "cell_at",
    "cell_rects",
    "centre_cells",
    "grid_segments",
    "hatch_segments",
    "horizontal_runs",
    "label_rectangles",
    "offset_grid_segments",
    "padded_canvas",
    "padding_rects",
    "rect_centres",
    "tile_at",
    "tile_origin",
    "true_runs",
    "value_rects",
]


# --- runs and rectangles ---------------------------------------------------------------------


def horizontal_runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Horizontal runs of equal values in a (rows, cols) array.

    Returns four (K,) arrays (row, start, end, value), ``end`` exclusive, in row-major order.
    """
    height, width = values.shape
    starts_mask = np.ones((height, width), dtype=bool)
    starts_mask[:, 1:] = values[:, 1:] != values[:, :-1]
    rows, starts = np.nonzero(starts_mask)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1] = width
    row_changes = np.nonzero(rows[1:] != rows[:-1])[0]
    ends[row_changes] = width
    return rows, starts, ends, values[rows, starts]


def true_runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True along axis 1 of a (lines, length) bool array: three (K,) arrays
    (line, start, end), ``end`` exclusive."""
    padded = np.zeros((flags.shape[0], flags.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = flags
    steps = np.diff(padded, axis=1)
    line_start, start = np.nonzero(steps == 1)
    _, end = np.nonzero(steps == -1)
    return line_start, start, end


def label_rectangles(labels: np.ndarray) -> np.ndarray:
    """Cover a (rows, cols) label map with rectangles of equal labels.

    Returns an int64 array (K, 5) of (row, col, height, width, label): horizontal runs of
    equal labels, merged downwards while the run below has the same columns and label.
    Every cell is covered by exactly one rectangle.
    """
    labels = np.asarray(labels)
    if labels.size == 0:
        return np.zeros((0, 5), dtype=np.int64)
    rows, starts, ends, values = horizontal_runs(labels)
    order = np.lexsort((rows, values, ends, starts))
    rows, starts, ends, values = rows[order], starts[order], ends[order], values[order]
    continues = np.zeros(len(rows), dtype=bool)
    continues[1:] = (
        (starts[1:] == starts[:-1])
        & (ends[1:] == ends[:-1])
        & (values[1:] == values[:-1])
        & (rows[1:] == rows[:-1] + 1)
    )
    first = np.nonzero(~continues)[0]
    heights = np.diff(np.append(first, len(rows)))
    return np.stack(
        [rows[first], starts[first], heights, ends[first] - starts[first], values[first].astype(np.int64)],
        axis=1,
    ).astype(np.int64)


def value_rects(
    labels: np.ndarray, scale: float, offset: tuple[float, float] = (0.0, 0.0), skip: Iterable[int] = ()
) -> dict[int, np.ndarray]:
    """Per label value of a (rows, cols) map, the (K, 4) rectangles (x, y, width, height)
    covering that value's cells, cell (r, c) at ``offset + (c, r) * scale``. Values in
    ``skip`` are left out."""
    rects = label_rectangles(labels)
    skipped = set(skip)
    by_value = {}
    for value in np.unique(rects[:, 4]):
        if int(value) in skipped:
            continue
        chosen = rects[rects[:, 4] == value]
        by_value[int(value)] = np.stack(
            [
                offset[0] + chosen[:, 1] * scale,
                offset[1] + chosen[:, 0] * scale,
                chosen[:, 3] * scale,
                chosen[:, 2] * scale,
            ],
            axis=1,
        )
    return by_value


def cell_rects(cells: np.ndarray, scale: float) -> np.ndarray:
    """(K, 4) rectangles (x, y, width, height) of the single cells ``cells`` (K, 2) of
    (row, col)."""
    cells = np.asarray(cells).reshape(-1, 2)
    count = len(cells)
    return np.stack(
        [cells[:, 1] * scale, cells[:, 0] * scale, np.full(count, scale), np.full(count, scale)], axis=1
    )


# --- label placement ---------------------------------------------------------------------------


def rect_centres(rects: np.ndarray, scale: float) -> np.ndarray:
    """(K, 2) float64 scene point (x, y) at the middle of each rectangle of
    :func:`label_rectangles` ((K, 5) of row, col, height, width, label): where its label goes."""
    rects = np.asarray(rects).reshape(-1, 5)
    return np.stack(
        [(rects[:, 1] + rects[:, 3] / 2) * scale, (rects[:, 0] + rects[:, 2] / 2) * scale], axis=1
    )


def centre_cells(rects: np.ndarray) -> np.ndarray:
    """(K, 2) int64 (row, col) of the cell at the middle of each rectangle of
    :func:`label_rectangles` (the cell whose colour a label's box takes)."""
    rects = np.asarray(rects).reshape(-1, 5)
    return np.stack([rects[:, 0] + rects[:, 2] // 2, rects[:, 1] + rects[:, 3] // 2], axis=1)


def axis_strips(slots: np.ndarray, thickness: float, gap: float) -> np.ndarray:
    """(2K, 4) rectangles (x, y, width, height) marking the (K,) ``slots`` along both axes
    of a matrix of unit cells: K cells of a strip above row 0, then K of a strip left of
    column 0, each strip ``thickness`` wide and ``gap`` away from the matrix."""
    slots = np.asarray(slots, dtype=np.float64).reshape(-1)
    along_top = np.stack(
        [slots, np.full_like(slots, -thickness - gap), np.ones_like(slots), np.full_like(slots, thickness)],
        axis=1,
    )
    along_left = np.stack(
        [np.full_like(slots, -thickness - gap), slots, np.full_like(slots, thickness), np.ones_like(slots)],
        axis=1,
    )
    return np.concatenate([along_top, along_left])


def tile_origin(index: int, per_row: int, step: float) -> tuple[float, float]:
    """(x, y) of the top-left corner of tile ``index`` of small multiples laid out
    row-major, ``per_row`` a row, one every ``step`` scene units."""
    return (index % per_row) * step, (index // per_row) * step


# --- from the scene back to the grid -------------------------------------------------------------


def cell_at(x: float, y: float, scale: float, rows: int, cols: int) -> tuple[int, int] | None:
    """(row, col) of the cell under the scene point (x, y) in a ``rows x cols`` grid of
    cells of side ``scale`` whose top-left corner is the origin; None outside the grid.

    The pixel → token conversion of every view: ``scale`` is the stage's stride (tokens
    over the photo), the patch size (patches) or 1 (slots of a window or a mask)."""
    if not (math.isfinite(x) and math.isfinite(y)) or x < 0 or y < 0:
        return None
    row, col = int(y // scale), int(x // scale)
    if row < rows and col < cols:
        return row, col
    return None


def tile_at(x: float, y: float, size: float, step: float, per_row: int, per_column: int) -> int | None:
    """Index of the tile (see :func:`tile_origin`) of side ``size`` under the scene point
    (x, y); None outside every tile (in a gap or beyond the last row or column)."""
    cell = cell_at(x, y, step, per_column, per_row)
    if cell is None:
        return None
    row, column = cell
    if x - column * step >= size or y - row * step >= size:
        return None
    return row * per_row + column


# --- line segments -----------------------------------------------------------------------------


def _segments(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> np.ndarray:
    if len(x0) == 0:
        return np.zeros((0, 4), dtype=np.float64)
    return np.stack([x0, y0, x1, y1], axis=1).astype(np.float64)


def grid_segments(
    rows: int, cols: int, step_rows: int, step_cols: int, scale: float, outline: bool = True
) -> np.ndarray:
    """(K, 4) segments (x0, y0, x1, y1): lines every ``step`` cells across a
    ``rows x cols`` grid of cells of side ``scale`` (with the outer border when
    ``outline``); vertical lines first, left to right, then horizontal ones, top to bottom."""
    first = 0 if outline else 1
    col_lines = np.arange(first * step_cols, cols + (1 if outline else 0), step_cols)
    row_lines = np.arange(first * step_rows, rows + (1 if outline else 0), step_rows)
    if outline:
        col_lines = np.unique(np.append(col_lines, cols))
        row_lines = np.unique(np.append(row_lines, rows))
    else:
        col_lines = col_lines[col_lines < cols]
        row_lines = row_lines[row_lines < rows]
    width, height = cols * scale, rows * scale
    x0 = np.concatenate([col_lines * scale, np.zeros(len(row_lines))])
    x1 = np.concatenate([col_lines * scale, np.full(len(row_lines), width)])
    y0 = np.concatenate([np.zeros(len(col_lines)), row_lines * scale])
    y1 = np.concatenate([np.full(len(col_lines), height), row_lines * scale])
    return _segments(x0, y0, x1, y1)


def offset_grid_segments(
    rows: int, cols: int, step: int, offset: int, scale: float, min_gap: float = 0.0
) -> np.ndarray:
    """(K, 4) segments (x0, y0, x1, y1): the outer border of a ``rows x cols`` grid of
    cells of side ``scale``, and the lines every ``step`` cells counted from ``offset``
    (line positions ``offset + j * step`` strictly inside the grid, in cells, leaving out
    those closer than ``min_gap`` cells to the border), vertical lines first. With
    ``offset = shift`` these are the borders of windows of ``step`` cells moved right and
    down by ``shift`` cells, wrapping around the edges (for grids of at least two windows a
    side, as every shifted block has)."""

    def lines(count: int) -> np.ndarray:
        inner = np.arange(offset % step, count, step)
        inner = inner[(inner >= max(min_gap, 1e-9)) & (inner <= count - max(min_gap, 1e-9))]
        return np.unique(np.concatenate([[0, count], inner]))

    col_lines, row_lines = lines(cols), lines(rows)
    width, height = cols * scale, rows * scale
    x0 = np.concatenate([col_lines * scale, np.zeros(len(row_lines))])
    x1 = np.concatenate([col_lines * scale, np.full(len(row_lines), width)])
    y0 = np.concatenate([np.zeros(len(col_lines)), row_lines * scale])
    y1 = np.concatenate([np.full(len(col_lines), height), row_lines * scale])
    return _segments(x0, y0, x1, y1)


def boundary_segments(
    labels: np.ndarray,
    scale: float,
    offset: tuple[float, float] = (0.0, 0.0),
    outline: bool = False,
    ignore: int | None = None,
) -> np.ndarray:
    """(K, 4) segments (x0, y0, x1, y1) between neighbouring cells of a (rows, cols) label
    map whose labels differ, merged along each line, plus the outer border of the map when
    ``outline``. Cells labelled ``ignore`` draw no border with anything."""
    labels = np.asarray(labels)
    height, width = labels.shape
    vertical = labels[:, 1:] != labels[:, :-1]
    horizontal = labels[1:, :] != labels[:-1, :]
    if ignore is not None:
        vertical &= (labels[:, 1:] != ignore) & (labels[:, :-1] != ignore)
        horizontal &= (labels[1:, :] != ignore) & (labels[:-1, :] != ignore)
    # vertical lines between columns c and c+1
    column, row_start, row_end = true_runs(vertical.T)
    vx = (column + 1) * scale
    # horizontal lines between rows r and r+1
    row, col_start, col_end = true_runs(horizontal)
    hy = (row + 1) * scale
    x0 = np.concatenate([vx, col_start * scale])
    x1 = np.concatenate([vx, col_end * scale])
    y0 = np.concatenate([row_start * scale, hy])
    y1 = np.concatenate([row_end * scale, hy])
    if outline:
        w, h = width * scale, height * scale
        x0 = np.concatenate([x0, [0, w, w, 0]])
        y0 = np.concatenate([y0, [0, 0, h, h]])
        x1 = np.concatenate([x1, [w, w, 0, 0]])
        y1 = np.concatenate([y1, [0, h, h, 0]])
    return _segments(x0 + offset[0], y0 + offset[1], x1 + offset[0], y1 + offset[1])


def hatch_segments(rects: np.ndarray, spacing: float) -> np.ndarray:
    """(K, 4) segments (x0, y0, x1, y1): 45-degree hatching lines x + y = k (k a multiple
    of ``spacing``) clipped to each rectangle of ``rects`` (R, 4) = (x, y, width, height)."""
    x0s, y0s, x1s, y1s = [], [], [], []
    for x, y, w, h in np.asarray(rects, dtype=np.float64).reshape(-1, 4):
        if w <= 0 or h <= 0:
            continue
        # lines x + y = k, k from the rectangle's top-left to bottom-right corner
        ks = np.arange(np.ceil((x + y) / spacing) * spacing, x + w + y + h, spacing)
        start_x = np.clip(ks - y, x, x + w)
        start_y = ks - start_x
        end_x = np.clip(ks - (y + h), x, x + w)
        end_y = ks - end_x
        keep = (start_y <= y + h) & (end_y >= y)
        x0s.append(start_x[keep])
        y0s.append(start_y[keep])
        x1s.append(end_x[keep])
        y1s.append(end_y[keep])
    if not x0s:
        return np.zeros((0, 4), dtype=np.float64)
    return _segments(np.concatenate(x0s), np.concatenate(y0s), np.concatenate(x1s), np.concatenate(y1s))


# --- the photo -------------------------------------------------------------------------------------


class PreparedLike(Protocol):
    """What the views need of a prepared image: ``display`` uint8 (H, W, 3)."""

    @property
    def display(self) -> np.ndarray: ...


def padded_canvas(
    prepared: PreparedLike | None, image_shape: tuple[int, int], height: int, width: int,
    fill: tuple[int, int, int],
) -> np.ndarray:
    """uint8 (height, width, 3): the photo at ``image_shape`` = (H, W) in the top-left, the
    rest (the zero padding the model adds) filled with ``fill``. A photo prepared at another
    size (still being prepared for this one) is stretched to it, nearest pixel."""
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[...] = np.full((width, 3), fill, dtype=np.uint8)  # row by row: 30x faster than per pixel
    if prepared is None:
        return canvas
    image_height, image_width = image_shape
    display = np.asarray(prepared.display)
    if display.shape[0] != image_height or display.shape[1] != image_width:
        stretched = Image.fromarray(np.ascontiguousarray(display[:, :, :3]), "RGB").resize(
            (image_width, image_height), Image.Resampling.NEAREST)
        display = np.asarray(stretched)
    rows, cols = min(height, image_height), min(width, image_width)
    canvas[:rows, :cols] = display[:rows, :cols, :3]
    return canvas


def padding_rects(
    image_shape: tuple[int, int], extent_height: float, extent_width: float, roll: int = 0
) -> np.ndarray:
    """(K, 4) of (x, y, width, height): the area of an ``extent`` canvas outside the photo
    of ``image_shape`` = (H, W) in its top-left (the right strip, then the bottom strip), in
    pixels.

    With ``roll``, the canvas rolled up and left by ``roll`` pixels (as
    :func:`swin_model.windows.cyclic_shift` rolls the map): the padding is then cut into
    the rectangles of :func:`label_rectangles` (extents must be whole pixels)."""
    image_height, image_width = image_shape
    rects = []
    if extent_width > image_width:
        rects.append((image_width, 0, extent_width - image_width, extent_height))
    if extent_height > image_height:
        rects.append((0, image_height, min(image_width, extent_width), extent_height - image_height))
    flat = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
    if not roll:
        return flat
    # a cell of the rolled canvas is padding when its row or its column comes from the
    # padding; the rows (columns) fall into a few intervals of one origin each, so the
    # rectangles are: every padding row interval across the whole width, and every image
    # row interval × every padding column interval -- what label_rectangles finds on the
    # rolled canvas, in its order, without building that canvas
    if roll < 0:
        raise ValueError(f"roll must be >= 0, got {roll}")
    height, width = int(extent_height), int(extent_width)
    rows = _rolled_intervals(height, image_height, roll)
    columns = [(start, end) for start, end, padded in _rolled_intervals(width, image_width, roll) if padded]
    bands: list[tuple[int, int, list[tuple[int, int]]]] = []  # rows (top, bottom) and their runs
    for top, bottom, padded in rows:
        runs = [(0, width)] if padded else columns
        if bands and bands[-1][2] == runs:  # same runs as the rows above: one taller rectangle
            bands[-1] = (bands[-1][0], bottom, runs)
        else:
            bands.append((top, bottom, runs))
    found = [(left, top, right - left, bottom - top) for top, bottom, runs in bands for left, right in runs]
    cells = np.asarray(found, dtype=np.int64).reshape(-1, 4)
    return cells[np.lexsort((cells[:, 1], cells[:, 0] + cells[:, 2], cells[:, 0]))]


def _rolled_intervals(length: int, image_length: int, roll: int) -> list[tuple[int, int, bool]]:
    """The positions 0..length of one axis of a canvas rolled back by ``roll`` (position p
    shows (p + roll) mod length), as sorted intervals (start, end, padded), ``end``
    exclusive, adjacent intervals of one kind merged: ``padded`` when they show positions
    at or past ``image_length``."""
    image_length = min(max(image_length, 0), length)
    pieces = []
    for first, last, padded in ((0, image_length, False), (image_length, length, True)):
        if last <= first:
            continue
        start = (first - roll) % length
        end = start + last - first
        pieces.append((start, min(end, length), padded))
        if end > length:
            pieces.append((0, end - length, padded))
    pieces.sort()
    merged: list[tuple[int, int, bool]] = []
    for start, end, padded in pieces:
        if merged and merged[-1][2] == padded and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end, padded)
        else:
            merged.append((start, end, padded))
    return merged
