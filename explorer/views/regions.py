"""Figure "regions": the nine shift regions on the rolled and on the original grid, in the
official code's numbering, the lecture's, or both.

Also the pieces the cyclic-shift and merging figures share: the numbering choice
(:data:`NUMBERINGS`, :func:`region_text`, :func:`grid_numbering`), labels placed without
collisions over a zoomable panel (:class:`PlacedLabels`, built on the pure
:mod:`explorer.views.label_layout`), and :class:`RegionPanel`, one grid of coloured,
numbered regions with its window borders.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from shiboken6 import Shiboken

from explorer.palette import REGION_COLOR_NAMES, REGION_COLORS, text_color_on
from explorer.state import DEFAULT_NUMBERING, NUMBERINGS, Numbering
from swin_model.windows import (
    lecture_region_map,
    official_to_lecture_region,
    region_map,
    reverse_cyclic_shift,
    window_index_map,
)

from .base import FigureView, PhotoLayer
from .cells import boundary_segments, cell_at, grid_segments, label_rectangles
from .items import Label, Panel, cells_in_path, make_path_item, segments_path, value_paths
from .label_layout import (
    Box,
    LabelLayout,
    LabelRequest,
    PlacedLabel,
    gutter_for,
    line_step,
    needs_outside,
    place_labels,
    thin_segments,
)
from .text_pool import LruCache, TextPool
from .windows_view import SHIFTED_WINDOW_COLOR

__all__ = [
    "DEFAULT_NUMBERING",
    "LECTURE_LETTERS",
    "LECTURE_TITLE",
    "NUMBERINGS",
    "OFFICIAL_TITLE",
    "DrawnLabel",
    "LabelSpec",
    "Numbering",
    "PlacedLabels",
    "RegionPanel",
    "RegionsView",
    "drawn_rect",
    "grid_numbering",
    "grid_region_sentence",
    "lecture_label",
    "numbered_map",
    "numbered_text",
    "numbering_of",
    "placed_together",
    "region_text",
    "shared_windows",
    "state_numbering",
    "window_region_sentence",
]

Grid = Literal["rolled", "original"]

OFFICIAL_TITLE = "official img_mask numbering (rolled grid)"
LECTURE_TITLE = "lecture numbering (original grid)"
_TITLES: dict[tuple[str, Grid], str] = {
    ("official", "rolled"): OFFICIAL_TITLE,
    ("official", "original"): "official img_mask numbering (original grid)",
    ("lecture", "rolled"): "lecture numbering (rolled grid)",
    ("lecture", "original"): LECTURE_TITLE,
}

LECTURE_LETTERS: dict[int, str] = {0: "A", 1: "C", 2: "C", 3: "B", 6: "B"}
"""The lecture's names of the strips that the roll wraps around: A the top-left corner,
C the top strip, B the left strip (in the lecture's numbering of the original grid)."""

REGION_ALPHA = 150

NOMINAL_PANEL_PIXELS = 480.0
"""The side of a map panel in output pixels that line densities are judged at (about its
size in a 1200-pixel export of a two-panel figure), and the size assumed for a panel
that has not been laid out yet (a view never shown). Judging at a fixed size keeps the
drawing and the note that describes it the same whatever the window's size."""
MIN_WINDOW_PITCH = 28.0
"""Window borders closer than this (at the nominal panel size) are thinned: every k-th is
drawn."""
HEAVY_WINDOW_PITCH = 40.0
"""Window borders at least this far apart are drawn with the theme's thick pen."""
MIN_TOKEN_PITCH = 14.0
"""Token borders are drawn (thin) when tokens are at least this wide."""


def lecture_label(lecture_region: int) -> str:
    """ "0 A" for the lecture's region 0, "4" for region 4."""
    letter = LECTURE_LETTERS.get(lecture_region)
    return f"{lecture_region} {letter}" if letter else str(lecture_region)


def numbering_of(value: str) -> Numbering:
    """``value`` checked as one of :data:`NUMBERINGS`."""
    if value not in NUMBERINGS:
        raise ValueError(f"unknown numbering {value!r}; choose one of {', '.join(NUMBERINGS)}")
    return value  # type: ignore[return-value]  # checked just above


def grid_numbering(numbering: Numbering, grid: Grid) -> Literal["official", "lecture"]:
    """The numbering written on ``grid``: "both" writes the official numbers on the rolled
    grid (where the code counts them) and the lecture's on the original grid (where the
    lecture counts them)."""
    if numbering == "both":
        return "official" if grid == "rolled" else "lecture"
    return numbering


def region_text(official_region: int, numbering: Literal["official", "lecture"], shift: int) -> str:
    """The label of official region ``official_region`` in ``numbering``: "8" officially,
    "0 A" in the lecture's numbering. Without a shift every token is region 0."""
    if not shift:
        return "0"
    if numbering == "official":
        return str(official_region)
    return lecture_label(int(official_to_lecture_region(np.asarray(official_region))))


def numbered_map(official: np.ndarray, numbering: Literal["official", "lecture"], shift: int) -> np.ndarray:
    """(rows, cols) region numbers of an official region map (any roll of it) in ``numbering``."""
    if not shift or numbering == "official":
        return official
    relabelled: np.ndarray = official_to_lecture_region(official)
    return relabelled


def shared_windows(official_rolled: np.ndarray, window: int) -> dict[tuple[int, ...], list[int]]:
    """The windows of a rolled grid that hold more than one lecture region, grouped by the
    regions they hold: {(lecture regions, ascending): [row-major window indices,
    ascending]}. ``official_rolled`` is the (Hp, Wp) official ``img_mask``."""
    rows, cols = official_rolled.shape
    windows = window_index_map(rows, cols, window)
    lecture = official_to_lecture_region(np.asarray(official_rolled))
    held_regions = np.zeros((int(windows.max()) + 1, 9), dtype=bool)  # [w, r]: window w holds region r
    held_regions[windows.ravel(), lecture.ravel()] = True
    groups: dict[tuple[int, ...], list[int]] = {}
    for index in np.flatnonzero(held_regions.sum(axis=1) > 1):
        held = tuple(int(region) for region in np.flatnonzero(held_regions[index]))
        groups.setdefault(held, []).append(int(index))
    return groups


def window_region_sentence(official_rolled: np.ndarray, window: int, shift: int) -> str:
    """The lecture's sentence for a rolled grid: which lecture regions share a window.

    ``official_rolled`` is the (Hp, Wp) official ``img_mask`` (:func:`region_map`); windows
    holding more than one region are grouped by the regions they hold, e.g. "the top-right
    window holds regions 5 and 3; the bottom-right window holds regions 0, 2, 6 and 8"."""
    if not shift:
        return ""
    rows, cols = official_rolled.shape
    per_row = cols // window
    groups = shared_windows(official_rolled, window)
    last_row, last_col = rows // window - 1, per_row - 1

    def where(indices: list[int]) -> str:
        places = [divmod(index, per_row) for index in indices]
        if len(places) == 1:
            row, col = places[0]
            if row == last_row and col == last_col:
                return "the bottom-right window holds"
            vertical = "top" if row == 0 else "bottom" if row == last_row else f"row {row + 1}"
            horizontal = "left" if col == 0 else "right" if col == last_col else f"column {col + 1}"
            return f"the {vertical}-{horizontal} window holds"
        if all(col == last_col for _, col in places):
            return f"each of the {len(places)} windows of the right column holds"
        if all(row == last_row for row, _ in places):
            return f"each of the {len(places)} windows of the bottom row holds"
        return f"{len(places)} windows each hold"

    def regions(held: tuple[int, ...]) -> str:
        ordered = sorted(held)
        return ", ".join(map(str, ordered[:-1])) + f" and {ordered[-1]}"

    parts = [f"{where(indices)} regions {regions(held)}"
             for held, indices in sorted(groups.items(), key=lambda item: (len(item[0]), item[1]))]
    return "; ".join(parts)


@lru_cache(maxsize=16)
def grid_region_sentence(rows: int, cols: int, window: int, shift: int) -> str:
    """:func:`window_region_sentence` of the (rows, cols) padded grid's official regions
    (remembered: the notes ask for it on every redraw)."""
    return window_region_sentence(region_map(rows, cols, window, shift), window, shift)


# --- labels placed without collisions --------------------------------------------------------------


@dataclass(frozen=True)
class LabelSpec:
    """One label to place in a panel: ``text`` on a box of ``fill`` naming the scene
    rectangle ``target`` (x, y, width, height in scene units); ``cells`` (row, col,
    height, width) is the token rectangle it names, for read-back."""

    text: str
    target: tuple[float, float, float, float]
    fill: str
    cells: tuple[int, int, int, int] = (0, 0, 0, 0)
    allow_outside: bool = True
    allow_legend: bool = True


@dataclass(frozen=True)
class DrawnLabel:
    """A label as drawn: its text, its box in scene coordinates (pixels of the figure),
    how it was placed, the point of the panel it marks (view units; None for a legend
    entry) and the token rectangle it names."""

    text: str
    scene_rect: QtCore.QRectF
    kind: str
    marks: tuple[float, float] | None
    cells: tuple[int, int, int, int]
    fill: str


class PlacedLabels:
    """Labels of one panel placed by :func:`label_layout.place_labels` in output pixels,
    redone whenever the panel is resized, zoomed or panned, so that no two labels overlap
    and none is clipped, whatever the size. Labels that do not fit their area move outside
    it with a leader line, or into a legend. The panel's extent grows by a gutter when
    some label has to go outside."""

    def __init__(self, view: FigureView, panel: Panel, z: float = 31.0) -> None:
        self.view = view
        self.panel = panel
        viewbox = panel.viewbox
        self.pool = TextPool(viewbox, z=z)
        self.leaders = make_path_item(viewbox, z=z - 1)
        self.leaders.setToolTip("Leader line: the label names the area at its other end.")
        self._specs: list[LabelSpec] = []
        self._content = (0.0, 0.0, 0.0, 0.0)
        self._extent: tuple[float, float, float, float] | None = None
        self._layout: LabelLayout | None = None
        self._layout_key: Hashable | None = None
        self._marks: list[tuple[float, float] | None] = []
        self._placed: list[PlacedLabel] = []
        self._measurer = Label()
        self._sizes_cache: dict[tuple[str, float], tuple[float, float]] = {}
        self._group: list[PlacedLabels] = [self]
        self._holding = False
        """Inside :func:`placed_together`: new labels wait until the group is placed."""
        self._fitting = False
        """The group's extents are being set: range changes place nothing yet."""
        self.force_gutter = False
        """Leave room for outside labels even when every label fits inside (an animation
        keeps one layout through all its frames)."""
        viewbox.sigRangeChanged.connect(self._on_range_changed)
        viewbox.sigResized.connect(self._on_resized)

    # --- content ----------------------------------------------------------------------------------

    def set_labels(self, specs: Sequence[LabelSpec], content: tuple[float, float, float, float]) -> None:
        """Label ``specs`` over a map covering the scene rectangle ``content``; fits the
        panel's extent (with a gutter when labels must go outside) and places them."""
        self._specs = list(specs)
        self._content = content
        self._layout_key = None
        if not self._holding:
            self.fit_and_place()

    def fit_and_place(self) -> None:
        """Fit the extents of the group (:meth:`fit`), then place the labels of each of its
        panels once, at its final extent."""
        for panel in self._group:
            panel._fitting = True
        try:
            self.fit()
        finally:
            for panel in self._group:
                panel._fitting = False
        self.relayout()
        for panel in self._group:
            if panel is not self and panel._alive():
                panel.relayout()

    def sizes(self) -> list[int]:
        """Font sizes (points) to try, largest first; the theme's small size is the least."""
        theme = self.view.theme
        return list(range(theme.label_size, theme.small_size - 1, -1))

    def measure(self, text: str, size: float) -> tuple[float, float]:
        """The size in pixels of ``text``'s label box at ``size`` points (bold)."""
        key = (text, float(size))
        found = self._sizes_cache.get(key)
        if found is None:
            self._measurer.configure(text, "#000000", self.view.qfont(int(size), bold=True), (0.5, 0.5))
            rect = self._measurer.rect()
            found = self._sizes_cache[key] = (rect.width() + 1.0, rect.height() + 1.0)  # + the box's edge
        return found

    # --- frame ------------------------------------------------------------------------------------

    def _pixels(self) -> tuple[float, float, bool]:
        """(width, height) of the panel in output pixels, and whether it is laid out."""
        rect = self.panel.viewbox.rect()
        if rect.width() >= 60 and rect.height() >= 60:
            return rect.width(), rect.height(), True
        return NOMINAL_PANEL_PIXELS, NOMINAL_PANEL_PIXELS, False

    def _view_frame(self) -> tuple[float, float, float, float, float]:
        """(width px, height px, left, top, pixels per scene unit) of what the panel shows."""
        width, height, laid_out = self._pixels()
        if laid_out:
            shown = self.panel.viewbox.viewRect()
            if shown.width() > 0 and shown.height() > 0:
                scale = min(width / shown.width(), height / shown.height())
                return width, height, shown.left(), shown.top(), scale
        extent = self._extent or self._content
        x, y, w, h = extent
        pad_w, pad_h = w * 1.04, h * 1.04
        scale = min(width / max(pad_w, 1e-9), height / max(pad_h, 1e-9))
        left = x + w / 2 - width / scale / 2
        top = y + h / 2 - height / scale / 2
        return width, height, left, top, scale

    def _requests(self, scale: float, left: float, top: float) -> list[LabelRequest]:
        return [
            LabelRequest(
                spec.text,
                Box((spec.target[0] - left) * scale, (spec.target[1] - top) * scale,
                    spec.target[2] * scale, spec.target[3] * scale),
                spec.allow_outside,
                spec.allow_legend,
            )
            for spec in self._specs
        ]

    def link(self, *others: PlacedLabels) -> None:
        """Share the room around the map with ``others`` (panels drawn side by side at one
        scale): every panel of the group leaves the largest gutter any of them needs."""
        group = [self]
        for other in others:
            group.extend(panel for panel in other._group if panel not in group)
        for panel in group:
            panel._group = group

    def needed_gutter(self) -> float:
        """Pixels to leave around the map for outside labels at the panel's size (0: every
        label fits inside its area)."""
        x, y, w, h = self._content
        if w <= 0 or h <= 0 or not self._specs:
            return 0.0
        width, height, _ = self._pixels()
        scale = min(width / (w * 1.04), height / (h * 1.04))
        requests = self._requests(scale, x, y)
        sizes = self.sizes()
        if not self.force_gutter and not needs_outside(requests, self.measure, sizes[-1]):
            return 0.0
        return min(gutter_for(requests, self.measure, sizes[0]), min(width, height) / 4)

    def fit(self) -> None:
        """Show the map of every panel of the group, with room around it for outside
        labels when some label cannot fit inside its area."""
        gutter = max(panel.needed_gutter() for panel in self._group)
        for panel in self._group:
            panel._fit_with(gutter)

    def _fit_with(self, gutter_px: float) -> None:
        x, y, w, h = self._content
        if w <= 0 or h <= 0:
            return
        width, height, _ = self._pixels()
        if gutter_px > 0:
            inner = min((width - 2 * gutter_px) / (w * 1.04), (height - 2 * gutter_px) / (h * 1.04))
            margin = gutter_px / max(inner, 1e-9)
            self._extent = (x - margin, y - margin, w + 2 * margin, h + 2 * margin)
        else:
            self._extent = (x, y, w, h)
        self.panel.set_extent(*self._extent)

    # --- placing -----------------------------------------------------------------------------------

    def _on_resized(self, *_: object) -> None:
        if self._alive() and not self._holding:
            self.fit_and_place()

    def _on_range_changed(self, *_: object) -> None:
        if self._alive() and not self._fitting and not self._holding:
            self.relayout()

    def _alive(self) -> bool:
        return not self.view.is_disposed() and Shiboken.isValid(self.panel.viewbox)

    def relayout(self) -> None:
        """Place the labels for what the panel shows now (no-op when nothing changed)."""
        width, height, left, top, scale = self._view_frame()
        key = (round(width, 1), round(height, 1), round(left, 4), round(top, 4), round(scale, 6),
               self.view.theme.name)
        if key == self._layout_key:
            return
        self._layout_key = key
        x, y, w, h = self._content
        # in pixels rounded to a millionth: the placement is a function of these boxes, texts
        # and fonts alone, so a panel coming back to a recent state, or a zoom moved to
        # another place of the same grid, reuses it (float noise in the frame changes nothing)
        requests = tuple(replace(request, target=_rounded(request.target))
                         for request in self._requests(scale, left, top))
        bounds = _rounded(Box(1.0, 1.0, width - 2.0, height - 2.0))
        avoid = [_rounded(Box((x - left) * scale, (y - top) * scale, w * scale, h * scale))]
        sizes = self.sizes()
        layout = _LAYOUTS.fetch(
            (self.view.theme.name, tuple(sizes), bounds, avoid[0], requests),
            lambda: place_labels(requests, bounds, self.measure, sizes, avoid=avoid, gap=2.0),
        )
        self._layout = layout
        self._write(layout, scale, left, top)

    def _write(self, layout: LabelLayout, scale: float, left: float, top: float) -> None:
        view = self.view
        edge = view.pen(view.theme.background, 1.0)
        self.pool.begin()
        self._marks = []
        self._placed = []
        segments = []
        for placed in layout.labels:
            spec = self._specs[placed.index]
            cx, cy = placed.box.centre
            label = self.pool.add(spec.text, left + cx / scale, top + cy / scale,
                                  text_color_on(spec.fill), view.qfont(int(placed.size), bold=True))
            label.set_box(view.brush(spec.fill), edge)
            label.setToolTip(spec.text)
            if placed.leader is not None:
                x0, y0, x1, y1 = placed.leader
                segments.append((left + x0 / scale, top + y0 / scale, left + x1 / scale, top + y1 / scale))
                self._marks.append((left + x1 / scale, top + y1 / scale))
            elif placed.kind == "inside":
                self._marks.append((left + cx / scale, top + cy / scale))
            else:
                self._marks.append(None)
            self._placed.append(placed)
        self.pool.end()
        self.leaders.setPath(segments_path(np.asarray(segments, dtype=np.float64).reshape(-1, 4)))
        self.leaders.setPen(view.pen(view.theme.foreground, view.theme.line_width))

    # --- read-back ---------------------------------------------------------------------------------

    def layout(self) -> LabelLayout | None:
        return self._layout

    def dropped_texts(self) -> list[str]:
        """Labels for which there was no room at all (said in the note)."""
        if self._layout is None:
            return []
        return [self._specs[index].text for index in self._layout.dropped]

    def visible(self) -> list[Label]:
        return self.pool.visible()

    def drawn(self) -> list[DrawnLabel]:
        """Every label as drawn: text and box read from the scene's items."""
        self.panel.viewbox.updateMatrix()  # pyqtgraph applies a new range before painting
        drawn = []
        for label, placed, marks in zip(self.pool.visible(), self._placed, self._marks, strict=True):
            spec = self._specs[placed.index]
            drawn.append(DrawnLabel(label.toPlainText(), drawn_rect(label), placed.kind, marks,
                                    spec.cells, label.brush().color().name().upper()))
        return drawn

    def leader_segments(self) -> int:
        """How many leader lines are drawn."""
        return sum(1 for placed in self._placed if placed.leader is not None)


@contextmanager
def placed_together(*panels: PlacedLabels) -> Iterator[None]:
    """Set the labels of several linked panels (:meth:`PlacedLabels.link`) in the block,
    then fit and place them once: each panel's labels are placed for the final extents
    only, instead of once per panel changed."""
    for panel in panels:
        panel._holding = True
    try:
        yield
    finally:
        for panel in panels:
            panel._holding = False
        for panel in panels:
            if panel._alive():
                panel.fit_and_place()


_LAYOUTS = LruCache(64)
"""Recent label layouts (:class:`LabelLayout`, in output pixels) by their inputs, shared
by every panel: the regions and the cyclic shift place the same labels."""


def _rounded(box: Box) -> Box:
    """``box`` to a millionth of a pixel."""
    return Box(round(box.x, 6), round(box.y, 6), round(box.width, 6), round(box.height, 6))


def drawn_rect(item: QtWidgets.QGraphicsItem) -> QtCore.QRectF:
    """Where ``item`` is painted, in scene coordinates. For an item that ignores the view's
    zoom (a :class:`Label`) ``sceneBoundingRect`` would apply the zoom anyway; its device
    transform is what painting uses."""
    scene = item.scene()
    views = scene.views() if scene is not None else []
    viewport = views[0].viewportTransform() if views else QtGui.QTransform()
    device = item.deviceTransform(viewport).mapRect(item.boundingRect())
    inverse, invertible = viewport.inverted()
    return inverse.mapRect(device) if invertible else device


# --- one grid of regions ------------------------------------------------------------------------------


class RegionPanel:
    """One grid of regions over the photo: cells filled in the region palette (the colour
    follows the tokens: each token's official region), a number on each region in the
    chosen numbering (placed by :class:`PlacedLabels`), the window borders (thinned when
    dense) and, when tokens are large, thin token borders."""

    def __init__(self, view: FigureView, panel: Panel) -> None:
        self.view = view
        self.panel = panel
        viewbox = panel.viewbox
        self.fills: dict[int, QtWidgets.QGraphicsPathItem] = {}
        for region in range(len(REGION_COLORS)):
            item = make_path_item(viewbox, z=7, crisp=True)
            item.setToolTip(
                f"Shift region {region} (official img_mask number): tokens that were "
                f"neighbours before the roll."
            )
            self.fills[region] = item
        self.tokens = make_path_item(viewbox, z=9, crisp=True)
        self.tokens.setToolTip("Token borders.")
        self.windows = make_path_item(viewbox, z=12)
        self.labels = PlacedLabels(view, panel)
        self._paths = LruCache(8)
        self._shape = (0, 0)
        self._scale = 1.0
        self.window_step = 1
        """Every how many window borders one is drawn (1: all)."""
        self._numbers = np.zeros((0, 0), dtype=np.int64)

    def draw(
        self,
        colours: np.ndarray,
        numbers: np.ndarray,
        scale: float,
        text: Callable[[int], str],
        window_map: np.ndarray,
        window_size: int,
        window_colour: str,
        dashed: bool = False,
        keep_from: Literal["start", "end"] = "start",
        key: Hashable | None = None,
    ) -> None:
        """Fill cell (r, c) with ``REGION_COLORS[colours[r, c]]``, write ``text(n)`` once per
        region n of ``numbers`` (on its largest rectangle) and outline the windows of
        ``window_map`` (all (rows, cols)). Window lines too dense to read are thinned,
        keeping those nearest the ``keep_from`` side. ``key`` names this content, so a
        recent one is redrawn from memory."""

        def compute() -> tuple[dict[int, QtGui.QPainterPath], np.ndarray, np.ndarray, np.ndarray]:
            return (
                value_paths(colours, scale),
                label_rectangles(numbers),
                boundary_segments(window_map, scale, outline=True),
                grid_segments(colours.shape[0], colours.shape[1], 1, 1, scale),
            )

        paths, rects, window_segments, token_segments = (
            self._paths.fetch(key, compute) if key is not None else compute()
        )
        self._shape, self._scale = colours.shape, scale
        self._numbers = numbers
        for region, item in self.fills.items():
            path = paths.get(region)
            item.setVisible(path is not None)
            if path is not None:
                item.setPath(path)
                item.setBrush(self.view.brush(REGION_COLORS[region], alpha=REGION_ALPHA))
        self._draw_lines(window_segments, token_segments, window_size, window_colour, dashed, keep_from)
        specs = []
        for value in np.unique(rects[:, 4]) if len(rects) else []:
            own = rects[rects[:, 4] == value]
            row, col, height, width, _ = own[np.argmax(own[:, 2] * own[:, 3])]
            colour = int(colours[row + height // 2, col + width // 2])
            specs.append(LabelSpec(
                text(int(value)),
                (col * scale, row * scale, width * scale, height * scale),
                REGION_COLORS[colour],
                (int(row), int(col), int(height), int(width)),
            ))
        rows, cols = colours.shape
        self.labels.set_labels(specs, (0.0, 0.0, cols * scale, rows * scale))

    def _draw_lines(self, window_segments: np.ndarray, token_segments: np.ndarray, window_size: int,
                    colour: str, dashed: bool, keep_from: Literal["start", "end"]) -> None:
        """Window borders, thinned when dense, and token borders when tokens are large,
        both judged at the nominal panel size."""
        view, theme = self.view, self.view.theme
        rows, cols = self._shape
        token_pitch = NOMINAL_PANEL_PIXELS / max(rows, cols, 1)
        pitch = window_size * token_pitch
        self.window_step = line_step(pitch, MIN_WINDOW_PITCH)
        self.windows.setPath(segments_path(thin_segments(window_segments, self.window_step, keep_from)))
        width = theme.thick_width if pitch >= HEAVY_WINDOW_PITCH else theme.line_width + 0.5
        self.windows.setPen(view.pen(colour, width, dashed=dashed))
        tokens_shown = token_pitch >= MIN_TOKEN_PITCH
        self.tokens.setVisible(tokens_shown)
        if tokens_shown:
            self.tokens.setPath(segments_path(token_segments))
            self.tokens.setPen(view.pen(theme.muted, max(theme.line_width - 0.5, 0.5), alpha=140))

    def thinning_words(self) -> str:
        """ "Every 3rd window border is drawn." when the borders are thinned, else ""."""
        step = self.window_step
        if step <= 1:
            return ""
        suffix = {2: "nd", 3: "rd"}.get(step, "th")
        return f"Only every {step}{suffix} window border is drawn: the windows are too small to draw each."

    # --- read-back ---------------------------------------------------------------------------------

    def drawn_colours(self) -> np.ndarray:
        """(rows, cols) region whose colour fills each cell, read from the paths (-1: none)."""
        drawn = np.full(self._shape, -1, dtype=np.int64)
        for region, item in self.fills.items():
            if item.isVisible():
                drawn[cells_in_path(item.path(), *self._shape, self._scale)] = region
        return drawn

    def drawn_numbers(self) -> np.ndarray:
        """(rows, cols) number written for each cell (-1: none), read from the labels'
        text (the number before any letter) over the token rectangle each label names."""
        drawn = np.full(self._shape, -1, dtype=np.int64)
        for label in self.labels.drawn():
            row, col, height, width = label.cells
            drawn[row : row + height, col : col + width] = int(label.text.split()[0])
        return drawn

    def drawn_texts(self) -> list[str]:
        return [label.text for label in self.labels.drawn()]

    def drawn_labels(self) -> list[DrawnLabel]:
        return self.labels.drawn()

    def window_lines(self) -> int:
        """How many window border segments are drawn."""
        return self.windows.path().elementCount() // 2


# --- the figure ------------------------------------------------------------------------------------


class RegionsView(FigureView):
    """The nine regions of a shifted block, twice: on the rolled grid (where the official
    code counts its ``img_mask`` regions) and on the original grid (where the lecture
    counts them: A = 0, C = 1, 2, B = 3, 6). The numbers follow the chosen numbering
    (:meth:`set_numbering`); colours follow the tokens, so the same colour marks the same
    tokens in both panels."""

    explanation = (
        "Shift regions: after the cyclic shift a window can hold tokens that were far "
        "apart, and the regions 0-8 say which tokens were neighbours before the roll."
    )

    def _build(self) -> None:
        self.official_panel = Panel(self.body, 0, 0)
        self.lecture_panel = Panel(self.body, 0, 1)
        self.official_photo = PhotoLayer(self.official_panel)
        self.lecture_photo = PhotoLayer(self.lecture_panel)
        self.official_regions = RegionPanel(self, self.official_panel)
        self.lecture_regions = RegionPanel(self, self.lecture_panel)
        self.official_regions.labels.link(self.lecture_regions.labels)
        self.official_regions.windows.setToolTip("Windows after the roll: the regular M×M grid.")
        self.lecture_regions.windows.setToolTip(
            "The same windows on the original grid: shifted by M/2 and wrapping around the edges."
        )
        self._key: tuple[object, ...] | None = None
        self._maps = LruCache(4)

    # --- numbering --------------------------------------------------------------------------

    def numbering(self) -> Numbering:
        """The numbering shown: the state's ``numbering``."""
        return state_numbering(self)

    def panel_titles(self) -> tuple[str, str]:
        numbering = self.numbering()
        return (_TITLES[(grid_numbering(numbering, "rolled"), "rolled")],
                _TITLES[(grid_numbering(numbering, "original"), "original")])

    # --- read-back --------------------------------------------------------------------------

    def drawn_region_map(self) -> np.ndarray:
        """(Hp, Wp) official region drawn on the rolled grid (left panel), read from the paths."""
        return self.official_regions.drawn_colours()

    def drawn_official_numbers(self) -> np.ndarray:
        """(Hp, Wp) number written over each token of the rolled grid (left panel)."""
        return self.official_regions.drawn_numbers()

    def drawn_lecture_map(self) -> np.ndarray:
        """(Hp, Wp) number written over each token of the original grid (right panel)."""
        return self.lecture_regions.drawn_numbers()

    def drawn_original_colours(self) -> np.ndarray:
        """(Hp, Wp) official region whose colour fills each token of the original grid."""
        return self.lecture_regions.drawn_colours()

    # --- drawing ----------------------------------------------------------------------------

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        geometry = context.geometry
        stride, window, shift = geometry.stride, geometry.window_size, context.shift
        rows, cols = geometry.padded_height, geometry.padded_width
        numbering = self.numbering()
        self.official_photo.draw(self, rows * stride, cols * stride, roll=shift * stride)
        self.lecture_photo.draw(self, rows * stride, cols * stride)
        key = (rows, cols, window, shift, stride, self.theme.name, numbering)
        if key != self._key:
            self._key = key
            rolled_numbering = grid_numbering(numbering, "rolled")
            original_numbering = grid_numbering(numbering, "original")
            official, rolled_numbers, windows, original_colours, original_numbers, original_windows = (
                self._maps.fetch((rows, cols, window, shift, numbering),
                                 lambda: _region_maps(rows, cols, window, shift, numbering))
            )
            with placed_together(self.official_regions.labels, self.lecture_regions.labels):
                self.official_regions.draw(
                    official,
                    rolled_numbers,
                    stride,
                    numbered_text(rolled_numbering, shift),
                    windows,
                    window,
                    self.theme.grid,
                    keep_from="end",
                    key=(*key, "rolled"),
                )
                self.lecture_regions.draw(
                    original_colours,
                    original_numbers,
                    stride,
                    numbered_text(original_numbering, shift),
                    original_windows,
                    window,
                    SHIFTED_WINDOW_COLOR if shift else self.theme.grid,
                    dashed=bool(shift),
                    keep_from="start",
                    key=(*key, "original"),
                )
        titles = self.panel_titles()
        self.style_title(self.official_panel.title, titles[0])
        self.style_title(self.lecture_panel.title, titles[1])
        self.set_note(self._note())

    def _note(self) -> str:
        context = self.context
        assert context is not None
        geometry = context.geometry
        if not context.shift:
            return (
                f"<b>No shift: {context.no_shift_reason()}.</b> Every token is in region 0 and no "
                f"mask is needed. {context.shift_hint()}"
            )
        window, shift = geometry.window_size, context.shift
        numbering = self.numbering()
        official_words = (
            f"The official code numbers the regions on the <b>rolled</b> grid: three row slices × "
            f"three column slices [0, −{window}), [−{window}, −{shift}), [−{shift}, end), counted 0-8 "
            f"(its img_mask)."
        )
        lecture_words = (
            "The lecture numbers the <b>original</b> grid, wrapped strips first: A = 0 (top-left "
            "corner), C = 1, 2 (top strip), B = 3, 6 (left strip)."
        )
        pairs = ", ".join(
            f"{region}→{int(official_to_lecture_region(np.asarray(region)))}" for region in range(9)
        )
        parts = [official_words, lecture_words]
        if numbering == "both":
            parts.insert(0, "Left: official numbers. Right: the lecture's.")
        elif numbering == "lecture":
            sentence = grid_region_sentence(geometry.padded_height, geometry.padded_width, window, shift)
            parts.append(f"In the lecture's numbering, after the roll {sentence}.")
        else:
            parts.append("Both panels show the official numbers.")
        parts.append("Colours follow the tokens: the same colour is the same tokens in both panels.")
        parts.append(f"Official → lecture: {pairs}.")
        thinning = self.official_regions.thinning_words() or self.lecture_regions.thinning_words()
        if thinning:
            parts.append(thinning)
        dropped = self.official_regions.labels.dropped_texts() + self.lecture_regions.labels.dropped_texts()
        if dropped:
            parts.append(f"No room to label: {', '.join(dropped)}.")
        return " ".join(parts)

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        names = {"both": "official vs lecture numbering", "official": "official numbering",
                 "lecture": "lecture numbering"}
        return [*self.context.caption_parts(), names[self.numbering()]]

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        context = self.context
        assert context is not None
        geometry = context.geometry
        for panel, name in ((self.official_panel, "rolled"), (self.lecture_panel, "original")):
            point = panel.view_point(scene_pos)
            if point is None:
                continue
            rows, cols = geometry.padded_height, geometry.padded_width
            window, shift = geometry.window_size, context.shift
            token = cell_at(point.x(), point.y(), geometry.stride, rows, cols)
            if token is None:
                return None
            row, col = token
            if name == "rolled":
                official = int(region_map(rows, cols, window, shift)[row, col])
            else:
                official = int(
                    reverse_cyclic_shift(region_map(rows, cols, window, shift), shift, dims=(0, 1))[row, col]
                )
            lecture = int(official_to_lecture_region(np.asarray(official))) if shift else 0
            return (
                f"{name} grid token ({row}, {col}) · official region {official} · lecture region "
                f"{lecture} · {REGION_COLOR_NAMES[official]}"
            )
        return None


def _region_maps(rows: int, cols: int, window: int, shift: int, numbering: Numbering
                 ) -> tuple[np.ndarray, ...]:
    """The (rows, cols) maps of the two panels of a padded grid: on the rolled grid its
    official regions (the colours), the numbers written and the windows; on the original
    grid the same three."""
    official = region_map(rows, cols, window, shift)
    original_colours = reverse_cyclic_shift(official, shift, dims=(0, 1))
    windows = window_index_map(rows, cols, window)
    rolled_numbers = numbered_map(official, grid_numbering(numbering, "rolled"), shift)
    original_numbers = (lecture_region_map(rows, cols, window, shift)
                        if grid_numbering(numbering, "original") == "lecture" else original_colours)
    original_windows = reverse_cyclic_shift(windows, shift, dims=(0, 1))
    return official, rolled_numbers, windows, original_colours, original_numbers, original_windows


def numbered_text(numbering: Literal["official", "lecture"], shift: int) -> Callable[[int], str]:
    """The label of a number that is already in ``numbering``."""
    if shift and numbering == "lecture":
        return lecture_label
    return str


def state_numbering(view: FigureView) -> Numbering:
    """The numbering the view's state asks for (the default before it has a state)."""
    return numbering_of(view.context.state.numbering) if view.context is not None else DEFAULT_NUMBERING
