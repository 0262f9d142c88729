"""The explorer's main window: controls on the left, the figures in tabs, the prediction
and the live cost on the right, a busy indicator in the status bar.

The window is built and shown before pyqtgraph, the figure code and torch are imported: the
worker thread imports them. The figure views are created once it reports the figure code
loaded (``ready``); model runs start once torch has loaded (``modelReady``). Until the views
exist their places hold a "loading" note and the controls are disabled.

The parts: :class:`~explorer.controller.Controller` (state, image, model runs),
:class:`~explorer.image_sources.ImageSources` (open, paste, drop, recent files),
:class:`~explorer.figure_hub.FigureHub` (the views and what they are told),
:func:`~explorer.window_actions.build_actions` (menus and shortcuts) and the export actions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtGui, QtWidgets

from . import lifetime
from . import settings as app_settings
from .control_panel import ControlPanel
from .controller import Controller
from .export_job import ExportJob, ExportProgress
from .figure_hub import FigureHub, make_dock
from .help_dialogs import ShortcutSheet, show_about
from .image_sources import DEFAULT_IMAGE, SAMPLE_IMAGES, ImageSources
from .inference import ModelCache
from .model_sources import ModelSources
from .presentation import Presentation
from .state import ExplorerState, InferenceResult
from .window_actions import WindowActions, build_actions
from .worker import Runner

if TYPE_CHECKING:
    from swin_model.preprocess import PreparedImage

    from .export_menu import ExportActions
    from .resolved import ResolvedState
    from .views.base import FigureView
    from .views.output import OutputView

__all__ = ["DEFAULT_IMAGE", "SAMPLE_IMAGES", "MainWindow"]

SHUTDOWN_WAIT_MS = 5000
"""How long closing waits for the worker to stop (a run stops at its next module)."""
CONTROLS_MIN_WIDTH = 230
"""The narrowest the control panel gets (its combo boxes shorten their text to fit)."""


def side_panel_limits(window_width: int) -> tuple[int, int]:
    """The widest (in pixels) the control panel and the right-hand panels (prediction, cost)
    may be in a window ``window_width`` pixels wide: together at most about half of it, so
    the figure keeps the larger part (1280 px: 256 and 358; 1920 px: 320 and 538)."""
    controls = round(min(max(0.20 * window_width, CONTROLS_MIN_WIDTH + 20), 320))
    side = round(min(max(0.28 * window_width, 300), 540))
    return controls, side


class MainWindow(QtWidgets.QMainWindow):
    """The Swin Explorer window.

    ``image_path`` is opened once the model code has loaded (the bundled photo when None).
    ``settings`` is a QSettings (or a path to an INI file); by default the application's
    settings ("SwinExplorer"). ``runner``, ``cache``, ``debounce_ms`` and ``torch_threads``
    are passed to the controller and its worker.
    """

    resultsShown = QtCore.Signal(object)
    """An InferenceResult (maybe an error) of the newest request is now on screen."""
    viewsReady = QtCore.Signal()
    """The figure views exist and show the first image."""
    messageShown = QtCore.Signal(str)
    """An error or warning was shown to the user."""
    exportFinished = QtCore.Signal(list)
    """The paths an :meth:`export_all` or :meth:`save_figure` (or an export from the File
    menu) wrote."""
    figureCopied = QtCore.Signal(str)
    """The figure a :meth:`copy_figure` put on the clipboard."""
    exportFailed = QtCore.Signal(str)
    """Why an export or a copy wrote nothing (a failure, or a cancel)."""

    def __init__(self, image_path: str | Path | None = None, *,
                 settings: QtCore.QSettings | str | Path | None = None,
                 runner: Runner | None = None, cache: ModelCache | None = None,
                 debounce_ms: int | None = None, torch_threads: int | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("Swin Explorer")
        self.setAcceptDrops(True)
        self.settings = settings if isinstance(settings, QtCore.QSettings) \
            else app_settings.open_settings(settings)
        options: dict[str, Any] = {} if debounce_ms is None else {"debounce_ms": debounce_ms}
        self.controller = Controller(self, runner=runner, torch_threads=torch_threads, cache=cache,
                                     **options)
        self.image_sources = ImageSources(self.controller, self.settings, self, pending=image_path)
        self.last_result: InferenceResult | None = None
        self.last_error: str | None = None
        self.export_actions: ExportActions | None = None
        self.export_job: ExportJob | None = None
        self._closing = False

        self.controls = ControlPanel()
        self._narrow_controls()
        self.model_sources = ModelSources(self.controller, self.controls, self)
        self.controls_dock = make_dock(self, "Controls", "controlsDock", self._scrolling(self.controls),
                                       QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self.hub = FigureHub(self)
        self.presentation = Presentation(self)
        self._build_status_bar()
        self.window_actions: WindowActions = build_actions(self)
        self.controls.setEnabled(False)
        self.resize(1440, 900)
        self._fit_side_panels(self.width())
        controls_width, side_width = side_panel_limits(self.width())
        self.resizeDocks([self.controls_dock, self.output_dock], [controls_width, side_width],
                         QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.output_dock, self.cost_dock], [260, 640], QtCore.Qt.Orientation.Vertical)
        self._restore_layout()

        self.controls.changed.connect(self.controller.update_from_controls)
        self.hub.changesRequested.connect(self.controller.update_from_controls)
        self.image_sources.failed.connect(self.show_error)
        self.image_sources.warned.connect(self.show_error)
        self.controller.stateChanged.connect(self._on_state_changed)
        self.controller.resultReady.connect(self._on_result)
        self.controller.busyChanged.connect(self._on_busy_changed)
        self.controller.ready.connect(self._on_ready)
        self.controller.modelReady.connect(self._on_model_ready)
        self.controller.startupFailed.connect(self._on_startup_failed)
        self.controller.imageChanged.connect(self._on_image_changed)
        self.controller.imageFailed.connect(self.show_error)
        self.model_sources.status.connect(self.statusBar().showMessage)
        self.model_sources.failed.connect(self.show_error)
        self.model_sources.finished.connect(self._show_busy)
        lifetime.register(self)
        self.statusBar().showMessage("Loading the figures and PyTorch…")
        self._progress.show()
        # start torch's import once the event loop runs, so the window paints first
        QtCore.QTimer.singleShot(0, self._start_worker)

    # --- what other parts read --------------------------------------------------------

    @property
    def state(self) -> ExplorerState:
        return self.controller.state

    @property
    def prepared(self) -> PreparedImage | None:
        return self.controller.prepared

    @property
    def worker_finished(self) -> bool:
        """The worker thread has stopped (or never started)."""
        return not self.controller.worker.isRunning()

    @property
    def views(self) -> dict[str, FigureView]:
        return self.hub.views

    @property
    def output_view(self) -> OutputView | None:
        return self.hub.output_view

    @property
    def tabs(self) -> QtWidgets.QTabWidget:
        return self.hub.tabs

    @property
    def output_dock(self) -> QtWidgets.QDockWidget:
        return self.hub.output_dock

    @property
    def cost_dock(self) -> QtWidgets.QDockWidget:
        return self.hub.side_docks["cost"]

    @property
    def file_menu(self) -> QtWidgets.QMenu:
        return self.window_actions.file_menu

    @property
    def recent_menu(self) -> QtWidgets.QMenu:
        return self.window_actions.recent_menu

    def current_view(self) -> FigureView | None:
        """The figure view in the current tab (None before the views exist)."""
        return self.hub.current_view()

    def control(self, name: str) -> QtWidgets.QWidget:
        """The control with objectName ``name``."""
        widget = self.findChild(QtWidgets.QWidget, name)
        if widget is None:
            raise KeyError(name)
        return widget

    # --- building -----------------------------------------------------------------------

    @staticmethod
    def _scrolling(widget: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(widget)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(widget.minimumWidth() + scroll.verticalScrollBar().sizeHint().width())
        return scroll

    def _narrow_controls(self) -> None:
        """Let the control panel be narrow: its combo boxes show as much of their text as
        fits (the full text is in the list and the tooltip) instead of widening the panel."""
        self.controls.setMinimumWidth(CONTROLS_MIN_WIDTH)
        for combo in self.controls.findChildren(QtWidgets.QComboBox):
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)

    def _fit_side_panels(self, width: int) -> None:
        """Cap the side panels' widths for a window ``width`` pixels wide (see
        :func:`side_panel_limits`)."""
        controls_width, side_width = side_panel_limits(width)
        self.controls_dock.setMaximumWidth(controls_width)
        for dock in (self.output_dock, *self.hub.side_docks.values()):
            dock.setMaximumWidth(side_width)

    def _share_right_panels(self) -> None:
        """Make the side panels as wide as :func:`side_panel_limits` allows, and give the
        prediction panel the height of its badge, its five rows and a little of the run
        details, and the cost figure the rest."""
        output = self.hub.output_view
        if output is None:
            return
        self.resizeDocks([self.controls_dock, self.output_dock], list(side_panel_limits(self.width())),
                         QtCore.Qt.Orientation.Horizontal)
        wanted = output.minimumSizeHint().height() + 2 * output.fontMetrics().lineSpacing()
        total = self.output_dock.height() + self.cost_dock.height()
        self.resizeDocks([self.output_dock, self.cost_dock], [wanted, max(total - wanted, wanted)],
                         QtCore.Qt.Orientation.Vertical)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        self._fit_side_panels(event.size().width())
        super().resizeEvent(event)

    def _build_status_bar(self) -> None:
        self._progress = QtWidgets.QProgressBar()
        self._progress.setObjectName("busyIndicator")
        self._progress.setRange(0, 0)
        self._progress.setMaximumWidth(140)
        self._progress.setMaximumHeight(14)
        self._progress.setToolTip("The model is running in the background.")
        self._progress.hide()
        self._status_info = QtWidgets.QLabel("")
        self._status_info.setObjectName("statusInfo")
        self.statusBar().addPermanentWidget(self._status_info)
        self.statusBar().addPermanentWidget(self._progress)
        self.export_progress = ExportProgress(self.statusBar())
        self.statusBar().addPermanentWidget(self.export_progress)
        # as tall as with the export's progress bar and Cancel button: showing them moves nothing
        self.statusBar().setMinimumHeight(self.export_progress.sizeHint().height() + 4)

    # --- settings -----------------------------------------------------------------------

    def _restore_layout(self) -> None:
        tab = app_settings.restore_window(self.settings, self)
        if tab is not None:
            self.tabs.setCurrentIndex(tab)

    def save_settings(self) -> None:
        """Store the controls, the window layout and the current tab."""
        app_settings.save_window(self.settings, self, self.tabs.currentIndex())
        if self.controller.is_ready:
            app_settings.save_controls(self.settings, self)
        self.settings.sync()

    # --- start-up -----------------------------------------------------------------------

    @QtCore.Slot()
    def _start_worker(self) -> None:
        if not self._closing:
            self.controller.start()

    @QtCore.Slot()
    def _on_ready(self) -> None:
        if self._closing:
            return
        self.hub.create_views()
        if not self.settings.contains("window/state"):  # a layout of the user's own stays as it was
            self._share_right_panels()
        self._install_export_actions()
        self.model_sources.list_downloaded_weights()
        self.controls.setEnabled(True)
        self._sync_controls(self.controller.resolved)
        app_settings.restore_controls(self.settings, self)
        self.controller.refresh()
        self.image_sources.open_pending()
        self._show_busy()
        self.viewsReady.emit()

    @QtCore.Slot()
    def _on_model_ready(self) -> None:
        if self.controller.busy:
            self.statusBar().showMessage("PyTorch loaded; the model is running…")
        self._show_busy()

    @QtCore.Slot(str)
    def _on_startup_failed(self, message: str) -> None:
        self._progress.hide()
        self.show_error(f"The model code could not be loaded: {message}")

    def _install_export_actions(self) -> None:
        """Add the export actions to the File menu (once the views exist: the export code
        loads pyqtgraph, which would slow the window's first appearance)."""
        try:
            from .export_menu import install_export_actions

            self.export_actions = install_export_actions(
                self, self.window_actions.file_menu, before=self.window_actions.quit, settings=self.settings)
        except Exception as error:  # exporting is optional; the explorer works without it
            self.export_actions = None
            self.show_error(f"The export actions are unavailable: {error}")
            return
        self.export_actions.finished.connect(self.exportFinished)
        self.export_actions.copied.connect(self.figureCopied)
        self.export_actions.failed.connect(self.exportFailed)

    # --- exporting in the background ------------------------------------------------------

    def export_all(self, folder: str | Path, overwrite: bool | None = None) -> bool:
        """Start writing every figure into ``folder`` in the background, with the export
        options of the File menu; returns at once (False when nothing was started). Ends with
        ``exportFinished(paths)`` or ``exportFailed(message)``. Files already in ``folder`` that
        the export would replace are only replaced after asking (or when ``overwrite``)."""
        if self.export_actions is None:
            self.exportFailed.emit("Nothing to export yet: the figures are still loading.")
            return False
        return self.export_actions.export_all(folder, overwrite)

    def save_figure(self, path: str | Path, figure: str | None = None, overwrite: bool | None = None) -> bool:
        """Start writing the current figure (or the one named ``figure``) to ``path`` in the
        background, in the format of its extension (png, svg, pdf); returns at once. Ends like
        :meth:`export_all`, with ``exportFinished([path])``."""
        if self.export_actions is None:
            self.exportFailed.emit("Nothing to export yet: the figures are still loading.")
            return False
        return self.export_actions.export_current(path, overwrite, figure)

    def copy_figure(self, figure: str | None = None) -> bool:
        """Start putting the current figure (or ``figure``) on the clipboard, as PNG and SVG,
        rendered in the background; returns at once. Ends with ``figureCopied(name)`` or
        ``exportFailed(message)``."""
        if self.export_actions is None:
            self.exportFailed.emit("Nothing to copy yet: the figures are still loading.")
            return False
        return self.export_actions.copy_current(figure)

    # --- images -------------------------------------------------------------------------

    def open_image(self, path: str | Path, remember: bool = True) -> bool:
        """Show the image at ``path``. On failure the current image stays and a message
        says why; returns whether the image is now shown (True also when queued because
        the model code is still loading)."""
        return self.image_sources.open_image(path, remember)

    def paste_image(self) -> bool:
        """Use the clipboard's image, or the image file it names."""
        return self.image_sources.paste_image()

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if self.image_sources.can_open(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QtGui.QDragMoveEvent) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        if self.image_sources.open_mime(event.mimeData(), "the dropped data"):
            event.acceptProposedAction()
        else:
            event.ignore()

    @QtCore.Slot(str)
    def _on_image_changed(self, name: str) -> None:
        prepared = self.controller.prepared
        shown = Path(name).name if Path(name).exists() else name
        size = f" ({prepared.source_size[0]}×{prepared.source_size[1]} px)" if prepared else ""
        self.setWindowTitle(f"Swin Explorer — {shown}")
        self.statusBar().showMessage(f"Opened {shown}{size}", 5000)

    # --- checkpoints --------------------------------------------------------------------

    def choose_checkpoint(self) -> None:
        self.model_sources.choose_checkpoint()

    def load_checkpoint(self, path: str | Path) -> None:
        """Read a checkpoint in the worker; it joins the model list when it loads."""
        self._progress.show()
        self.model_sources.load_checkpoint(path)

    # --- controller -> screen -----------------------------------------------------------

    @QtCore.Slot(object, object)
    def _on_state_changed(self, resolved: ResolvedState, prepared: PreparedImage | None) -> None:
        self._sync_controls(resolved)
        if prepared is not None:
            self.hub.show_state(resolved, prepared)

    def _sync_controls(self, resolved: ResolvedState) -> None:
        """Show ``resolved`` in the controls and the status bar's patch summary."""
        if not self.controller.is_ready:
            return
        prepared = self.controller.prepared
        patches = self.controls.show_state(resolved, prepared.source_size if prepared is not None else None)
        self._status_info.setText(patches)

    @QtCore.Slot(object)
    def _on_result(self, result: InferenceResult) -> None:
        self.hub.show_result(result)
        if result.error:
            self.show_error(result.error)
        else:
            self.last_result = result
            self.statusBar().showMessage(
                f"Model run {result.request_id} done in {result.elapsed_seconds:.2f} s", 5000)
        self.resultsShown.emit(result)

    @QtCore.Slot(bool)
    def _on_busy_changed(self, busy: bool) -> None:
        loading = not self.controller.model_ready and not self.worker_finished
        self._progress.setVisible(busy or loading)

    @QtCore.Slot()
    def _show_busy(self) -> None:
        self._on_busy_changed(self.controller.busy)

    @QtCore.Slot(str)
    def show_error(self, message: str) -> None:
        """Show ``message`` in the status bar and, once it exists, the prediction panel."""
        self.last_error = message
        self.statusBar().showMessage(message, 15000)
        self.hub.show_message(message)
        self.messageShown.emit(message)

    def show_about(self) -> None:
        show_about(self)

    def show_shortcuts(self) -> ShortcutSheet:
        """Open the keyboard-shortcut sheet (non-modal); returns it."""
        sheet = ShortcutSheet(self)
        sheet.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        sheet.show()
        return sheet

    # --- closing ------------------------------------------------------------------------

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self._closing:
            self._closing = True
            self.presentation.leave()
            self.save_settings()
        if self.export_job is not None:
            self.export_job.cancel()
            self.export_job.wait(SHUTDOWN_WAIT_MS)
        self.controller.shutdown(timeout_ms=SHUTDOWN_WAIT_MS)
        super().closeEvent(event)

    def dispose(self) -> None:
        """Stop the worker and close every figure view; the window can then be deleted
        safely (see :mod:`explorer.lifetime`)."""
        if not self._closing:
            self.close()
        self.controller.shutdown(timeout_ms=SHUTDOWN_WAIT_MS)
        if self.export_actions is not None:
            self.export_actions.release_clipboard()
        self.hub.dispose()
