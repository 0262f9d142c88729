"""The explorer's control panel: model, input size, window, shift, stage, block and head,
the picked query and window, and a plain-words summary of the geometry.

The panel only states intents: ``changed`` carries the ExplorerState fields the user asked
to change. :meth:`ControlPanel.show_state` shows a state (values and the ranges that follow
from the model and stage) without emitting anything back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtWidgets

from swin_model.config import PRESET_NAMES

from .state import (
    MAX_IMAGE_SIZE,
    MAX_WINDOW_SIZE,
    MIN_IMAGE_SIZE,
    MIN_WINDOW_SIZE,
    ExplorerState,
    input_shape,
)

if TYPE_CHECKING:
    from swin_model import SwinConfig
    from swin_model.windows import StageGeometry

    from .resolved import ResolvedState

__all__ = ["NUMBERING_CHOICES", "TOOLTIPS", "ControlPanel", "geometry_summary"]

NUMBERING_CHOICES: tuple[tuple[str, str], ...] = (
    ("both", "Both (official rolled, lecture original)"),
    ("official", "Official img_mask"),
    ("lecture", "Lecture (A = 0, C = 1, 2, B = 3, 6)"),
)
"""(value, text) of the region numbering choices, in the order the list shows them; the
values are those of :data:`explorer.views.regions.NUMBERINGS`."""

TOOLTIPS = {
    "modelCombo": "Swin-T/S/B/L differ in width C and in the depth of stage 3; presets have random "
                  "weights (seed 0), a loaded checkpoint (Ctrl+L) brings real ones.",
    "imageSizeSpin": "Input side N: the image is resized to N×N (bicubic), or its longer side to N "
                     "when the aspect ratio is kept, and cut into 4×4-pixel patches, zero-padding "
                     "the edge when a side is not a multiple of 4.",
    "keepAspectCheck": "Keep the photo's aspect ratio: the longer side becomes N and the shorter one "
                       "is scaled to match; the model zero-pads it to the patch and the window "
                       "(hatched in the figures) instead of stretching the photo to a square.",
    "windowSizeSpin": "Window size M: each token attends only to the M×M tokens of its window, "
                      "so attention cost grows linearly with the image, not quadratically.",
    "shiftCheck": "SW-MSA: blocks 2, 4, … roll the feature map by ⌊M/2⌋ so neighbouring windows "
                  "exchange information.",
    "stageSpin": "Stage: between stages, patch merging joins 2×2 tokens, halving the grid and "
                 "doubling the channels (the official code merges at the end of each stage).",
    "blockSpin": "Block of the stage: blocks alternate W-MSA (1, 3, …: regular windows) and "
                 "SW-MSA (2, 4, …: shifted windows).",
    "headSpin": "Attention head: each head has its own queries, keys and values on "
                "C / heads channels and its own relative position bias.",
    "queryLabel": "The query token: click a patch in an image view to see what it attends to.",
    "windowLabel": "The selected window (row-major index in the selected stage, under the "
                   "block's shift): click a window to choose it.",
    "numberingCombo": "How the shift regions are numbered: the official code's img_mask numbers "
                      "(counted on the rolled grid), the lecture's (counted on the original grid, "
                      "A = 0, C = 1, 2, B = 3, 6), or both (each grid in its own numbering).",
}


def geometry_summary(config: SwinConfig, state: ExplorerState, geometries: Sequence[StageGeometry],
                     source_size: tuple[int, int] | None) -> tuple[str, str]:
    """(one line on the patch grid and its padding, the full text of the geometry box),
    from :mod:`swin_model.windows` for ``state``'s input size, stage and block."""
    from swin_model.windows import pad_amount, patch_grid

    input_height, input_width = input_shape(state)
    rows, cols = patch_grid(input_height, input_width, config.patch_size)
    pad_rows = pad_amount(input_height, config.patch_size)
    pad_cols = pad_amount(input_width, config.patch_size)
    square = input_height == input_width
    size_text = f"{input_height} px" if square else f"{input_height}×{input_width} px (H×W)"
    patches = f"{size_text} → {rows}×{cols} patches of {config.patch_size} px"
    if square:
        patches += f" after padding {pad_rows} px" if pad_rows else " (no padding)"
    elif pad_rows or pad_cols:
        patches += f" after padding {pad_rows} px at the bottom and {pad_cols} px on the right"
    else:
        patches += " (no padding)"
    geometry = geometries[state.stage]
    shift = geometry.block_shift(state.block)
    kind = f"SW-MSA, shift {shift}" if shift else "W-MSA"
    window = f"M = {geometry.window_size}"
    if geometry.window_shrunk:
        window += f" (shrunk from {config.window_size}: the grid is no larger than the window)"
    pad_rows = geometry.padded_height - geometry.height
    pad_cols = geometry.padded_width - geometry.width
    padding = (f", padded to {geometry.padded_height}×{geometry.padded_width} "
               f"(+{pad_rows} rows, +{pad_cols} cols)" if pad_rows or pad_cols else "")
    stage = (f"Stage {state.stage + 1}: {geometry.height}×{geometry.width} tokens{padding}, "
             f"C = {geometry.channels}, {geometry.num_heads} heads, {window}, "
             f"{geometry.windows_per_column}×{geometry.windows_per_row} = {geometry.num_windows} "
             f"windows; block {state.block + 1} of {geometry.depth}: {kind}.")
    source = ""
    if source_size is not None:
        width, height = source_size
        if input_height == input_width:
            resized = f"{width}×{height} px resized to {input_height}×{input_width} (bicubic)"
        else:
            resized = (f"{width}×{height} px (W×H) resized to {input_height}×{input_width} "
                       f"(H×W, bicubic, aspect ratio kept)")
        source = f"Image {resized}, ImageNet mean/std.\n"
    return patches, f"{source}{patches}.\n{stage}"



