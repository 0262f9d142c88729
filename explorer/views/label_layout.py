"""Label placement that never collides: pure Python and numpy, no Qt.

A figure names areas (shift regions, merge places) with text labels. This module decides
where each label goes, in output pixels (x to the right, y down), given:

- the area each label names (its *target*, a :class:`Box`),
- the size of each text at each allowed font size (a :data:`Measure`: the views pass
  one that measures their Qt fonts; tests pass :class:`SimpleTextMetrics`),
- the figure's bounds and the font sizes to try, largest first; the last is the minimum.

The rules, in order of preference:

1. *inside*: the label sits in its target when it fits there (at the largest size that
   fits, never below the minimum);
2. *outside*: otherwise it goes next to the target, as close as the other labels allow,
   with a leader line from the label to the target; areas listed in ``avoid`` (the map
   itself) are left free when there is room elsewhere;
3. *legend*: when no place near the target is free, the label joins a legend (no leader;
   the colour of its box names the target), packed from the bottom-left of the bounds;
4. *dropped*: no room at all (the caller says so in words).

Guarantees (tests/test_label_layout.py checks them with hypothesis on the real region
geometry): every placed box lies inside the bounds, no two placed boxes overlap (they keep
``gap`` pixels apart), no leader line crosses another label, and no label is smaller than
the minimum size.

Dense grids are thinned rather than drawn as a moiré: :func:`line_step` says how many
grid lines to skip at a given pitch, :func:`thin_segments` keeps every k-th line of a set
of axis-aligned segments (and the outline).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "Box",
    "LabelLayout",
    "LabelRequest",
    "Measure",
    "PlacedLabel",
    "SimpleTextMetrics",
    "gutter_for",
    "line_step",
    "needs_outside",
    "place_labels",
    "thin_segments",
]


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in output pixels: top-left (x, y), y pointing down."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def is_empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    def expanded(self, margin: float) -> Box:
        return Box(self.x - margin, self.y - margin, self.width + 2 * margin, self.height + 2 * margin)

    def intersection(self, other: Box) -> Box:
        """The common part (empty, with width or height <= 0, when they do not meet)."""
        x, y = max(self.x, other.x), max(self.y, other.y)
        return Box(x, y, min(self.right, other.right) - x, min(self.bottom, other.bottom) - y)

    def overlaps(self, other: Box) -> bool:
        """Whether the interiors meet (touching edges do not overlap)."""
        return (self.x < other.right and other.x < self.right
                and self.y < other.bottom and other.y < self.bottom)

    def contains(self, other: Box, tolerance: float = 1e-6) -> bool:
        return (other.x >= self.x - tolerance and other.y >= self.y - tolerance
                and other.right <= self.right + tolerance and other.bottom <= self.bottom + tolerance)

    def distance_to(self, other: Box) -> float:
        """Euclidean gap between the two rectangles (0 when they meet)."""
        dx = max(other.x - self.right, self.x - other.right, 0.0)
        dy = max(other.y - self.bottom, self.y - other.bottom, 0.0)
        return math.hypot(dx, dy)

    def nearest_point(self, x: float, y: float) -> tuple[float, float]:
        """The point of this rectangle (border or inside) nearest to (x, y)."""
        return min(max(x, self.x), self.right), min(max(y, self.y), self.bottom)


Measure = Callable[[str, float], tuple[float, float]]
"""``measure(text, size) -> (width, height)`` in output pixels of ``text``'s box (padding
included) at font size ``size`` (whatever unit the caller's sizes use)."""


@dataclass(frozen=True)
class SimpleTextMetrics:
    """A font model without a font: each character ``advance`` × size wide, a line
    ``line`` × size tall, plus ``padding`` pixels around (sizes in pixels)."""

    advance: float = 0.62
    line: float = 1.25
    padding: float = 2.0

    def __call__(self, text: str, size: float) -> tuple[float, float]:
        return (len(text) * self.advance * size + 2 * self.padding,
                self.line * size + 2 * self.padding)


@dataclass(frozen=True)
class LabelRequest:
    """A label to place: ``text`` naming the area ``target`` (output pixels).
    ``allow_outside`` False sends a label that does not fit inside straight to the legend
    (for a grid of many small cells, where leaders would only tangle); ``allow_legend``
    False drops it instead (when the figure has its own legend)."""

    text: str
    target: Box
    allow_outside: bool = True
    allow_legend: bool = True


Kind = Literal["inside", "outside", "legend"]


@dataclass(frozen=True)
class PlacedLabel:
    """Where request ``index`` went: its ``box`` at font ``size``; ``leader`` (x0, y0, x1,
    y1) runs from the box to the target for an outside label, None otherwise."""

    index: int
    text: str
    box: Box
    size: float
    kind: Kind
    leader: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class LabelLayout:
    """The placed labels (in request order) and the indices of requests with no room."""

    labels: tuple[PlacedLabel, ...]
    dropped: tuple[int, ...]

    def of_kind(self, kind: Kind) -> list[PlacedLabel]:
        return [label for label in self.labels if label.kind == kind]


# --- geometry helpers ----------------------------------------------------------------------------


def _segment_crosses_box(segment: tuple[float, float, float, float], box: Box) -> bool:
    """Whether the segment passes through the interior of ``box`` (Liang-Barsky clip)."""
    x0, y0, x1, y1 = segment
    if (max(x0, x1) < box.x or min(x0, x1) > box.right
            or max(y0, y1) < box.y or min(y0, y1) > box.bottom):
        return False  # apart (the clip below would find the same, more slowly)
    dx, dy = x1 - x0, y1 - y0
    low, high = 0.0, 1.0
    for p, q in ((-dx, x0 - box.x), (dx, box.right - x0), (-dy, y0 - box.y), (dy, box.bottom - y0)):
        if abs(p) < 1e-12:
            if q <= 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low >= high:
            return False
    return high - low > 1e-9


def _leader(box: Box, target: Box) -> tuple[float, float, float, float]:
    """A line from the edge of a label ``box`` to a point well inside ``target``: the
    target's point nearest to the label, pulled a few pixels in (to its middle when the
    target is thin)."""
    cx, cy = box.centre
    inset_x = min(target.width / 2, 3.0)
    inset_y = min(target.height / 2, 3.0)
    end_x = min(max(cx, target.x + inset_x), target.right - inset_x)
    end_y = min(max(cy, target.y + inset_y), target.bottom - inset_y)
    start_x, start_y = box.nearest_point(end_x, end_y)
    return start_x, start_y, end_x, end_y


def _overlap_areas(xs: np.ndarray, ys: np.ndarray, width: float, height: float,
                   boxes: Sequence[Box]) -> np.ndarray:
    """(N,) total area that candidate boxes (xs, ys, width, height) share with ``boxes``."""
    total = np.zeros(len(xs))
    for other in boxes:
        w = np.minimum(xs + width, other.right) - np.maximum(xs, other.x)
        h = np.minimum(ys + height, other.bottom) - np.maximum(ys, other.y)
        total += np.clip(w, 0, None) * np.clip(h, 0, None)
    return total


def _overlap_area_grid(xs: np.ndarray, ys: np.ndarray, width: float, height: float,
                       boxes: Sequence[Box]) -> np.ndarray:
    """(len(ys), len(xs)): :func:`_overlap_areas` of the candidate boxes with top-left
    corners on the grid ``xs`` × ``ys`` (row-major, the order of ``np.meshgrid(xs, ys)``).
    A box's overlap is its overlap along x times its overlap along y, so each box costs
    two short per-axis passes and one product; the sums run in the same order, so the
    values are those :func:`_overlap_areas` gives."""
    total = np.zeros((len(ys), len(xs)))
    for other in boxes:
        w = np.clip(np.minimum(xs + width, other.right) - np.maximum(xs, other.x), 0, None)
        h = np.clip(np.minimum(ys + height, other.bottom) - np.maximum(ys, other.y), 0, None)
        total += w[None, :] * h[:, None]
    return total


def _first_indices(cost: np.ndarray, count: int) -> np.ndarray:
    """``np.argsort(cost, kind="stable")[:count]`` (the ``count`` smallest, ties in index
    order) without sorting all of ``cost`` (N,): only the entries no larger than the
    ``count``-th smallest value are sorted."""
    if len(cost) <= 2 * count:
        return np.argsort(cost, kind="stable")[:count]
    limit = np.partition(cost, count - 1)[count - 1]
    within = np.flatnonzero(cost <= limit)
    first: np.ndarray = within[np.argsort(cost[within], kind="stable")[:count]]
    return first


def _free(xs: np.ndarray, ys: np.ndarray, width: float, height: float, taken: Sequence[Box]) -> np.ndarray:
    """(N,) bool: candidate boxes that overlap none of ``taken``."""
    free = np.ones(len(xs), dtype=bool)
    for other in taken:
        free &= ~((xs < other.right) & (other.x < xs + width) & (ys < other.bottom) & (other.y < ys + height))
    return free


def _free_grid(xs: np.ndarray, ys: np.ndarray, width: float, height: float, taken: np.ndarray) -> np.ndarray:
    """(len(ys) * len(xs),) bool, in the order of ``np.meshgrid(xs, ys)`` raveled: the
    candidate boxes with top-left corners on the grid ``xs`` × ``ys`` that overlap none of
    ``taken`` (T, 4) of (x, y, right, bottom). A box overlaps when it does along both
    axes, so the test is separable: one product of the per-axis overlaps."""
    if len(taken) == 0:
        return np.ones(len(xs) * len(ys), dtype=bool)
    along_x = (xs[None, :] < taken[:, 2:3]) & (taken[:, 0:1] < xs[None, :] + width)  # (T, nx)
    along_y = (ys[None, :] < taken[:, 3:4]) & (taken[:, 1:2] < ys[None, :] + height)  # (T, ny)
    hits = along_y.T.astype(np.float32) @ along_x.astype(np.float32)  # (ny, nx) overlapped boxes
    free: np.ndarray = (hits == 0).ravel()
    return free


def _positions(start: float, stop: float, step: float) -> np.ndarray:
    """Positions from ``start`` to ``stop`` (inclusive) every ``step``, ``stop`` always in."""
    if stop < start:
        return np.zeros(0)
    values = np.arange(start, stop, step)
    return np.append(values, stop)


# --- placement ---------------------------------------------------------------------------------------


class _Placer:
    """The state of one placement: boxes and leaders placed so far."""

    def __init__(self, bounds: Box, gap: float, step: float, avoid: Sequence[Box]) -> None:
        self.bounds = bounds
        self.gap = gap
        self.step = step
        self.avoid = list(avoid)
        self.boxes: list[Box] = []
        self.leaders: list[tuple[float, float, float, float]] = []
        self._taken: list[tuple[float, float, float, float]] = []
        """Edges (x, y, right, bottom) of the placed boxes grown by the gap."""
        self._half_grown: list[Box] = []
        """The placed boxes grown by half the gap (leaders keep off them)."""

    def taken_edges(self) -> np.ndarray:
        """(T, 4) float64 (x, y, right, bottom) of the placed boxes grown by the gap: a new
        box must not overlap any of them."""
        return np.asarray(self._taken, dtype=np.float64).reshape(-1, 4)

    def leader_clear(self, leader: tuple[float, float, float, float], own: Box) -> bool:
        return not any(_segment_crosses_box(leader, grown)
                       for box, grown in zip(self.boxes, self._half_grown, strict=True) if box is not own)

    def box_clear_of_leaders(self, box: Box) -> bool:
        grown = box.expanded(self.gap / 2)
        return not any(_segment_crosses_box(leader, grown) for leader in self.leaders)

    def add(self, box: Box, leader: tuple[float, float, float, float] | None = None) -> None:
        self.boxes.append(box)
        self._half_grown.append(box.expanded(self.gap / 2))
        grown = box.expanded(self.gap)
        self._taken.append((grown.x, grown.y, grown.right, grown.bottom))
        if leader is not None:
            self.leaders.append(leader)

    def inside(self, target: Box, width: float, height: float) -> Box | None:
        """A free box of this size inside ``target`` (its middle preferred), or None."""
        area = target.intersection(self.bounds)
        inset = 1.0
        if width + 2 * inset > area.width or height + 2 * inset > area.height:
            return None
        cx, cy = area.centre
        middle_x = min(max(cx - width / 2, area.x + inset), area.right - inset - width)
        middle_y = min(max(cy - height / 2, area.y + inset), area.bottom - inset - height)
        taken = self.taken_edges()
        middle_free = not np.any((middle_x < taken[:, 2]) & (taken[:, 0] < middle_x + width)
                                 & (middle_y < taken[:, 3]) & (taken[:, 1] < middle_y + height))
        if middle_free and middle_x + width / 2 - cx == 0.0 and middle_y + height / 2 - cy == 0.0:
            # the exact middle is free: no other place can come nearer (the usual case)
            middle = Box(middle_x, middle_y, width, height)
            if self.box_clear_of_leaders(middle):
                return middle
        xs = _positions(area.x + inset, area.right - inset - width, self.step)
        ys = _positions(area.y + inset, area.bottom - inset - height, self.step)
        grid_x, grid_y = (values.ravel() for values in np.meshgrid(xs, ys))
        grid_x = np.append(middle_x, grid_x)
        grid_y = np.append(middle_y, grid_y)
        free = np.append(middle_free, _free_grid(xs, ys, width, height, taken))
        if not free.any():
            return None
        cost = np.hypot(grid_x + width / 2 - cx, grid_y + height / 2 - cy)
        cost[~free] = np.inf
        for index in np.argsort(cost, kind="stable")[:64]:
            if not np.isfinite(cost[index]):
                break
            box = Box(float(grid_x[index]), float(grid_y[index]), width, height)
            if self.box_clear_of_leaders(box):
                return box
        return None

    def candidates(self, width: float, height: float) -> tuple[np.ndarray, np.ndarray]:
        """Top-left corners of every box of this size inside the bounds, on the step grid,
        that overlaps no placed box."""
        bounds = self.bounds
        xs = _positions(bounds.x, bounds.right - width, self.step)
        ys = _positions(bounds.y, bounds.bottom - height, self.step)
        if len(xs) == 0 or len(ys) == 0:
            return np.zeros(0), np.zeros(0)
        grid_x, grid_y = (values.ravel() for values in np.meshgrid(xs, ys))
        free = _free_grid(xs, ys, width, height, self.taken_edges())
        return grid_x[free], grid_y[free]

    def outside(self, target: Box, others: Sequence[Box], width: float,
                height: float) -> tuple[Box, tuple[float, float, float, float]] | None:
        """A free box of this size off ``target``, near it, with a clear leader.

        The candidates are the free corners of the step grid over the bounds; every term of
        their cost depends on x and y apart (or is a product of such terms), so the costs
        are computed on the grid's two axes and combined, then read at the free corners."""
        bounds = self.bounds
        grid_xs = _positions(bounds.x, bounds.right - width, self.step)
        grid_ys = _positions(bounds.y, bounds.bottom - height, self.step)
        if len(grid_xs) == 0 or len(grid_ys) == 0:
            return None
        free = _free_grid(grid_xs, grid_ys, width, height, self.taken_edges())
        away = target.expanded(self.gap)
        near_x = (grid_xs < away.right) & (away.x < grid_xs + width)
        near_y = (grid_ys < away.bottom) & (away.y < grid_ys + height)
        free &= ~(near_y[:, None] & near_x[None, :]).ravel()
        kept = np.flatnonzero(free)
        if len(kept) == 0:
            return None
        xs, ys = grid_xs[kept % len(grid_xs)], grid_ys[kept // len(grid_xs)]
        dx = np.maximum(np.maximum(target.x - (grid_xs + width), grid_xs - target.right), 0.0)
        dy = np.maximum(np.maximum(target.y - (grid_ys + height), grid_ys - target.bottom), 0.0)
        distance = np.hypot(dx[None, :], dy[:, None])
        # covering the map or another named area costs as much as moving a label's height
        # away for each label-sized area covered
        covered = _overlap_area_grid(grid_xs, grid_ys, width, height, [*self.avoid, *others])
        # among equally near places, the one facing the target's middle
        cx, cy = target.centre
        off_middle = np.hypot((grid_xs + width / 2 - cx)[None, :], (grid_ys + height / 2 - cy)[:, None])
        cost = (distance + 2.0 * covered / max(width, 1.0) + 0.05 * off_middle).ravel()[kept]
        # of the nearest places with a clear leader, the one whose leader crosses the fewest
        # other small areas (a leader across a thin strip seems to point at the strip)
        best: tuple[float, Box, tuple[float, float, float, float]] | None = None
        tried = 0
        for index in _first_indices(cost, 600):
            box = Box(float(xs[index]), float(ys[index]), width, height)
            leader = _leader(box, target)
            if not (self.leader_clear(leader, box) and self.box_clear_of_leaders(box)):
                continue
            crossed = sum(1 for other in others if other.area < 4 * width * height
                          and _segment_crosses_box(leader, other))
            score = float(cost[index]) + 3.0 * height * crossed
            if best is None or score < best[0]:
                best = (score, box, leader)
            tried += 1
            if crossed == 0 or tried >= 40:
                break
        return None if best is None else (best[1], best[2])

    def legend(self, width: float, height: float) -> Box | None:
        """A free box of this size, as low and then as far left as possible, off the
        areas to avoid when there is room."""
        xs, ys = self.candidates(width, height)
        if len(xs) == 0:
            return None
        covered = _overlap_areas(xs, ys, width, height, self.avoid) > 0
        cost = (self.bounds.bottom - (ys + height)) * (self.bounds.width + 1) + (xs - self.bounds.x)
        cost = cost + covered * 1e12
        for index in np.argsort(cost, kind="stable")[:400]:
            box = Box(float(xs[index]), float(ys[index]), width, height)
            if self.box_clear_of_leaders(box):
                return box
        return None


def place_labels(
    requests: Sequence[LabelRequest],
    bounds: Box,
    measure: Measure,
    sizes: Sequence[float],
    *,
    avoid: Sequence[Box] = (),
    gap: float = 2.0,
    step: float | None = None,
) -> LabelLayout:
    """Place every label of ``requests`` inside ``bounds`` with no two boxes overlapping.

    ``sizes`` are the font sizes to try, largest first; the last is the smallest allowed.
    ``avoid`` lists areas outside labels should keep off when they can (the drawn map).
    ``step`` is the pitch of the candidate positions (a third of the smallest label's
    height by default). Labels that fit inside their targets are placed first, the others
    then from the smallest target up (they have the fewest good places), then the legend.
    """
    if not sizes:
        raise ValueError("place_labels needs at least one font size")
    sizes = sorted(sizes, reverse=True)
    smallest = sizes[-1]
    if step is None:
        step = max(2.0, measure("0", smallest)[1] / 3)
    placer = _Placer(bounds, gap, step, avoid)
    placed: dict[int, PlacedLabel] = {}

    # 1. inside, at the largest size that fits
    for index, request in enumerate(requests):
        for size in sizes:
            width, height = measure(request.text, size)
            box = placer.inside(request.target, width, height)
            if box is not None:
                placer.add(box)
                placed[index] = PlacedLabel(index, request.text, box, size, "inside")
                break

    # 2. outside with a leader, the smallest targets first
    remaining = [index for index in range(len(requests)) if index not in placed]
    remaining.sort(key=lambda index: (requests[index].target.area, index))
    legend: list[int] = []
    for index in remaining:
        request = requests[index]
        visible = request.target.intersection(bounds)
        if not request.allow_outside or visible.is_empty():
            legend.append(index)
            continue
        others = [other.target for position, other in enumerate(requests) if position != index]
        for size in sizes:
            width, height = measure(request.text, size)
            found = placer.outside(visible, others, width, height)
            if found is not None:
                box, leader = found
                placer.add(box, leader)
                placed[index] = PlacedLabel(index, request.text, box, size, "outside", leader)
                break
        else:
            legend.append(index)

    # 3. a legend for the rest, at the smallest size
    dropped = []
    for index in sorted(legend):
        request = requests[index]
        if not request.allow_legend:
            dropped.append(index)
            continue
        width, height = measure(request.text, smallest)
        box = placer.legend(width, height)
        if box is None:
            dropped.append(index)
            continue
        placer.add(box)
        placed[index] = PlacedLabel(index, request.text, box, smallest, "legend")
    return LabelLayout(tuple(placed[index] for index in sorted(placed)), tuple(sorted(dropped)))


def needs_outside(requests: Sequence[LabelRequest], measure: Measure, smallest: float) -> bool:
    """Whether some label that may go outside cannot fit inside its target even at the
    smallest size (so the figure needs room around the map for outside labels)."""
    for request in requests:
        if not request.allow_outside:
            continue
        width, height = measure(request.text, smallest)
        if width + 2 > request.target.width or height + 2 > request.target.height:
            return True
    return False


def gutter_for(requests: Sequence[LabelRequest], measure: Measure, largest: float, gap: float = 2.0) -> float:
    """Room to leave around the map for outside labels and their leaders, in pixels: the
    widest label at the largest size, plus a leader's length."""
    if not requests:
        return 0.0
    widest = max(max(measure(request.text, largest)) for request in requests)
    return widest + 3 * gap + 10.0


# --- thinning dense grids ----------------------------------------------------------------------------


def line_step(pitch: float, min_pitch: float) -> int:
    """Draw every k-th line of a grid whose lines are ``pitch`` pixels apart, so that the
    drawn lines are at least ``min_pitch`` apart (1: every line)."""
    if pitch <= 0:
        return 1
    return max(1, math.ceil(min_pitch / pitch - 1e-9))


def thin_segments(
    segments: np.ndarray, step: int, keep_from: Literal["start", "end"] = "start"
) -> np.ndarray:
    """Every ``step``-th line of axis-aligned (K, 4) segments (x0, y0, x1, y1).

    Lines are the distinct x of the vertical segments and the distinct y of the
    horizontal ones; the first and last line of each direction (the outline) always stay,
    and the lines between are kept every ``step``-th, counted from the first of them
    (``keep_from="start"``) or from the last (``"end"``): the line next to that side of
    the outline is always kept."""
    segments = np.asarray(segments, dtype=np.float64).reshape(-1, 4)
    if step <= 1 or len(segments) == 0:
        return segments
    vertical = np.isclose(segments[:, 0], segments[:, 2])
    keep = np.zeros(len(segments), dtype=bool)
    for mask, column in ((vertical, 0), (~vertical, 1)):
        if not mask.any():
            continue
        positions = segments[mask, column]
        lines = np.unique(positions)
        interior = np.arange(1, len(lines) - 1)
        if keep_from == "end":
            interior = interior[::-1]
        kept = np.zeros(len(lines), dtype=bool)
        kept[interior[::step]] = True
        kept[[0, -1]] = True
        keep[mask] = kept[np.searchsorted(lines, positions)]
    return segments[keep]
