"""A deterministic end for the explorer's Qt objects.

Every Qt object of the explorer has one C++ owner (a parent widget, a layout, a dock, a
scene or a parent item), so deleting a main window deletes everything it shows. What is
left is to delete the window itself, and its worker thread, while Python is still fully
alive: a C++ destructor that runs during interpreter finalisation may call back into a
half-dismantled Python.

Each :class:`~explorer.main_window.MainWindow` registers itself here. :func:`release`
stops its worker, closes its views and deletes it; the application calls it when its event
loop ends, and an ``atexit`` handler releases whatever a script left behind.

A window deleted any other way (``deleteLater``, ``Shiboken.delete``, its last reference
dropped) stops its worker through its ``destroyed`` signal. The worker thread itself is
never deleted while it runs: :mod:`explorer.worker` keeps every started worker until its
thread has finished. A worker stuck in a long C call (an import, one huge operation) may
outlive every window; at exit the process then leaves with ``os._exit`` without running
the finalisers that would delete the running thread (which aborts the process).
"""

from __future__ import annotations

import atexit
import os
import sys
import weakref
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets
from shiboken6 import Shiboken

if TYPE_CHECKING:
    from .main_window import MainWindow

from .worker import unfinished_workers

__all__ = ["STOP_WAIT_MS", "live_windows", "register", "release", "release_all"]

STOP_WAIT_MS = 5000
"""How long :func:`release_all` waits, at most, for a worker to stop."""

_windows: weakref.WeakSet[MainWindow] = weakref.WeakSet()
_hooked = False


def register(window: MainWindow) -> None:
    """Have ``window`` released at interpreter exit if nothing releases it sooner."""
    global _hooked
    _windows.add(window)
    # a window deleted without release() still stops its worker (stop() only sets flags)
    window.destroyed.connect(window.controller.worker.stop)
    if not _hooked:
        # registered after PySide's own exit handler, so it runs before that one
        atexit.register(_release_at_exit)
        _hooked = True


def live_windows() -> list[MainWindow]:
    """The registered windows whose C++ object still exists."""
    return [window for window in list(_windows) if Shiboken.isValid(window)]


def release(window: MainWindow) -> bool:
    """Stop ``window``'s worker, close its views and delete it and the worker now.

    Returns False when the worker is stuck in a long C call and could not be stopped;
    the thread object is then left alone (deleting a running QThread aborts the process)
    and the caller should leave without Python's finalisers (``os._exit``)."""
    if not Shiboken.isValid(window):
        return True
    _windows.discard(window)
    window.dispose()
    window.image_sources.close()
    worker = window.controller.worker
    stopped = not worker.isRunning()
    Shiboken.delete(window)
    if stopped and Shiboken.isValid(worker):
        Shiboken.delete(worker)
    _flush_deletions()
    return stopped


def release_all() -> bool:
    """Release every live window, then stop every worker that outlived its window (waiting
    at most STOP_WAIT_MS after a worker was first asked to stop); False when a worker is
    still running."""
    stopped = True
    for window in live_windows():
        stopped = release(window) and stopped
    for worker in unfinished_workers():
        if worker.shutdown(STOP_WAIT_MS):
            Shiboken.delete(worker)
        else:
            stopped = False
    unfinished_workers()
    return stopped


def _release_at_exit() -> None:
    """The ``atexit`` handler: release what is left; if a worker is stuck, leave now (the
    remaining clean-up would delete its running thread, which aborts). The status is 1 when
    Python reported an uncaught exception, else 0."""
    if release_all():
        return
    failed = getattr(sys, "last_type", None)
    status = 1 if failed is not None and not issubclass(failed, SystemExit) else 0
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _flush_deletions() -> None:
    app = QtWidgets.QApplication.instance()
    if app is not None:
        app.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
