"""Event-loop gaps while the window exports: Export all, Save figure and Copy figure.

    python benchmarks/bench_export_gap.py [--img-size N] [--formats png,svg,pdf] [--skip-single]

Opens the explorer window at ``--img-size`` (default 1024 px), waits for the first model
run, then starts a 5 ms QTimer in the GUI thread and records the time between its ticks
while, in turn:

1. Export all runs from the window (``MainWindow.export_all``, every figure in every format
   of ``--formats``, plus the GIF), until ``exportFinished``;
2. Save figure writes the current figure (regions) as PNG (``MainWindow.save_figure``),
   until ``exportFinished``;
3. Copy figure puts the current figure on the clipboard (``MainWindow.copy_figure``),
   until ``figureCopied``.

The figure of merit is the longest gap: the target is at most 50 ms (the window keeps
answering while the export runs). Also printed: the 99th percentile and the median gap,
the number of ticks and the wall time of each export. Runs offscreen
(QT_QPA_PLATFORM=offscreen unless set).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gaps import GapMeter

REPO = Path(__file__).resolve().parent.parent
TARGET_MS = 50.0


def _qt_app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO))
    from PySide6 import QtWidgets

    return QtWidgets.QApplication.instance() or QtWidgets.QApplication([])


def _open_window(settings: str, img_size: int):
    from PySide6 import QtCore

    from explorer import MainWindow
    from explorer.settings import open_settings

    stored = open_settings(settings)
    stored.setValue("controls/imageSizeSpin", img_size)
    stored.sync()
    window = MainWindow(settings=settings)
    window.resize(1440, 900)
    window.show()
    loop = QtCore.QEventLoop()
    window.resultsShown.connect(loop.quit)
    QtCore.QTimer.singleShot(300_000, loop.quit)
    loop.exec()
    if window.last_result is None or window.export_actions is None:
        raise RuntimeError("the first model run did not finish")
    if window.state.img_size != img_size:
        raise RuntimeError(f"the window runs at {window.state.img_size} px, not {img_size}")
    return window


def _measure(meter: GapMeter, start: Callable[[], bool], finished, failed) -> dict[str, float]:
    """Start ``start()`` under the gap meter and run the event loop until ``finished`` or
    ``failed`` is emitted."""
    from PySide6 import QtCore

    loop = QtCore.QEventLoop()
    outcome: list[str] = []

    def succeeded(*_: object) -> None:
        outcome.append("ok")
        loop.quit()

    def stopped(message: str) -> None:
        outcome.append(f"failed: {message}")
        loop.quit()

    finished.connect(succeeded)
    failed.connect(stopped)
    meter.start()
    began = time.perf_counter()
    if not start():
        raise RuntimeError("the export did not start")
    if not outcome:
        loop.exec()
    figures = meter.stop()
    finished.disconnect(succeeded)
    failed.disconnect(stopped)
    figures["wall_s"] = time.perf_counter() - began
    if outcome != ["ok"]:
        raise RuntimeError(f"the export ended with {outcome}")
    return figures


def _print(title: str, figures: dict[str, float]) -> bool:
    passed = figures["max_gap_ms"] <= TARGET_MS
    print(f"{title}: {figures['wall_s']:.1f} s, {figures['ticks']:.0f} ticks; longest gap "
          f"{figures['max_gap_ms']:.1f} ms (target {TARGET_MS:.0f}: {'ok' if passed else 'OVER'}), "
          f"p99 {figures['p99_gap_ms']:.1f} ms, median {figures['median_gap_ms']:.1f} ms")
    return passed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--img-size", type=int, default=1024, help="input size in px (default 1024)")
    parser.add_argument("--formats", default="png,svg,pdf", help="Export all formats (default png,svg,pdf)")
    parser.add_argument("--skip-single", action="store_true", help="measure Export all only")
    args = parser.parse_args(argv)
    app = _qt_app()
    from explorer import lifetime

    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; input {args.img_size} px")
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        window = _open_window(str(Path(folder) / "bench.ini"), args.img_size)
        actions = window.export_actions
        actions.formats = tuple(args.formats.split(","))
        window.tabs.setCurrentWidget(window.views["regions"])
        app.processEvents()
        meter = GapMeter()
        out = Path(folder) / "all"
        figures = _measure(meter, lambda: window.export_all(out, overwrite=True),
                           window.exportFinished, window.exportFailed)
        ok &= _print(f"[1] Export all ({len(list(out.iterdir()))} files)", figures)
        if not args.skip_single:
            figures = _measure(meter, lambda: window.save_figure(Path(folder) / "one.png", overwrite=True),
                               window.exportFinished, window.exportFailed)
            ok &= _print("[2] Save figure (regions, PNG)", figures)
            figures = _measure(meter, window.copy_figure, window.figureCopied, window.exportFailed)
            ok &= _print("[3] Copy figure (regions)", figures)
        lifetime.release(window)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
