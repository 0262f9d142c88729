"""The explorer's main window: controls on the left, the figures in tabs, the prediction
and the live cost on the right, a busy indicator in the status bar.

The window is built and shown before pyqtgraph, the figure code and torch are imported: the
worker thread imports them. The figure views are created once it reports the figure code
loaded (``ready``); model runs start once torch has loaded (``modelReady``). Until the views
exist their places hold a "loading" note and the controls are disabled.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtGui, QtWidgets

from . import settings as app_settings
from .control_panel import TOOLTIPS, ControlPanel
from .controller import Controller
from .inference import ModelCache
from .labels import ASSETS_DIR
from .resolved import ResolvedState
from .state import ExplorerState, InferenceResult
from .worker import Runner

if TYPE_CHECKING:
    from PIL import Image

    from swin_model import SwinConfig

__all__ = [
    "DEFAULT_IMAGE",
    "FIGURE_TABS",
    "SAMPLE_IMAGES",
    "MainWindow",
]

DEFAULT_IMAGE = ASSETS_DIR / "chelsea.jpg"
SAMPLE_IMAGES: tuple[tuple[str, Path], ...] = (
    ("Chelsea the cat", ASSETS_DIR / "chelsea.jpg"),
    ("Coffee", ASSETS_DIR / "coffee.jpg"),
    ("Astronaut", ASSETS_DIR / "astronaut.jpg"),
    ("Numbered test pattern", ASSETS_DIR / "test_pattern.png"),
)
SHUTDOWN_WAIT_MS = 5000
"""How long closing waits for the worker to stop (a run stops at its next module)."""

FIGURE_TABS: tuple[tuple[str, str], ...] = (
    ("patches", "Patches"),
    ("windows", "Windows"),
    ("regions", "Shift regions"),
    ("cyclic-shift", "Cyclic shift"),
    ("mask", "Mask"),
    ("attention", "Attention"),
    ("merging", "Merging"),
)
"""Figure views shown as tabs, in teaching order; "cost" has its own dock."""

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"
CHECKPOINT_FILTER = "Checkpoints (*.pth *.pt *.bin *.safetensors);;All files (*)"


def _qimage_to_png(image: QtGui.QImage) -> bytes:
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


class MainWindow(QtWidgets.QMainWindow):
    """The Swin Explorer window.

    ``image_path`` is opened once the model code has loaded (the bundled photo when None).
    ``settings`` is a QSettings (or a path to an INI file); by default the application's
    settings ("SwinExplorer"). ``runner``, ``cache`` and ``debounce_ms`` are passed to the
    controller and its worker.
    """

    resultsShown = QtCore.Signal(object)
    """An InferenceResult (maybe an error) of the newest request is now on screen."""
    viewsReady = QtCore.Signal()
    """The figure views exist and show the first image."""
    messageShown = QtCore.Signal(str)
    """An error or warning was shown to the user."""

    def __init__(self, image_path: str | Path | None = None, *,
                 settings: QtCore.QSettings | str | Path | None = None,
                 runner: Runner | None = None, cache: ModelCache | None = None,
                 debounce_ms: int | None = None, torch_threads: int | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("Swin Explorer")
        self.setAcceptDrops(True)
        if isinstance(settings, QtCore.QSettings):
            self.settings = settings
        else:
            self.settings = app_settings.open_settings(settings)
        controller_options: dict[str, Any] = {"runner": runner, "torch_threads": torch_threads,
                                              "cache": cache}
        if debounce_ms is not None:
            controller_options["debounce_ms"] = debounce_ms
        self.controller = Controller(self, **controller_options)
        self.views: dict[str, Any] = {}
        self.output_view: Any = None
        self.last_result: InferenceResult | None = None
        self.last_error: str | None = None
        self.worker_finished = True
        self._pending_image: str | Path | None = image_path
        self._closing = False

        self.controls = ControlPanel()
        self.controls.changed.connect(self._on_controls_changed)
        self._build_central()
        self._build_docks()
        self._build_status_bar()
        self._build_menus()
        self._set_controls_enabled(False)
        self.resize(1440, 900)
        self._restore_layout()

        self.controller.stateChanged.connect(self._on_state_changed)
        self.controller.resultReady.connect(self._on_result)
        self.controller.busyChanged.connect(self._on_busy_changed)
        self.controller.ready.connect(self._on_ready)
        self.controller.modelReady.connect(self._on_model_ready)
        self.controller.startupFailed.connect(self._on_startup_failed)
        self.controller.imageChanged.connect(self._on_image_changed)
        self.controller.checkpointLoaded.connect(self._on_checkpoint_loaded)
        self.controller.checkpointFailed.connect(self._on_checkpoint_failed)
        self.statusBar().showMessage("Loading the figures and PyTorch…")
        self._progress.show()
        self.worker_finished = False
        # start torch's import once the event loop runs, so the window paints first
        QtCore.QTimer.singleShot(0, self._start_worker)

    def _start_worker(self) -> None:
        if not self._closing:
            self.controller.start()

    # --- what other parts read --------------------------------------------------------

    @property
    def state(self) -> ExplorerState:
        return self.controller.state

    @property
    def prepared(self) -> Any:
        return self.controller.prepared

    def current_view(self) -> Any:
        """The figure view in the current tab (None before the views exist)."""
        page = self.tabs.currentWidget()
        return page if page in self.views.values() else None

    def control(self, name: str) -> QtWidgets.QWidget:
        """The control with objectName ``name``."""
        widget = self.findChild(QtWidgets.QWidget, name)
        if widget is None:
            raise KeyError(name)
        return widget

    # --- building -----------------------------------------------------------------------

    def _build_central(self) -> None:
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setObjectName("viewTabs")
        self.tabs.setDocumentMode(True)
        for _name, title in FIGURE_TABS:
            self.tabs.addTab(self._placeholder(), title)
        self.setCentralWidget(self.tabs)

    @staticmethod
    def _placeholder() -> QtWidgets.QLabel:
        label = QtWidgets.QLabel("Loading…")
        label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        label.setEnabled(False)
        return label

    def _build_docks(self) -> None:
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.controls)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.controls.sizeHint().width() + 24)
        self.controls_dock = self._dock("Controls", "controlsDock", scroll,
                                        QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self.output_dock = self._dock("Prediction", "outputDock", self._placeholder(),
                                      QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.cost_dock = self._dock("Cost", "costDock", self._placeholder(),
                                    QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.splitDockWidget(self.output_dock, self.cost_dock, QtCore.Qt.Orientation.Vertical)
        self.resizeDocks([self.controls_dock, self.output_dock], [270, 540],
                         QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.output_dock, self.cost_dock], [230, 670], QtCore.Qt.Orientation.Vertical)

    def _dock(self, title: str, name: str, widget: QtWidgets.QWidget,
              area: QtCore.Qt.DockWidgetArea) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

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

    def _action(self, menu: QtWidgets.QMenu, text: str, slot: Any, shortcut: str | None = None,
                tip: str = "", name: str = "") -> QtGui.QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut:
            action.setShortcut(QtGui.QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        if name:
            action.setObjectName(name)
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        self._action(self.file_menu, "&Open image…", self.choose_image, "Ctrl+O",
                     "Open an image file (or drop one on the window).", "openImage")
        self.recent_menu = self.file_menu.addMenu("Open &recent")
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        samples = self.file_menu.addMenu("&Sample images")
        for title, path in SAMPLE_IMAGES:
            action = samples.addAction(title)
            action.triggered.connect(lambda _checked=False, p=path: self.open_image(p))
        self._action(self.file_menu, "&Paste image", self.paste_image, "Ctrl+V",
                     "Use the image (or image file) on the clipboard.", "pasteImage")
        self.file_menu.addSeparator()
        self._action(self.file_menu, "Load &checkpoint…", self.choose_checkpoint, "Ctrl+L",
                     "Load trained Swin V1 weights (official .pth, timm or HF safetensors).",
                     "loadCheckpoint")
        self.file_menu.addSeparator()
        self._action(self.file_menu, "&Quit", self.close, "Ctrl+Q", name="quit")
        self.export_actions: Any = None

        model_menu = bar.addMenu("&Model")
        self._action(model_menu, "&Run again", self.controller.run_now, "F5",
                     "Run the model again on the current image.", "runAgain")
        self._action(model_menu, "Toggle &shifted windows", self.controls.shift_check.toggle,
                     "Ctrl+Shift+W", TOOLTIPS["shiftCheck"], "toggleShift")
        model_menu.addSeparator()
        for stage in range(4):
            self._action(model_menu, f"Stage {stage + 1}",
                         lambda _checked=False, s=stage: self.controls.stage_spin.setValue(s + 1),
                         f"Alt+{stage + 1}")
        model_menu.addSeparator()
        self._action(model_menu, "&Next block", self.controls.block_spin.stepUp, "Alt+Right")
        self._action(model_menu, "&Previous block", self.controls.block_spin.stepDown, "Alt+Left")
        self._action(model_menu, "Next &head", self.controls.head_spin.stepUp, "Alt+Up")
        self._action(model_menu, "Previous h&ead", self.controls.head_spin.stepDown, "Alt+Down")

        view_menu = bar.addMenu("&View")
        for index, (_name, title) in enumerate(FIGURE_TABS):
            self._action(view_menu, title, lambda _checked=False, i=index: self.tabs.setCurrentIndex(i),
                         f"Ctrl+{index + 1}")
        view_menu.addSeparator()
        for dock in (self.controls_dock, self.output_dock, self.cost_dock):
            view_menu.addAction(dock.toggleViewAction())

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About Swin Explorer", self._about)

    # --- settings -----------------------------------------------------------------------

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QtCore.QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        layout = self.settings.value("window/state")
        if isinstance(layout, QtCore.QByteArray) and not layout.isEmpty():
            self.restoreState(layout)
        tab = self.settings.value("window/tab")
        if tab is not None:
            with contextlib.suppress(TypeError, ValueError):
                self.tabs.setCurrentIndex(int(tab))

    def save_settings(self) -> None:
        """Store the controls, the window layout and the current tab."""
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/tab", self.tabs.currentIndex())
        if self.controller.is_ready:
            app_settings.save_controls(self.settings, self)
        self.settings.sync()

    # --- start-up -----------------------------------------------------------------------

    @QtCore.Slot()
    def _on_ready(self) -> None:
        if self._closing:
            return
        self._create_views()
        self._install_export_actions()
        self._set_controls_enabled(True)
        self._sync_controls(self.controller.resolved)
        app_settings.restore_controls(self.settings, self)
        self.controller.refresh()
        path = self._pending_image
        self._pending_image = None
        if path is None or not self.open_image(path):
            self.open_image(DEFAULT_IMAGE, remember=False)
        self._on_busy_changed(self.controller.busy)
        self.viewsReady.emit()

    @QtCore.Slot()
    def _on_model_ready(self) -> None:
        if self.controller.busy:
            self.statusBar().showMessage("PyTorch loaded; the model is running…")
        self._on_busy_changed(self.controller.busy)

    @QtCore.Slot(str)
    def _on_startup_failed(self, message: str) -> None:
        self.worker_finished = True
        self._progress.hide()
        self.show_error(f"The model code could not be loaded: {message}")

    def _install_export_actions(self) -> None:
        """Add the export actions to the File menu (once the views exist: the export code
        loads pyqtgraph, which would slow the window's first appearance)."""
        try:
            from .export_menu import install_export_actions

            self.export_actions = install_export_actions(self)
        except Exception as error:  # exporting is optional; the explorer works without it
            self.export_actions = None
            self.show_error(f"The export actions are unavailable: {error}")

    def _create_views(self) -> None:
        from . import figures
        from .views.output import OutputView

        factory = getattr(figures, "create_views", None)
        views = factory() if factory is not None else figures.build_figures(
            self.controller.state, self.controller.prepared)
        self.views = dict(views)
        current = self.tabs.currentIndex()
        self.tabs.blockSignals(True)
        for index, (name, title) in enumerate(FIGURE_TABS):
            view = self.views.get(name)
            if view is None:
                continue
            old = self.tabs.widget(index)
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, view, title)
            self.tabs.setTabToolTip(index, getattr(view, "explanation", ""))
            old.deleteLater()
        self.tabs.setCurrentIndex(current)
        self.tabs.blockSignals(False)
        cost = self.views.get("cost")
        if cost is not None:
            self.cost_dock.widget().deleteLater()
            self.cost_dock.setWidget(cost)
        self.output_view = OutputView()
        self.output_dock.widget().deleteLater()
        self.output_dock.setWidget(self.output_view)
        for view in self.views.values():
            view.queryPicked.connect(self._on_query_picked)
            view.windowPicked.connect(self._on_window_picked)

    # --- images -------------------------------------------------------------------------

    def open_image(self, path: str | Path, remember: bool = True) -> bool:
        """Show the image at ``path``. On failure the current image stays and a message
        says why; returns whether the image is now shown (True also when queued because
        the model code is still loading)."""
        if not self.controller.is_ready:
            self._pending_image = path
            return True
        from swin_model.preprocess import ImageLoadError, load_image

        try:
            image = load_image(path)
        except ImageLoadError as error:
            self.show_error(f"Could not open the image: {error}. The current image is kept.")
            if remember:
                app_settings.remove_recent_file(self.settings, str(path))
            return False
        self._show_image(image, str(path))
        if remember:
            app_settings.add_recent_file(self.settings, str(Path(path).resolve()))
        return True

    def _show_image(self, image: Image.Image, name: str) -> None:
        self.controller.set_image(image, name)

    def choose_image(self) -> None:
        start = str(Path(self.controller.image_name).parent) if self.controller.image_name else ""
        path, _filter = QtWidgets.QFileDialog.getOpenFileName(self, "Open image", start, IMAGE_FILTER)
        if path:
            self.open_image(path)

    def paste_image(self) -> bool:
        """Use the clipboard's image, or the image file it names."""
        data = QtWidgets.QApplication.clipboard().mimeData()
        if data is None:
            self.show_error("The clipboard is empty.")
            return False
        return self._open_mime(data, "the clipboard")

    def _open_mime(self, data: QtCore.QMimeData, where: str) -> bool:
        if data.hasUrls():
            local = [url.toLocalFile() for url in data.urls() if url.isLocalFile()]
            if local:
                return self.open_image(local[0])
        if data.hasImage():
            image = data.imageData()
            if isinstance(image, QtGui.QImage) and not image.isNull():
                return self._open_qimage(image, f"image from {where}")
        if data.hasText():
            text = data.text().strip()
            candidate = QtCore.QUrl(text).toLocalFile() if text.startswith("file:") else text
            if candidate and "\n" not in candidate and Path(candidate).exists():
                return self.open_image(candidate)
        self.show_error(f"There is no image on {where}. The current image is kept.")
        return False

    def _open_qimage(self, image: QtGui.QImage, name: str) -> bool:
        if not self.controller.is_ready:
            self.show_error("The model code is still loading; try again in a moment.")
            return False
        from swin_model.preprocess import ImageLoadError, decode_image

        try:
            pil_image = decode_image(_qimage_to_png(image), name)
        except ImageLoadError as error:
            self.show_error(f"Could not use {name}: {error}. The current image is kept.")
            return False
        self._show_image(pil_image, name)
        return True

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        data = event.mimeData()
        if data.hasUrls() or data.hasImage():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QtGui.QDragMoveEvent) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        if self._open_mime(event.mimeData(), "the dropped data"):
            event.acceptProposedAction()
        else:
            event.ignore()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = app_settings.recent_files(self.settings)
        for path in files:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_image(p))
        if not files:
            empty = self.recent_menu.addAction("(no recent files)")
            empty.setEnabled(False)
            return
        self.recent_menu.addSeparator()
        clear = self.recent_menu.addAction("Clear list")
        clear.triggered.connect(lambda: self.settings.setValue("files/recent", []))

    @QtCore.Slot(str)
    def _on_image_changed(self, name: str) -> None:
        prepared = self.controller.prepared
        shown = Path(name).name if Path(name).exists() else name
        size = f" ({prepared.source_size[0]}×{prepared.source_size[1]} px)" if prepared else ""
        self.setWindowTitle(f"Swin Explorer — {shown}")
        self.statusBar().showMessage(f"Opened {shown}{size}", 5000)

    # --- checkpoints --------------------------------------------------------------------

    def choose_checkpoint(self) -> None:
        path, _filter = QtWidgets.QFileDialog.getOpenFileName(self, "Load checkpoint", "",
                                                              CHECKPOINT_FILTER)
        if path:
            self.load_checkpoint(path)

    def load_checkpoint(self, path: str | Path) -> None:
        """Read a checkpoint in the worker; it joins the model list when it loads."""
        path = str(Path(path).resolve())
        self.statusBar().showMessage(f"Loading checkpoint {Path(path).name}…")
        self._progress.show()
        self.controller.load_checkpoint(path)

    @QtCore.Slot(str, object)
    def _on_checkpoint_loaded(self, path: str, config: SwinConfig) -> None:
        self._on_busy_changed(self.controller.busy)
        index = self.controls.add_checkpoint(path, Path(path).name)
        heads = "ImageNet-1k head" if config.num_classes == 1000 else f"{config.num_classes} classes"
        self.statusBar().showMessage(
            f"Loaded {Path(path).name}: embed_dim {config.embed_dim}, depths {list(config.depths)}, "
            f"M = {config.window_size}, {heads}", 8000)
        self.controls.model_combo.setCurrentIndex(index)

    @QtCore.Slot(str, str)
    def _on_checkpoint_failed(self, path: str, message: str) -> None:
        self._on_busy_changed(self.controller.busy)
        self.show_error(f"Could not load the checkpoint {Path(path).name}: {message}")

    # --- controls -> controller ---------------------------------------------------------

    def _set_controls_enabled(self, enabled: bool) -> None:
        self.controls.setEnabled(enabled)

    @QtCore.Slot(dict)
    def _on_controls_changed(self, changes: dict[str, Any]) -> None:
        if "checkpoint_path" in changes:
            # a checkpoint brings its own layout, and its bias tables fix the window
            path = changes["checkpoint_path"]
            config = self.controller.checkpoints.get(path) if path else None
            changes["checkpoint_config"] = config
            if config is not None:
                changes["window_size"] = config.window_size
                changes["model_name"] = Path(path).name
        self.controller.update(**changes)

    @QtCore.Slot(int, int)
    def _on_query_picked(self, row: int, col: int) -> None:
        self.controller.update(query=(row, col))

    @QtCore.Slot(int)
    def _on_window_picked(self, index: int) -> None:
        self.controller.update(window=index)

    # --- controller -> screen -----------------------------------------------------------

    @QtCore.Slot(object, object)
    def _on_state_changed(self, resolved: ResolvedState, prepared: Any) -> None:
        self._sync_controls(resolved)
        if prepared is None:
            return
        for view in self.views.values():
            view.update_state(resolved, prepared)
        if self.output_view is not None:
            self.output_view.update_state(resolved.state, prepared)

    def _sync_controls(self, resolved: ResolvedState) -> None:
        """Show ``resolved`` in the controls and the status bar's patch summary."""
        if not self.controller.is_ready:
            return
        prepared = self.controller.prepared
        patches = self.controls.show_state(resolved, prepared.source_size if prepared is not None else None)
        self._status_info.setText(patches)

    @QtCore.Slot(object)
    def _on_result(self, result: InferenceResult) -> None:
        for view in self.views.values():
            view.update_result(result)
        if result.error:
            self.show_error(result.error)
        else:
            self.last_result = result
            seconds = f"{result.elapsed_seconds:.2f} s"
            self.statusBar().showMessage(f"Model run {result.request_id} done in {seconds}", 5000)
        if self.output_view is not None:
            self.output_view.update_result(result)
        self.resultsShown.emit(result)

    @QtCore.Slot(bool)
    def _on_busy_changed(self, busy: bool) -> None:
        loading = not self.controller.model_ready and not self.worker_finished
        self._progress.setVisible(busy or loading)

    def show_error(self, message: str) -> None:
        """Show ``message`` in the status bar and, once it exists, the prediction panel."""
        self.last_error = message
        self.statusBar().showMessage(message, 15000)
        if self.output_view is not None:
            self.output_view.show_message(message)
        self.messageShown.emit(message)

    def _about(self) -> None:
        QtWidgets.QMessageBox.about(
            self, "About Swin Explorer",
            "Swin Explorer shows how the Swin Transformer cuts an image into patches and "
            "windows, shifts the windows, masks attention across regions, merges patches "
            "and what it all costs, on a real model running in the background.")

    # --- closing ------------------------------------------------------------------------

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self._closing:
            self._closing = True
            self.save_settings()
        if not self.worker_finished:
            self.worker_finished = self.controller.shutdown(timeout_ms=SHUTDOWN_WAIT_MS)
        super().closeEvent(event)
