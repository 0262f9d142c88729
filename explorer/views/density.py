"""Levels of detail of the figure views: how dense a drawing may be, in pixels. Pure
arithmetic (numpy only, no Qt), so that it can be checked over every size and window.

Every rule works on the pixel size of the drawing on screen, which is also its size in an
export at the default width (export paints the scene as laid out, scaled as a whole):

- **Lines.** Grid lines stay at least :data:`MIN_LINE_SPACING_PX` apart; a denser grid
  draws every k-th line (:func:`line_step`), every k-th with k dividing the window size so
  that the kept lines fall on window borders (:func:`divisor_step`), or every 2^j-th patch
  line, which are the token borders of a later stage (:func:`power_of_two_step`). Below
  that spacing lines merge into a moiré mesh.
- **Cell fields.** A field of more than :data:`VECTOR_CELL_LIMIT` cells is painted as one
  image instead of vector rectangles; where a cell is smaller than a pixel, the image is
  reduced by block means (:func:`downsample_factor`, :func:`block_mean`): colours average,
  as the eye would, instead of aliasing.
- **Labels.** Text has a fixed size in pixels. Window numbers go on every window when the
  largest fits a window, else on every k-th window row and column (:func:`label_step`,
  :func:`plan_grid_labels`); :func:`place_labels` then keeps a label only if its box lies
  inside the figure (and, when every window is numbered, inside the piece it names) and
  comes no closer than :data:`LABEL_GAP_PX` to a label kept before it. Margins that hold
  text beside scaled content come from :func:`fit_scale`.
- **When to redo.** A drawing made for one scale stays valid while the view is not made
  smaller and not zoomed in by a quarter octave (:func:`detail_is_stale`).

Coordinates: pixels for labels (x to the right, y down); scene units (image pixels, or
cells) elsewhere, with ``px_per_unit`` screen pixels per unit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "LABEL_GAP_PX",
    "MIN_LINE_SPACING_PX",
    "NOMINAL_PANEL_PX",
    "VECTOR_CELL_LIMIT",
    "LabelPlan",
    "block_mean",
    "block_mean_codes",
    "boxes_overlap",
    "detail_is_stale",
    "divisor_step",
    "downsample_factor",
    "fit_scale",
    "label_boxes",
    "label_step",
    "line_step",
    "place_labels",
    "plan_grid_labels",
    "power_of_two_step",
]

MIN_LINE_SPACING_PX = 4.0
"""Closest that two parallel grid lines are drawn, in pixels (on screen, and at the export
width of 1200 px when the figure is exported at its on-screen layout)."""

VECTOR_CELL_LIMIT = 65_536
"""Largest field of cells drawn as vector rectangles; a field with more cells is painted as
an image (in SVG and PDF: one embedded image). 65 536 = 256², the mask of one window of
M = 16 (256 slots): a window's mask is vector up to M = 16 (an image for M = 17 to 32); the
mask overview of all windows of M = 7 is vector up to 27 windows (the 112-px input: 16
windows, 38 416 cells) and an image from 224 px on (64 windows, 153 664 cells); the
attention rollout (one cell per 4×4 patch) is vector up to 1024 px (65 536 patches)."""

LABEL_GAP_PX = 2.0
"""Least free space between two label boxes, in pixels."""

NOMINAL_PANEL_PX = 600.0
"""Pixels assumed for a panel's longer side before Qt has laid it out."""

_REFINE_RATIO = 2.0 ** 0.25
_EPSILON_PX = 1e-6
"""Rounding slack of the inside tests, in pixels."""


def _positive(value: float, name: str) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


# --- lines -----------------------------------------------------------------------------------


def line_step(spacing_px: float, min_spacing_px: float = MIN_LINE_SPACING_PX) -> int:
    """The smallest k >= 1 such that every k-th line of a grid whose lines are
    ``spacing_px`` apart is at least ``min_spacing_px`` from the next."""
    spacing = _positive(spacing_px, "spacing_px")
    return max(1, math.ceil(min_spacing_px / spacing - 1e-9))


def divisor_step(spacing_px: float, period: int, min_spacing_px: float = MIN_LINE_SPACING_PX) -> int:
    """The smallest divisor k of ``period`` such that every k-th line is at least
    ``min_spacing_px`` apart (lines ``spacing_px`` apart); ``period`` itself when no smaller
    divisor is enough (then only the lines every ``period`` remain: the window borders)."""
    needed = line_step(spacing_px, min_spacing_px)
    for divisor in range(needed, period + 1):
        if period % divisor == 0:
            return divisor
    return max(period, 1)


