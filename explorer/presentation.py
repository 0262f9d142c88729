"""Presentation mode: the figure fills the screen, for a projector.

F11 enters it: full screen, the side panels, menu bar and status bar hidden, and the
figures drawn in the slide theme (white background, large fonts). Every shortcut keeps
working, because the window owns its actions. F11 or Esc leaves it and restores the
window exactly as it was (geometry, docks, their sizes, and the themes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["PRESENTATION_THEME", "Presentation"]

PRESENTATION_THEME = "slide"
"""The figures' theme while presenting."""
SCREEN_THEME = "screen"


class Presentation(QtCore.QObject):
    """Enters and leaves presentation mode for ``window``."""

    toggled = QtCore.Signal(bool)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._saved_state: QtCore.QByteArray | None = None
        self._saved_geometry: QtCore.QRect | None = None
        self._was_maximized = False
        self._leave = QtGui.QShortcut(QtGui.QKeySequence("Esc"), window)
        self._leave.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        self._leave.setEnabled(False)
        self._leave.activated.connect(self.leave)

    @property
    def active(self) -> bool:
        return self._saved_state is not None

    @QtCore.Slot()
    def toggle(self) -> None:
        if self.active:
            self.leave()
        else:
            self.enter()

    @QtCore.Slot()
    def enter(self) -> None:
        """Full screen, panels hidden, the figures in the slide theme."""
        window = self._window
        if self.active:
            return
        self._saved_state = window.saveState()
        self._saved_geometry = window.geometry()
        self._was_maximized = window.isMaximized()
        for dock in window.findChildren(QtWidgets.QDockWidget):
            dock.hide()
        window.menuBar().hide()
        window.statusBar().hide()
        window.hub.set_theme(PRESENTATION_THEME)
        self._leave.setEnabled(True)
        window.showFullScreen()
        self.toggled.emit(True)

    @QtCore.Slot()
    def leave(self) -> None:
        """Back to the window as it was before :meth:`enter`."""
        window = self._window
        if not self.active:
            return
        state, geometry = self._saved_state, self._saved_geometry
        self._saved_state = self._saved_geometry = None
        self._leave.setEnabled(False)
        window.hub.set_theme(SCREEN_THEME)
        window.menuBar().show()
        window.statusBar().show()
        if self._was_maximized:
            window.showMaximized()
        else:
            window.showNormal()
        if geometry is not None and not self._was_maximized:
            window.setGeometry(geometry)
        if state is not None:
            window.restoreState(state)
        self.toggled.emit(False)
