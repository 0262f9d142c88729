"""Figure "regions": the nine shift regions, numbered by the official code and by the lecture."""

from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.palette import REGION_COLORS, region_text_color
from swin_model.windows import (
    lecture_region_map,
    official_to_lecture_region,
    region_map,
    reverse_cyclic_shift,
    window_index_map,
)

from .base import FigureView, PhotoLayer
from .cells import cell_at, centre_cells, label_rectangles, rect_centres
from .items import Panel, boundary_path, cells_in_path, grid_path, make_path_item, value_paths
from .text_pool import LruCache, TextPool, TextPoolCache
from .windows_view import SHIFTED_WINDOW_COLOR

__all__ = [
    "LECTURE_LETTERS",
    "LECTURE_TITLE",
    "OFFICIAL_TITLE",
    "RegionLayer",
    "RegionsView",
    "lecture_label",
]

OFFICIAL_TITLE = "official img_mask numbering (rolled grid)"
LECTURE_TITLE = "lecture numbering (original grid)"

LECTURE_LETTERS: dict[int, str] = {0: "A", 1: "C", 2: "C", 3: "B", 6: "B"}
"""The lecture's names of the strips that the roll wraps around: A the top-left corner,
C the top strip, B the left strip (in the lecture's numbering of the original grid)."""

REGION_ALPHA = 150


def lecture_label(lecture_region: int) -> str:
    """ "0 A" for the lecture's region 0, "4" for region 4."""
    letter = LECTURE_LETTERS.get(lecture_region)
    return f"{lecture_region} {letter}" if letter else str(lecture_region)


class RegionLayer:
    """Region cells filled in the region palette, with a number on each rectangle of equal
    labels. The fill colour follows the tokens (the official number of the region a token
    belongs to); the numbers drawn may follow another numbering."""

    def __init__(self, view: FigureView, panel: Panel) -> None:
        self.view = view
        self.panel = panel
        self.fills: dict[int, QtWidgets.QGraphicsPathItem] = {}
        for region in range(len(REGION_COLORS)):
            item = make_path_item(panel.viewbox, z=7, crisp=True)
            item.setToolTip(
                f"Shift region {region} (official img_mask number): tokens that were "
                f"neighbours before the roll."
            )
            self.fills[region] = item
        self.labels = TextPoolCache(panel.viewbox, capacity=6, z=31)
        self._drawings = LruCache(6)
        self._label_rects: list[tuple[int, int, int, int]] = []
        self._shape = (0, 0)
        self._scale = 1.0

    def draw(
        self,
        colours: np.ndarray,
        numbers: np.ndarray,
        scale: float,
        text: Callable[[int], str] = str,
        key: Hashable | None = None,
    ) -> None:
        """Fill cell (r, c) with ``REGION_COLORS[colours[r, c]]`` and write ``text(n)`` on
        every rectangle of equal ``numbers`` n (same shape as ``colours``). ``key`` names
        this content (with the theme): a recent key is redrawn from memory."""
        key = (key, self.view.theme.name) if key is not None else None

        def compute() -> tuple[dict[int, QtGui.QPainterPath], np.ndarray]:
            return value_paths(colours, scale), label_rectangles(numbers)

        paths, rects = self._drawings.fetch(key, compute) if key is not None else compute()
        self._shape, self._scale = colours.shape, scale
        for region, item in self.fills.items():
            path = paths.get(region)
            item.setVisible(path is not None)
            if path is not None:
                item.setPath(path)
                item.setBrush(self.view.brush(REGION_COLORS[region], alpha=REGION_ALPHA))
        self._label_rects = [
            (int(row), int(col), int(height), int(width)) for row, col, height, width, _ in rects
        ]

        def write(pool: TextPool) -> None:
            font = self.view.qfont(self.view.theme.label_size, bold=True)
            edge = self.view.pen(self.view.theme.background, 1.0)
            middles = centre_cells(rects)
            places = rect_centres(rects, scale)
            for number, (row, col), (x, y) in zip(rects[:, 4], middles, places, strict=True):
                colour = int(colours[row, col])
                label = pool.add(text(int(number)), x, y, region_text_color(colour), font)
                label.set_box(self.view.brush(REGION_COLORS[colour]), edge)

        self.labels.show(key if key is not None else object(), write)

    def drawn_colours(self) -> np.ndarray:
        """(rows, cols) region whose colour fills each cell, read from the paths (-1: none)."""
        drawn = np.full(self._shape, -1, dtype=np.int64)
        for region, item in self.fills.items():
            if item.isVisible():
                drawn[cells_in_path(item.path(), *self._shape, self._scale)] = region
        return drawn

    def drawn_numbers(self) -> np.ndarray:
        """(rows, cols) number written on the rectangle holding each cell (-1: none), read
        from the labels' text (the number before any letter)."""
        drawn = np.full(self._shape, -1, dtype=np.int64)
        for item, (row, col, height, width) in zip(self.labels.visible(), self._label_rects, strict=True):
            drawn[row : row + height, col : col + width] = int(item.toPlainText().split()[0])
        return drawn

    def drawn_texts(self) -> list[str]:
        return [item.toPlainText() for item in self.labels.visible()]


