"""Presentation mode, the paper's settings and the help menu, driven as a user would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets

from explorer import MainWindow, lifetime
from explorer.help_dialogs import about_html, app_version
from explorer.inference import ModelCache
from explorer.settings import open_settings

TEST_SIZE = 96


@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:
    settings = open_settings(tmp_path / "settings.ini")
    settings.setValue("controls/imageSizeSpin", TEST_SIZE)
    settings.sync()
    main_window = MainWindow(settings=str(tmp_path / "settings.ini"), cache=ModelCache())
    main_window.resize(1280, 720)
    main_window.show()
    with qtbot.waitSignal(main_window.viewsReady, timeout=120_000):
        pass
    yield main_window
    lifetime.release(main_window)


def _action(window: MainWindow, name: str) -> QtWidgets.QAction:
    return window.window_actions[name]


def test_presentation_mode_fills_the_screen_and_restores_the_layout(qtbot, window: MainWindow) -> None:
    docks = window.findChildren(QtWidgets.QDockWidget)
    QtCore.QCoreApplication.processEvents()
    sizes_before = {dock.objectName(): (dock.width(), dock.height()) for dock in docks}
    window_before = window.size()
    assert all(dock.isVisible() for dock in docks)
    _action(window, "presentationMode").trigger()
    assert window.presentation.active and window.isFullScreen()
    assert not any(dock.isVisible() for dock in docks)
    assert not window.menuBar().isVisible() and not window.statusBar().isVisible()
    assert all(view.theme.name == "slide" for view in window.views.values())
    assert window.current_view() is not None and window.current_view().isVisible()
    # the same shortcuts work while presenting
    before = window.state.stage
    window.window_actions["stage3"].trigger()
    assert window.state.stage == 2 != before
    # Esc leaves, and everything comes back as it was
    QtCore.QCoreApplication.processEvents()
    window.presentation.leave()
    assert not window.presentation.active and not window.isFullScreen()
    assert all(dock.isVisible() for dock in docks)
    assert window.menuBar().isVisible() and window.statusBar().isVisible()
    assert all(view.theme.name == "screen" for view in window.views.values())
    QtCore.QCoreApplication.processEvents()
    assert window.size() == window_before
    assert {dock.objectName(): (dock.width(), dock.height()) for dock in docks} == sizes_before
    assert not _action(window, "presentationMode").isChecked()


def test_the_paper_settings_and_the_toy_example(window: MainWindow) -> None:
    window.controller.update(img_size=160, window_size=5, shifted=False, stage=2)
    _action(window, "paperToy").trigger()
    resolved = window.controller.resolved
    assert (resolved.image_size, resolved.window_size, resolved.config.shifted) == (32, 4, True)
    grid = resolved.geometries[0]
    assert (grid.height, grid.width, grid.window_size, grid.shift_size) == (8, 8, 4, 2)
    assert (resolved.stage, resolved.block, resolved.shift) == (0, 1, 2)
    _action(window, "paperSettings").trigger()
    state = window.state
    assert (state.model_name, state.img_size, state.window_size, state.shifted) == ("swin-t", 224, 7, True)
    assert window.control("imageSizeSpin").value() == 224


def test_help_lists_every_shortcut_and_the_version(qtbot, window: MainWindow) -> None:
    sheet = window.show_shortcuts()
    qtbot.addWidget(sheet)
    rows = dict((text, keys) for keys, text in sheet.rows())
    assert rows["Presentation mode"] == "F11"
    assert rows["Open image…"] == "Ctrl+O"
    assert rows["Keyboard shortcuts"] == "F1"
    shortcut_actions = [action for action in window.actions() if not action.shortcut().isEmpty()]
    assert len(sheet.rows()) == len(shortcut_actions)
    sheet.close()
    assert app_version() != "" and app_version() in about_html()
