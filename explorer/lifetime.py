"""A deterministic end for the explorer's Qt objects.

Every Qt object of the explorer has one C++ owner (a parent widget, a layout, a dock, a
scene or a parent item), so deleting a main window deletes everything it shows. What is
left is to delete the window itself, and its worker thread, while Python is still fully
alive: a C++ destructor that runs during interpreter finalisation may call back into a
half-dismantled Python.

Each :class:`~explorer.main_window.MainWindow` registers itself here. :func:`release`
stops its worker, closes its views and deletes it; the application calls it when its event
loop ends, and an ``atexit`` handler releases whatever a script left behind.
"""

from __future__ import annotations

import atexit
import weakref
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets
from shiboken6 import Shiboken

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["live_windows", "register", "release", "release_all"]

_windows: weakref.WeakSet[MainWindow] = weakref.WeakSet()
_hooked = False


def register(window: MainWindow) -> None:
    """Have ``window`` released at interpreter exit if nothing releases it sooner."""
    global _hooked
    _windows.add(window)
    if not _hooked:
        # registered after PySide's own exit handler, so it runs before that one
        atexit.register(release_all)
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
    worker = window.controller.worker
    stopped = not worker.isRunning()
    Shiboken.delete(window)
    if stopped and Shiboken.isValid(worker):
        Shiboken.delete(worker)
    _flush_deletions()
    return stopped


def release_all() -> bool:
    """Release every live window; False when a worker could not be stopped."""
    stopped = True
    for window in live_windows():
        stopped = release(window) and stopped
    return stopped


def _flush_deletions() -> None:
    app = QtWidgets.QApplication.instance()
    if app is not None:
        app.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
