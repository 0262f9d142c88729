"""Qt object lifetimes: the window and its worker end while Python is alive, in the app, in
a script that closes the window, and in a script that forgets to."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6 import QtCore
from shiboken6 import Shiboken

from explorer import MainWindow, lifetime
from explorer.inference import ModelCache

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO / "assets" / "coffee.jpg"
RUNS = 5

SCRIPT = """
import sys
sys.path.insert(0, {repo!r})
from PySide6 import QtCore, QtWidgets
app = QtWidgets.QApplication([])
import explorer
window = explorer.MainWindow(settings={settings!r}, debounce_ms=0)
window.destroyed.connect(lambda: print("window destroyed", flush=True))
window.show()
loop = QtCore.QEventLoop()
window.resultsShown.connect(loop.quit)
window.viewsReady.connect(lambda: window.open_image({photo!r}))
QtCore.QTimer.singleShot(120_000, loop.quit)
loop.exec()
print("result", window.last_result is not None and window.last_result.error is None, flush=True)
{ending}
"""


def _run_script(tmp_path: Path, ending: str) -> subprocess.CompletedProcess[str]:
    script = SCRIPT.format(repo=str(REPO), settings=str(tmp_path / "settings.ini"), photo=str(PHOTO),
                           ending=ending)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=300, cwd=str(REPO))


def test_a_script_that_closes_the_window_exits_cleanly_every_time(tmp_path: Path) -> None:
    codes = []
    for _ in range(RUNS):
        done = _run_script(tmp_path, "window.close()")
        codes.append(done.returncode)
        assert "result True" in done.stdout.splitlines(), done.stdout + done.stderr
        assert "window destroyed" in done.stdout.splitlines(), done.stdout + done.stderr
    assert codes == [0] * RUNS


def test_a_script_that_leaves_the_window_open_exits_cleanly(tmp_path: Path) -> None:
    done = _run_script(tmp_path, "")
    assert done.returncode == 0, done.stderr
    assert "window destroyed" in done.stdout.splitlines(), done.stdout + done.stderr


def test_release_deletes_the_window_and_its_worker(qtbot, tmp_path: Path) -> None:
    window = MainWindow(settings=str(tmp_path / "settings.ini"), cache=ModelCache())
    window.show()
    with qtbot.waitSignal(window.viewsReady, timeout=120_000):
        pass
    worker = window.controller.worker
    views = list(window.views.values())
    assert window in lifetime.live_windows()
    destroyed: list[bool] = []
    window.destroyed.connect(lambda: destroyed.append(True))
    assert lifetime.release(window)
    assert destroyed == [True]
    assert not Shiboken.isValid(window)
    assert not Shiboken.isValid(worker)
    assert views and not any(Shiboken.isValid(view) for view in views)
    assert window not in lifetime.live_windows()
    QtCore.QCoreApplication.processEvents()
