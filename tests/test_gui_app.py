"""The explorer window: controls, the model worker, messages, settings (pytest-qt, offscreen)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6 import QtCore, QtGui, QtWidgets

from explorer import MainWindow
from explorer.figures import FIGURE_NAMES, tab_figures
from explorer.inference import ModelCache, run_inference
from explorer.settings import open_settings, recent_files
from explorer.state import InferenceResult
from swin_model import capture_attention, windows
from swin_model.checkpoint import save_official
from swin_model.preprocess import load_image, prepare

ASSETS = Path(__file__).resolve().parent.parent / "assets"
REPO = ASSETS.parent
TEST_SIZE = 96  # small input: a 24 x 24 token grid, 16 windows of 7 x 7 (padded to 28)
RUN_TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def shared_cache() -> ModelCache:
    """One model cache for the module: windows come and go, swin-t is built once."""
    return ModelCache(capacity=3)


def seed_settings(path: Path, **controls: object) -> None:
    settings = open_settings(path)
    settings.setValue("controls/imageSizeSpin", TEST_SIZE)
    for name, value in controls.items():
        settings.setValue(f"controls/{name}", value)
    settings.sync()


def open_window(qtbot, settings_file: Path, cache: ModelCache, image: Path | None = None,
                **options: object) -> MainWindow:
    """A shown window whose first model run is on screen."""
    if not settings_file.exists():
        seed_settings(settings_file)
    window = MainWindow(image, settings=str(settings_file), cache=cache, **options)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.resultsShown, timeout=RUN_TIMEOUT_MS):
        pass
    return window


@pytest.fixture
def window(qtbot, settings_file: Path, shared_cache: ModelCache) -> Iterator[MainWindow]:
    main_window = open_window(qtbot, settings_file, shared_cache)
    yield main_window
    main_window.close()
    assert main_window.worker_finished


def wait_for_result(qtbot, window: MainWindow, action=None) -> InferenceResult:
    """Run ``action`` and return the next result shown."""
    with qtbot.waitSignal(window.resultsShown, timeout=RUN_TIMEOUT_MS) as blocker:
        if action is not None:
            action()
    return blocker.args[0]


# --- start-up --------------------------------------------------------------------------

def test_window_shows_before_torch_is_imported(settings_file: Path) -> None:
    script = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from PySide6 import QtCore, QtWidgets
app = QtWidgets.QApplication([])
from explorer.main_window import MainWindow
window = MainWindow(settings={str(settings_file)!r})
window.show()
print("torch-before-loop", "torch" in sys.modules, "pyqtgraph" in sys.modules)
window.viewsReady.connect(lambda: print("views", len(window.views)))
window.resultsShown.connect(lambda result: (print("result", result.error), app.quit()))
QtCore.QTimer.singleShot(120_000, app.quit)
app.exec()
window.close()
print("finished", window.worker_finished)
"""
    env = {**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=180, cwd=str(REPO))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "torch-before-loop False False" in lines, done.stdout + done.stderr
    assert f"views {len(FIGURE_NAMES)}" in lines and "result None" in lines, done.stdout + done.stderr
    assert "finished True" in lines


def test_first_run_fills_the_window(window: MainWindow) -> None:
    assert window.isVisible()
    assert "chelsea" in window.windowTitle()
    assert window.control("imageSizeSpin").value() == TEST_SIZE
    assert window.control("controlPanel").isEnabled()
    rows = window.output_view.top_rows()
    assert len(rows) == 5
    assert [p for _, p in rows] == sorted((p for _, p in rows), reverse=True)
    assert "Untrained weights" in window.output_view.badge_text()
    assert window.last_result is not None and window.last_result.state == window.state
    assert not window.findChild(QtWidgets.QProgressBar, "busyIndicator").isVisible()
    assert tuple(window.views) == FIGURE_NAMES
    tabs = tab_figures()
    assert [window.tabs.tabText(index) for index in range(window.tabs.count())] == [s.title for s in tabs]
    assert [window.tabs.widget(index) for index in range(window.tabs.count())] == \
        [window.views[spec.name] for spec in tabs]
    assert window.cost_dock.widget() is window.views["cost"]
    window.tabs.setCurrentWidget(window.views["attention"])  # background tabs draw when shown
    assert window.views["attention"].is_showing_result()
    assert window.current_view() is window.views["attention"]
    assert window.findChild(QtCore.QObject, "exportActions") is not None


