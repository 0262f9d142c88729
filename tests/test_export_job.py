"""Export all in the background: MainWindow.export_all returns at once, the window keeps
answering, progress arrives per file, Cancel leaves nothing, and existing files are only
replaced after asking."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets

from explorer import MainWindow, lifetime
from explorer.export import figure_file_names
from explorer.figures import FIGURE_NAMES
from explorer.inference import ModelCache
from explorer.settings import open_settings

TEST_SIZE = 96
EXPORT_TIMEOUT_MS = 400_000


@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:
    settings = open_settings(tmp_path / "settings.ini")
    settings.setValue("controls/imageSizeSpin", TEST_SIZE)
    settings.sync()
    main_window = MainWindow(settings=str(tmp_path / "settings.ini"), cache=ModelCache())
    main_window.show()
    with qtbot.waitSignal(main_window.resultsShown, timeout=120_000):
        pass
    main_window.export_actions.formats = ("png", "svg")
    yield main_window
    lifetime.release(main_window)


class GapMeter(QtCore.QObject):
    """The longest time between two ticks of a 10 ms timer: how long the event loop stalled."""

    def __init__(self) -> None:
        super().__init__()
        self.longest = 0.0
        self._last = time.perf_counter()
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    @QtCore.Slot()
    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now


def test_export_all_runs_in_the_background(qtbot, window: MainWindow, tmp_path: Path) -> None:
    out = tmp_path / "figures"
    progress: list[tuple[int, int, str]] = []
    window.export_job = None
    started = time.perf_counter()
    meter = GapMeter()
    with qtbot.waitSignal(window.exportFinished, timeout=EXPORT_TIMEOUT_MS) as finished:
        assert window.export_all(out)
        assert time.perf_counter() - started < 2.0  # returns at once
        window.export_job.progressed.connect(lambda done, total, name: progress.append((done, total, name)))
        assert window.findChild(QtWidgets.QWidget, "exportProgress").isVisible()
    expected = figure_file_names(FIGURE_NAMES, ("png", "svg"))
    assert sorted(path.name for path in finished.args[0]) == sorted(expected)
    assert sorted(path.name for path in out.iterdir()) == sorted(expected)
    assert progress and progress[-1][0] == progress[-1][1] == len(expected)
    assert not window.findChild(QtWidgets.QWidget, "exportProgress").isVisible()
    assert meter.longest < 0.5, f"the event loop stalled {meter.longest * 1000:.0f} ms"


def test_cancel_leaves_nothing(qtbot, window: MainWindow, tmp_path: Path) -> None:
    out = tmp_path / "cancelled"
    with qtbot.waitSignal(window.exportFailed, timeout=EXPORT_TIMEOUT_MS) as failed:
        assert window.export_all(out)
        qtbot.waitSignal(window.export_job.progressed, timeout=EXPORT_TIMEOUT_MS).wait()
        window.findChild(QtWidgets.QPushButton, "exportCancel").click()
    assert "cancelled" in failed.args[0]
    assert not out.exists() or not any(out.iterdir())


def test_existing_files_are_kept_unless_replacing_is_confirmed(qtbot, window: MainWindow,
                                                              tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "existing"
    out.mkdir()
    (out / "mask.png").write_bytes(b"mine")
    asked: list[str] = []

    def refuse(*args: object) -> QtWidgets.QMessageBox.StandardButton:
        asked.append(str(args[2]))
        return QtWidgets.QMessageBox.StandardButton.No

    monkeypatch.setattr(QtWidgets.QMessageBox, "question", refuse)
    with qtbot.waitSignal(window.exportFailed, timeout=5000) as failed:
        assert not window.export_all(out)
    assert asked and "1 files" in asked[0] and "kept" in failed.args[0]
    assert (out / "mask.png").read_bytes() == b"mine"
