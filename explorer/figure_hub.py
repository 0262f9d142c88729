"""The figure views of the main window: where they sit, and what they are told.

:class:`FigureHub` places every figure of the registry, a tab for each ``"tab"`` figure and
a dock for each ``"side"`` figure, plus the prediction panel in its own dock. Until the
view code has loaded, each place holds a "loading" note. Afterwards the hub fans each
resolved state and each model result out to the views, and forwards the views' intents
(a query or a window picked with the mouse). A side figure in a panel shorter than it needs
is drawn smaller to fit (:class:`FitToHeight`), never cut off at the bottom.
"""

from __future__ import annotations

import math
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


class FitToHeight(QtCore.QObject):
    """Keeps a figure whole in a short panel: when the figure's layout needs more height
    than the panel's graphics view has (its texts wrapped at the view's width, its plots at
    their smallest), the scene is laid out taller (and as much wider) and drawn scaled down
    to fit; otherwise it is drawn at one scene unit per pixel, as usual.

    ``graphics`` is a pyqtgraph GraphicsView with a central layout item. When the view is
    resized, or the height its figure needs changes (new text, another theme), the largest
    scale at which the figure fits is searched for (a wider layout wraps its texts into
    fewer lines, so the height needed depends on the scale)."""

    MIN_SCALE = 0.6
    """The smallest drawing scale: below it the texts would be too small to read, and the
    bottom of the figure is cut off instead."""
    STEPS = 6
    """Bisection steps of the search (the scale is found to within 0.4/2⁶ < 0.01)."""

    def __init__(self, graphics: Any) -> None:
        super().__init__(graphics)
        self._graphics = graphics
        self.scale = 1.0
        self._resized = True
        self._fitting = False
        self._settled_height = -1.0
        """The height the figure needed after the last search, at its scale."""
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.fit)
        graphics.installEventFilter(self)
        central = graphics.centralWidget
        if isinstance(central, QtCore.QObject):
            central.installEventFilter(self)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        kind = event.type()
        if kind in (QtCore.QEvent.Type.Resize, QtCore.QEvent.Type.Show) and watched is self._graphics:
            self._resized = True
            self._timer.start(0)
        elif kind == QtCore.QEvent.Type.LayoutRequest and not self._fitting:
            self._timer.start(0)
        return False

    def stop(self) -> None:
        """Stop fitting (the view is being closed)."""
        self._timer.stop()
        self._graphics.removeEventFilter(self)
        central = self._graphics.centralWidget
        if isinstance(central, QtCore.QObject):
            central.removeEventFilter(self)

    @QtCore.Slot()
    def fit(self) -> None:
        graphics = self._graphics
        width, height = graphics.viewport().width(), graphics.viewport().height()
        if graphics.centralWidget is None or min(width, height) <= 0 or getattr(graphics, "closed", False) \
                or not graphics.isVisible():
            return  # a hidden figure is fitted when it is shown
        resized, self._resized = self._resized, False
        if not resized and abs(self._needed() - self._settled_height) <= 1:
            return  # the layout settled after the last search (or changed nothing that counts)
        self._fitting = True
        try:
            if self._fits(1.0, width, height):
                self.scale = 1.0
            else:
                low, high = self.MIN_SCALE, 1.0
                for _ in range(self.STEPS):
                    middle = (low + high) / 2
                    if self._fits(middle, width, height):
                        low = middle
                    else:
                        high = middle
                self.scale = low
                self._fits(low, width, height)
            self._settled_height = self._needed()
        finally:
            self._fitting = False

    def _needed(self) -> float:
        """The smallest height of the figure's layout, laid out as it is now."""
        return float(self._graphics.centralWidget.effectiveSizeHint(QtCore.Qt.SizeHint.MinimumSize).height())

    def _fits(self, scale: float, width: int, height: int) -> bool:
        """Lay the figure out at ``scale`` (the scene ``width / scale`` by ``height / scale``)
        and tell whether it fits."""
        graphics = self._graphics
        central = graphics.centralWidget
        scene = QtCore.QRectF(0, 0, math.floor(width / scale), math.floor(height / scale))
        graphics.setRange(scene, padding=0)
        layout = QtWidgets.QGraphicsWidget.layout(central)  # pyqtgraph's layouts shadow layout()
        for _ in range(3):  # texts that re-wrap at the new width ask for another pass
            QtCore.QCoreApplication.sendPostedEvents(central, QtCore.QEvent.Type.LayoutRequest)
            if layout is not None:
                layout.activate()
        return self._needed() <= math.floor(height / scale) + 0.5


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
        self.fits: dict[str, FitToHeight] = {}
        """The side figures' fitting to their panels' height, by figure name."""
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
            self.fits[name] = FitToHeight(self.views[name].render_target())
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
        for fit in self.fits.values():
            fit.stop()
        self.fits = {}
        for view in self.views.values():
            view.close()
        self.views = {}
