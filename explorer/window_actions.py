"""The main window's menus, actions and shortcuts.

:func:`build_actions` creates every menu of the window and keeps each action under a name,
so that other parts (the export actions, tests) reach them directly rather than by their
text. The figure tabs' entries and their Ctrl+1 … shortcuts come from the figure registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6 import QtGui, QtWidgets

from .control_panel import TOOLTIPS
from .figures import tab_figures
from .image_sources import SAMPLE_IMAGES
from .state import PAPER_SETTINGS, PAPER_TOY_SETTINGS

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["WindowActions", "build_actions"]


@dataclass
class WindowActions:
    """The window's menus and its named actions."""

    file_menu: QtWidgets.QMenu
    recent_menu: QtWidgets.QMenu
    model_menu: QtWidgets.QMenu
    view_menu: QtWidgets.QMenu
    help_menu: QtWidgets.QMenu
    quit: QtGui.QAction
    by_name: dict[str, QtGui.QAction] = field(default_factory=dict)

    def __getitem__(self, name: str) -> QtGui.QAction:
        return self.by_name[name]


def _add(window: MainWindow, menu: QtWidgets.QMenu, text: str, slot: Callable[..., Any],
         shortcut: str | None = None, tip: str = "", name: str = "") -> QtGui.QAction:
    """An action in ``menu`` that is also the window's (so its shortcut works everywhere)."""
    action = menu.addAction(text)
    action.triggered.connect(slot)
    if shortcut:
        action.setShortcut(QtGui.QKeySequence(shortcut))
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    if name:
        action.setObjectName(name)
    window.addAction(action)
    return action


def _drop_checked(slot: Callable[[], Any]) -> Callable[[bool], Any]:
    """``slot`` as a receiver of ``triggered(checked)``, which it ignores."""
    def receive(_checked: bool = False) -> Any:
        return slot()
    return receive


def build_actions(window: MainWindow) -> WindowActions:
    """Create the File, Model, View and Help menus of ``window``."""
    bar = window.menuBar()
    sources, controls, controller = window.image_sources, window.controls, window.controller
    named: dict[str, QtGui.QAction] = {}

    def add(menu: QtWidgets.QMenu, text: str, slot: Callable[..., Any], shortcut: str | None = None,
            tip: str = "", name: str = "") -> QtGui.QAction:
        action = _add(window, menu, text, slot, shortcut, tip, name)
        if name:
            named[name] = action
        return action

    file_menu = bar.addMenu("&File")
    add(file_menu, "&Open image…", _drop_checked(sources.choose_image), "Ctrl+O",
        "Open an image file (or drop one on the window).", "openImage")
    recent_menu = file_menu.addMenu("Open &recent")
    recent_menu.setObjectName("recentMenu")
    recent_menu.aboutToShow.connect(partial(sources.fill_recent_menu, recent_menu))
    samples = file_menu.addMenu("&Sample images")
    for title, path in SAMPLE_IMAGES:
        action = samples.addAction(title)
        action.triggered.connect(_drop_checked(partial(sources.open_image, path)))
    add(file_menu, "&Paste image", _drop_checked(sources.paste_image), "Ctrl+V",
        "Use the image (or image file) on the clipboard.", "pasteImage")
    file_menu.addSeparator()
    add(file_menu, "Load &checkpoint…", _drop_checked(window.choose_checkpoint), "Ctrl+L",
        "Load trained Swin V1 weights (official .pth, timm or HF safetensors).", "loadCheckpoint")
    file_menu.addSeparator()
    quit_action = add(file_menu, "&Quit", _drop_checked(window.close), "Ctrl+Q", name="quit")

    model_menu = bar.addMenu("&Model")
    add(model_menu, "&Run again", _drop_checked(controller.run_now), "F5",
        "Run the model again on the current image.", "runAgain")
    add(model_menu, "Toggle &shifted windows", _drop_checked(controls.shift_check.toggle), "Ctrl+Shift+W",
        TOOLTIPS["shiftCheck"], "toggleShift")

    def open_weights_dialog() -> None:
        from .weights_dialog import open_weights_dialog as open_dialog

        open_dialog(window)

    add(model_menu, "&Download pretrained weights…", _drop_checked(open_weights_dialog), None,
        "Download the official ImageNet weights once; they are used offline afterwards.",
        "downloadWeights")
    model_menu.addSeparator()
    for stage in range(1, 5):
        add(model_menu, f"Stage {stage}", _drop_checked(partial(controls.stage_spin.setValue, stage)),
            f"Alt+{stage}", name=f"stage{stage}")
    model_menu.addSeparator()
    add(model_menu, "&Next block", _drop_checked(controls.block_spin.stepUp), "Alt+Right", name="nextBlock")
    add(model_menu, "&Previous block", _drop_checked(controls.block_spin.stepDown), "Alt+Left",
        name="previousBlock")
    add(model_menu, "Next &head", _drop_checked(controls.head_spin.stepUp), "Alt+Up", name="nextHead")
    add(model_menu, "Previous h&ead", _drop_checked(controls.head_spin.stepDown), "Alt+Down",
        name="previousHead")
    model_menu.addSeparator()
    add(model_menu, "Reset to the &paper's settings",
        _drop_checked(partial(controller.update, **PAPER_SETTINGS)), "Ctrl+Shift+R",
        "Swin-T at 224×224, M = 7, shifted windows, stage 1, block 2.", "paperSettings")
    add(model_menu, "Paper's &toy example", _drop_checked(partial(controller.update, **PAPER_TOY_SETTINGS)),
        "Ctrl+Shift+T", "The grid of the paper's figures: 8×8 tokens, M = 4, shift 2.", "paperToy")

    view_menu = bar.addMenu("&View")
    for index, spec in enumerate(tab_figures()):
        add(view_menu, spec.title, _drop_checked(partial(window.tabs.setCurrentIndex, index)),
            f"Ctrl+{index + 1}" if index < 9 else None, name=f"showFigure:{spec.name}")
    view_menu.addSeparator()
    for dock in (window.controls_dock, window.output_dock, window.cost_dock):
        view_menu.addAction(dock.toggleViewAction())
    view_menu.addSeparator()
    presentation = add(view_menu, "&Presentation mode", _drop_checked(window.presentation.toggle), "F11",
                       "Full screen, large fonts, panels hidden; F11 or Esc to leave.", "presentationMode")
    presentation.setCheckable(True)
    window.presentation.toggled.connect(presentation.setChecked)

    help_menu = bar.addMenu("&Help")
    add(help_menu, "&Keyboard shortcuts", _drop_checked(window.show_shortcuts), "F1",
        "Every keyboard shortcut of the window.", "shortcuts")
    add(help_menu, "&About Swin Explorer", _drop_checked(window.show_about), name="about")
    return WindowActions(file_menu=file_menu, recent_menu=recent_menu, model_menu=model_menu,
                         view_menu=view_menu, help_menu=help_menu, quit=quit_action, by_name=named)
