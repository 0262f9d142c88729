"""View 8: the model's output. Top-5 classes with their softmax probabilities, a badge that
says whether the weights are trained, what was captured, the run time and measured MACs,
and a non-modal message area for errors.

The badge and the five rows keep their height whatever the panel's size: the message area
and the run details sit below them in a part that scrolls when the panel is short, so a
long error message never squeezes or hides the prediction."""

from __future__ import annotations

import math
from typing import Any

from PySide6 import QtCore, QtWidgets

from explorer.labels import class_label, imagenet_labels
from explorer.numbers import si
from explorer.state import ExplorerState, InferenceResult

__all__ = ["NOT_FINITE_TEXT", "UNTRAINED_TEXT", "OutputView", "not_finite_message"]

TOP_K = 5
UNTRAINED_TEXT = (
    "Untrained weights: random initialisation (seed 0). The ranking below is not a real prediction."
)
TRAINED_TEXT = "Trained ImageNet-1k head (loaded checkpoint)."
OTHER_HEAD_TEXT = "Checkpoint without a 1000-class ImageNet head: classes are shown by index."

_BADGE_STYLES = {
    "untrained": "background:#6b4a00; color:#ffe3a3; border-radius:4px; padding:4px;",
    "trained": "background:#1d4d2b; color:#c8f2d3; border-radius:4px; padding:4px;",
    "waiting": "background:#3a3a3a; color:#dddddd; border-radius:4px; padding:4px;",
}
_MESSAGE_STYLE = "background:#5c1a1a; color:#ffd7d7; border-radius:4px; padding:4px;"
NOT_FINITE_TEXT = ("The model's output is not finite (NaN or infinity), so there is no prediction "
                   "to show: the weights or the input hold values that overflow.")


def not_finite_message(result: InferenceResult) -> str | None:
    """What to say when ``result``'s logits or probabilities are not finite (None when they
    are): that there is no prediction, and where the first non-finite value came from."""
    where = result.non_finite
    if where is None and all(math.isfinite(probability) for _, probability in result.top_classes):
        return None
    return NOT_FINITE_TEXT + (f" The first non-finite value came from {where}." if where else "")


