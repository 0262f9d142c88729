"""Start the explorer window: ``python main.py [IMAGE]``.

The window is shown before torch is imported (the worker thread imports it), so it appears
quickly; the figures fill in once the model code has loaded.

Ctrl-C in the terminal closes the window as its close button does (the settings are saved,
the worker stopped) and the process exits with status 130.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6 import QtWidgets

__all__ = ["EXIT_AFTER_SHOW_ENV", "EXIT_INTERRUPTED", "REPORT_SHOWN_ENV", "build_parser", "main"]

EXIT_AFTER_SHOW_ENV = "SWIN_EXPLORER_EXIT_AFTER_SHOW"
"""When set to 1, print ``shown_at <epoch seconds>`` once the window is on screen and quit
(used by benchmarks/bench_gui.py to time start-up)."""
REPORT_SHOWN_ENV = "SWIN_EXPLORER_REPORT_SHOWN"
"""When set to 1, print ``shown`` once the window is on screen and Ctrl-C is handled, and
keep running (tests wait for it before they send SIGINT)."""
EXIT_INTERRUPTED = 130
"""The exit status after Ctrl-C (128 + SIGINT), as the command line uses."""
SIGNAL_POLL_MS = 200
"""While Qt's event loop waits in C++, Python runs no signal handler; a timer this often
calls into Python so that Ctrl-C is noticed."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py",
        description="Open the Swin Explorer window (on a bundled photo without IMAGE).")
    parser.add_argument("image", nargs="?", help="an image file to open")
    parser.add_argument("--settings", metavar="FILE",
                        help="keep settings in this INI file instead of the user's settings")
    parser.add_argument("--torch-threads", type=int, default=None, metavar="N",
                        help="intra-op threads for the model runs (default: one core less than "
                             "the machine has, at most 2; 0: torch's own default)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the explorer until its window closes; returns the exit status."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.torch_threads is not None and args.torch_threads < 0:
        print("--torch-threads must be >= 0", file=sys.stderr)
        return 2
    from PySide6 import QtCore, QtWidgets

    from . import lifetime
    from . import settings as app_settings
    from .main_window import MainWindow

    QtCore.QCoreApplication.setOrganizationName(app_settings.ORGANISATION)
    QtCore.QCoreApplication.setApplicationName(app_settings.APPLICATION)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = MainWindow(args.image, settings=args.settings, torch_threads=args.torch_threads)
    window.controller.modelReady.connect(freeze_startup_objects)
    window.show()
    if os.environ.get(EXIT_AFTER_SHOW_ENV) == "1":
        def report_shown() -> None:
            print(f"shown_at {time.time():.6f}", flush=True)
            window.close()

        QtCore.QTimer.singleShot(0, report_shown)
    with _CloseOnInterrupt(window) as interrupt:
        if os.environ.get(REPORT_SHOWN_ENV) == "1":
            QtCore.QTimer.singleShot(0, lambda: print("shown", flush=True))
        status = app.exec()
    if interrupt.requested:
        status = EXIT_INTERRUPTED
    if not lifetime.release(window):
        # the worker is stuck in a long C call (an import or one huge operation) beyond the
        # bounded wait: leave without running Python finalisers that would race it
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def freeze_startup_objects() -> None:
    """Keep the objects that live as long as the program (modules, torch, the window) out of
    later garbage collections: a full collection over them takes 0.1-0.2 s, which would
    stall the window at a random moment."""
    gc.freeze()


class _CloseOnInterrupt:
    """While active, SIGINT (Ctrl-C) closes ``window`` from the event loop, as its close
    button would, and sets :attr:`requested`; the previous handler is restored on exit."""

    def __init__(self, window: QtWidgets.QWidget) -> None:
        from PySide6 import QtCore

        self.requested = False
        self._window = window
        self._previous: Callable[[int, Any], Any] | int | None = None
        self._poll = QtCore.QTimer()
        self._poll.setInterval(SIGNAL_POLL_MS)
        self._poll.timeout.connect(self._let_python_run)

    def __enter__(self) -> _CloseOnInterrupt:
        self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
        self._poll.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._poll.stop()
        signal.signal(signal.SIGINT, self._previous if self._previous is not None else signal.SIG_DFL)

    def _let_python_run(self) -> None:
        """Nothing: being called is what lets Python run a pending signal handler."""

    def _on_interrupt(self, _signum: int, _frame: Any) -> None:
        from PySide6 import QtCore

        self.requested = True
        # not here: the handler may run inside any Python code Qt called (a paint, a slot)
        QtCore.QTimer.singleShot(0, self._window.close)
