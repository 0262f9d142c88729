"""The figure views of the main window: where they sit, and what they are told.

:class:`FigureHub` places every figure of the registry, a tab for each ``"tab"`` figure and
a dock for each ``"side"`` figure, plus the prediction panel in its own dock. Until the
view code has loaded, each place holds a "loading" note. Afterwards the hub fans each
resolved state and each model result out to the views, and forwards the views' intents
(a query or a window picked with the mouse).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtWidgets

from .figures import FIGURES, tab_figures

if TYPE_CHECKING:
    from .resolved import ResolvedState
    from .state import InferenceResult
    from .views.base import FigureView
    from .views.output import OutputView

__all__ = ["FigureHub"]

_DOCK_FEATURES = (QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                  | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable
                  | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable)


def _placeholder() -> QtWidgets.QLabel:
    label = QtWidgets.QLabel("Loading…")
    label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    label.setEnabled(False)
    return label


def make_dock(window: QtWidgets.QMainWindow, title: str, name: str, widget: QtWidgets.QWidget,
              area: QtCore.Qt.DockWidgetArea) -> QtWidgets.QDockWidget:
    """A movable, floatable, closable dock of ``window`` holding ``widget``."""
    dock = QtWidgets.QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setWidget(widget)
    dock.setFeatures(_DOCK_FEATURES)
    window.addDockWidget(area, dock)
    return dock


class FigureHub(QtCore.QObject):
    """The figure views of ``window``: the tab widget (its central widget), one dock per
    side figure and the prediction dock."""

    changesRequested = QtCore.Signal(dict)
    """The state changes a click in a figure asks for: a query token, a window, a stage or
    a block (ExplorerState field names, 0-based values)."""

    def __init__(self, window: QtWidgets.QMainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.views: dict[str, FigureView] = {}
        self.output_view: OutputView | None = None
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setObjectName("viewTabs")
        self.tabs.setDocumentMode(True)
        for spec in tab_figures():
            self.tabs.addTab(_placeholder(), spec.title)
        window.setCentralWidget(self.tabs)
        right = QtCore.Qt.DockWidgetArea.RightDockWidgetArea
        self.output_dock = make_dock(window, "Prediction", "outputDock", _placeholder(), right)
        self.side_docks: dict[str, QtWidgets.QDockWidget] = {}
        below = self.output_dock
        for spec in FIGURES:
            if spec.place == "side":
                dock = make_dock(window, spec.title, f"{spec.name}Dock", _placeholder(), right)
                window.splitDockWidget(below, dock, QtCore.Qt.Orientation.Vertical)
                self.side_docks[spec.name] = below = dock

    def current_view(self) -> FigureView | None:
        """The figure view in the current tab (None before the views exist)."""
        page = self.tabs.currentWidget()
        return next((view for view in self.views.values() if view is page), None)

    def create_views(self) -> None:
        """Build every view of the registry and the prediction panel, in their places."""
        from .figures import create_views
        from .views.output import OutputView

        self.views = create_views()
        current = self.tabs.currentIndex()
        self.tabs.blockSignals(True)
        for index, spec in enumerate(tab_figures()):
            view = self.views[spec.name]
            placeholder = self.tabs.widget(index)
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, view, spec.title)
            self.tabs.setTabToolTip(index, view.explanation)
            if placeholder is not None:
                placeholder.deleteLater()
        self.tabs.setCurrentIndex(current)
        self.tabs.blockSignals(False)
        for name, dock in self.side_docks.items():
            self._replace_dock_widget(dock, self.views[name])
        self.output_view = OutputView()
        self._replace_dock_widget(self.output_dock, self.output_view)
        for view in self.views.values():
            view.queryPicked.connect(self._query_picked)
            view.windowPicked.connect(self._window_picked)
            view.stagePicked.connect(self._stage_picked)
            view.blockPicked.connect(self._block_picked)
            view.figureRequested.connect(self.show_figure)

    @QtCore.Slot(int, int)
    def _query_picked(self, row: int, col: int) -> None:
        self.changesRequested.emit({"query": (row, col)})

    @QtCore.Slot(int)
    def _window_picked(self, window: int) -> None:
        self.changesRequested.emit({"window": window})

    @QtCore.Slot(int)
    def _stage_picked(self, stage: int) -> None:
        self.changesRequested.emit({"stage": stage})

    @QtCore.Slot(int, int)
    def _block_picked(self, stage: int, block: int) -> None:
        self.changesRequested.emit({"stage": stage, "block": block})

    @staticmethod
    def _replace_dock_widget(dock: QtWidgets.QDockWidget, widget: QtWidgets.QWidget) -> None:
        old = dock.widget()
        dock.setWidget(widget)
        old.deleteLater()

    @QtCore.Slot(str)
    def show_figure(self, name: str) -> None:
        """Bring the figure called ``name`` to the front (its tab, or its dock)."""
        view = self.views.get(name)
        if view is None:
            return
        if self.tabs.indexOf(view) >= 0:
            self.tabs.setCurrentWidget(view)
        elif name in self.side_docks:
            self.side_docks[name].show()
            self.side_docks[name].raise_()

    def set_theme(self, name: str) -> None:
        """Draw every figure view in the theme ``name`` ("screen" or "slide")."""
        for view in self.views.values():
            view.set_theme(name)

    def show_state(self, resolved: ResolvedState, prepared: Any) -> None:
        """Redraw every view for ``resolved`` on ``prepared``'s photo."""
        for view in self.views.values():
            view.update_state(resolved, prepared)
        if self.output_view is not None:
            self.output_view.update_state(resolved.state, prepared)

    def show_result(self, result: InferenceResult) -> None:
        """Give ``result`` to the views that show model output, and to the prediction."""
        for spec in FIGURES:
            view = self.views.get(spec.name)
            if view is not None and spec.needs_model:
                view.update_result(result)
        if self.output_view is not None:
            self.output_view.update_result(result)

    def show_message(self, message: str) -> None:
        """Show an error or warning in the prediction panel (once it exists)."""
        if self.output_view is not None:
            self.output_view.show_message(message)

    def dispose(self) -> None:
        """Close every view's scene while Python and the window are alive."""
        for view in self.views.values():
            view.close()
        self.views = {}
