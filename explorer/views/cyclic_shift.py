"""Figure "cyclic-shift": the roll that turns the shifted windows back into a regular grid,
step by step (slider or animation), the original grid beside the current step."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from swin_model.windows import cyclic_shift, region_map, reverse_cyclic_shift, window_index_map

from .base import FigureView, PhotoLayer
from .cells import cell_at, label_rectangles
from .items import Panel
from .regions import (
    Numbering,
    RegionPanel,
    grid_numbering,
    grid_region_sentence,
    numbered_map,
    numbered_text,
    placed_together,
    state_numbering,
)
from .text_pool import LruCache
from .windows_view import SHIFTED_WINDOW_COLOR

__all__ = ["CyclicShiftView"]

STEP_INTERVAL_MS = 700

_NUMBERING_WORDS = {"official": "official numbers", "lecture": "lecture's numbers"}


def _original_maps(rows: int, cols: int, window: int, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) official region and window of each token of the original (unrolled)
    padded grid, under the shifted block's windows."""
    original = reverse_cyclic_shift(region_map(rows, cols, window, shift), shift, dims=(0, 1))
    before_windows = reverse_cyclic_shift(window_index_map(rows, cols, window), shift, dims=(0, 1))
    return original, before_windows


def _step_maps(original: np.ndarray, before_windows: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """The maps of :func:`_original_maps` after ``step`` one-token rolls up and left."""
    return cyclic_shift(original, step, dims=(0, 1)), cyclic_shift(before_windows, step, dims=(0, 1))


class CyclicShiftView(FigureView):
    """The feature map of the selected stage rolled up and left one token at a time, next
    to the map before the roll.

    The left panel is the original grid: the windows of the shifted block cut it into
    unequal pieces. The right panel is the current step: steps 1..s roll the map (photo
    and regions move together, the strips A, B, C wrap to the bottom and right); after
    the last step the windows are the regular equal M×M grid again. Numbers follow
    :meth:`set_numbering`: the official ``img_mask`` numbers, the lecture's, or both (the
    lecture's on the original grid, the official ones on the rolled grid). The view opens
    on the last step, so a still image shows before and after.
    """

    explanation = (
        "Cyclic shift: rolling the map up and left by M/2 tokens makes the shifted "
        "windows equal M×M windows again, without padding or extra windows."
    )

    def _build(self) -> None:
        self.before_panel = Panel(self.body, 0, 0)
        self.panel = Panel(self.body, 0, 1)
        self.before_photo = PhotoLayer(self.before_panel)
        self.photo = PhotoLayer(self.panel)
        self.before_regions = RegionPanel(self, self.before_panel)
        self.regions = RegionPanel(self, self.panel)
        self.regions.labels.link(self.before_regions.labels)
        self.before_regions.windows.setToolTip("The shifted windows on the original grid, before the roll.")
        self.regions.windows.setToolTip("Window borders at this step of the roll.")
        self._step = 0
        self._at_end = True
        self._window_map = np.zeros((0, 0), dtype=np.int64)
        self._maps = LruCache(16)

        self.play_button = QtWidgets.QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play the roll as an animation (from the start when at the end).")
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setToolTip(
            "Step through the cyclic shift: before the roll, each one-token roll, after the roll."
        )
        self.slider.setMinimum(0)
        self.slider.setMaximum(0)
        self.step_label = QtWidgets.QLabel()
        self.controls.addWidget(self.play_button)
        self.controls.addWidget(self.slider, 1)
        self.controls.addWidget(self.step_label)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(STEP_INTERVAL_MS)
        self.timer.timeout.connect(self._advance)
        self.play_button.toggled.connect(self._play)
        self.slider.valueChanged.connect(self.set_shift_step)

    # --- numbering ----------------------------------------------------------------------

    def numbering(self) -> Numbering:
        """The numbering shown: the state's ``numbering``."""
        return state_numbering(self)

    # --- steps --------------------------------------------------------------------------

    def shift_steps(self) -> int:
        """Frames of the roll: before it, after each one-token step (s + 1 for shift s)."""
        if self.context is None:
            return 1
        return self.context.shift + 1

    def shift_step(self) -> int:
        return self._step

    def view_options(self) -> dict[str, str]:
        return {"step": "end" if self._at_end else str(self._step)}

    def set_view_option(self, name: str, value: str) -> None:
        if name != "step" or not (value == "end" or value.isdigit()):
            raise ValueError(f"the {self.figure_name} figure takes step=N (0 = before the roll) or "
                             f"step=end, not {name}={value}")
        self.set_shift_step(self.shift_steps() - 1 if value == "end" else int(value))

    def set_shift_step(self, step: int) -> None:
        """Show frame ``step`` (0 = before the roll, shift_steps() - 1 = after it)."""
        last = self.shift_steps() - 1
        step = min(max(int(step), 0), last)
        changed = step != self._step
        self._step = step
        self._at_end = step == last
        if self.slider.value() != step:
            self.slider.setValue(step)
        if changed and self.context is not None:
            self._redraw()
            self.refresh_caption()

    def _play(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        if playing:
            if self._step >= self.shift_steps() - 1:
                self.set_shift_step(0)
            self.timer.start()
        else:
            self.timer.stop()

    def _advance(self) -> None:
        if self._step >= self.shift_steps() - 1:
            self.play_button.setChecked(False)
        else:
            self.set_shift_step(self._step + 1)

    def _dispose(self) -> None:
        self.timer.stop()

    # --- data ---------------------------------------------------------------------------

    def drawn_region_map(self) -> np.ndarray:
        """(Hp, Wp) official region whose colour fills each token at the current step."""
        return self.regions.drawn_colours()

    def drawn_before_map(self) -> np.ndarray:
        """(Hp, Wp) official region whose colour fills each token before the roll (left)."""
        return self.before_regions.drawn_colours()

    def drawn_numbers(self) -> np.ndarray:
        """(Hp, Wp) number written over each token at the current step."""
        return self.regions.drawn_numbers()

    def window_map(self) -> np.ndarray:
        """(Hp, Wp) window of each token at the current step (what the borders outline)."""
        return self._window_map

    def window_pieces(self) -> int:
        """How many rectangles the window borders cut the map into at the current step."""
        return len(label_rectangles(self._window_map))

    def panel_titles(self) -> tuple[str, str]:
        return self.before_panel.title.plain_text(), self.panel.title.plain_text()

    # --- drawing ------------------------------------------------------------------------

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        geometry = context.geometry
        stride, window, shift = geometry.stride, geometry.window_size, context.shift
        rows, cols = geometry.padded_height, geometry.padded_width
        steps = shift + 1
        if self._at_end or self._step > steps - 1:
            self._step = steps - 1
        self.slider.blockSignals(True)
        self.slider.setMaximum(steps - 1)
        self.slider.setValue(self._step)
        self.slider.blockSignals(False)
        self.slider.setEnabled(steps > 1)
        self.play_button.setEnabled(steps > 1)
        step = self._step
        done = step == steps - 1
        numbering = self.numbering()
        before_numbering = grid_numbering(numbering, "original")
        after_numbering = grid_numbering(numbering, "rolled")

        self.before_photo.draw(self, rows * stride, cols * stride)
        self.photo.draw(self, rows * stride, cols * stride, roll=step * stride)
        original, before_windows = self._maps.fetch(
            (rows, cols, window, shift), lambda: _original_maps(rows, cols, window, shift))
        current, self._window_map = self._maps.fetch(
            (rows, cols, window, shift, step), lambda: _step_maps(original, before_windows, step))
        before_numbers = self._maps.fetch((rows, cols, window, shift, before_numbering),
                                          lambda: numbered_map(original, before_numbering, shift))
        current_numbers = self._maps.fetch((rows, cols, window, shift, step, after_numbering),
                                           lambda: numbered_map(current, after_numbering, shift))
        base_key = (rows, cols, window, shift, stride, self.theme.name)
        for panel in (self.before_regions, self.regions):
            panel.labels.force_gutter = bool(shift)  # one layout for every frame of the roll
        with placed_together(self.before_regions.labels, self.regions.labels):
            self.before_regions.draw(
                original,
                before_numbers,
                stride,
                numbered_text(before_numbering, shift),
                before_windows,
                window,
                SHIFTED_WINDOW_COLOR if shift else self.theme.grid,
                dashed=bool(shift),
                keep_from="start",
                key=(*base_key, "before", before_numbering),
            )
            self.regions.draw(
                current,
                current_numbers,
                stride,
                numbered_text(after_numbering, shift),
                self._window_map,
                window,
                self.theme.grid if done else SHIFTED_WINDOW_COLOR,
                dashed=not done,
                keep_from="end" if done else "start",
                key=(*base_key, "step", step, after_numbering),
            )
        self.step_label.setText(f"step {step + 1}/{steps}")
        before_title, after_title = self._titles(before_numbering, after_numbering)
        self.style_title(self.before_panel.title, before_title)
        self.style_title(self.panel.title, after_title)
        self.set_note(self._note())

    def _titles(self, before_numbering: str, after_numbering: str) -> tuple[str, str]:
        context = self.context
        assert context is not None
        shift, step = context.shift, self._step
        geometry = context.geometry
        if shift == 0:
            return ("no shift in this block: the regular windows",
                    "nothing to roll: the same regular windows")
        pieces = (geometry.windows_per_column + 1) * (geometry.windows_per_row + 1)
        before = f"before the roll: {pieces} unequal windows ({_NUMBERING_WORDS[before_numbering]})"
        if step == 0:
            after = f"step 0 of {shift}: not rolled yet"
        elif step < shift:
            after = f"rolling up and left: {step} of {shift} tokens"
        else:
            after = (f"after the roll: {geometry.num_windows} equal {geometry.window_size}×"
                     f"{geometry.window_size} windows")
        return before, f"{after} ({_NUMBERING_WORDS[after_numbering]})"

    def _note(self) -> str:
        context = self.context
        assert context is not None
        geometry = context.geometry
        shift = context.shift
        if shift == 0:
            return (
                f"<b>No shift</b> in block {context.block + 1} of stage {geometry.stage + 1}: "
                f"the windows are the regular grid and nothing is rolled."
            )
        numbering = self.numbering()
        if numbering == "both":
            numbers = ("Left, the lecture's numbers (A = 0 the corner, C = 1, 2 the top strip, "
                       "B = 3, 6 the left strip); right, the official img_mask numbers.")
        elif numbering == "lecture":
            sentence = grid_region_sentence(geometry.padded_height, geometry.padded_width,
                                            geometry.window_size, shift)
            numbers = (f"Numbers are the lecture's (A = 0 the corner, C = 1, 2 the top strip, B = 3, 6 "
                       f"the left strip); after the roll {sentence}.")
        else:
            numbers = "Numbers are the official img_mask numbers."
        parts = [
            f"Shifting the windows by s = {shift} tokens ({shift * geometry.stride} px) would leave "
            f"{(geometry.windows_per_column + 1) * (geometry.windows_per_row + 1)} windows of unequal "
            f"size (left). The cyclic shift instead rolls the map up and left by s (right): the top "
            f"strip C, the left strip B and the corner A wrap around to the bottom and right, and "
            f"{geometry.num_windows} equal windows remain. Colours follow the tokens. {numbers} "
            f"A window that holds several colours needs the mask.",
        ]
        thinning = self.regions.thinning_words()
        if thinning:
            parts.append(thinning)
        return " ".join(parts)

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        return [*self.context.caption_parts(), f"step {self._step + 1}/{self.shift_steps()}"]

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        context = self.context
        if context is None:
            return None
        geometry = context.geometry
        for panel, step, name in ((self.before_panel, 0, "before the roll"),
                                  (self.panel, self._step, f"step {self._step}")):
            point = panel.view_point(scene_pos)
            if point is None:
                continue
            token = cell_at(point.x(), point.y(), geometry.stride, geometry.padded_height,
                            geometry.padded_width)
            if token is None:
                return None
            row, col = token
            original = reverse_cyclic_shift(
                np.moveaxis(np.indices((geometry.padded_height, geometry.padded_width)), 0, -1),
                step,
                dims=(0, 1),
            )[row, col]
            windows = self._window_map if step == self._step else reverse_cyclic_shift(
                window_index_map(geometry.padded_height, geometry.padded_width, geometry.window_size),
                context.shift, dims=(0, 1))
            return (
                f"{name}: position ({row}, {col}) holds token ({original[0]}, {original[1]}) of the "
                f"original grid · window {windows[row, col]}"
            )
        return None
