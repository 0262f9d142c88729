"""File-menu actions for exporting figures, and the export options.

``install_export_actions(main_window)`` adds to the window's File menu: Export figure…
(the current figure), Export all figures… (Ctrl+Shift+E), Copy figure to clipboard
(Ctrl+Shift+C), Export cyclic shift as GIF… and as PNG frames…, and an "Export options"
submenu: the caption on or off, the slide theme, a transparent background, the PNG scale
×1-×4, and "Caption, title and background…", a dialog that also sets the caption's and
the title's text. The options are remembered in the window's settings.

Every export runs in the background (:mod:`explorer.export_job`): the command line
renders the figures for the window's settings in a child process, so the files are those
``python main.py export`` writes with the same options, and the window keeps answering.
A progress bar and a Cancel button sit in the status bar meanwhile; one export runs at a
time. A set of files (all figures, the frames) appears whole or not at all, a single file
is renamed into place once written, and other files in the chosen folder stay. Files the
export would replace are only replaced after asking. Errors are shown in the status bar
and the prediction panel, and kept in ``last_error``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QObject, QSettings, QStandardPaths, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QMenu,
    QMessageBox,
    QSpinBox,
    QWidget,
)

from . import export as figure_export
from .export.atomic import os_reason
from .export.options import BACKGROUNDS, THEMES, ExportOptions
from .export_job import ExportJob, ExportRequest, FigureMimeData, deliver, scratch_folder_beside
from .figures import FIGURE_NAMES, animated_figures

__all__ = ["ExportActions", "ExportOptionsDialog", "install_export_actions", "load_options", "save_options"]

_FILTERS = {
    "png": "PNG image (*.png)",
    "svg": "SVG vector drawing (*.svg)",
    "pdf": "PDF document (*.pdf)",
}
_SETTINGS_GROUP = "export"
BACKGROUND_TITLES = {"theme": "The theme's background (opaque)", "transparent": "Transparent (no background)"}


# --- options in the settings ------------------------------------------------------------------

def load_options(settings: QSettings) -> ExportOptions:
    """The export options stored in ``settings`` (the defaults where none or a bad value is
    stored)."""
    def value(key: str, default: str) -> str:
        stored = settings.value(f"{_SETTINGS_GROUP}/{key}")
        return default if stored is None else str(stored)

    def flag(key: str, default: bool) -> bool:
        return value(key, str(default)).lower() in ("true", "1")

    try:
        scale = min(max(int(value("scale", "1")), 1), figure_export.MAX_SCALE)
    except ValueError:
        scale = 1
    background, theme = value("background", "theme"), value("theme", "screen")
    return ExportOptions(scale=scale, caption=flag("caption", True), caption_text=value("captionText", ""),
                         title=value("title", ""),
                         background=background if background in BACKGROUNDS else "theme",
                         theme=theme if theme in THEMES else "screen")


def save_options(settings: QSettings, options: ExportOptions) -> None:
    """Store ``options`` in ``settings`` (written at once)."""
    for key, stored in (("scale", options.scale), ("caption", options.caption),
                        ("captionText", options.caption_text), ("title", options.title),
                        ("background", options.background), ("theme", options.theme)):
        settings.setValue(f"{_SETTINGS_GROUP}/{key}", stored)
    settings.sync()


# --- the dialog ----------------------------------------------------------------------------------

class ExportOptionsDialog(QDialog):
    """Every export option in one form: caption (on or off, and its text), title, background,
    theme and PNG scale. :meth:`options` reads the form."""

    def __init__(self, options: ExportOptions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportOptionsDialog")
        self.setWindowTitle("Export options")
        self.caption_check = QCheckBox("Caption under each figure")
        self.caption_check.setObjectName("exportCaptionCheck")
        self.caption_check.setChecked(options.caption)
        self.caption_text = QLineEdit(options.caption_text)
        self.caption_text.setObjectName("exportCaptionText")
        self.caption_text.setPlaceholderText("the figure's settings (model, input, stage, block, M, shift)")
        self.caption_text.setEnabled(options.caption)
        self.caption_check.toggled.connect(self.caption_text.setEnabled)
        self.title_text = QLineEdit(options.title)
        self.title_text.setObjectName("exportTitleText")
        self.title_text.setPlaceholderText("none")
        self.background_combo = QComboBox()
        self.background_combo.setObjectName("exportBackgroundCombo")
        for name in BACKGROUNDS:
            self.background_combo.addItem(BACKGROUND_TITLES[name], name)
        self.background_combo.setCurrentIndex(BACKGROUNDS.index(options.background))
        self.background_combo.setToolTip("Transparent: PNG pixels with alpha 0 and no background shape in "
                                         "SVG and PDF, for slides of any colour (a GIF keeps the theme's).")
        self.slide_check = QCheckBox("Slide theme (white, large fonts)")
        self.slide_check.setObjectName("exportSlideCheck")
        self.slide_check.setChecked(options.theme == "slide")
        self.scale_spin = QSpinBox()
        self.scale_spin.setObjectName("exportScaleSpin")
        self.scale_spin.setRange(1, figure_export.MAX_SCALE)
        self.scale_spin.setValue(options.scale)
        self.scale_spin.setPrefix("×")
        self.scale_spin.setSuffix(f" ({figure_export.DEFAULT_WIDTH} px wide at ×1)")
        button = QDialogButtonBox.StandardButton
        buttons = QDialogButtonBox(button.Ok | button.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(self.caption_check)
        form.addRow("Caption text", self.caption_text)
        form.addRow("Title above", self.title_text)
        form.addRow("Background", self.background_combo)
        form.addRow(self.slide_check)
        form.addRow("PNG scale", self.scale_spin)
        form.addRow(buttons)

    def options(self) -> ExportOptions:
        return ExportOptions(scale=self.scale_spin.value(), caption=self.caption_check.isChecked(),
                             caption_text=self.caption_text.text().strip(),
                             title=self.title_text.text().strip(),
                             background=str(self.background_combo.currentData()),
                             theme="slide" if self.slide_check.isChecked() else "screen")


# --- the actions ---------------------------------------------------------------------------------

@dataclass
class _Pending:
    """What to do with the files of the running job: ``finish`` turns them into the paths
    to report (moving them into place; raises OSError), ``cleanup`` removes the scratch
    folder after a failure, ``copy`` names the figure a copy puts on the clipboard."""

    finish: Callable[[list[Path]], list[Path]] | None = None
    cleanup: Callable[[], None] | None = None
    copy: str | None = None


class ExportActions(QObject):
    """The export actions of one main window and the options they share.

    ``main_window`` provides ``current_view()`` (the FigureView on screen, or None),
    ``state`` (ExplorerState), ``controller.image`` (the shown PIL image, or None),
    ``export_progress`` (an ExportProgress), ``export_job`` (set here), ``show_error`` and
    ``statusBar()``. ``settings`` keeps the options between sessions.

    Each export returns at once (True when it started) and ends with ``finished(paths)``,
    ``copied(figure name)`` or ``failed(message)``.
    """

    finished = Signal(list)
    copied = Signal(str)
    failed = Signal(str)

    def __init__(self, main_window: Any, settings: QSettings | None = None) -> None:
        super().__init__(main_window)
        self.setObjectName("exportActions")
        self.main_window = main_window
        self.settings = settings
        self._options = load_options(settings) if settings is not None else ExportOptions()
        self.formats: tuple[str, ...] = figure_export.FORMATS
        """The formats Export all writes."""
        self.last_error: str | None = None
        self.last_written: list[Path] = []
        self._pending = _Pending()
        self._folder = _default_folder()
        self._clipboard_data: FigureMimeData | None = None

        self.export_figure_action = self._action("Export &figure…", self.export_current,
                                                 None, "exportFigure")
        self.export_all_action = self._action("Export &all figures…", self.export_all_in_background,
                                              QKeySequence("Ctrl+Shift+E"), "exportAllFigures")
        self.copy_action = self._action("Cop&y figure to clipboard", self.copy_current,
                                        QKeySequence("Ctrl+Shift+C"), "copyFigure")
        self.animated = animated_figures()[0]
        """The figure that the GIF and frame actions export, step by step."""
        animated_title = self.animated.title.lower()
        self.gif_action = self._action(f"Export {animated_title} as &GIF…", self.export_shift_gif,
                                       None, "exportShiftGif")
        self.frames_action = self._action(f"Export {animated_title} as PNG fra&mes…",
                                          self.export_shift_frames, None, "exportShiftFrames")

        self.caption_action = self._toggle(
            "&Caption under figures", "exportCaption", "Write the model, stage, block, head, M, shift and "
            "input size (or your caption text) under exported figures.", self._set_caption)
        self.slide_action = self._toggle(
            "&Slide theme (white, large fonts)", "exportSlideTheme", "Export with a white background and "
            "large fonts, the same colours (the window keeps its look).", self._set_slide_theme)
        self.transparent_action = self._toggle(
            "&Transparent background", "exportTransparent", "No background: PNG pixels with alpha 0, no "
            "background shape in SVG and PDF (a GIF keeps the theme's).", self._set_transparent)
        self.scale_group = QActionGroup(self)
        self.scale_actions: dict[int, QAction] = {}
        for scale in range(1, figure_export.MAX_SCALE + 1):
            width = scale * figure_export.DEFAULT_WIDTH
            action = QAction(f"PNG scale ×{scale} ({width} px wide)", self, checkable=True)
            action.setObjectName(f"exportScale{scale}")
            action.setActionGroup(self.scale_group)
            action.triggered.connect(lambda _checked=False, s=scale: self.set_scale(s))
            self.scale_actions[scale] = action
        self.options_action = self._action("Caption, title and &background…", self.open_options_dialog,
                                           None, "exportOptionsEdit")
        self._show_options()

    def _action(self, text: str, slot: Callable[[], Any], shortcut: QKeySequence | None,
                name: str) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _toggle(self, text: str, name: str, tip: str, slot: Callable[[bool], None]) -> QAction:
        action = QAction(text, self, checkable=True)
        action.setObjectName(name)
        action.setToolTip(tip)
        action.toggled.connect(slot)
        return action

    # --- options ------------------------------------------------------------------------

    @property
    def options(self) -> ExportOptions:
        return self._options

    def set_options(self, options: ExportOptions) -> None:
        """Use ``options`` from now on (the menu follows, the settings remember them)."""
        self._options = options
        self._show_options()
        if self.settings is not None:
            save_options(self.settings, options)

    def _replace_options(self, **changes: Any) -> None:
        options = dataclasses.replace(self._options, **changes)
        if options != self._options:
            self.set_options(options)

    def _show_options(self) -> None:
        """Show the options in the menu's checkable actions."""
        options = self._options
        for action, checked in ((self.caption_action, options.caption),
                                (self.slide_action, options.theme == "slide"),
                                (self.transparent_action, options.transparent),
                                (self.scale_actions[options.scale], True)):
            action.blockSignals(True)
            action.setChecked(checked)
            action.blockSignals(False)

    def _set_caption(self, on: bool) -> None:
        self._replace_options(caption=bool(on))

    def _set_slide_theme(self, on: bool) -> None:
        self._replace_options(theme="slide" if on else "screen")

    def _set_transparent(self, on: bool) -> None:
        self._replace_options(background="transparent" if on else "theme")

    def set_scale(self, scale: int) -> None:
        self._replace_options(scale=figure_export.validate_scale(scale))

    @property
    def caption(self) -> bool:
        return self._options.caption

    @property
    def slide_theme(self) -> bool:
        return self._options.theme == "slide"

    @property
    def scale(self) -> int:
        return self._options.scale

    @property
    def theme(self) -> str:
        return self._options.theme

    def open_options_dialog(self) -> ExportOptionsDialog:
        """Open the options dialog (window-modal); OK applies its options. Returns it."""
        dialog = ExportOptionsDialog(self._options, self.main_window)
        dialog.accepted.connect(self._apply_dialog)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    @Slot()
    def _apply_dialog(self) -> None:
        dialog = self.sender()
        if isinstance(dialog, ExportOptionsDialog):
            self.set_options(dialog.options())

    # --- what to export -----------------------------------------------------------------

    def request(self, figures: tuple[str, ...] = FIGURE_NAMES, formats: tuple[str, ...] | None = None,
                gif: bool = True, frames: bool = False) -> ExportRequest:
        """An export of ``figures`` in ``formats`` (Export all's formats when None) with the
        current options."""
        views = getattr(self.main_window, "views", {})
        view_options = tuple((figure, name, value) for figure in figures if figure in views
                             for name, value in views[figure].view_options().items())
        return ExportRequest(options=self._options, formats=formats or self.formats, figures=figures,
                             gif=gif, frames=frames, view_options=view_options)

    def _current_figure(self) -> str | None:
        current = getattr(self.main_window, "current_view", None)
        view = current() if callable(current) else None
        return None if view is None else str(view.figure_name)

    @property
    def busy(self) -> bool:
        job = getattr(self.main_window, "export_job", None)
        return job is not None and job.running

    # --- actions ------------------------------------------------------------------------

    def export_current(self, path: str | os.PathLike[str] | None = None, overwrite: bool | None = None,
                       figure: str | None = None) -> bool:
        """Write the current figure (or ``figure``) to ``path`` (asked for with a dialog when
        None) in the background; the format is the file's extension."""
        figure = figure or self._current_figure()
        if figure is None:
            return self._fail("There is no figure to export.")
        if path is None:
            path = self._ask_save_path(f"{figure}.png", "Export figure", ";;".join(_FILTERS.values()))
            if path is None:
                return False
            overwrite = True  # the file dialog asked
        path = Path(path)
        try:
            fmt = figure_export.parse_formats(path.suffix)[0]
        except ValueError as error:
            return self._fail(f"Cannot write {path}: {error}")
        return self._export_one(figure, path, self.request((figure,), (fmt,), gif=False),
                                f"{figure}.{fmt}", overwrite)

    def export_shift_gif(self, path: str | os.PathLike[str] | None = None,
                         overwrite: bool | None = None) -> bool:
        """Write the cyclic shift as an animated GIF to ``path`` (a dialog when None)."""
        name = self.animated.name
        if path is None:
            path = self._ask_save_path(figure_export.animation_file_name(name),
                                       f"Export {self.animated.title.lower()} as GIF",
                                       "GIF animation (*.gif)")
            if path is None:
                return False
            overwrite = True
        return self._export_one(name, Path(path), self.request((name,), ("png",), gif=True),
                                figure_export.animation_file_name(name), overwrite)

    def export_shift_frames(self, folder: str | os.PathLike[str] | None = None,
                            overwrite: bool | None = None) -> bool:
        """Write the cyclic shift as numbered PNG frames into ``folder`` (a dialog when None)."""
        if folder is None:
            folder = self._ask_folder("Export PNG frames into")
            if folder is None:
                return False
        folder = Path(folder)
        name = self.animated.name
        existing = sorted(path.name for path in folder.glob(f"{name}-*.png")) if folder.is_dir() else []
        if not self._may_replace(existing, folder, overwrite):
            return False
        request = self.request((name,), ("png",), gif=False, frames=True)
        return self._export_beside(folder / name, request, {figure_export.frames_folder_name(name): folder})

    def export_all_in_background(self) -> bool:
        """Ask for a folder, then let the window export every figure into it in the
        background (progress and Cancel in the status bar)."""
        folder = self._ask_folder("Export all figures into")
        if folder is None:
            return False
        return bool(self.main_window.export_all(folder))

    def export_all(self, folder: str | os.PathLike[str] | None = None, overwrite: bool | None = None) -> bool:
        """Write every figure in every format of :attr:`formats`, and the GIF, into ``folder``
        (a dialog when None) in the background."""
        if folder is None:
            folder = self._ask_folder("Export all figures into")
            if folder is None:
                return False
        folder = Path(folder)
        request = self.request()
        existing = [name for name in request.file_names() if (folder / name).exists()]
        if not self._may_replace(existing, folder, overwrite):
            return False
        return self._start(request, folder, _Pending())

    def copy_current(self, figure: str | None = None) -> bool:
        """Put the current figure (or ``figure``) on the clipboard, as PNG and SVG, in the
        background."""
        figure = figure or self._current_figure()
        if figure is None:
            return self._fail("There is no figure to copy.")
        scratch = Path(tempfile.mkdtemp(prefix="swin-explorer-copy-"))

        def finish(_paths: list[Path]) -> list[Path]:
            try:
                png, svg = ((scratch / f"{figure}.{fmt}").read_bytes() for fmt in ("png", "svg"))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            self._clipboard_data = FigureMimeData(png, svg)
            QGuiApplication.clipboard().setMimeData(self._clipboard_data)
            return []

        pending = _Pending(finish, lambda: shutil.rmtree(scratch, ignore_errors=True), copy=figure)
        return self._start(self.request((figure,), ("png", "svg"), gif=False), scratch, pending, "Copying")

    def release_clipboard(self) -> None:
        """If the clipboard still holds a figure copied here, give it the figure as an entry
        Qt makes itself (the image, plus the PNG and SVG where the platform lets them be
        added): a clipboard entry made in Python must not outlive the interpreter."""
        data, self._clipboard_data = self._clipboard_data, None
        clipboard = QGuiApplication.clipboard()
        if data is None or clipboard.mimeData() is not data:
            return
        image = data.image()
        kept = {fmt: QByteArray(data.data(fmt)) for fmt in ("image/png", "image/svg+xml")}
        clipboard.setImage(image)  # the clipboard deletes ``data`` here
        made = clipboard.mimeData()
        for fmt, contents in kept.items():
            made.setData(fmt, contents)

    # --- plumbing -----------------------------------------------------------------------

    def _export_one(self, figure: str, path: Path, request: ExportRequest, written_name: str,
                    overwrite: bool | None) -> bool:
        """Export ``request`` beside ``path`` and rename its file ``written_name`` to ``path``."""
        existing = [path.name] if path.exists() else []
        if not self._may_replace(existing, path.parent, overwrite):
            return False
        return self._export_beside(path, request, {written_name: path})

    def _export_beside(self, target: Path, request: ExportRequest, moves: dict[str, Path]) -> bool:
        try:
            scratch = scratch_folder_beside(target)
        except OSError as error:
            return self._fail(f"Cannot write {target}: {os_reason(error)}")
        pending = _Pending(lambda _paths: deliver(scratch, moves),
                           lambda: shutil.rmtree(scratch, ignore_errors=True))
        return self._start(request, scratch, pending)

    def _may_replace(self, existing: list[str], folder: Path, overwrite: bool | None) -> bool:
        """Whether the export may go on: no file would be replaced, or replacing is allowed
        (``overwrite``) or confirmed (asked when ``overwrite`` is None)."""
        if not existing:
            return True
        if overwrite is None:
            shown = ", ".join(existing[:3]) + ("…" if len(existing) > 3 else "")
            answer = QMessageBox.question(self.main_window, "Replace files?",
                                          f"{len(existing)} files in {folder} would be replaced ({shown}). "
                                          "Replace them?")
            overwrite = answer == QMessageBox.StandardButton.Yes
        if not overwrite:
            self._fail("The export was not started: the files exist and were kept.", quiet=True)
        return bool(overwrite)

    def _start(self, request: ExportRequest, folder: Path, pending: _Pending,
               what: str = "Exporting") -> bool:
        """Run ``request`` into ``folder`` in a child process; ``pending`` says what happens
        with its files."""
        image = getattr(self.main_window.controller, "image", None)
        problem = ("There is no image to export yet." if image is None
                   else "An export is already running: wait for it, or cancel it." if self.busy else None)
        if image is None or problem is not None:
            if pending.cleanup is not None:
                pending.cleanup()
            return self._fail(problem or "There is no image to export yet.")
        self.last_error = None
        self._pending = pending
        job = ExportJob(self.main_window.state, image, folder, request, self.main_window)
        self.main_window.export_job = job
        progress = self.main_window.export_progress
        job.progressed.connect(progress.show_progress)
        job.finished.connect(self._job_finished)
        job.failed.connect(self._job_failed)
        progress.start(job, what)
        job.start()
        return True

    @Slot(list)
    def _job_finished(self, paths: list[Path]) -> None:
        pending, self._pending = self._pending, _Pending()
        self.main_window.export_progress.stop()
        try:
            written = pending.finish(paths) if pending.finish is not None else list(paths)
        except OSError as error:
            self._fail(f"The export could not be put in place: {os_reason(error)}"
                       + (f" ({error.filename})" if error.filename else ""))
            return
        if pending.copy is not None:
            self._status(f"Copied the {pending.copy} figure to the clipboard")
            self.copied.emit(pending.copy)
            return
        self.last_written = written
        if written:
            self._folder = written[0].parent
            where = written[0] if len(written) == 1 else f"{len(written)} files in {written[0].parent}"
            self._status(f"Exported {where}")
        self.finished.emit(written)

    @Slot(str)
    def _job_failed(self, message: str) -> None:
        pending, self._pending = self._pending, _Pending()
        self.main_window.export_progress.stop()
        if pending.cleanup is not None:
            pending.cleanup()
        self._fail(message, quiet="cancelled" in message)

    def _ask_save_path(self, suggested: str, title: str, filters: str) -> Path | None:
        chosen, selected_filter = QFileDialog.getSaveFileName(
            self.main_window, title, str(self._folder / suggested), filters)
        if not chosen:
            return None
        path = Path(chosen)
        if path.suffix.lower().lstrip(".") not in (*figure_export.FORMATS, "gif"):
            extension = next((fmt for fmt, text in _FILTERS.items() if text == selected_filter), "png")
            path = path.with_suffix(f".{extension}")
        return path

    def _ask_folder(self, title: str) -> Path | None:
        folder = QFileDialog.getExistingDirectory(self.main_window, title, str(self._folder))
        if not folder:
            return None
        self._folder = Path(folder)
        return self._folder

    def _status(self, message: str) -> None:
        status_bar = getattr(self.main_window, "statusBar", None)
        if callable(status_bar):
            status_bar().showMessage(message, 8000)

    def _fail(self, message: str, quiet: bool = False) -> bool:
        """Report ``message`` (the status bar; unless ``quiet``, also the window's message
        area), keep it in ``last_error``, emit ``failed``; returns False."""
        self.last_error = message
        show_error = getattr(self.main_window, "show_error", None)
        if quiet or not callable(show_error):
            self._status(message)
        else:
            show_error(message)
        self.failed.emit(message)
        return False


