"""Figure "cyclic-shift": the roll that turns the shifted windows back into a regular grid,
step by step (slider or animation)."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from swin_model.windows import (
    cyclic_shift,
    official_to_lecture_region,
    region_map,
    reverse_cyclic_shift,
    window_index_map,
)

from .base import FigureView, PhotoLayer
from .cells import cell_at, label_rectangles
from .items import Panel, boundary_path, make_path_item
from .regions import LECTURE_LETTERS, RegionLayer
from .windows_view import SHIFTED_WINDOW_COLOR

__all__ = ["CyclicShiftView"]

STEP_INTERVAL_MS = 700


def _official_label(region: int) -> str:
    """The official number, with the lecture's letter for the strips that wrap."""
    letter = LECTURE_LETTERS.get(int(official_to_lecture_region(np.asarray(region))))
    return f"{region} {letter}" if letter else str(region)


class CyclicShiftView(FigureView):
    """The feature map of the selected stage rolled up and left one token at a time.

    Step 0 is before the roll: the windows of the shifted block cut the map into unequal
    pieces. Steps 1..s roll the map (photo and regions move together, the strips A, B, C
    wrap to the bottom and right). After the last step the windows are the regular equal
    M×M grid again, and the regions carry the official ``img_mask`` numbers.
    """

    explanation = (
        "Cyclic shift: rolling the map up and left by M/2 tokens makes the shifted "
        "windows equal M×M windows again, without padding or extra windows."
    )

    def _build(self) -> None:
        self.panel = Panel(self.body, 0, 0)
        self.photo = PhotoLayer(self.panel)
        self.regions = RegionLayer(self, self.panel)
        self.windows = make_path_item(self.panel.viewbox, z=12)
        self.windows.setToolTip("Window borders at this step of the roll.")
        self._step = 0
        self._window_map = np.zeros((0, 0), dtype=np.int64)

        self.play_button = QtWidgets.QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play the roll as an animation.")
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

    # --- steps --------------------------------------------------------------------------

    def shift_steps(self) -> int:
        """Frames of the roll: before it, after each one-token step (s + 1 for shift s)."""
        if self.context is None:
            return 1
        return self.context.shift + 1

    def shift_step(self) -> int:
        return self._step

    def set_shift_step(self, step: int) -> None:
        """Show frame ``step`` (0 = before the roll, shift_steps() - 1 = after it)."""
        step = min(max(int(step), 0), self.shift_steps() - 1)
        changed = step != self._step
        self._step = step
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

    def drawn_numbers(self) -> np.ndarray:
        """(Hp, Wp) official number written over each token at the current step."""
        return self.regions.drawn_numbers()

    def window_map(self) -> np.ndarray:
        """(Hp, Wp) window of each token at the current step (what the borders outline)."""
        return self._window_map

    def window_pieces(self) -> int:
        """How many rectangles the window borders cut the map into at the current step."""
        return len(label_rectangles(self._window_map))

    # --- drawing ------------------------------------------------------------------------

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        geometry = context.geometry
        stride, window, shift = geometry.stride, geometry.window_size, context.shift
        rows, cols = geometry.padded_height, geometry.padded_width
        steps = shift + 1
        self.slider.blockSignals(True)
        self.slider.setMaximum(steps - 1)
        self._step = min(self._step, steps - 1)
        self.slider.setValue(self._step)
        self.slider.blockSignals(False)
        self.slider.setEnabled(steps > 1)
        self.play_button.setEnabled(steps > 1)
        step = self._step
        self.photo.draw(self, rows * stride, cols * stride, roll=step * stride)
        official = region_map(rows, cols, window, shift)
        original = reverse_cyclic_shift(official, shift, dims=(0, 1))
        current = cyclic_shift(original, step, dims=(0, 1))
        self.regions.draw(
            current,
            current,
            stride,
            text=_official_label if shift else str,
            key=(rows, cols, window, shift, stride, step),
        )
        self._window_map = reverse_cyclic_shift(
            window_index_map(rows, cols, window), shift - step, dims=(0, 1)
        )
        done = step == steps - 1
        self.windows.setPath(boundary_path(self._window_map, stride, outline=True))
        self.windows.setPen(
            self.pen(
                self.theme.grid if done else SHIFTED_WINDOW_COLOR, self.theme.thick_width, dashed=not done
            )
        )
        self.step_label.setText(f"step {step + 1}/{steps}")
        self.style_title(self.panel.title, self._step_title())
        self.panel.set_extent(0, 0, cols * stride, rows * stride)
        self.set_note(self._note())

    def _step_title(self) -> str:
        assert self.context is not None
        shift, step = self.context.shift, self._step
        if shift == 0:
            return "no shift in this block: nothing to roll"
        if step == 0:
            return f"before the roll: {self.window_pieces()} unequal windows"
        if step < shift:
            return f"rolling up and left: {step} of {shift} tokens"
        geometry = self.context.geometry
        return (
            f"after the roll: {geometry.num_windows} equal {geometry.window_size}×"
            f"{geometry.window_size} windows"
        )

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
        return (
            f"Shifting the windows by s = {shift} tokens ({shift * geometry.stride} px) would leave "
            f"{(geometry.windows_per_column + 1) * (geometry.windows_per_row + 1)} windows of unequal "
            f"size. The cyclic shift instead rolls the map up and left by s: the top strip C, the "
            f"left strip B and the corner A wrap around to the bottom and right, and "
            f"{geometry.num_windows} equal windows remain. Colours and numbers follow the tokens "
            f"(official img_mask numbers; letters are the lecture's names). A window that holds "
            f"several colours needs the mask."
        )

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        return [*self.context.caption_parts(), f"step {self._step + 1}/{self.shift_steps()}"]

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        context = self.context
        point = self.panel.view_point(scene_pos)
        if context is None or point is None:
            return None
        geometry = context.geometry
        token = cell_at(point.x(), point.y(), geometry.stride, geometry.padded_height, geometry.padded_width)
        if token is None:
            return None
        row, col = token
        original = reverse_cyclic_shift(
            np.moveaxis(np.indices((geometry.padded_height, geometry.padded_width)), 0, -1),
            self._step,
            dims=(0, 1),
        )[row, col]
        return (
            f"position ({row}, {col}) holds token ({original[0]}, {original[1]}) of the original grid"
            f" · window {self._window_map[row, col]}"
        )
