"""Model → Download pretrained weights…: the dialog downloads from a server on 127.0.0.1
(the URL passed in), shows bytes, rate and time left, can be cancelled, and the window
switches to the weights once they are verified (pytest-qt, offscreen).

Set SWIN_WEIGHTS_SHOTS to a folder to keep screenshots of the dialog and the prediction."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets
from weights_server import (
    allow_only_loopback,
    catalogue_entry,
    refused_url,
    serve,
    write_catalogue,
    write_checkpoint,
)

from explorer import MainWindow, lifetime
from explorer.inference import ModelCache
from explorer.settings import open_settings
from explorer.weights_dialog import WeightsDialog, cached_checkpoints, open_weights_dialog
from swin_model import SwinConfig
from swin_model.weights import cached_path

NAME = "swin_test_patch4_window4_64"
# a 1000-class head, so the prediction panel names ImageNet classes
SMALL = SwinConfig(img_size=64, embed_dim=24, depths=(2, 2), num_heads=(2, 4), window_size=4,
                   num_classes=1000)
TEST_SIZE = 96
RUN_TIMEOUT_MS = 90_000
HELD_AT = 60_000
FAST = {"retry_wait": 0.0, "progress_interval": 0.0, "timeout": 20.0}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    allow_only_loopback(monkeypatch)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small official-layout checkpoint (random weights) of the SMALL layout."""
    return write_checkpoint(tmp_path_factory.mktemp("served"), NAME, SMALL)


