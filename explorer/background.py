"""One background thread that runs the newest job it is given, and only that one.

Opening a file or changing the input size several times in a row must not queue work:
only the last request matters. :class:`NewestJobThread` keeps at most one waiting job (a
newer one replaces it), runs it on a daemon thread (work stuck in C code cannot keep the
process alive) and hands the outcome to ``deliver`` from that thread. The caller turns that
into a queued signal to the GUI thread (see :class:`Relay`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6 import QtCore

__all__ = ["JobOutcome", "NewestJobThread", "Relay"]


@dataclass(frozen=True)
class JobOutcome:
    """What a job gave: its ``tag`` (whatever the caller submitted with it), its ``value``,
    or the ``error`` it raised (any exception: a MemoryError or a library bug is reported,
    not lost)."""

    tag: Any
    value: Any = None
    error: BaseException | None = None


class Relay(QtCore.QObject):
    """Carries outcomes from a background thread to the thread this object lives in (the GUI
    thread): connect ``delivered`` to a method of a GUI-thread object, pass ``delivered.emit``
    as the ``deliver`` of a :class:`NewestJobThread`."""

    delivered = QtCore.Signal(object)


class NewestJobThread:
    """A daemon thread named ``name`` that runs submitted jobs, the newest first: a job not yet
    started is dropped when a newer one arrives. ``deliver`` is called from the thread, under
    the lock that :meth:`close` takes, so nothing is delivered once close() has returned."""

    def __init__(self, name: str, deliver: Callable[[JobOutcome], None]) -> None:
        self._name = name
        self._deliver = deliver
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._next: tuple[Any, Callable[[], Any]] | None = None
        self._running = False
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        """A job waits or runs (once False, its outcome has been delivered)."""
        with self._lock:
            return self._running or self._next is not None

    def submit(self, tag: Any, job: Callable[[], Any]) -> None:
        """Run ``job()`` in the background (replacing a job still waiting); its outcome is
        delivered with ``tag``."""
        with self._lock:
            if self._closed:
                return
            self._next = (tag, job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._wake.notify()

    def close(self) -> None:
        """Stop: the job running is dropped, nothing more is delivered."""
        with self._lock:
            self._closed = True
            self._next = None
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._closed and self._next is None:
                    self._wake.wait()
                if self._closed or self._next is None:
                    return
                (tag, job), self._next = self._next, None
                self._running = True
            try:
                outcome = JobOutcome(tag, value=job())
            except BaseException as error:  # a MemoryError, a library bug: deliver it, go on
                outcome = JobOutcome(tag, error=error)
            with self._lock:
                self._running = False
                if self._closed:
                    return
                self._deliver(outcome)