def test_shortcuts_reach_the_controls(window: MainWindow) -> None:
    actions = {action.shortcut().toString(): action for action in window.actions()
               if not action.shortcut().isEmpty()}
    attention = next(index for index, spec in enumerate(tab_figures()) if spec.name == "attention")
    tab_key = f"Ctrl+{attention + 1}"
    for keys in ("Ctrl+O", "Ctrl+V", "Ctrl+L", "Ctrl+Q", "F5", "Ctrl+Shift+W", "Alt+3", tab_key):
        assert keys in actions, keys
    shifted = window.state.shifted
    actions["Ctrl+Shift+W"].trigger()
    assert window.state.shifted is not shifted and window.control("shiftCheck").isChecked() is not shifted
    actions["Alt+3"].trigger()
    assert window.state.stage == 2
    actions[tab_key].trigger()
    assert window.current_view() is window.views["attention"]


def test_missing_start_image_falls_back_to_the_bundled_photo(qtbot, settings_file: Path,
                                                             shared_cache: ModelCache,
                                                             tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.jpg"
    window = open_window(qtbot, settings_file, shared_cache, image=missing)
    assert "chelsea" in window.windowTitle()
    assert window.last_error is not None and "nowhere.jpg does not exist" in window.last_error
    window.close()


def test_main_entry_point_shows_the_window(settings_file: Path) -> None:
    env = {**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen",
           "SWIN_EXPLORER_EXIT_AFTER_SHOW": "1"}
    done = subprocess.run([sys.executable, "main.py", str(ASSETS / "coffee.jpg"), "--settings",
                           str(settings_file)], capture_output=True, text=True, env=env, timeout=120,
                          cwd=str(REPO))
    assert done.returncode == 0, done.stderr
    assert any(line.startswith("shown_at ") for line in done.stdout.splitlines())


def test_model_runs_in_the_worker_thread(qtbot, settings_file: Path, shared_cache: ModelCache) -> None:
    threads: list[int] = []

    def runner(request, cache, cancelled):
        threads.append(threading.get_ident())
        return run_inference(request, cache, cancelled)

    window = open_window(qtbot, settings_file, shared_cache, runner=runner)
    assert threads and threading.get_ident() not in threads
    window.close()


# --- controls --------------------------------------------------------------------------

def test_controls_have_tooltips_and_ranges_follow_the_model(window: MainWindow) -> None:
    for name in ("modelCombo", "imageSizeSpin", "windowSizeSpin", "shiftCheck", "stageSpin",
                 "blockSpin", "headSpin"):
        assert window.control(name).toolTip()
    assert "⌊M/2⌋" in window.control("shiftCheck").toolTip()
    combo = window.control("modelCombo")
    assert [combo.itemText(i) for i in range(combo.count())] == ["swin-t", "swin-s", "swin-b", "swin-l"]
    stage, block, head = (window.control(n) for n in ("stageSpin", "blockSpin", "headSpin"))
    assert stage.maximum() == 4
    stage.setValue(3)
    assert (block.maximum(), head.maximum()) == (6, 12)  # swin-t stage 3: depth 6, 12 heads
    block.setValue(6)
    head.setValue(12)
    assert (window.state.stage, window.state.block, window.state.head) == (2, 5, 11)
    stage.setValue(4)
    assert (block.maximum(), head.maximum()) == (2, 24)
    assert (block.value(), head.value()) == (2, 12)  # block clamped to the new depth
    assert (window.state.block, window.state.head) == (1, 11)
    stage.setValue(1)
    assert (block.maximum(), head.maximum()) == (2, 3)
    assert (window.state.block, window.state.head) == (1, 2)


def test_geometry_views_update_at_once_without_a_model_run(window: MainWindow) -> None:
    window.tabs.setCurrentWidget(window.views["regions"])
    request_before = window.controller.newest_request_id
    window.control("stageSpin").setValue(2)
    window.control("blockSpin").setValue(2)
    # no event processing in between: the views already show the new state
    for name, view in window.views.items():
        assert view.context is not None and view.context.state == window.state, name
    geometry = windows.stage_geometry(window.controller.config(), TEST_SIZE, TEST_SIZE)[1]
    expected = windows.region_map(geometry.padded_height, geometry.padded_width,
                                  geometry.window_size, geometry.block_shift(1))
    np.testing.assert_array_equal(window.views["regions"].drawn_region_map(), expected)
    assert window.controller.newest_request_id == request_before  # debounced: not sent yet


def test_padding_is_stated(window: MainWindow) -> None:
    window.control("imageSizeSpin").setValue(230)
    info = window.findChild(QtWidgets.QLabel, "geometryInfo").text()
    assert "230 px → 58×58 patches of 4 px after padding 2 px" in info
    # stage 1: 58 tokens padded to 63 for M = 7
    assert "58×58 tokens, padded to 63×63 (+5 rows, +5 cols)" in info
    assert window.prepared.display.shape == (230, 230, 3)
    window.control("imageSizeSpin").setValue(224)
    assert "224 px → 56×56 patches of 4 px (no padding)" in \
        window.findChild(QtWidgets.QLabel, "geometryInfo").text()


def test_control_changes_are_debounced_into_one_request(qtbot, window: MainWindow) -> None:
    before = window.controller.newest_request_id
    size = window.control("imageSizeSpin")

    def flurry() -> None:
        for value in (100, 104, 112, 108, 104):
            size.setValue(value)

    result = wait_for_result(qtbot, window, flurry)
    assert window.controller.newest_request_id == before + 1
    assert result.request_id == before + 1 and result.state.img_size == 104
    assert result.record_meta is not None and result.record_meta.grid_size == (26, 26)


def test_one_run_serves_every_block(qtbot, window: MainWindow, shared_cache: ModelCache) -> None:
    """After one run, stage, block, head and query changes show the right block's attention
    at once, without another run."""
    first = window.last_result
    assert first is not None and len(first.captured) == sum(window.controller.config().depths)
    before = window.controller.newest_request_id
    window.tabs.setCurrentWidget(window.views["attention"])
    model = shared_cache.model_for(window.state)
    batch = torch.from_numpy(window.prepared.pixels.copy()).unsqueeze(0)
    changes = [{"stage": 1}, {"block": 0}, {"head": 1}, {"query": (3, 4)}, {"stage": 2}, {"block": 5},
               {"block": 3}, {"head": 7}, {"stage": 3}, {"block": 0}, {"stage": 0}, {"block": 1},
               {"query": (20, 2)}, {"stage": 2, "block": 1}, {"head": 0}, {"stage": 1, "block": 1},
               {"stage": 3, "block": 1}, {"query": (0, 0)}, {"stage": 0, "block": 0}, {"block": 1}]
    for change in changes:
        before_state = window.state
        new_block = (before_state.stage, before_state.block) != (change.get("stage", before_state.stage),
                                                                 change.get("block", before_state.block))
        # a new block is shown with resultsShown; a head or query change shows the same result
        with qtbot.waitSignal(window.resultsShown, timeout=5000 if new_block else 50,
                              raising=new_block) as blocker:
            window.controller.update(**change)
        state = window.state
        if blocker.args:
            shown = blocker.args[0]
            assert shown.state == state and shown.record_meta.stage == state.stage
            with torch.no_grad(), capture_attention(model, [(state.stage, state.block)]) as records:
                model(batch)
            np.testing.assert_allclose(shown.attention, records[0].attn.numpy(), atol=1e-6)
        assert window.views["attention"].is_showing_result()
    assert window.controller.newest_request_id == before


def test_over_the_capture_budget_a_block_change_runs_the_model(qtbot, window: MainWindow) -> None:
    window.controller.capture_budget = 1
    first = wait_for_result(qtbot, window, window.controller.run_now)
    assert list(first.captured) == [(window.state.stage, window.state.block)]
    before = window.controller.newest_request_id
    shown = wait_for_result(qtbot, window, lambda: window.controller.update(stage=2, block=3))
    assert window.controller.newest_request_id == before + 1
    assert shown.record_meta is not None and (shown.record_meta.stage, shown.record_meta.block) == (2, 3)


def test_head_and_query_need_no_new_run(qtbot, window: MainWindow) -> None:
    before = window.controller.newest_request_id
    window.control("headSpin").setValue(2)
    window.views["windows"].queryPicked.emit(5, 9)
    window.views["mask"].windowPicked.emit(3)
    assert window.state.query == (5, 9) and window.state.window == 3 and window.state.head == 1
    assert window.control("queryLabel").text() == "row 5, col 9"
    with qtbot.assertNotEmitted(window.resultsShown, wait=400):
        pass
    assert window.controller.newest_request_id == before


# --- the worker: newest wins, errors, busy indicator ----------------------------------

def test_a_stale_result_is_dropped(qtbot, window: MainWindow) -> None:
    newest = window.controller.newest_request_id
    stale = InferenceResult(request_id=newest - 1, state=window.state, error="stale")
    with qtbot.assertNotEmitted(window.resultsShown):
        window.controller.worker.resultReady.emit(stale)
    assert window.controller.dropped_results >= 1
    assert window.output_view.message_text() == ""


def test_older_run_finishing_late_is_not_shown(qtbot, settings_file: Path,
                                              shared_cache: ModelCache) -> None:
    # a runner that ignores cancellation, so the older run really reaches the controller
    window = open_window(qtbot, settings_file, shared_cache,
                         runner=lambda request, cache, _cancelled: run_inference(request, cache))
    shown: list[int] = []
    window.resultsShown.connect(lambda result: shown.append(result.request_id))
    dropped = window.controller.dropped_results
    older = window.controller.run_now()
    qtbot.waitUntil(lambda: window.controller.worker.running_request == older, timeout=RUN_TIMEOUT_MS)
    window.controller.update(stage=1)
    newer = window.controller.run_now()
    qtbot.waitUntil(lambda: newer in shown, timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.controller.dropped_results > dropped, timeout=RUN_TIMEOUT_MS)
    assert older not in shown
    assert window.last_result.request_id == newer and window.last_result.state.stage == 1
    window.close()


def test_a_superseded_run_is_abandoned(qtbot, window: MainWindow) -> None:
    emitted: list[int] = []
    window.controller.worker.resultReady.connect(lambda result: emitted.append(result.request_id),
                                                 QtCore.Qt.ConnectionType.DirectConnection)
    window.controller.update(img_size=448)  # a run long enough to interrupt
    qtbot.waitUntil(lambda: not window.controller.preparing, timeout=RUN_TIMEOUT_MS)
    older = window.controller.run_now()
    qtbot.waitUntil(lambda: window.controller.worker.running_request == older, timeout=RUN_TIMEOUT_MS)

    def newer_request() -> None:
        window.controller.update(img_size=TEST_SIZE)
        window.controller.run_now()

    result = wait_for_result(qtbot, window, newer_request)
    assert result.request_id == older + 1 and result.state.img_size == TEST_SIZE
    assert older not in emitted  # stopped at a module boundary, never sent


def test_a_request_that_raises_shows_a_message_and_the_next_works(
        qtbot, settings_file: Path, shared_cache: ModelCache) -> None:
    def runner(request, cache, cancelled):
        if request.state.img_size == 100:
            raise RuntimeError("boom in the model")
        return run_inference(request, cache, cancelled)

    window = open_window(qtbot, settings_file, shared_cache, runner=runner)
    good = window.last_result
    failed = wait_for_result(qtbot, window, lambda: window.control("imageSizeSpin").setValue(100))
    assert failed.error is not None and "boom in the model" in failed.error
    assert "boom in the model" in window.output_view.message_text()
    assert "boom in the model" in window.statusBar().currentMessage()
    assert window.last_result is good  # the last good result stays for export
    ok = wait_for_result(qtbot, window, lambda: window.control("imageSizeSpin").setValue(TEST_SIZE))
    assert ok.error is None and window.output_view.message_text() == ""
    assert len(window.output_view.top_rows()) == 5
    window.close()


def test_a_broken_checkpoint_is_reported_and_nothing_is_lost(qtbot, window: MainWindow,
                                                              tmp_path: Path) -> None:
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"\x80\x02not really a pickle")
    combo = window.control("modelCombo")
    with qtbot.waitSignal(window.messageShown, timeout=RUN_TIMEOUT_MS) as blocker:
        window.load_checkpoint(broken)
    assert "Could not load the checkpoint broken.pth" in blocker.args[0]
    assert combo.count() == 4 and window.state.checkpoint_path is None
    # a checkpoint read earlier that is broken by the time the worker reads it again:
    # an error result, then the app goes on
    from swin_model import preset

    failed = wait_for_result(qtbot, window, lambda: window.controller.update(
        model_name="broken.pth", checkpoint_path=str(broken), checkpoint_config=preset("swin-t")))
    assert failed.error is not None and "could not be loaded" in window.output_view.message_text()
    ok = wait_for_result(qtbot, window, lambda: window.controller.update(
        model_name="swin-t", checkpoint_path=None, checkpoint_config=None))
    assert ok.error is None


