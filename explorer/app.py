"""Start the explorer window: ``python main.py [IMAGE]``.

The window is shown before torch is imported (the worker thread imports it), so it appears
quickly; the figures fill in once the model code has loaded.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

__all__ = ["EXIT_AFTER_SHOW_ENV", "build_parser", "main"]

EXIT_AFTER_SHOW_ENV = "SWIN_EXPLORER_EXIT_AFTER_SHOW"
"""When set to 1, print ``shown_at <epoch seconds>`` once the window is on screen and quit
(used by benchmarks/bench_gui.py to time start-up)."""


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
    window.show()
    if os.environ.get(EXIT_AFTER_SHOW_ENV) == "1":
        def report_shown() -> None:
            print(f"shown_at {time.time():.6f}", flush=True)
            window.close()

        QtCore.QTimer.singleShot(0, report_shown)
    status = app.exec()
    if not lifetime.release(window):
        # the worker is stuck in a long C call (an import or one huge operation) beyond the
        # bounded wait: leave without running Python finalisers that would race it
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status
