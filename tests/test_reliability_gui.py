"""Reliability of the explorer window (issue 8, explorer side).

Non-finite output is reported, not a crash; a runner that raises anything leaves the worker
alive; a window deleted any way, or closed on a stuck worker, ends the process cleanly;
Ctrl-C closes the window; a FIFO never blocks the GUI thread; a huge image is decoded in
the background, at a reduced size, with its warning shown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6 import QtCore

from explorer import MainWindow
from explorer.inference import ModelCache, run_inference
from explorer.settings import open_settings, recent_files
from explorer.state import ExplorerState, InferenceRequest
from explorer.views.output import NOT_FINITE_TEXT, not_finite_message
from swin_model.preprocess import load_image, prepare

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "assets"
TEST_SIZE = 96
RUN_TIMEOUT_MS = 120_000
SUBPROCESS_TIMEOUT = 300


@pytest.fixture(scope="module")
def shared_cache() -> ModelCache:
    return ModelCache(capacity=3)


def _seed_settings(path: Path) -> None:
    settings = open_settings(path)
    settings.setValue("controls/imageSizeSpin", TEST_SIZE)
    settings.sync()


def open_window(qtbot, settings_file: Path, cache: ModelCache, **options: object) -> MainWindow:
    """A shown window whose first model run is on screen."""
    if not settings_file.exists():
        _seed_settings(settings_file)
    window = MainWindow(settings=str(settings_file), cache=cache, **options)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.resultsShown, timeout=RUN_TIMEOUT_MS):
        pass
    return window


@pytest.fixture
def window(qtbot, settings_file: Path, shared_cache: ModelCache):
    main_window = open_window(qtbot, settings_file, shared_cache)
    yield main_window
    main_window.close()


# --- non-finite output ----------------------------------------------------------------------------

def _poison(value: float):
    """A runner whose model has ``value`` in every weight of stage 2, block 1's qkv projection."""
    def runner(request, cache, cancelled):
        model = cache.model_for(request.state)
        with torch.no_grad():
            model.layers[1].blocks[0].attn.qkv.weight.fill_(value)
        return run_inference(request, cache, cancelled)
    return runner


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_non_finite_output_is_shown_with_the_block_that_made_it(qtbot, settings_file: Path,
                                                                value: float) -> None:
    window = open_window(qtbot, settings_file, ModelCache(), runner=_poison(value))
    result = window.last_result
    assert result is not None and result.error is None
    assert result.non_finite == "stage 2, block 1 (attention)"
    message = window.output_view.message_text()
    assert NOT_FINITE_TEXT in message and "stage 2, block 1 (attention)" in message
    assert window.output_view.top_rows() == []
    window.close()


def test_the_first_non_finite_module_is_named() -> None:
    state = ExplorerState(img_size=64)
    pixels = prepare(load_image(ASSETS / "coffee.jpg"), 64).pixels
    request = InferenceRequest(request_id=1, state=state, pixels=pixels, capture=(0, 1))
    cache = ModelCache()
    clean = run_inference(request, cache)
    assert clean.error is None and clean.non_finite is None and not_finite_message(clean) is None
    model = cache.model_for(state)
    with torch.no_grad():
        model.head.bias[3] = float("inf")
    assert run_inference(request, cache).non_finite == "the classifier head"
    with torch.no_grad():
        model.layers[0].downsample.norm.weight[0] = float("nan")
    assert run_inference(request, cache).non_finite == "stage 1, patch merging"
    with torch.no_grad():
        model.layers[0].blocks[1].mlp.fc2.bias[0] = float("inf")
    poisoned = run_inference(request, cache)
    assert poisoned.non_finite == "stage 1, block 2 (MLP)"
    message = not_finite_message(poisoned)
    assert message is not None
    assert message.endswith("The first non-finite value came from stage 1, block 2 (MLP).")


# --- a runner that raises anything ---------------------------------------------------------------

def test_a_keyboard_interrupt_in_the_runner_is_reported_and_the_worker_goes_on(
        qtbot, settings_file: Path, shared_cache: ModelCache) -> None:
    def runner(request, cache, cancelled):
        if request.state.img_size == 100:
            raise KeyboardInterrupt
        return run_inference(request, cache, cancelled)

    window = open_window(qtbot, settings_file, shared_cache, runner=runner)
    with qtbot.waitSignal(window.resultsShown, timeout=RUN_TIMEOUT_MS) as blocker:
        window.control("imageSizeSpin").setValue(100)
    failed = blocker.args[0]
    assert failed.error is not None and "KeyboardInterrupt" in failed.error
    assert "KeyboardInterrupt" in window.output_view.message_text()
    assert not window.controller.busy
    assert window.controller.worker.isRunning()
    with qtbot.waitSignal(window.resultsShown, timeout=RUN_TIMEOUT_MS) as blocker:
        window.control("imageSizeSpin").setValue(TEST_SIZE)
    assert blocker.args[0].error is None and len(window.output_view.top_rows()) == 5
    window.close()