class ControlPanel(QtWidgets.QWidget):
    """The controls, each with a stable objectName (settings and tests use them)."""

    changed = QtCore.Signal(dict)
    """ExplorerState fields to change (0-based stage, block and head), e.g. {"stage": 2}.
    Choosing a checkpoint gives {"model_name", "checkpoint_path"}; a preset gives
    {"model_name", "checkpoint_path": None}. The numbering choice gives {"numbering": …}
    once ExplorerState has that field."""
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("controlPanel")
        self.setMinimumWidth(250)
        self._syncing = False

        self.model_combo = QtWidgets.QComboBox()
        for name in PRESET_NAMES:
            self.model_combo.addItem(name, None)
        self.image_size_spin = QtWidgets.QSpinBox()
        self.image_size_spin.setRange(MIN_IMAGE_SIZE, MAX_IMAGE_SIZE)
        self.image_size_spin.setSingleStep(16)
        self.image_size_spin.setValue(224)
        self.image_size_spin.setSuffix(" px")
        self.image_size_spin.setKeyboardTracking(False)
        self.keep_aspect_check = QtWidgets.QCheckBox("Keep aspect ratio")
        self.window_size_spin = QtWidgets.QSpinBox()
        self.window_size_spin.setRange(MIN_WINDOW_SIZE, MAX_WINDOW_SIZE)
        self.window_size_spin.setValue(7)
        self.window_size_spin.setKeyboardTracking(False)
        self.shift_check = QtWidgets.QCheckBox("Shifted windows (SW-MSA)")
        self.shift_check.setChecked(True)
        self.stage_spin = QtWidgets.QSpinBox()
        self.stage_spin.setRange(1, 4)
        self.block_spin = QtWidgets.QSpinBox()
        self.block_spin.setRange(1, 2)
        self.block_spin.setValue(2)
        self.head_spin = QtWidgets.QSpinBox()
        self.head_spin.setRange(1, 3)
        self.numbering_combo = QtWidgets.QComboBox()
        for value, text in NUMBERING_CHOICES:
            self.numbering_combo.addItem(text, value)
        self.query_label = QtWidgets.QLabel("row 0, col 0")
        self.window_label = QtWidgets.QLabel("0")
        self.info_label = QtWidgets.QLabel("")
        self.info_label.setObjectName("geometryInfo")
        self.info_label.setWordWrap(True)
        self.info_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)

        for widget, name in ((self.model_combo, "modelCombo"), (self.image_size_spin, "imageSizeSpin"),
                             (self.keep_aspect_check, "keepAspectCheck"),
                             (self.window_size_spin, "windowSizeSpin"), (self.shift_check, "shiftCheck"),
                             (self.stage_spin, "stageSpin"), (self.block_spin, "blockSpin"),
                             (self.head_spin, "headSpin"), (self.query_label, "queryLabel"),
                             (self.window_label, "windowLabel"), (self.numbering_combo, "numberingCombo")):
            widget.setObjectName(name)
            widget.setToolTip(TOOLTIPS[name])

        self.model_combo.currentIndexChanged.connect(self._on_model_chosen)
        self.image_size_spin.valueChanged.connect(lambda value: self._emit(img_size=value))
        self.keep_aspect_check.toggled.connect(lambda checked: self._emit(keep_aspect=bool(checked)))
        self.window_size_spin.valueChanged.connect(lambda value: self._emit(window_size=value))
        self.shift_check.toggled.connect(lambda checked: self._emit(shifted=bool(checked)))
        self.stage_spin.valueChanged.connect(lambda value: self._emit(stage=value - 1))
        self.block_spin.valueChanged.connect(lambda value: self._emit(block=value - 1))
        self.head_spin.valueChanged.connect(lambda value: self._emit(head=value - 1))
        self.numbering_combo.currentIndexChanged.connect(self._on_numbering_chosen)

        model_box = QtWidgets.QGroupBox("Model and input")
        model_form = QtWidgets.QFormLayout(model_box)
        model_form.addRow("Model", self.model_combo)
        model_form.addRow("Input size", self.image_size_spin)
        model_form.addRow(self.keep_aspect_check)
        model_form.addRow("Window M", self.window_size_spin)
        model_form.addRow(self.shift_check)
        where_box = QtWidgets.QGroupBox("Where to look")
        where_form = QtWidgets.QFormLayout(where_box)
        where_form.addRow("Stage", self.stage_spin)
        where_form.addRow("Block", self.block_spin)
        where_form.addRow("Head", self.head_spin)
        where_form.addRow("Query", self.query_label)
        where_form.addRow("Window", self.window_label)
        where_form.addRow("Region numbers", self.numbering_combo)
        info_box = QtWidgets.QGroupBox("Geometry")
        info_layout = QtWidgets.QVBoxLayout(info_box)
        info_layout.addWidget(self.info_label)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(model_box)
        layout.addWidget(where_box)
        layout.addWidget(info_box)
        layout.addStretch(1)

    # --- user -> intents ------------------------------------------------------------------

    def _emit(self, **changes: Any) -> None:
        if not self._syncing:
            self.changed.emit(changes)

    def _on_model_chosen(self, index: int) -> None:
        if index < 0:
            return
        path = self.model_combo.itemData(index)
        name = self.model_combo.itemText(index)
        self._emit(model_name=name, checkpoint_path=path or None)

    def _on_numbering_chosen(self, index: int) -> None:
        if index < 0 or self._syncing:
            return
        self._emit(numbering=str(self.numbering_combo.itemData(index)))

    def numbering(self) -> str:
        """The numbering chosen in the list."""
        return str(self.numbering_combo.currentData())

    def add_checkpoint(self, path: str, name: str) -> int:
        """List a loaded checkpoint (once); returns its index in the model list."""
        index = self.model_combo.findData(path)
        if index < 0:
            self.model_combo.addItem(name, path)
            index = self.model_combo.count() - 1
            self.model_combo.setItemData(index, path, QtCore.Qt.ItemDataRole.ToolTipRole)
        return index

    # --- state -> screen ------------------------------------------------------------------

    def show_state(self, resolved: ResolvedState, source_size: tuple[int, int] | None) -> str:
        """Show ``resolved`` (ranges follow the model and stage) without emitting ``changed``;
        returns the one-line patch summary for the status bar."""
        state, geometries, geometry = resolved.state, resolved.geometries, resolved.geometry
        self._syncing = True
        try:
            index = (self.model_combo.findData(state.checkpoint_path) if state.checkpoint_path
                     else self.model_combo.findText(state.model_name))
            if index >= 0:
                self.model_combo.setCurrentIndex(index)
            self.image_size_spin.setValue(state.img_size)
            self.keep_aspect_check.setChecked(state.keep_aspect)
            self.window_size_spin.setValue(state.window_size)
            self.shift_check.setChecked(state.shifted)
            self.stage_spin.setRange(1, len(geometries))
            self.stage_spin.setValue(state.stage + 1)
            self.block_spin.setRange(1, geometry.depth)
            self.block_spin.setValue(state.block + 1)
            self.head_spin.setRange(1, geometry.num_heads)
            self.head_spin.setValue(state.head + 1)
            self.query_label.setText(f"row {state.query[0]}, col {state.query[1]}")
            self.window_label.setText(f"{state.window} (of {geometry.num_windows} windows)")
            index = self.numbering_combo.findData(state.numbering)
            if index >= 0:
                self.numbering_combo.setCurrentIndex(index)
        finally:
            self._syncing = False
        patches, text = geometry_summary(resolved.config, state, geometries, source_size)
        self.info_label.setText(text)
        return patches
