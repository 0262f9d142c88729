"""Persistent settings: the controls (by objectName), recent files and the window layout.

Stored with QSettings under organisation and application "SwinExplorer". Pass a file path
to keep them in an INI file of your own (tests do).
"""

from __future__ import annotations

from os import PathLike

from PySide6 import QtCore, QtWidgets

__all__ = [
    "APPLICATION",
    "CONTROL_NAMES",
    "MAX_RECENT_FILES",
    "ORGANISATION",
    "add_recent_file",
    "open_settings",
    "recent_files",
    "remove_recent_file",
    "restore_controls",
    "restore_window",
    "save_controls",
    "save_window",
]

ORGANISATION = "SwinExplorer"
APPLICATION = "SwinExplorer"
MAX_RECENT_FILES = 8
CONTROL_NAMES = ("modelCombo", "imageSizeSpin", "keepAspectCheck", "windowSizeSpin", "shiftCheck",
                 "stageSpin", "blockSpin", "headSpin", "numberingCombo")
"""The controls whose values persist, in the order they are restored (ranges of the later
ones follow the earlier ones)."""

_RECENT_KEY = "files/recent"


def open_settings(path: str | PathLike[str] | None = None) -> QtCore.QSettings:
    """The application's settings, or an INI file at ``path``."""
    if path is not None:
        return QtCore.QSettings(str(path), QtCore.QSettings.Format.IniFormat)
    return QtCore.QSettings(ORGANISATION, APPLICATION)


def recent_files(settings: QtCore.QSettings) -> list[str]:
    value = settings.value(_RECENT_KEY, [])
    items: list[object] = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [str(item) for item in items if item][:MAX_RECENT_FILES]


def add_recent_file(settings: QtCore.QSettings, path: str) -> list[str]:
    """Put ``path`` first in the recent files; returns the new list."""
    files = [path] + [item for item in recent_files(settings) if item != path]
    files = files[:MAX_RECENT_FILES]
    settings.setValue(_RECENT_KEY, files)
    return files


def remove_recent_file(settings: QtCore.QSettings, path: str) -> list[str]:
    files = [item for item in recent_files(settings) if item != path]
    settings.setValue(_RECENT_KEY, files)
    return files


def save_controls(settings: QtCore.QSettings, root: QtWidgets.QWidget) -> None:
    """Store the value of every control in CONTROL_NAMES found under ``root``."""
    for name in CONTROL_NAMES:
        widget = root.findChild(QtWidgets.QWidget, name)
        key = f"controls/{name}"
        if isinstance(widget, QtWidgets.QComboBox):
            settings.setValue(key, widget.currentText())
        elif isinstance(widget, QtWidgets.QSpinBox):
            settings.setValue(key, widget.value())
        elif isinstance(widget, QtWidgets.QAbstractButton):
            settings.setValue(key, widget.isChecked())


def restore_controls(settings: QtCore.QSettings, root: QtWidgets.QWidget) -> None:
    """Set each control in CONTROL_NAMES to its stored value, where one is stored and
    valid (a combo entry that no longer exists is skipped; spin values are clamped by
    the spin box)."""
    for name in CONTROL_NAMES:
        key = f"controls/{name}"
        if not settings.contains(key):
            continue
        widget = root.findChild(QtWidgets.QWidget, name)
        if isinstance(widget, QtWidgets.QComboBox):
            index = widget.findText(str(settings.value(key)))
            if index >= 0:
                widget.setCurrentIndex(index)
        elif isinstance(widget, QtWidgets.QSpinBox):
            try:
                widget.setValue(int(settings.value(key)))
            except (TypeError, ValueError):
                continue
        elif isinstance(widget, QtWidgets.QAbstractButton):
            widget.setChecked(str(settings.value(key)).lower() in ("true", "1"))


def save_window(settings: QtCore.QSettings, window: QtWidgets.QMainWindow, tab: int) -> None:
    """Store ``window``'s geometry, its docks' layout and the current figure tab."""
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/state", window.saveState())
    settings.setValue("window/tab", tab)


def restore_window(settings: QtCore.QSettings, window: QtWidgets.QMainWindow) -> int | None:
    """Restore what :func:`save_window` stored; returns the stored tab (None if none)."""
    geometry = settings.value("window/geometry")
    if isinstance(geometry, QtCore.QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)
    layout = settings.value("window/state")
    if isinstance(layout, QtCore.QByteArray) and not layout.isEmpty():
        window.restoreState(layout)
    try:
        return int(settings.value("window/tab"))
    except (TypeError, ValueError):
        return None