# --- windows that go away ------------------------------------------------------------------------

DELETE_SCRIPT = """
import gc, sys, time
sys.path.insert(0, {repo!r})
from PySide6 import QtCore, QtWidgets
from shiboken6 import Shiboken
app = QtWidgets.QApplication([])
import explorer
window = explorer.MainWindow(settings={settings!r}, debounce_ms=0)
window.destroyed.connect(lambda: print("window destroyed", flush=True))
window.show()
loop = QtCore.QEventLoop()
window.resultsShown.connect(loop.quit)
QtCore.QTimer.singleShot(240_000, loop.quit)
loop.exec()
print("shown", window.last_result is not None, flush=True)
how = {how!r}
worker = window.controller.worker
if how == "del":
    del window
    gc.collect()
elif how == "deleteLater":
    window.deleteLater()
    app.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
else:
    Shiboken.delete(window)
if how != "del":
    deadline = time.monotonic() + 120
    while not worker.isFinished() and time.monotonic() < deadline:  # stopped by the deletion itself
        app.processEvents()
        time.sleep(0.05)
    print("worker stopped", worker.isFinished(), flush=True)
"""


def _python(script: str, timeout: float = SUBPROCESS_TIMEOUT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=str(REPO))


@pytest.mark.parametrize("how", ["del", "deleteLater", "Shiboken.delete"])
def test_a_window_deleted_without_closing_ends_cleanly(tmp_path: Path, how: str) -> None:
    done = _python(DELETE_SCRIPT.format(repo=str(REPO), settings=str(tmp_path / "settings.ini"), how=how))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "shown True" in done.stdout.splitlines(), output
    assert "window destroyed" in done.stdout.splitlines(), output
    assert "QThread: Destroyed" not in done.stderr
    if how != "del":
        assert "worker stopped True" in done.stdout.splitlines(), output


STUCK_SCRIPT = """
import ctypes, sys
sys.path.insert(0, {repo!r})
from PySide6 import QtCore, QtWidgets
app = QtWidgets.QApplication([])
import explorer

libc = ctypes.CDLL(None)

def stuck_runner(request, cache, cancelled):
    sys.stdout.write("runner stuck\\n")  # one write: the main thread prints at the same time
    sys.stdout.flush()
    libc.sleep(600)  # a C call: no module boundary, no Python bytecode to interrupt

window = explorer.MainWindow(settings={settings!r}, debounce_ms=0, runner=stuck_runner)
window.show()
loop = QtCore.QEventLoop()
poll = QtCore.QTimer()
poll.timeout.connect(lambda: window.controller.worker.running_request is not None and loop.quit())
poll.start(50)
QtCore.QTimer.singleShot(240_000, loop.quit)
loop.exec()
poll.stop()
print("running", window.controller.worker.running_request is not None, flush=True)
window.close()
print("closed", window.worker_finished, flush=True)
"""


def test_closing_on_a_worker_stuck_in_c_exits_cleanly(tmp_path: Path) -> None:
    try:
        done = _python(STUCK_SCRIPT.format(repo=str(REPO), settings=str(tmp_path / "settings.ini")))
    except subprocess.TimeoutExpired:
        pytest.fail("the process waited for the stuck worker")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "running True" in done.stdout and "closed False" in done.stdout, output
    assert "QThread: Destroyed" not in done.stderr and "Abort" not in done.stderr