def power_of_two_step(spacing_px: float, min_spacing_px: float = MIN_LINE_SPACING_PX) -> int:
    """The smallest power of two k such that every k-th line is at least
    ``min_spacing_px`` apart (lines ``spacing_px`` apart)."""
    needed = line_step(spacing_px, min_spacing_px)
    return 1 << (needed - 1).bit_length()


def detail_is_stale(drawn_px_per_unit: float, px_per_unit: float) -> bool:
    """Whether a drawing made for ``drawn_px_per_unit`` must be redone at ``px_per_unit``:
    when the scale shrank (lines would come closer than allowed, labels could overlap), or
    grew by a quarter octave (19 %) or more (more detail fits). Small changes, such as a
    window resized by a few pixels, keep the drawing."""
    if drawn_px_per_unit <= 0:
        return True
    return px_per_unit < drawn_px_per_unit * (1 - 1e-9) or px_per_unit >= drawn_px_per_unit * _REFINE_RATIO


def fit_scale(available_px: float, content_units: float, margin_px: Callable[[float], float],
              padding: float = 0.02) -> float:
    """Pixels per unit at which ``content_units`` plus a margin of ``margin_px(scale)``
    pixels on each side fill ``available_px`` (a square panel showing its extent with
    ``padding``, a fraction of the extent, on each side as pyqtgraph's ``setRange`` does).
    The margin holds text of a fixed pixel size beside scaled content, so it depends on the
    scale; ``margin_px`` must not decrease as the scale grows. Solved by bisection (the
    space used grows with the scale); when even the text alone does not fit, the scale
    that leaves a pixel for the content."""
    available = _positive(available_px, "available_px") / (1 + 2 * padding)
    content = _positive(content_units, "content_units")

    def used(scale: float) -> float:
        return scale * content + 2 * margin_px(scale)

    low, high = 0.0, available / content
    if used(low) >= available - content * 1e-9:
        return 1.0 / content
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if used(middle) <= available else (low, middle)
    return low


# --- cell fields -----------------------------------------------------------------------------


def downsample_factor(px_per_cell: float) -> int:
    """How many cells a side one pixel of a field image covers: 1 while a cell is at least
    a pixel, else ⌊1 / px_per_cell⌋ (each image pixel stays at least ~one screen pixel)."""
    size = _positive(px_per_cell, "px_per_cell")
    return max(1, math.floor(1.0 / size + 1e-9))


