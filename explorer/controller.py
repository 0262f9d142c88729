"""The explorer's controller: owns the state and the image, talks to the model worker.

Every change is applied at once (``stateChanged`` fires synchronously, so geometry and cost
redraw immediately); changes that need a new model run restart a single-shot debounce timer,
and only when it fires is a request sent. Requests carry increasing ids; a result whose id
is not the newest is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore

from .inference import ModelCache
from .state import ExplorerState, InferenceRequest, InferenceResult, model_config, window_index
from .worker import ModelWorker, Runner

if TYPE_CHECKING:
    from PIL import Image

    from swin_model import SwinConfig
    from swin_model.preprocess import PreparedImage

__all__ = ["MODEL_FIELDS", "Controller", "ModelChoice"]

MODEL_FIELDS = ("model_name", "img_size", "window_size", "shifted", "stage", "block",
                "checkpoint_path", "checkpoint_config")
"""State fields whose change needs a new model run (head, window and query do not: the
captured block's attention holds every head, window and query)."""

DEBOUNCE_MS = 150


@dataclass(frozen=True)
class ModelChoice:
    """An entry of the model list: a preset, or a loaded checkpoint with its config."""

    name: str
    checkpoint_path: str | None = None
    config: Any = None


class Controller(QtCore.QObject):
    """State, image and model runs. Lives on the GUI thread.

    ``runner``, ``torch_threads`` and ``cache`` go to the :class:`ModelWorker`;
    ``debounce_ms`` is how long the controls must rest before a model run is sent."""

    stateChanged = QtCore.Signal(object, object)
    """(ExplorerState, PreparedImage or None), emitted synchronously on every change."""
    resultReady = QtCore.Signal(object)
    """The newest request's InferenceResult (also when it carries an error)."""
    busyChanged = QtCore.Signal(bool)
    ready = QtCore.Signal()
    """The geometry and view code is loaded: images can be opened and the views drawn.
    Model runs requested from now on start once torch has loaded (``modelReady``)."""
    modelReady = QtCore.Signal()
    """torch and the model code are loaded."""
    startupFailed = QtCore.Signal(str)
    imageChanged = QtCore.Signal(str)
    """The source name (path or "pasted image") of a newly shown image."""
    checkpointLoaded = QtCore.Signal(str, object)
    checkpointFailed = QtCore.Signal(str, str)

    def __init__(self, parent: QtCore.QObject | None = None, runner: Runner | None = None,
                 debounce_ms: int = DEBOUNCE_MS, torch_threads: int | None = None,
                 cache: ModelCache | None = None) -> None:
        super().__init__(parent)
        self._state = ExplorerState()
        self._image: Image.Image | None = None
        self._image_name = ""
        self._prepared: PreparedImage | None = None
        self._is_ready = False
        self._model_ready = False
        self._newest_id = 0
        self._busy = False
        self.dropped_results = 0
        self.checkpoints: dict[str, SwinConfig] = {}

        self._debounce = QtCore.QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self.run_now)

        self.worker = ModelWorker(None, runner=runner, torch_threads=torch_threads, cache=cache)
        self.worker.geometryReady.connect(self._on_geometry_ready)
        self.worker.ready.connect(self._on_model_ready)
        self.worker.startupFailed.connect(self._on_startup_failed)
        self.worker.resultReady.connect(self._on_result)
        self.worker.checkpointLoaded.connect(self._on_checkpoint_loaded)
        self.worker.checkpointFailed.connect(self._on_checkpoint_failed)

    # --- reading ------------------------------------------------------------------------

    @property
    def state(self) -> ExplorerState:
        return self._state

    @property
    def prepared(self) -> PreparedImage | None:
        return self._prepared

    @property
    def image_name(self) -> str:
        return self._image_name

    @property
    def is_ready(self) -> bool:
        """The geometry code is loaded (views can be drawn, requests queued)."""
        return self._is_ready

    @property
    def model_ready(self) -> bool:
        """torch is loaded and the worker runs requests."""
        return self._model_ready

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def newest_request_id(self) -> int:
        return self._newest_id

    def config(self, state: ExplorerState | None = None) -> SwinConfig:
        """The model configuration of ``state`` (the current state by default)."""
        return model_config(self._state if state is None else state)

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread; ``ready`` follows once the geometry code is loaded and
        ``modelReady`` once torch is."""
        if not self.worker.isRunning():
            self.worker.start()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop the debounce timer and the worker; True when the thread has finished."""
        self._debounce.stop()
        finished = self.worker.shutdown(timeout_ms)
        self._set_busy(False)
        return finished

    @QtCore.Slot()
    def _on_geometry_ready(self) -> None:
        self._is_ready = True
        self.ready.emit()

    @QtCore.Slot()
    def _on_model_ready(self) -> None:
        self._model_ready = True
        self.modelReady.emit()

    @QtCore.Slot(str)
    def _on_startup_failed(self, message: str) -> None:
        self.startupFailed.emit(message)

    # --- changing -------------------------------------------------------------------------

    def set_image(self, image: Image.Image, name: str) -> None:
        """Show ``image`` (a PIL image) at the current input size and run the model on it."""
        from swin_model.preprocess import prepare

        prepared = prepare(image, self._state.img_size)
        self._image, self._image_name, self._prepared = image, name, prepared
        self.imageChanged.emit(name)
        self.stateChanged.emit(self._state, self._prepared)
        self.schedule_run()

    def update(self, **changes: Any) -> ExplorerState:
        """Apply ``changes`` to the state (kept consistent: block, head, window and query are
        clamped to the stage), redraw at once, and schedule a model run if needed."""
        old = self._state
        state = self._consistent(old, old.replace(**changes))
        if state == old:
            return state
        self._state = state
        if state.img_size != old.img_size and self._image is not None:
            from swin_model.preprocess import prepare

            self._prepared = prepare(self._image, state.img_size)
        self.stateChanged.emit(self._state, self._prepared)
        if any(getattr(state, name) != getattr(old, name) for name in MODEL_FIELDS):
            self.schedule_run()
        return state

    def _consistent(self, old: ExplorerState, state: ExplorerState) -> ExplorerState:
        if not self._is_ready:
            return state
        from swin_model.windows import stage_geometry

        geometries = stage_geometry(self.config(state), state.img_size, state.img_size)
        stage = min(max(state.stage, 0), len(geometries) - 1)
        geometry = geometries[stage]
        query = state.query
        if state.query == old.query and (stage != old.stage or state.img_size != old.img_size):
            # follow the same image point to the new grid (each merge halves it)
            factor = 2.0 ** (old.stage - stage) * state.img_size / old.img_size
            query = (int(query[0] * factor), int(query[1] * factor))
        # a new grid of windows starts on the bottom-right one, where a shift's regions meet
        same_grid = (stage, state.img_size, state.window_size) == (old.stage, old.img_size, old.window_size)
        row = min(max(query[0], 0), geometry.height - 1)
        col = min(max(query[1], 0), geometry.width - 1)
        return state.replace(
            stage=stage,
            block=min(max(state.block, 0), geometry.depth - 1),
            head=min(max(state.head, 0), geometry.num_heads - 1),
            window=window_index(state.window if same_grid else -1, geometry.num_windows),
            query=(row, col),
        )

    def refresh(self) -> None:
        """Re-apply the state (after ready: clamps it) and redraw everything."""
        self._state = self._consistent(self._state, self._state)
        self.stateChanged.emit(self._state, self._prepared)

    # --- model runs ---------------------------------------------------------------------

    def schedule_run(self) -> None:
        """(Re)start the debounce timer; the run starts when the controls stay still."""
        self._debounce.start()

    @QtCore.Slot()
    def run_now(self) -> int | None:
        """Send a request for the current state at once; returns its id (None when there is
        nothing to run yet)."""
        self._debounce.stop()
        if not self._is_ready or self._prepared is None:
            return None
        self._newest_id += 1
        request = InferenceRequest(request_id=self._newest_id, state=self._state,
                                   pixels=self._prepared.pixels,
                                   capture=(self._state.stage, self._state.block))
        self._set_busy(True)
        self.worker.submit(request)
        return self._newest_id

    @QtCore.Slot(object)
    def _on_result(self, result: InferenceResult) -> None:
        self.accept_result(result)

    def accept_result(self, result: InferenceResult) -> bool:
        """Pass on ``result`` if it answers the newest request; drop it otherwise."""
        if result.request_id != self._newest_id:
            self.dropped_results += 1
            return False
        self._set_busy(False)
        self.resultReady.emit(result)
        return True

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    # --- checkpoints ----------------------------------------------------------------------

    def load_checkpoint(self, path: str) -> None:
        """Read ``path`` in the worker; checkpointLoaded or checkpointFailed follows."""
        self.worker.load_checkpoint(path)

    @QtCore.Slot(str, object)
    def _on_checkpoint_loaded(self, path: str, config: SwinConfig) -> None:
        self.checkpoints[path] = config
        self.checkpointLoaded.emit(path, config)

    @QtCore.Slot(str, str)
    def _on_checkpoint_failed(self, path: str, message: str) -> None:
        self.checkpointFailed.emit(path, message)