def open_window(qtbot, settings_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    """A window with its own cache folder and a catalogue of NAME, shown and with its first
    model run on screen (release it with :func:`explorer.lifetime.release`)."""
    monkeypatch.setenv("SWIN_EXPLORER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SWIN_EXPLORER_CATALOGUE",
                       str(write_catalogue(tmp_path / "catalogue.json", catalogue_entry(NAME, SMALL))))
    settings = open_settings(settings_file)
    settings.setValue("controls/imageSizeSpin", TEST_SIZE)
    settings.sync()
    window = MainWindow(settings=str(settings_file), cache=ModelCache(capacity=2))
    window.show()
    with qtbot.waitSignal(window.resultsShown, timeout=RUN_TIMEOUT_MS):
        pass
    return window


@pytest.fixture
def window(qtbot, settings_file: Path, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    main_window = open_window(qtbot, settings_file, tmp_path, monkeypatch)
    try:
        yield main_window
        main_window.close()
        assert main_window.worker_finished
    finally:
        assert lifetime.release(main_window)  # the window, its dialogs and its worker, deleted now


def save_shot(widget: QtWidgets.QWidget, name: str) -> None:
    """Grab ``widget`` (always: a null grab fails the test) and keep it under
    $SWIN_WEIGHTS_SHOTS when that is set."""
    image = widget.grab()
    assert not image.isNull() and image.width() > 100
    folder = os.environ.get("SWIN_WEIGHTS_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert image.save(str(Path(folder) / name))


def start_held_download(qtbot, dialog: WeightsDialog) -> None:
    """Press Download and wait until the bytes sent before the server's hold are shown."""
    assert dialog.selected_name() == NAME and dialog.download_button.text() == "Download and use"
    qtbot.mouseClick(dialog.download_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.status.text().startswith(f"{HELD_AT / 1000:.1f} KB of"), timeout=20_000)


def test_the_dialog_downloads_and_the_window_switches_to_the_weights(qtbot, window: MainWindow,
                                                                    checkpoint: Path, tmp_path: Path) -> None:
    combo = window.control("modelCombo")
    with serve({"/w.pth": checkpoint}, hold={"/w.pth": HELD_AT}) as server:
        dialog = open_weights_dialog(window, urls={NAME: server.url("/w.pth")}, download_options=FAST)
        assert dialog.isVisible() and dialog.parent() is window
        start_held_download(qtbot, dialog)
        size = checkpoint.stat().st_size
        text = dialog.status.text()
        assert text.startswith(f"{HELD_AT / 1000:.1f} KB of {size / 1000:.1f} KB (")
        assert "/s" in text and "left" in text
        assert dialog.progress.value() == round(HELD_AT / size * 1000)
        assert dialog.cancel_button.isEnabled() and not dialog.download_button.isEnabled()
        save_shot(dialog, "weights_dialog_progress.png")
        with qtbot.waitSignal(window.resultsShown, timeout=RUN_TIMEOUT_MS) as shown:
            server.release.set()
    result = shown.args[0]
    cached = tmp_path / "cache" / "weights" / f"{NAME}.pth"
    assert cached.read_bytes() == checkpoint.read_bytes()
    assert window.state.checkpoint_path == str(cached.resolve())
    assert combo.currentText() == f"{NAME}.pth" and combo.count() == 5
    assert result.error is None and result.trained_head
    assert "Trained" in window.output_view.badge_text()
    qtbot.waitUntil(lambda: window.findChild(WeightsDialog) is None)  # closed, then deleted
    assert cached_checkpoints() == [cached]  # what the window lists at its next start
    save_shot(window.output_dock, "prediction_after_weights.png")
    save_shot(window, "window_after_weights.png")


def test_cancel_stops_the_download_and_changes_nothing(qtbot, window: MainWindow, checkpoint: Path) -> None:
    combo = window.control("modelCombo")
    with serve({"/w.pth": checkpoint}, hold={"/w.pth": HELD_AT}) as server:
        dialog = open_weights_dialog(window, urls={NAME: server.url("/w.pth")}, download_options=FAST)
        start_held_download(qtbot, dialog)
        qtbot.mouseClick(dialog.cancel_button, QtCore.Qt.MouseButton.LeftButton)
        assert dialog.status.text() == "Cancelling …" and not dialog.cancel_button.isEnabled()
        server.release.set()
        qtbot.waitUntil(lambda: not dialog.downloading and "Cancelled" in dialog.status.text(),
                        timeout=20_000)
    assert cached_path(NAME) is None and cached_checkpoints() == []
    assert combo.count() == 4 and window.state.checkpoint_path is None
    assert dialog.isVisible() and dialog.download_button.isEnabled()
    assert dialog.table.topLevelItem(0).text(3).startswith("partly")
    dialog.close()


def test_a_failed_download_is_shown_and_the_window_is_unchanged(qtbot, window: MainWindow) -> None:
    url = refused_url()
    dialog = open_weights_dialog(window, urls={NAME: url}, download_options=FAST)
    qtbot.mouseClick(dialog.download_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.last_error is not None and not dialog.downloading, timeout=20_000)
    assert "connection refused" in dialog.status.text() and url in dialog.status.text()
    assert "save it as" in dialog.status.text()
    assert window.control("modelCombo").count() == 4 and dialog.download_button.isEnabled()
    dialog.close()


def test_the_model_menu_opens_the_dialog_and_cached_weights_are_used_offline(
        qtbot, window: MainWindow, checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    action = window.window_actions["downloadWeights"]
    assert action.text() == "&Download pretrained weights…"
    assert action in window.window_actions.model_menu.actions()
    folder = tmp_path / "cache" / "weights"
    folder.mkdir(parents=True)
    (folder / f"{NAME}.pth").write_bytes(checkpoint.read_bytes())  # a file downloaded by hand

    def no_network(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the network was used")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    action.trigger()
    dialog = window.findChild(WeightsDialog, "weightsDialog")
    assert dialog is not None and dialog.isVisible()
    assert dialog.table.topLevelItem(0).text(3) == "yes" and dialog.download_button.text() == "Use"
    with qtbot.waitSignal(window.resultsShown, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(dialog.download_button, QtCore.Qt.MouseButton.LeftButton)
    assert window.control("modelCombo").currentText() == f"{NAME}.pth"
    assert window.state.checkpoint_path == str((folder / f"{NAME}.pth").resolve())


def test_closing_the_window_mid_download_stops_it(qtbot, window: MainWindow, checkpoint: Path) -> None:
    with serve({"/w.pth": checkpoint}, hold={"/w.pth": HELD_AT}, hold_timeout=60.0) as server:
        dialog = open_weights_dialog(window, urls={NAME: server.url("/w.pth")}, download_options=FAST)
        start_held_download(qtbot, dialog)
        # the server still holds the rest: closing must interrupt the read, not wait for it
        window.close()
        assert not dialog.downloading and "Cancelled" in dialog.status.text()
        server.release.set()
    assert window.worker_finished and cached_path(NAME) is None


def test_weights_downloaded_earlier_are_in_the_model_list_at_start(
        qtbot, settings_file: Path, tmp_path: Path, checkpoint: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache" / "weights"
    cache.mkdir(parents=True)
    cached = cache / f"{NAME}.pth"
    cached.write_bytes(checkpoint.read_bytes())
    window = open_window(qtbot, settings_file, tmp_path, monkeypatch)
    try:
        combo = window.control("modelCombo")
        names = [combo.itemText(index) for index in range(combo.count())]
        assert names[-1] == f"{NAME}.pth"
        assert window.controller.checkpoints[str(cached.resolve())] == SMALL
        # choosing it runs the model on the cached file, with no network
        result_shown = qtbot.waitSignal(window.resultsShown, timeout=RUN_TIMEOUT_MS)
        with result_shown:
            combo.setCurrentIndex(combo.count() - 1)
        result = result_shown.args[0]
        assert result.error is None and result.trained_head
        assert window.state.window_size == SMALL.window_size
    finally:
        assert lifetime.release(window)