def _default_folder() -> Path:
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return Path(pictures) if pictures and Path(pictures).is_dir() else Path.cwd()


def install_export_actions(main_window: Any, menu: QMenu, before: QAction | None = None,
                           settings: QSettings | None = None) -> ExportActions:
    """Add the export actions to ``menu`` (the window's File menu), before the ``before``
    action (Quit) when given; ``settings`` keeps the export options. Returns the actions'
    owner, also reachable as ``main_window.findChild(QObject, "exportActions")``."""
    actions = ExportActions(main_window, settings)
    quit_action = before

    def add(item: QAction | QMenu | None) -> None:
        if item is None:
            separator = QAction(menu)
            separator.setSeparator(True)
            item = separator
        if isinstance(item, QMenu):
            item = item.menuAction()
        if quit_action is not None:
            menu.insertAction(quit_action, item)
        else:
            menu.addAction(item)

    add(None)
    for action in (actions.export_figure_action, actions.export_all_action, actions.copy_action,
                   actions.gif_action, actions.frames_action):
        add(action)
    options = QMenu("Export op&tions", main_window)
    options.setObjectName("exportOptionsMenu")
    for action in (actions.caption_action, actions.slide_action, actions.transparent_action):
        options.addAction(action)
    options.addSeparator()
    for action in actions.scale_actions.values():
        options.addAction(action)
    options.addSeparator()
    options.addAction(actions.options_action)
    add(options)
    if quit_action is not None:
        add(None)
    main_window.addActions([actions.export_figure_action, actions.export_all_action,
                            actions.copy_action])
    return actions