class RegionsView(FigureView):
    """The nine regions of a shifted block, twice: on the rolled grid with the official
    ``img_mask`` numbers (what the code builds), and on the original grid with the
    lecture's numbers (A = 0, C = 1, 2, B = 3, 6). Colours follow the tokens, so the same
    colour marks the same tokens in both panels."""

    explanation = (
        "Shift regions: after the cyclic shift a window can hold tokens that were far "
        "apart, and the regions 0-8 say which tokens were neighbours before the roll."
    )

    def _build(self) -> None:
        self.official_panel = Panel(self.body, 0, 0)
        self.lecture_panel = Panel(self.body, 0, 1)
        self.official_photo = PhotoLayer(self.official_panel)
        self.lecture_photo = PhotoLayer(self.lecture_panel)
        self.official_regions = RegionLayer(self, self.official_panel)
        self.lecture_regions = RegionLayer(self, self.lecture_panel)
        self.official_windows = make_path_item(self.official_panel.viewbox, z=12)
        self.official_windows.setToolTip("Windows after the roll: the regular M×M grid.")
        self.lecture_windows = make_path_item(self.lecture_panel.viewbox, z=12)
        self.lecture_windows.setToolTip(
            "The same windows on the original grid: shifted by M/2 and wrapping around the edges."
        )
        self._key: tuple[object, ...] | None = None
        self._window_paths = LruCache(6)

    def panel_titles(self) -> tuple[str, str]:
        return OFFICIAL_TITLE, LECTURE_TITLE

    def drawn_region_map(self) -> np.ndarray:
        """(Hp, Wp) official region drawn on the rolled grid (left panel), read from the paths."""
        return self.official_regions.drawn_colours()

    def drawn_official_numbers(self) -> np.ndarray:
        """(Hp, Wp) official number written over each token of the rolled grid."""
        return self.official_regions.drawn_numbers()

    def drawn_lecture_map(self) -> np.ndarray:
        """(Hp, Wp) lecture number written over each token of the original grid (right panel)."""
        return self.lecture_regions.drawn_numbers()

    def drawn_original_colours(self) -> np.ndarray:
        """(Hp, Wp) official region whose colour fills each token of the original grid."""
        return self.lecture_regions.drawn_colours()

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        geometry = context.geometry
        stride, window, shift = geometry.stride, geometry.window_size, context.shift
        rows, cols = geometry.padded_height, geometry.padded_width
        self.official_photo.draw(self, rows * stride, cols * stride, roll=shift * stride)
        self.lecture_photo.draw(self, rows * stride, cols * stride)
        key = (rows, cols, window, shift, stride, self.theme.name)
        if key != self._key:
            self._key = key
            official = region_map(rows, cols, window, shift)
            original_colours = reverse_cyclic_shift(official, shift, dims=(0, 1))
            self.official_regions.draw(official, official, stride, key=key)
            self.lecture_regions.draw(
                original_colours,
                lecture_region_map(rows, cols, window, shift),
                stride,
                text=lecture_label if shift else str,
                key=key,
            )
            official_windows, lecture_windows = self._window_paths.fetch(
                key,
                lambda: (
                    grid_path(rows, cols, window, window, stride),
                    boundary_path(
                        reverse_cyclic_shift(window_index_map(rows, cols, window), shift, dims=(0, 1)),
                        stride,
                        outline=True,
                    ),
                ),
            )
            self.official_windows.setPath(official_windows)
            self.official_windows.setPen(self.pen(self.theme.grid, self.theme.thick_width))
            self.lecture_windows.setPath(lecture_windows)
            self.lecture_windows.setPen(
                self.pen(
                    SHIFTED_WINDOW_COLOR if shift else self.theme.grid,
                    self.theme.thick_width,
                    dashed=bool(shift),
                )
            )
        self.style_title(self.official_panel.title, OFFICIAL_TITLE)
        self.style_title(self.lecture_panel.title, LECTURE_TITLE)
        for panel in (self.official_panel, self.lecture_panel):
            panel.set_extent(0, 0, cols * stride, rows * stride)
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
        pairs = ", ".join(
            f"{region}→{int(official_to_lecture_region(np.asarray(region)))}" for region in range(9)
        )
        return (
            f"Left: the official code numbers the regions on the <b>rolled</b> grid, three row slices "
            f"× three column slices [0, −{window}), [−{window}, −{shift}), [−{shift}, end), counted "
            f"0-8 (its img_mask). Right: the lecture numbers the <b>original</b> grid, wrapped strips "
            f"first: A = 0 (top-left corner), C = 1, 2 (top strip), B = 3, 6 (left strip). "
            f"Colours follow the tokens: the same colour is the same tokens in both panels. "
            f"Official → lecture: {pairs}."
        )

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        return [*self.context.caption_parts(), "official vs lecture numbering"]

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
                lecture = int(official_to_lecture_region(np.asarray(official))) if shift else 0
            else:
                lecture = int(lecture_region_map(rows, cols, window, shift)[row, col])
                official = int(
                    reverse_cyclic_shift(region_map(rows, cols, window, shift), shift, dims=(0, 1))[row, col]
                )
            return f"{name} grid token ({row}, {col}) · official region {official} · lecture region {lecture}"
        return None
