"""Help: the keyboard-shortcut sheet and the About box (with the version)."""

from __future__ import annotations

import html
from importlib import metadata

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["ABOUT_TEXT", "ShortcutSheet", "app_version", "shortcut_rows", "show_about"]

ABOUT_TEXT = ("Swin Explorer shows how the Swin Transformer cuts an image into patches and windows, "
              "shifts the windows, masks attention across regions, merges patches and what it all "
              "costs, on a real model running in the background.")


def app_version() -> str:
    """The installed version of the project ("unknown" when run from an uninstalled tree)."""
    try:
        return metadata.version("swin-explorer")
    except metadata.PackageNotFoundError:
        return "unknown"


def shortcut_rows(widget: QtWidgets.QWidget) -> list[tuple[str, str]]:
    """(keys, what they do) for every action of ``widget`` that has a shortcut, in the order
    the actions were added."""
    rows = []
    for action in widget.actions():
        keys = action.shortcut().toString(QtGui.QKeySequence.SequenceFormat.NativeText)
        if keys:
            rows.append((keys, action.text().replace("&", "")))
    return rows


class ShortcutSheet(QtWidgets.QDialog):
    """A table of every keyboard shortcut of ``window``."""

    def __init__(self, window: QtWidgets.QWidget) -> None:
        super().__init__(window)
        self.setObjectName("shortcutSheet")
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(window)
        self.table = QtWidgets.QTableWidget(len(rows), 2)
        self.table.setObjectName("shortcutTable")
        self.table.setHorizontalHeaderLabels(["Keys", "Action"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        for row, (keys, text) in enumerate(rows):
            self.table.setItem(row, 0, QtWidgets.QTableWidgetItem(keys))
            self.table.setItem(row, 1, QtWidgets.QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(close)
        self.resize(460, 560)

    def rows(self) -> list[tuple[str, str]]:
        """What the table shows, row by row."""
        return [(self._text(row, 0), self._text(row, 1)) for row in range(self.table.rowCount())]

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""


def about_html() -> str:
    return (f"<h3>Swin Explorer {html.escape(app_version())}</h3><p>{html.escape(ABOUT_TEXT)}</p>"
            f"<p>Qt {html.escape(QtCore.qVersion())}</p>")


def show_about(parent: QtWidgets.QWidget) -> None:
    QtWidgets.QMessageBox.about(parent, "About Swin Explorer", about_html())