class OutputView(QtWidgets.QWidget):
    """The prediction panel. ``update_state`` marks shown output as belonging to an older
    setting while a new run is pending; ``update_result`` shows a run's answer."""

    figure_name = "output"
    explanation = (
        "The classifier's five most probable ImageNet classes (softmax of the "
        "logits); with random weights they only show that the model runs."
    )

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("outputView")
        self.setToolTip(self.explanation)
        self._result: InferenceResult | None = None
        self._rows: list[tuple[str, float]] = []

        self._badge = QtWidgets.QLabel("Waiting for the first model run…")
        self._badge.setObjectName("weightsBadge")
        self._badge.setWordWrap(True)
        self._badge.setStyleSheet(_BADGE_STYLES["waiting"])
        line = self.fontMetrics().lineSpacing()
        self._badge.setMinimumHeight(2 * line + 10)  # two lines and the padding
        policy = QtWidgets.QSizePolicy.Policy

        self._names: list[QtWidgets.QLabel] = []
        self._bars: list[QtWidgets.QProgressBar] = []
        self._rows_box = QtWidgets.QWidget()
        self._rows_box.setObjectName("predictionRows")
        self._rows_box.setSizePolicy(policy.Preferred, policy.Fixed)
        grid = QtWidgets.QGridLayout(self._rows_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        row_height = line + 6
        for rank in range(TOP_K):
            number = QtWidgets.QLabel(f"{rank + 1}.")
            name = QtWidgets.QLabel("–")
            name.setMinimumWidth(90)
            bar = QtWidgets.QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(0)
            bar.setTextVisible(True)
            bar.setFormat("")
            for widget in (number, name, bar):
                widget.setFixedHeight(row_height)
            grid.addWidget(number, rank, 0)
            grid.addWidget(name, rank, 1)
            grid.addWidget(bar, rank, 2)
            self._names.append(name)
            self._bars.append(bar)
        grid.setColumnStretch(1, 2)
        grid.setColumnStretch(2, 3)

        self._details = QtWidgets.QLabel("")
        self._details.setObjectName("runDetails")
        self._details.setWordWrap(True)
        self._details.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)

        self._message = QtWidgets.QLabel("")
        self._message.setObjectName("outputMessage")
        self._message.setWordWrap(True)
        self._message.setStyleSheet(_MESSAGE_STYLE)
        self._message.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self._dismiss = QtWidgets.QToolButton()
        self._dismiss.setText("✕")
        self._dismiss.setToolTip("Hide this message.")
        self._dismiss.clicked.connect(self.clear_message)
        message_row = QtWidgets.QHBoxLayout()
        message_row.addWidget(self._message, 1)
        message_row.addWidget(self._dismiss, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        self._message_box = QtWidgets.QWidget()
        self._message_box.setLayout(message_row)
        message_row.setContentsMargins(0, 0, 0, 0)
        self._message_box.hide()

        below = QtWidgets.QWidget()
        below_layout = QtWidgets.QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        below_layout.addWidget(self._message_box)
        below_layout.addWidget(self._details)
        below_layout.addStretch(1)
        self._below = QtWidgets.QScrollArea()
        self._below.setObjectName("predictionDetails")
        self._below.setWidgetResizable(True)
        self._below.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self._below.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._below.setWidget(below)
        self._below.setMinimumHeight(line + 4)  # may shrink to one line: it scrolls

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self._badge)
        layout.addWidget(self._rows_box)
        layout.addWidget(self._below, 1)

    # --- the view contract ----------------------------------------------------------------

    def update_state(self, state: ExplorerState, prepared: Any) -> None:
        """A control changed; the output shown stays until the new run answers."""

    def update_result(self, result: InferenceResult | None) -> None:
        """Show ``result``: its top-5 and details, or its error as a message."""
        self._result = result
        if result is None:
            self._show_rows([])
            self._details.setText("")
            return
        if result.error:
            self._show_rows([])
            self._details.setText("")
            self.show_message(result.error)
            return
        num_classes = 1000
        if result.trained_head:
            self._set_badge("trained", TRAINED_TEXT)
        elif result.state.checkpoint_path:
            num_classes = -1
            self._set_badge("untrained", OTHER_HEAD_TEXT)
        else:
            self._set_badge("untrained", UNTRAINED_TEXT)
        not_finite = not_finite_message(result)
        if not_finite is not None:
            self._show_rows([])
            self._details.setText(self._details_text(result))
            self.show_message(not_finite)
            return
        self.clear_message()
        self._show_rows(
            [(class_label(index, num_classes), probability) for index, probability in result.top_classes],
            [index for index, _ in result.top_classes],
            num_classes,
        )
        self._details.setText(self._details_text(result))

    # --- messages -------------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        """Show ``text`` in the message area until dismissed or the next good result."""
        self._message.setText(text)
        self._message_box.show()

    def clear_message(self) -> None:
        self._message.setText("")
        self._message_box.hide()

    # --- reading back (tests, export) -----------------------------------------------------

    def message_text(self) -> str:
        return self._message.text() if not self._message_box.isHidden() else ""

    def badge_text(self) -> str:
        return self._badge.text()

    def top_rows(self) -> list[tuple[str, float]]:
        """The (label, probability) rows on screen, best first."""
        return list(self._rows)

    def details_text(self) -> str:
        return self._details.text()

    def row_widgets(self) -> list[tuple[QtWidgets.QLabel, QtWidgets.QProgressBar]]:
        """The (class name, probability bar) widgets of the five rows, best first."""
        return list(zip(self._names, self._bars, strict=True))

    # --- drawing --------------------------------------------------------------------------

    def _set_badge(self, kind: str, text: str) -> None:
        self._badge.setText(text)
        self._badge.setStyleSheet(_BADGE_STYLES[kind])

    def _show_rows(
        self, rows: list[tuple[str, float]], indices: list[int] | None = None, num_classes: int = 1000
    ) -> None:
        self._rows = rows
        for rank in range(TOP_K):
            name, bar = self._names[rank], self._bars[rank]
            if rank < len(rows):
                label, probability = rows[rank]
                name.setText(label)
                index = indices[rank] if indices else None
                full = (
                    imagenet_labels()[index]
                    if index is not None and num_classes == 1000 and 0 <= index < 1000
                    else label
                )
                name.setToolTip(f"class {index}: {full}" if index is not None else full)
                shown = probability if math.isfinite(probability) else 0.0
                bar.setValue(round(shown * 1000))
                bar.setFormat(f"{probability * 100:.2f} %")
            else:
                name.setText("–")
                name.setToolTip("")
                bar.setValue(0)
                bar.setFormat("")

    @staticmethod
    def _details_text(result: InferenceResult) -> str:
        meta = result.record_meta
        lines = []
        if meta is not None and result.attention is not None:
            windows, heads, tokens = (
                result.attention.shape[0],
                result.attention.shape[1],
                result.attention.shape[2],
            )
            kind = "SW-MSA" if meta.shift_size else "W-MSA"
            grid_h, grid_w = meta.grid_size
            pad_h, pad_w = meta.padded_size
            padding = "" if (grid_h, grid_w) == (pad_h, pad_w) else f", padded to {pad_h}×{pad_w}"
            lines.append(
                f"Captured stage {meta.stage + 1}, block {meta.block + 1} "
                f"({kind}, M = {meta.window_size}, shift {meta.shift_size}): "
                f"{grid_h}×{grid_w} tokens{padding}; {windows} windows × {heads} heads × "
                f"{tokens}×{tokens} attention."
            )
        run = f"Model run: {result.elapsed_seconds:.2f} s."
        if result.measured_macs is not None:
            run += (
                f" Measured {si(result.measured_macs, unit='G', space=True)} MACs "
                "(matrix products and convolutions, torch FlopCounterMode)."
            )
        else:
            from explorer.inference import MEASURE_MACS_LIMIT

            run += (
                f" MACs not measured: the counting pass is skipped above "
                f"{si(MEASURE_MACS_LIMIT, unit='G', space=True)} MACs; the cost view has the analytic count."
            )
        lines.append(run)
        if result.trained_window is not None and result.record_meta is not None:
            lines.append(
                f"Bias tables interpolated (bicubic, as the official code does) from the trained "
                f"M = {result.trained_window} to M = {result.state.window_size}: the "
                "model was not trained at this window, so its accuracy here is not guaranteed."
            )
        return "\n".join(lines)
