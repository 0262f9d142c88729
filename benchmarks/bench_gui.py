"""GUI benchmarks: start-up, event-loop stalls while the model runs, view redraw time.

    python benchmarks/bench_gui.py [--runs N] [--skip-startup]

1. Time until the window is shown (``python main.py`` with SWIN_EXPLORER_EXIT_AFTER_SHOW=1,
   which prints the moment of the first show) against the time of ``python -c "import
   torch"``, both measured from process launch; the median over alternating runs. The
   ratio must be at most 0.75: the window appears well before torch has loaded.
2. The longest gap between ticks of a 5 ms QTimer while the model runs (Swin-T, 224 px),
   with the explorer's default torch threads and with torch's own default.
3. Redraw time of every view after a control change at 224 px (``update_state`` called
   directly, median over several changes), and of a whole control change (all views).
4. The longest gap between 5 ms timer ticks while the input size switches from 224 px to
   1024 px from the size spin box (the photo prepared, the views on screen redrawn, the model
   run, its result shown), with the time until the result is shown; then back to 224 px.

Runs offscreen (QT_QPA_PLATFORM=offscreen unless set). Prints the figures it measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gaps import TICK_MS, GapMeter

REPO = Path(__file__).resolve().parent.parent
STARTUP_RATIO_LIMIT = 0.75
REDRAW_TARGET_MS = 16.0


def _launch_seconds(command: list[str], env: dict[str, str], marker: str) -> float:
    """Seconds from launching ``command`` to the epoch time it prints after ``marker``."""
    launched = time.time()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(REPO), timeout=120)
    for line in done.stdout.splitlines():
        if line.startswith(marker):
            return float(line.split()[1]) - launched
    raise RuntimeError(f"{' '.join(command)} printed no {marker!r}:\n{done.stdout}\n{done.stderr}")


def bench_startup(runs: int) -> dict[str, float]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "SWIN_EXPLORER_EXIT_AFTER_SHOW": "1"}
    with tempfile.TemporaryDirectory() as folder:
        settings = str(Path(folder) / "bench.ini")
        window_command = [sys.executable, "main.py", "--settings", settings]
        torch_command = [sys.executable, "-c", "import time, torch; print('imported_at', time.time())"]
        window_times, torch_times = [], []
        _launch_seconds(torch_command, env, "imported_at")  # warm the file cache once
        for _ in range(runs):
            window_times.append(_launch_seconds(window_command, env, "shown_at"))
            torch_times.append(_launch_seconds(torch_command, env, "imported_at"))
    window_median = statistics.median(window_times)
    torch_median = statistics.median(torch_times)
    return {"window_shown_s": window_median, "import_torch_s": torch_median,
            "ratio": window_median / torch_median,
            "window_all": window_times, "torch_all": torch_times}  # type: ignore[dict-item]


def _qt_app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO))
    from PySide6 import QtWidgets

    return QtWidgets.QApplication.instance() or QtWidgets.QApplication([])


def _open_window(app, settings: str, torch_threads: int | None):
    from PySide6 import QtCore

    from explorer import MainWindow

    window = MainWindow(settings=settings, torch_threads=torch_threads)
    window.resize(1440, 900)
    window.show()
    loop = QtCore.QEventLoop()
    window.resultsShown.connect(loop.quit)
    QtCore.QTimer.singleShot(180_000, loop.quit)
    loop.exec()
    if window.last_result is None:
        raise RuntimeError("the first model run did not finish")
    return window


def bench_stalls(app, runs: int, torch_threads: int | None) -> dict[str, float]:
    """Longest gap between 5 ms timer ticks while ``runs`` model runs execute."""
    from PySide6 import QtCore

    with tempfile.TemporaryDirectory() as folder:
        window = _open_window(app, str(Path(folder) / "bench.ini"), torch_threads)
        meter = GapMeter()
        gaps_ms: list[float] = []
        run_seconds: list[float] = []
        loop = QtCore.QEventLoop()
        window.resultsShown.connect(loop.quit)
        for run in range(runs):
            window.controller.update(block=run % 2)
            window.controller.run_now()
            meter.start()
            started = time.perf_counter()
            loop.exec()
            run_seconds.append(time.perf_counter() - started)
            meter.stop()
            gaps_ms += [gap * 1000 for gap in meter.gaps]
        window.close()
    gaps_ms.sort()
    return {"max_gap_ms": gaps_ms[-1], "p99_gap_ms": gaps_ms[int(0.99 * (len(gaps_ms) - 1))],
            "median_gap_ms": statistics.median(gaps_ms), "ticks": len(gaps_ms),
            "median_run_s": statistics.median(run_seconds)}


def bench_redraw(app, repeats: int) -> dict[str, float]:
    """Median ms to redraw each view for a new state at 224 px (``update_state`` then
    ``flush``, so background tabs draw too), with the view on screen; the same followed by
    painting it; and a whole control change from the stage spin box (the controls plus the
    views on screen; background tabs only remember the state until shown)."""
    with tempfile.TemporaryDirectory() as folder:
        window = _open_window(app, str(Path(folder) / "bench.ini"), None)
        controller = window.controller
        prepared = controller.prepared
        states = [controller.state.replace(stage=stage, block=block, img_size=224)
                  for stage in (0, 1, 2, 3) for block in (0, 1)]
        scene: dict[str, list[float]] = {}
        painted: dict[str, list[float]] = {}
        for name, view in window.views.items():
            if window.tabs.indexOf(view) >= 0:
                window.tabs.setCurrentWidget(view)
            app.processEvents()
            scene[name], painted[name] = [], []
            for _ in range(repeats):
                for state in states:
                    started = time.perf_counter()
                    view.update_state(state, prepared)
                    view.flush()
                    drawn = time.perf_counter()
                    view.render_target().viewport().repaint()
                    done = time.perf_counter()
                    scene[name].append((drawn - started) * 1000)
                    painted[name].append((done - started) * 1000)
        window.tabs.setCurrentWidget(window.views["windows"])
        app.processEvents()
        whole: list[float] = []
        for _ in range(repeats):
            for stage in (2, 3, 4, 1):
                started = time.perf_counter()
                window.control("stageSpin").setValue(stage)
                whole.append((time.perf_counter() - started) * 1000)
        result = window.last_result
        showing: list[float] = []
        for _ in range(repeats):
            started = time.perf_counter()
            window._on_result(result)
            showing.append((time.perf_counter() - started) * 1000)
        window.close()
    figures: dict[str, float] = {}
    for name in scene:
        figures[f"{name}_ms"] = statistics.median(scene[name])
        figures[f"{name}_max_ms"] = max(scene[name])
        figures[f"{name}_painted_ms"] = statistics.median(painted[name])
    figures["control_change_ms"] = statistics.median(whole)
    figures["show_result_ms"] = statistics.median(showing)
    return figures


def bench_size_switch(app, tab: str, sizes: tuple[int, ...] = (1024, 224)) -> list[dict[str, float]]:
    """For each size in turn: the longest event-loop gap from setting the size spin box
    until the result at that size is shown, and that time, with the ``tab`` figure shown."""
    from PySide6 import QtCore

    figures: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        window = _open_window(app, str(Path(folder) / "bench.ini"), None)
        window.tabs.setCurrentWidget(window.views[tab])
        app.processEvents()
        meter = GapMeter()
        for size in sizes:
            loop = QtCore.QEventLoop()
            shown = window.resultsShown.connect(loop.quit)
            meter.start()
            started = time.perf_counter()
            QtCore.QTimer.singleShot(0, lambda size=size: window.control("imageSizeSpin").setValue(size))
            loop.exec()
            elapsed = time.perf_counter() - started
            gaps = meter.stop()
            window.resultsShown.disconnect(shown)
            figures.append({"size": size, "max_gap_ms": gaps["max_gap_ms"], "shown_s": elapsed,
                            "ticks": gaps["ticks"]})
        window.close()
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="start-up runs of each kind (default 5)")
    parser.add_argument("--model-runs", type=int, default=6, help="model runs for the stall test")
    parser.add_argument("--skip-startup", action="store_true")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    ok = True
    if not args.skip_startup:
        startup = bench_startup(args.runs)
        print(f"[1] start-up, median of {args.runs} alternating runs:")
        print(f"    window shown      {startup['window_shown_s']:.3f} s "
              f"({', '.join(f'{t:.2f}' for t in startup['window_all'])})")  # type: ignore[arg-type]
        print(f"    import torch      {startup['import_torch_s']:.3f} s "
              f"({', '.join(f'{t:.2f}' for t in startup['torch_all'])})")  # type: ignore[arg-type]
        passed = startup["ratio"] <= STARTUP_RATIO_LIMIT
        ok &= passed
        print(f"    ratio             {startup['ratio']:.2f} (limit {STARTUP_RATIO_LIMIT}: "
              f"{'ok' if passed else 'FAILED'})")
    app = _qt_app()
    for threads in (None, 0):
        stalls = bench_stalls(app, args.model_runs, threads)
        label = "explorer default (1 on 2 cores)" if threads is None else "torch default"
        print(f"[2] event loop while Swin-T runs at 224 px (torch threads: {label}), "
              f"{args.model_runs} runs, median run {stalls['median_run_s']:.2f} s:")
        print(f"    longest gap {stalls['max_gap_ms']:.1f} ms, p99 {stalls['p99_gap_ms']:.1f} ms, "
              f"median {stalls['median_gap_ms']:.1f} ms over {stalls['ticks']} ticks of {TICK_MS} ms")
    redraw = bench_redraw(app, repeats=3)
    print(f"[3] redraw at 224 px, median (max) over 8 stage/block states x 3; target "
          f"{REDRAW_TARGET_MS:.0f} ms per geometry view:")
    print(f"    {'view':<14} {'scene':>8} {'max':>8} {'+ paint':>9}")
    for key in redraw:
        if key.endswith("_max_ms") or key.endswith("_painted_ms") or not key.endswith("_ms"):
            continue
        name = key[:-3]
        if name in ("control_change", "show_result"):
            continue
        print(f"    {name:<14} {redraw[key]:6.1f} ms {redraw[name + '_max_ms']:6.1f} ms "
              f"{redraw[name + '_painted_ms']:7.1f} ms")
    print(f"    a stage change from the spin box (controls + views on screen): "
          f"{redraw['control_change_ms']:.1f} ms")
    print(f"    showing a model result (all views, prediction panel): {redraw['show_result_ms']:.1f} ms")
    for tab in ("windows", "regions", "attention"):
        for switch in bench_size_switch(app, tab):
            print(f"[4] input size → {switch['size']:.0f} px with the {tab} figure shown: longest "
                  f"event-loop gap {switch['max_gap_ms']:.1f} ms over {switch['ticks']:.0f} ticks, "
                  f"result shown after {switch['shown_s']:.2f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
