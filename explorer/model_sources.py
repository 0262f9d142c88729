"""Where models come from besides the presets: checkpoint files and downloaded weights.

:class:`ModelSources` reads a checkpoint in the worker and adds it to the model list when it
loads, and lists the pretrained weights downloaded earlier (their layout comes from the
catalogue; a file is read and checked only when it is first used).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

if TYPE_CHECKING:
    from swin_model import SwinConfig

    from .control_panel import ControlPanel
    from .controller import Controller

__all__ = ["CHECKPOINT_FILTER", "ModelSources"]

CHECKPOINT_FILTER = "Checkpoints (*.pth *.pt *.bin *.safetensors);;All files (*)"


class ModelSources(QtCore.QObject):
    """Checkpoints and downloaded weights for ``controller``, listed in ``controls``."""

    status = QtCore.Signal(str, int)
    """A message for the status bar and how long it stays (ms; 0 until replaced)."""
    failed = QtCore.Signal(str)
    """A message for the user: what could not be loaded or listed."""
    finished = QtCore.Signal()
    """A checkpoint finished loading, or failed to."""

    def __init__(self, controller: Controller, controls: ControlPanel, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self._controller = controller
        self._controls = controls
        self._dialog_parent = parent
        controller.checkpointLoaded.connect(self._on_loaded)
        controller.checkpointFailed.connect(self._on_failed)

    def choose_checkpoint(self) -> None:
        """Ask for a checkpoint file with a dialog and load it."""
        path, _filter = QtWidgets.QFileDialog.getOpenFileName(self._dialog_parent, "Load checkpoint", "",
                                                              CHECKPOINT_FILTER)
        if path:
            self.load_checkpoint(path)

    def load_checkpoint(self, path: str | Path) -> None:
        """Read a checkpoint in the worker; it joins the model list when it loads."""
        path = str(Path(path).resolve())
        self.status.emit(f"Loading checkpoint {Path(path).name}…", 0)
        self._controller.load_checkpoint(path)

    def list_downloaded_weights(self) -> None:
        """Add the pretrained weights downloaded earlier to the model list."""
        from swin_model.weights import cached_checkpoints, load_catalogue

        try:
            catalogue = load_catalogue()
            cached = cached_checkpoints(catalogue)
        except (OSError, ValueError) as error:
            self.failed.emit(f"The downloaded weights could not be listed: {error}")
            return
        for path in cached:
            key = str(path.resolve())
            self._controller.checkpoints[key] = catalogue.entry(path.stem).config
            self._controls.add_checkpoint(key, path.name)

    @QtCore.Slot(str, object)
    def _on_loaded(self, path: str, config: SwinConfig) -> None:
        self.finished.emit()
        index = self._controls.add_checkpoint(path, Path(path).name)
        heads = "ImageNet-1k head" if config.num_classes == 1000 else f"{config.num_classes} classes"
        self.status.emit(f"Loaded {Path(path).name}: embed_dim {config.embed_dim}, depths "
                         f"{list(config.depths)}, M = {config.window_size}, {heads}", 8000)
        self._controls.model_combo.setCurrentIndex(index)

    @QtCore.Slot(str, str)
    def _on_failed(self, path: str, message: str) -> None:
        self.finished.emit()
        self.failed.emit(f"Could not load the checkpoint {Path(path).name}: {message}")
