"""The explorer's controller: owns the state and the image, talks to the model worker.

Every change is applied at once (``stateChanged`` fires synchronously, so geometry and cost
redraw immediately); changes that need a new model run restart a single-shot debounce timer,
and only when it fires is a request sent. Requests carry increasing ids; a result whose id
is not the newest is dropped.

Resizing and normalising the photo for a new input size (or a new photo) takes up to about
0.1 s at 1536 px, so it runs on a background thread unless it is quick
(:func:`prepares_quickly`). Meanwhile the views draw the new geometry over the previous
photo stretched to the new size, and no model run is sent until the new pixels are ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore

from .background import JobOutcome, NewestJobThread, Relay
from .inference import ModelCache
from .resolved import RUN_FIELDS, ResolvedState, resolve, settle
from .state import (
    CAPTURE_BUDGET_BYTES,
    ExplorerState,
    InferenceRequest,
    InferenceResult,
    aspect_shape,
    input_shape,
)
from .worker import ModelWorker, Runner

if TYPE_CHECKING:
    from PIL import Image

    from swin_model import SwinConfig
    from swin_model.preprocess import PreparedImage

__all__ = ["MODEL_FIELDS", "Controller", "prepares_quickly"]

MODEL_FIELDS = RUN_FIELDS
"""State fields whose change can need a new model run (see :data:`explorer.resolved.RUN_FIELDS`)."""

DEBOUNCE_MS = 150
QUICK_PREPARE_NS = 5_000_000
"""Preparations estimated to take less than this (5 ms) run on the GUI thread."""
_NS_PER_SOURCE_PIXEL = 5
_NS_PER_INPUT_PIXEL = 35
"""Measured cost of :func:`swin_model.preprocess.prepare` on a 2-core machine, with margin:
reading the source and writing the bicubic, normalised input."""


def prepares_quickly(source_size: tuple[int, int], shape: tuple[int, int]) -> bool:
    """Whether preparing a ``source_size`` (width, height) image as a ``shape`` (H, W) model
    input is quick enough for the GUI thread."""
    cost = _NS_PER_SOURCE_PIXEL * source_size[0] * source_size[1] + _NS_PER_INPUT_PIXEL * shape[0] * shape[1]
    return cost <= QUICK_PREPARE_NS


@dataclass(frozen=True, eq=False)
class _Preparation:
    """A photo being prepared in the background: ``image`` (named ``name``) as a ``shape`` =
    (H, W) input; ``new_image`` when it is a newly opened photo, not yet shown."""

    image: Image.Image
    name: str
    shape: tuple[int, int]
    new_image: bool


class Controller(QtCore.QObject):
    """State, image and model runs. Lives on the GUI thread.

    ``runner``, ``torch_threads`` and ``cache`` go to the :class:`ModelWorker`;
    ``debounce_ms`` is how long the controls must rest before a model run is sent."""

    stateChanged = QtCore.Signal(object, object)
    """(ResolvedState, PreparedImage or None), emitted synchronously on every change."""
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
    imageFailed = QtCore.Signal(str)
    """A message: the photo could not be prepared for the model (the current one stays)."""
    checkpointLoaded = QtCore.Signal(str, object)
    checkpointFailed = QtCore.Signal(str, str)

    def __init__(self, parent: QtCore.QObject | None = None, runner: Runner | None = None,
                 debounce_ms: int = DEBOUNCE_MS, torch_threads: int | None = None,
                 cache: ModelCache | None = None) -> None:
        super().__init__(parent)
        self._resolved = resolve(ExplorerState())
        self._image: Image.Image | None = None
        self._image_name = ""
        self._prepared: PreparedImage | None = None
        self._is_ready = False
        self._model_ready = False
        self._newest_id = 0
        self._busy = False
        self.dropped_results = 0
        self.capture_budget = CAPTURE_BUDGET_BYTES
        """Bytes a run may spend recording every block's attention (see InferenceRequest)."""
        self._last_result: InferenceResult | None = None
        self.checkpoints: dict[str, SwinConfig] = {}
        self._preparation: _Preparation | None = None
        self._run_when_prepared = False
        self._preparer_relay = Relay(self)
        self._preparer_relay.delivered.connect(self._on_prepared)
        self._preparer = NewestJobThread("image preparer", self._preparer_relay.delivered.emit)

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
        return self._resolved.state

    @property
    def resolved(self) -> ResolvedState:
        """The current state with everything derived from it."""
        return self._resolved

    @property
    def prepared(self) -> PreparedImage | None:
        return self._prepared

    @property
    def image(self) -> Image.Image | None:
        """The shown image as opened (before resizing), None before the first."""
        return self._image

    @property
    def image_name(self) -> str:
        return self._image_name

    @property
    def preparing(self) -> bool:
        """The photo is being resized for the current input size (or a new photo for the
        view) in the background; ``stateChanged`` follows with the new pixels."""
        return self._preparation is not None

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
        return self._resolved.config if state is None else resolve(state).config

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread; ``ready`` follows once the geometry code is loaded and
        ``modelReady`` once torch is."""
        if not self.worker.isRunning():
            self.worker.start()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop the debounce timer and the worker; True when the thread has finished."""
        self._debounce.stop()
        self._preparer.close()
        self._preparation = None
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
        """Show ``image`` (a PIL image) at the current input size and run the model on it.
        With ``keep_aspect`` the input takes the image's aspect ratio. A large image is
        prepared in the background: the current one stays until then, and ``imageChanged``
        follows when the new one is shown."""
        if self._prepare(image, name, self._shaped(self.state, image), new_image=True):
            self._show_image(image, name)

    def _show_image(self, image: Image.Image, name: str) -> None:
        """Make ``image``, now prepared (``self._prepared``), the shown image."""
        self._image, self._image_name = image, name
        self._last_result = None
        state = self._shaped(self.state, image)
        if state != self.state:
            self._resolved = settle(self.state, state)
        self.imageChanged.emit(name)
        self.stateChanged.emit(self._resolved, self._prepared)
        self.schedule_run()

    @staticmethod
    def _shaped(state: ExplorerState, image: Image.Image | None) -> ExplorerState:
        """``state`` with the input shape that ``keep_aspect`` asks for on ``image``: the
        image's aspect ratio with the longer side ``img_size``. Unchanged without
        ``keep_aspect`` (or an image)."""
        if not state.keep_aspect or image is None:
            return state
        shape = aspect_shape(image.size, state.img_size)
        return state.replace(img_shape=None if shape[0] == shape[1] else shape)

    def _prepare(self, image: Image.Image, name: str, state: ExplorerState, new_image: bool) -> bool:
        """Prepare ``image`` for ``state``'s input shape into ``self._prepared``. True when
        done at once (quick, or already prepared); otherwise it runs in the background and
        :meth:`_on_prepared` finishes the change (a newer preparation replaces it)."""
        from swin_model.preprocess import prepare

        shape = input_shape(state)
        if not new_image and self._prepared is not None and self._prepared.shape == shape:
            self._preparation = None
            return True
        if prepares_quickly(image.size, shape):
            self._preparation = None
            self._prepared = prepare(image, shape)
            return True
        self._preparation = _Preparation(image, name, shape, new_image)
        self._preparer.submit(self._preparation, partial(prepare, image, shape))
        return False

    @QtCore.Slot(object)
    def _on_prepared(self, outcome: JobOutcome) -> None:
        preparation: _Preparation = outcome.tag
        if preparation is not self._preparation:
            return  # superseded by a newer image or input size
        self._preparation = None
        if outcome.error is not None:
            reason = f"{type(outcome.error).__name__}: {outcome.error}"
            self.imageFailed.emit(f"Could not prepare {preparation.name} for the model: {reason}. "
                                  "The current image is kept.")
            return
        wanted = self._shaped(self.state, preparation.image)
        if input_shape(wanted) != preparation.shape:  # the input size changed meanwhile
            if self._prepare(preparation.image, preparation.name, wanted, preparation.new_image):
                self._finish_preparation(preparation)
            return
        self._prepared = outcome.value
        self._finish_preparation(preparation)

    def _finish_preparation(self, preparation: _Preparation) -> None:
        if preparation.new_image:
            self._show_image(preparation.image, preparation.name)
            return
        self.stateChanged.emit(self._resolved, self._prepared)
        if self._run_when_prepared:
            self._run_when_prepared = False
            self.schedule_run()

    @QtCore.Slot(dict)
    def update_from_controls(self, changes: dict[str, Any]) -> ExplorerState:
        """Apply what the control panel or a click in a figure asked for (``changes`` holds
        ExplorerState fields). Choosing a loaded checkpoint brings its
        own layout, name and trained window size (M can change afterwards: the bias tables
        are then resized as the official code does)."""
        changes = dict(changes)
        if "checkpoint_path" in changes:
            path = changes["checkpoint_path"]
            config = self.checkpoints.get(path) if path else None
            changes["checkpoint_config"] = config
            if config is not None:
                changes["window_size"] = config.window_size
                changes["model_name"] = Path(path).name
        return self.update(**changes)

    def update(self, **changes: Any) -> ExplorerState:
        """Apply ``changes`` to the state (kept consistent: see :func:`explorer.resolved.settle`),
        redraw at once, and schedule a model run if needed."""
        old = self._resolved
        requested = old.state.replace(**changes)
        if "img_shape" in changes:  # an explicit input shape: its longer side is the size
            shape = changes["img_shape"]
            requested = requested.replace(img_size=max(shape)) if shape is not None else requested
        elif requested.keep_aspect:
            requested = self._shaped(requested, self._image)
        elif "img_size" in changes or "keep_aspect" in changes:
            requested = requested.replace(img_shape=None)  # N from the spin box: N × N
        resolved = settle(old.state, requested)
        if resolved.state == old.state:
            return resolved.state
        self._resolved = resolved
        new_image_pending = self._preparation is not None and self._preparation.new_image
        if self._image is not None and not new_image_pending:
            self._prepare(self._image, self._image_name, resolved.state, new_image=False)
        self.stateChanged.emit(resolved, self._prepared)
        block_unrecorded = (resolved.capture_key != old.capture_key and not self._debounce.isActive()
                            and not self._show_captured())
        if resolved.model_key != old.model_key or block_unrecorded:
            self.schedule_run()
        return resolved.state

    def _show_captured(self) -> bool:
        """Show what the last run recorded for the current block; False when it did not
        record that block (or no run has answered yet)."""
        if self._last_result is None or self._busy:
            return self._busy
        shown = self._last_result.for_state(self.state)
        if shown is None:
            return False
        self.resultReady.emit(shown)
        return True

    def refresh(self) -> None:
        """Redraw everything for the current state."""
        self.stateChanged.emit(self._resolved, self._prepared)

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
        if self._preparation is not None:  # the pixels for this input are not ready yet
            self._run_when_prepared = True
            return None
        if self._prepared.shape != self._resolved.image_shape:
            return None  # preparing them failed: nothing to run on
        self._newest_id += 1
        state = self.state
        request = InferenceRequest(request_id=self._newest_id, state=state,
                                   pixels=self._prepared.pixels, capture=(state.stage, state.block),
                                   capture_budget=self.capture_budget)
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
        self._last_result = None if result.error else result
        if result.error:
            self.resultReady.emit(result)
        elif not self._show_captured():
            self.schedule_run()  # the user moved on to a block this run did not record
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