def test_ctrl_c_closes_the_window_and_saves_its_settings(tmp_path: Path) -> None:
    settings = tmp_path / "settings.ini"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SWIN_EXPLORER_REPORT_SHOWN="1")
    process = subprocess.Popen([sys.executable, "main.py", str(ASSETS / "coffee.jpg"), "--settings",
                                str(settings)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    shown = threading.Event()

    def watch_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip() == "shown":
                shown.set()

    threading.Thread(target=watch_stdout, daemon=True).start()
    try:
        assert shown.wait(SUBPROCESS_TIMEOUT), "the window never reported itself shown"
        process.send_signal(signal.SIGINT)
        process.wait(timeout=SUBPROCESS_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "QThread: Destroyed" not in stderr
    saved = open_settings(settings)
    assert not saved.value("window/geometry").isEmpty()  # written when the window closed


# --- files that never end, and huge images -------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_never_blocks_the_gui_thread(qtbot, window: MainWindow, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    unblocked = threading.Event()

    def watchdog() -> None:
        """If the GUI thread is stuck opening the FIFO, let it go (and note that it was)."""
        time.sleep(30)
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # succeeds only with a reader waiting
        except OSError:
            return
        unblocked.set()
        os.close(writer)

    threading.Thread(target=watchdog, daemon=True).start()
    prepared = window.prepared
    with qtbot.waitSignal(window.messageShown, timeout=RUN_TIMEOUT_MS) as blocker:
        accepted = window.open_image(fifo)
    assert not unblocked.is_set(), "the GUI thread blocked on the FIFO"
    assert accepted is False
    assert str(fifo) in blocker.args[0] and "not a regular file" in blocker.args[0]
    assert window.prepared is prepared


def _noise_png(path: Path, side: int) -> None:
    """A PNG larger than SMALL_FILE_BYTES (noise does not compress)."""
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(path)


def test_a_large_file_is_decoded_in_the_background(qtbot, window: MainWindow, tmp_path: Path) -> None:
    from explorer.image_sources import SMALL_FILE_BYTES

    big = tmp_path / "noise.png"
    _noise_png(big, 800)
    assert big.stat().st_size > SMALL_FILE_BYTES
    prepared = window.prepared
    with qtbot.waitSignal(window.controller.imageChanged, timeout=RUN_TIMEOUT_MS):
        assert window.open_image(big) is True
        assert window.prepared is prepared  # the current image stays until the new one is decoded
        assert window.image_sources.loading
    np.testing.assert_array_equal(window.prepared.display, prepare(load_image(big), TEST_SIZE).display)
    assert recent_files(window.settings)[0] == str(big.resolve())
    assert not window.image_sources.loading


def test_a_newer_image_wins_over_one_still_decoding(qtbot, window: MainWindow, tmp_path: Path) -> None:
    big = tmp_path / "noise.png"
    _noise_png(big, 800)
    small = ASSETS / "astronaut.jpg"
    assert window.open_image(big) is True
    assert window.open_image(small) is True  # small: decoded at once
    assert window.controller.image_name == str(small)
    qtbot.waitUntil(lambda: not window.image_sources.loading, timeout=RUN_TIMEOUT_MS)
    qtbot.wait(100)  # the older file's result, sent before loading turned False, arrives and is dropped
    assert window.controller.image_name == str(small)
    np.testing.assert_array_equal(window.prepared.display, prepare(load_image(small), TEST_SIZE).display)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_huge_jpeg_loads_without_freezing_the_window(qtbot, window: MainWindow, tmp_path: Path) -> None:
    side = 12_000  # 144 megapixels: above Pillow's decompression-bomb warning limit
    ramp = np.linspace(0, 255, side, dtype=np.float32).astype(np.uint8)
    huge = tmp_path / "huge.jpg"
    grey = Image.fromarray(np.ascontiguousarray(np.broadcast_to(ramp[None, :], (side, side))), "L")
    grey.save(huge, quality=70)
    del grey

    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    ticker = QtCore.QTimer()
    ticker.setInterval(10)
    ticker.timeout.connect(tick)
    window.controller.imageChanged.connect(ticker.stop)  # measure the loading, not the redraw after it
    window.controller.imageChanged.connect(tick)
    messages: list[str] = []
    window.messageShown.connect(messages.append)
    prepared = window.prepared
    ticker.start()
    qtbot.wait(100)
    with qtbot.waitSignal(window.controller.imageChanged, timeout=RUN_TIMEOUT_MS):
        QtCore.QTimer.singleShot(0, lambda: window.open_image(huge))
    ticker.stop()
    assert window.prepared is not prepared and window.prepared.source_size == (side, side)
    assert len(gaps) > 5
    assert max(gaps) < 0.5, f"the event loop stalled for {max(gaps):.2f} s"
    qtbot.waitUntil(lambda: any("decompression-bomb" in message for message in messages), timeout=10_000)
    warning = next(message for message in messages if "decompression-bomb" in message)
    assert "huge.jpg" in warning and "144 megapixels" in warning and "reduced copy" in warning
    assert "decompression-bomb" in window.output_view.message_text()
