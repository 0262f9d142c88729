"""The event-loop gap meter the GUI benchmarks share: a timer in the GUI thread that should
tick every ``TICK_MS`` ms, and the time between its ticks (a long gap is a frozen window)."""

from __future__ import annotations

import statistics
import time

TICK_MS = 5


class GapMeter:
    """Records the time between ticks of a ``TICK_MS`` timer in the GUI thread."""

    def __init__(self) -> None:
        from PySide6 import QtCore

        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self._timer = QtCore.QTimer()
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self._timer.start(TICK_MS)

    def stop(self) -> dict[str, float]:
        self._timer.stop()
        self._tick()  # the time since the last tick counts too
        gaps_ms = sorted(gap * 1000 for gap in self.gaps)
        return {"max_gap_ms": gaps_ms[-1], "p99_gap_ms": gaps_ms[int(0.99 * (len(gaps_ms) - 1))],
                "median_gap_ms": statistics.median(gaps_ms), "ticks": len(gaps_ms)}
