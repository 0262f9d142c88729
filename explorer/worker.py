"""The background thread that imports torch and runs the model.

The GUI thread never runs the model. It hands the worker immutable requests; the worker
keeps only the newest one waiting, abandons a run as soon as a newer request arrives, and
sends back an :class:`~explorer.state.InferenceResult` through a queued signal. Connect the
signals to methods of objects that live on the GUI thread: a lambda connected here would
run in the worker thread.

Whatever a run raises (KeyboardInterrupt and SystemExit included) comes back as an error
result, and the worker goes on. A started worker is kept referenced here until its thread
has finished (:func:`unfinished_workers`): deleting a running QThread aborts the process,
and a worker stuck in a long C call must not take Python down with its window.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from PySide6 import QtCore
from shiboken6 import Shiboken

from .inference import ModelCache, RunCancelled, run_inference
from .state import InferenceRequest, InferenceResult

__all__ = [
    "GEOMETRY_MODULES",
    "MODEL_MODULES",
    "ModelWorker",
    "Runner",
    "default_torch_threads",
    "unfinished_workers",
]

_started: set[ModelWorker] = set()
"""Every worker whose thread was started and has not been seen finished."""


def unfinished_workers() -> list[ModelWorker]:
    """The started workers whose thread has not finished yet. Finished ones are forgotten
    (and, unless referenced elsewhere, deleted): call this on the GUI thread."""
    for worker in list(_started):
        if not Shiboken.isValid(worker) or worker.isFinished():
            _started.discard(worker)
    return list(_started)


def default_torch_threads() -> int:
    """Intra-op threads for model runs: one core is left to the GUI thread, at most two
    are used (on 2 cores: 1 thread, which also avoids the slowdown of several threads
    competing for busy cores)."""
    return max(1, min(2, (os.cpu_count() or 2) - 1))


Runner = Callable[[InferenceRequest, ModelCache, Callable[[], bool]], InferenceResult]
"""What runs one request: ``runner(request, cache, cancelled) -> result``."""

GEOMETRY_MODULES: tuple[str, ...] = (
    "swin_model", "swin_model.windows", "swin_model.flops", "swin_model.preprocess", "pyqtgraph",
    "explorer.figures",
)
"""What the figure views need: imported first, then ``geometryReady`` is sent. (No QObject is
created at import time by these modules, so importing them off the GUI thread is safe.)"""
MODEL_MODULES: tuple[str, ...] = (
    "torch", "swin_model.model", "swin_model.capture", "swin_model.checkpoint",
)
"""What the model runs need: imported next, then ``ready`` is sent and requests are run."""


def _default_runner(request: InferenceRequest, cache: ModelCache,
                    cancelled: Callable[[], bool]) -> InferenceResult:
    return run_inference(request, cache, cancelled)


class ModelWorker(QtCore.QThread):
    """Runs model requests one at a time, newest first, in its own thread.

    ``torch_threads`` sets the intra-op threads of the model runs (None:
    :func:`default_torch_threads`; 0: leave torch's own default). ``cache`` keeps built
    models (a new one by default); only this thread uses it while the worker runs.
    """

    geometryReady = QtCore.Signal()
    """The geometry, preprocessing and view code is loaded (GEOMETRY_MODULES); torch may not be."""
    ready = QtCore.Signal()
    """torch and the model code are loaded (MODEL_MODULES); requests are run from now on."""
    startupFailed = QtCore.Signal(str)
    resultReady = QtCore.Signal(object)
    """An InferenceResult; every run that was not abandoned for a newer request sends one."""
    checkpointLoaded = QtCore.Signal(str, object)
    """(path, SwinConfig) of a checkpoint read by :meth:`load_checkpoint`."""
    checkpointFailed = QtCore.Signal(str, str)
    """(path, message)."""

    def __init__(self, parent: QtCore.QObject | None = None, runner: Runner | None = None,
                 torch_threads: int | None = None, cache: ModelCache | None = None,
                 geometry_modules: Sequence[str] = GEOMETRY_MODULES,
                 model_modules: Sequence[str] = MODEL_MODULES) -> None:
        super().__init__(parent)
        self._runner: Runner = runner or _default_runner
        self._torch_threads = default_torch_threads() if torch_threads is None else torch_threads
        self._geometry_modules = tuple(geometry_modules)
        self._model_modules = tuple(model_modules)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: InferenceRequest | None = None
        self._checkpoints: deque[str] = deque()
        self._abort = False
        self._stop_deadline: float | None = None
        self._running_id: int | None = None
        self.cache = ModelCache() if cache is None else cache

    # --- called from the GUI thread -------------------------------------------------------

    def start(self, priority: QtCore.QThread.Priority = QtCore.QThread.Priority.InheritPriority) -> None:
        """Start the thread; it stays referenced (:func:`unfinished_workers`) until it ends."""
        unfinished_workers()
        _started.add(self)
        super().start(priority)

    def submit(self, request: InferenceRequest) -> None:
        """Queue ``request``, replacing any request still waiting; a run in progress for an
        older request is abandoned at its next module boundary."""
        with self._lock:
            self._pending = request
            self._wake.notify()

    def load_checkpoint(self, path: str) -> None:
        """Read a checkpoint in the worker; answers with checkpointLoaded or checkpointFailed."""
        with self._lock:
            self._checkpoints.append(path)
            self._wake.notify()

    def stop(self) -> None:
        """Ask the thread to finish: the current run stops at its next module boundary.
        Safe from any thread."""
        with self._lock:
            self._abort = True
            self._pending = None
            self._checkpoints.clear()
            self._wake.notify()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop and wait at most ``timeout_ms`` after the first request to stop (so repeated
        calls on a stuck worker do not wait again); True when the thread has finished."""
        self.stop()
        if not self.isRunning():
            return True
        now = time.monotonic()
        if self._stop_deadline is None:
            self._stop_deadline = now + timeout_ms / 1000
        remaining = max(0, min(timeout_ms, round((self._stop_deadline - now) * 1000)))
        return self.wait(QtCore.QDeadlineTimer(remaining))

    @property
    def running_request(self) -> int | None:
        """The id of the request being run, if any."""
        return self._running_id

    # --- the thread -----------------------------------------------------------------------

    def run(self) -> None:
        try:
            for name in self._geometry_modules:
                importlib.import_module(name)
            if self._abort:
                return
            self.geometryReady.emit()
            for name in self._model_modules:
                importlib.import_module(name)
            if self._torch_threads > 0:
                import torch

                torch.set_num_threads(self._torch_threads)
        except BaseException as error:  # a broken installation: tell the window, then stop
            self.startupFailed.emit(f"{type(error).__name__}: {error}")
            return
        if self._abort:
            return
        self.ready.emit()
        while True:
            with self._lock:
                while not self._abort and self._pending is None and not self._checkpoints:
                    self._wake.wait()
                if self._abort:
                    return
                checkpoint = self._checkpoints.popleft() if self._checkpoints else None
                request = None
                if checkpoint is None:
                    request, self._pending = self._pending, None
            if checkpoint is not None:
                self._read_checkpoint(checkpoint)
            elif request is not None:
                self._run(request)

    def _superseded(self, request_id: int) -> Callable[[], bool]:
        def cancelled() -> bool:
            pending = self._pending
            return self._abort or (pending is not None and pending.request_id != request_id)
        return cancelled

    def _run(self, request: InferenceRequest) -> None:
        self._running_id = request.request_id
        try:
            result = self._runner(request, self.cache, self._superseded(request.request_id))
        except RunCancelled:
            return
        except BaseException as error:  # the runner should not raise; if it does, say so and go on
            text = str(error).strip()
            result = InferenceResult(request_id=request.request_id, state=request.state,
                                     error=f"The model run failed. {type(error).__name__}"
                                           + (f": {text}" if text else ""))
        finally:
            self._running_id = None
        if not self._abort:
            self.resultReady.emit(result)

    def _read_checkpoint(self, path: str) -> None:
        try:
            from swin_model.checkpoint import load_checkpoint

            model: Any = load_checkpoint(path)
        except BaseException as error:  # KeyboardInterrupt too: report it, keep the worker
            text = str(error).strip() or type(error).__name__
            self.checkpointFailed.emit(path, text)
            return
        self.cache.add_checkpoint(path, model)
        self.checkpointLoaded.emit(path, model.config)