def test_a_loaded_checkpoint_joins_the_model_list(qtbot, window: MainWindow, tmp_path: Path) -> None:
    import torch

    from swin_model import SwinConfig, SwinTransformer

    torch.manual_seed(3)
    path = tmp_path / "tiny-imagenet-head.pth"
    save_official(SwinTransformer(SwinConfig(embed_dim=24, depths=(2, 2), num_heads=(2, 4),
                                             window_size=4)), path)
    with qtbot.waitSignal(window.resultsShown, timeout=RUN_TIMEOUT_MS) as blocker:
        window.load_checkpoint(path)
    result = blocker.args[0]
    combo = window.control("modelCombo")
    assert combo.currentText() == path.name and combo.count() == 5
    assert window.state.checkpoint_path == str(path.resolve())
    assert window.control("windowSizeSpin").value() == 4
    assert window.control("stageSpin").maximum() == 2
    assert result.error is None and result.trained_head
    assert "Trained" in window.output_view.badge_text()
    assert result.attention.shape[-1] == 16  # 4 x 4 windows
    assert result.trained_window is None
    assert "interpolated" not in window.output_view.details_text()
    # M stays free with real weights: the tables are resized as the official code does
    resized = wait_for_result(qtbot, window, lambda: window.control("windowSizeSpin").setValue(6))
    assert resized.error is None and resized.attention.shape[-1] == 36
    assert resized.trained_window == 4
    assert resized.bias_tables[(0, 0)].shape == ((2 * 4 - 1) ** 2, 2)  # as trained
    window.tabs.setCurrentWidget(window.views["relative-position"])
    position = window.views["relative-position"]
    assert position.resize_mode() == "resized" and position.table_values().shape == ((2 * 6 - 1) ** 2, 2)
    assert "from the trained M = 4 to M = 6" in window.output_view.details_text()