def block_mean(image: np.ndarray, factor: int, fill: np.ndarray | tuple[int, ...]) -> np.ndarray:
    """uint8 (⌈H/f⌉, ⌈W/f⌉, C): the mean colour of each f×f block of ``image`` uint8
    (H, W, C), rounded to the nearest integer; the last blocks are completed with ``fill``
    (C,). ``factor`` 1 returns ``image`` itself."""
    image = np.asarray(image)
    if image.ndim != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 (H, W, C), got {image.dtype} {image.shape}")
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    if factor == 1:
        return image
    height, width, channels = image.shape
    rows, cols = -(-height // factor), -(-width // factor)
    padded = np.empty((rows * factor, cols * factor, channels), dtype=np.uint8)
    padded[...] = np.asarray(fill, dtype=np.uint8)
    padded[:height, :width] = image
    sums = padded.reshape(rows, factor, cols, factor, channels).sum(axis=(1, 3), dtype=np.uint32)
    area = factor * factor
    return ((sums + area // 2) // area).astype(np.uint8)


def _block_sums(flags: np.ndarray, factor: int) -> np.ndarray:
    """(H/f, W/f) uint32 count of True in each f×f block of (H, W) bool ``flags``, H and W
    multiples of f."""
    ones = flags.view(np.uint8)
    columns = np.zeros((flags.shape[0], flags.shape[1] // factor), dtype=np.uint16)
    for offset in range(factor):  # f strided adds: far faster than a reduction over a short axis
        np.add(columns, ones[:, offset::factor], out=columns, casting="unsafe")
    blocks = np.zeros((flags.shape[0] // factor, columns.shape[1]), dtype=np.uint32)
    for offset in range(factor):
        blocks += columns[offset::factor]
    return blocks


def block_mean_codes(codes: np.ndarray, palette: np.ndarray, factor: int, fill_code: int) -> np.ndarray:
    """uint8 (⌈H/f⌉, ⌈W/f⌉, C): :func:`block_mean` of ``palette[codes]`` without building
    that full-size colour image: the cells of each code are counted per f×f block, and the
    block's colour is the count-weighted mean of the ``palette`` (K, C) uint8 colours. The
    last blocks are completed with ``fill_code``. ``codes`` (H, W) holds ints 0..K-1."""
    codes = np.asarray(codes)
    palette = np.asarray(palette, dtype=np.uint8)
    if not 1 <= factor <= 255:  # f² must fit the uint16 column counts
        raise ValueError(f"factor must be in 1..255, got {factor}")
    if factor == 1:
        return palette[codes]
    height, width = codes.shape
    rows, cols = -(-height // factor), -(-width // factor)
    padded = np.full((rows * factor, cols * factor), fill_code, dtype=codes.dtype)
    padded[:height, :width] = codes
    area = factor * factor
    counts = np.empty((len(palette), rows, cols), dtype=np.float32)
    for code in range(1, len(palette)):
        counts[code] = _block_sums(padded == code, factor)
    counts[0] = area - counts[1:].sum(axis=0)
    # counts are exact in float32 (f² <= 65025); the rounding matches block_mean's integer one
    total = np.full((rows, cols, palette.shape[1]), area // 2, dtype=np.float32)
    for code, colour in enumerate(palette.astype(np.float32)):
        total += counts[code][..., None] * colour
    return np.floor(total / area + 1e-4).astype(np.uint8)


# --- labels ----------------------------------------------------------------------------------


def label_step(pitch_px: float, label_width_px: float, label_height_px: float,
               gap_px: float = LABEL_GAP_PX) -> int:
    """The smallest k >= 1 such that labels centred on every k-th cell of a grid of pitch
    ``pitch_px`` (in both directions) are at least ``gap_px`` apart."""
    pitch = _positive(pitch_px, "pitch_px")
    return max(1, math.ceil((max(label_width_px, label_height_px) + gap_px) / pitch - 1e-9))


def label_boxes(centres: np.ndarray, sizes: np.ndarray | tuple[float, float]) -> np.ndarray:
    """(K, 4) boxes (x0, y0, x1, y1) of labels centred on ``centres`` (K, 2) of (x, y),
    of ``sizes`` (width, height), one for all or (K, 2)."""
    centres = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
    half = np.broadcast_to(np.asarray(sizes, dtype=np.float64), centres.shape) / 2
    return np.concatenate([centres - half, centres + half], axis=1)


def boxes_overlap(first: np.ndarray, second: np.ndarray, gap: float = 0.0) -> bool:
    """Whether boxes (x0, y0, x1, y1) come closer than ``gap`` on both axes (touching
    boxes with ``gap`` 0 do not overlap)."""
    return bool(
        first[0] < second[2] + gap and second[0] < first[2] + gap
        and first[1] < second[3] + gap and second[1] < first[3] + gap
    )


def place_labels(
    boxes: np.ndarray,
    bounds: tuple[float, float, float, float],
    containers: np.ndarray | None = None,
    gap_px: float = LABEL_GAP_PX,
    taken: np.ndarray | None = None,
) -> np.ndarray:
    """(K,) bool: which of the label ``boxes`` (K, 4) of (x0, y0, x1, y1), in priority
    order, are drawn. A box is kept when it lies inside ``bounds`` (x0, y0, x1, y1), inside
    its ``containers`` row (K, 4) when given, and at least ``gap_px`` away from every box
    kept before it and from the ``taken`` boxes (T, 4) (other text already placed).

    Greedy, in O(K) for boxes of similar size: kept boxes are filed in a grid of buckets the
    size of the largest box."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    keep = np.zeros(len(boxes), dtype=bool)
    if len(boxes) == 0:
        return keep
    slack = np.array([-1, -1, 1, 1]) * _EPSILON_PX
    left, top, right, bottom = np.asarray(bounds, dtype=np.float64) + slack
    inside = (boxes[:, 0] >= left) & (boxes[:, 1] >= top) & (boxes[:, 2] <= right) & (boxes[:, 3] <= bottom)
    if containers is not None:
        cont = np.asarray(containers, dtype=np.float64).reshape(-1, 4) + slack
        inside &= (
            (boxes[:, 0] >= cont[:, 0]) & (boxes[:, 1] >= cont[:, 1])
            & (boxes[:, 2] <= cont[:, 2]) & (boxes[:, 3] <= cont[:, 3])
        )
    fixed = np.zeros((0, 4)) if taken is None else np.asarray(taken, dtype=np.float64).reshape(-1, 4)
    spans = np.concatenate([boxes, fixed])
    largest = max(float(np.max(spans[:, 2] - spans[:, 0])), float(np.max(spans[:, 3] - spans[:, 1])), 1.0)
    bucket = largest + gap_px
    grid: dict[tuple[int, int], list[np.ndarray]] = {}

    def cells_of(box: np.ndarray) -> list[tuple[int, int]]:
        x0, y0 = math.floor((box[0] - gap_px) / bucket), math.floor((box[1] - gap_px) / bucket)
        x1, y1 = math.floor((box[2] + gap_px) / bucket), math.floor((box[3] + gap_px) / bucket)
        return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]

    def file(box: np.ndarray) -> None:
        for cell in cells_of(box):
            grid.setdefault(cell, []).append(box)

    for box in fixed:
        file(box)
    for index in np.flatnonzero(inside):
        box = boxes[index]
        if any(boxes_overlap(box, other, gap_px) for cell in cells_of(box) for other in grid.get(cell, ())):
            continue
        keep[index] = True
        file(box)
    return keep


@dataclass(frozen=True)
class LabelPlan:
    """Where the labels of a grid of cells go: ``step`` (every step-th row and column of
    the grid carries labels), ``keep`` (K,) bool over the candidate pieces, their label
    ``centres`` (K, 2) in scene units and ``boxes`` (K, 4) in pixels (x0, y0, x1, y1, the
    scene's origin at 0)."""

    step: int
    keep: np.ndarray
    centres: np.ndarray
    boxes: np.ndarray


def plan_grid_labels(
    pieces: np.ndarray,
    grid_cells: np.ndarray,
    pitch: float,
    px_per_unit: float,
    label_sizes_px: np.ndarray | tuple[float, float],
    bounds: tuple[float, float, float, float],
    min_step: int = 1,
    gap_px: float = LABEL_GAP_PX,
) -> LabelPlan:
    """Labels for the ``pieces`` (K, 4) of (x, y, width, height), in scene units, of the
    cells of a regular grid of ``pitch`` scene units (a piece is a whole cell or the part
    of one that a wrap-around cut off); ``grid_cells`` (K, 2) is the (row, col) in the grid
    of the cell that each piece belongs to, ``label_sizes_px`` the (width, height) of each
    piece's label box, (K, 2) or one for all.

    Only cells whose row and column are multiples of the step are candidates. The step is
    at least ``min_step``; it is 1 when the largest label fits the pitch with ``gap_px`` to
    spare, otherwise large enough to leave a label's height free between labels (a wall of
    numbers that nearly touch is unreadable). Larger pieces come first, so a cut cell is
    named on its largest part; :func:`place_labels` then keeps the boxes that lie inside
    ``bounds`` (x0, y0, x1, y1, scene units) and overlap no other. With step 1 a box must
    also lie inside its piece; with a larger step the cells are smaller than their labels,
    and a label, centred on its cell, covers parts of its unlabelled neighbours (at the
    edge of ``bounds`` it is moved inwards, as long as it fits)."""
    pieces = np.asarray(pieces, dtype=np.float64).reshape(-1, 4)
    grid_cells = np.asarray(grid_cells, dtype=np.int64).reshape(-1, 2)
    sizes = np.broadcast_to(np.asarray(label_sizes_px, dtype=np.float64), (len(pieces), 2))
    scale = _positive(px_per_unit, "px_per_unit")
    pitch_px = pitch * scale
    width, height = (sizes.max(axis=0) if len(sizes) else (1.0, 1.0))
    step = label_step(pitch_px, width, height, gap_px)
    if step > 1:
        step = label_step(pitch_px, width, height, gap_px + height)
    step = max(step, min_step)
    centres = pieces[:, :2] + pieces[:, 2:] / 2
    scaled_bounds = (bounds[0] * scale, bounds[1] * scale, bounds[2] * scale, bounds[3] * scale)
    boxes = label_boxes(centres * scale, sizes)
    if step > 1:  # a label wider than its cell, at the edge: moved inwards, still over its cell
        shift_x = np.clip(boxes[:, 0], scaled_bounds[0], None) - boxes[:, 0]
        shift_x += np.clip(boxes[:, 2] + shift_x, None, scaled_bounds[2]) - (boxes[:, 2] + shift_x)
        shift_y = np.clip(boxes[:, 1], scaled_bounds[1], None) - boxes[:, 1]
        shift_y += np.clip(boxes[:, 3] + shift_y, None, scaled_bounds[3]) - (boxes[:, 3] + shift_y)
        boxes = boxes + np.stack([shift_x, shift_y, shift_x, shift_y], axis=1)
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2 / scale
    candidate = np.all(grid_cells % step == 0, axis=1)
    order = np.flatnonzero(candidate)
    order = order[np.argsort(-(pieces[order, 2] * pieces[order, 3]), kind="stable")]
    containers = np.concatenate([pieces[:, :2], pieces[:, :2] + pieces[:, 2:]], axis=1) * scale
    kept = place_labels(boxes[order], scaled_bounds, containers[order] if step == 1 else None, gap_px)
    keep = np.zeros(len(pieces), dtype=bool)
    keep[order[kept]] = True
    return LabelPlan(step=step, keep=keep, centres=centres, boxes=boxes)