def test_busy_indicator_shows_while_the_model_runs(qtbot, window: MainWindow) -> None:
    busy = window.findChild(QtWidgets.QProgressBar, "busyIndicator")
    assert not busy.isVisible()
    with qtbot.waitSignal(window.resultsShown, timeout=RUN_TIMEOUT_MS):
        window.controller.run_now()
        assert busy.isVisible()
    assert not busy.isVisible()


def test_closing_mid_run_stops_the_worker(qtbot, settings_file: Path, shared_cache: ModelCache) -> None:
    window = open_window(qtbot, settings_file, shared_cache)
    window.control("imageSizeSpin").setValue(448)  # a longer run
    request = window.controller.run_now()
    qtbot.waitUntil(lambda: window.controller.worker.running_request == request, timeout=RUN_TIMEOUT_MS)
    start = time.perf_counter()
    window.close()
    assert window.worker_finished
    assert not window.controller.worker.isRunning()
    assert time.perf_counter() - start < 5.0


# --- images ----------------------------------------------------------------------------

def test_broken_or_missing_image_keeps_the_current_one(qtbot, window: MainWindow, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not much of a jpeg")
    prepared, title = window.prepared, window.windowTitle()
    for path in (broken, tmp_path / "missing.png"):
        with qtbot.waitSignal(window.messageShown) as blocker:
            assert window.open_image(path) is False
        assert str(path) in blocker.args[0] and "current image is kept" in blocker.args[0]
        assert path.name in window.output_view.message_text()
        assert window.prepared is prepared and window.windowTitle() == title


def test_open_image_runs_the_model_and_remembers_the_file(qtbot, window: MainWindow) -> None:
    coffee = ASSETS / "coffee.jpg"
    result = wait_for_result(qtbot, window, lambda: window.open_image(coffee))
    assert result.error is None
    np.testing.assert_array_equal(window.prepared.display, prepare(load_image(coffee), TEST_SIZE).display)
    assert "coffee.jpg" in window.windowTitle()
    assert recent_files(window.settings)[0] == str(coffee.resolve())
    window.recent_menu.aboutToShow.emit()
    assert "coffee.jpg" in [action.text() for action in window.recent_menu.actions()]


def test_paste_and_drop(qtbot, window: MainWindow) -> None:
    pattern = ASSETS / "test_pattern.png"
    clipboard = QtWidgets.QApplication.clipboard()
    clipboard.setImage(QtGui.QImage(str(pattern)))
    assert window.paste_image()
    np.testing.assert_array_equal(window.prepared.display, prepare(load_image(pattern), TEST_SIZE).display)
    assert "clipboard" in window.controller.image_name

    data = QtCore.QMimeData()
    data.setUrls([QtCore.QUrl.fromLocalFile(str(ASSETS / "astronaut.jpg"))])
    event = QtGui.QDropEvent(QtCore.QPointF(10, 10), QtCore.Qt.DropAction.CopyAction, data,
                             QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.controller.image_name.endswith("astronaut.jpg")

    clipboard.setText("no image here")
    with qtbot.waitSignal(window.messageShown):
        assert not window.paste_image()
    assert window.controller.image_name.endswith("astronaut.jpg")


# --- settings --------------------------------------------------------------------------

def test_settings_persist_between_windows(qtbot, settings_file: Path, shared_cache: ModelCache) -> None:
    first = open_window(qtbot, settings_file, shared_cache)
    first.control("windowSizeSpin").setValue(4)
    first.control("shiftCheck").setChecked(False)
    first.control("stageSpin").setValue(2)
    first.control("blockSpin").setValue(2)
    first.control("headSpin").setValue(5)
    first.tabs.setCurrentIndex(4)
    first.close()
    assert QtCore.QSettings(str(settings_file), QtCore.QSettings.Format.IniFormat).value(
        "controls/headSpin") in (5, "5")

    second = MainWindow(settings=str(settings_file), cache=shared_cache)
    qtbot.addWidget(second)
    with qtbot.waitSignal(second.viewsReady, timeout=RUN_TIMEOUT_MS):
        pass
    state = second.state
    assert (state.window_size, state.shifted, state.stage, state.block, state.head) == (4, False, 1, 1, 4)
    assert state.img_size == TEST_SIZE
    assert second.tabs.currentIndex() == 4
    second.close()
