"""File-menu actions for exporting figures.

``install_export_actions(main_window)`` adds to the window's File menu: Export figure…
(the current view), Export all figures… (Ctrl+Shift+E), Copy figure to clipboard
(Ctrl+Shift+C), Export cyclic shift as GIF… and as PNG frames…, and an "Export options"
submenu (caption under figures, slide theme, PNG scale ×1-×4).

The current view is exported as the user sees it. "Export all" and the cyclic-shift
exports build the figures for the window's current settings offscreen (the same code path
as ``python main.py export``), so hidden tabs export at a stable size and the files match
the command line's. A set of files (all figures, the frames) appears whole or not at all,
and other files in the chosen folder stay. Errors are shown in a message box and kept in
``last_error``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from . import export as figure_export
from .export.atomic import write_file_set
from .figures import animated_figures

__all__ = ["ExportActions", "install_export_actions"]

_FILTERS = {
    "png": "PNG image (*.png)",
    "svg": "SVG vector drawing (*.svg)",
    "pdf": "PDF document (*.pdf)",
}


class ExportActions(QObject):
    """The export actions of one main window and the options they share.

    ``main_window`` provides ``current_view()`` (the FigureView on screen, or None),
    ``state`` (ExplorerState), ``prepared`` (PreparedImage or None) and ``last_result``
    (InferenceResult or None).
    """

    def __init__(self, main_window: Any) -> None:
        super().__init__(main_window)
        self.setObjectName("exportActions")
        self.main_window = main_window
        self.caption = True
        self.slide_theme = False
        self.scale = 1
        self.formats: tuple[str, ...] = figure_export.FORMATS
        self.last_error: str | None = None
        self.last_written: list[Path] = []
        self._scratch: list[Any] = []
        self._folder = _default_folder()

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

        self.caption_action = QAction("&Caption under figures", self, checkable=True, checked=True)
        self.caption_action.setObjectName("exportCaption")
        self.caption_action.setToolTip("Write the model, stage, block, head, M, shift and input "
                                       "size under exported figures.")
        self.caption_action.toggled.connect(self._set_caption)
        self.slide_action = QAction("&Slide theme (white, large fonts)", self, checkable=True)
        self.slide_action.setObjectName("exportSlideTheme")
        self.slide_action.setToolTip("Export with a white background and large fonts, the same "
                                     "colours (the window keeps its look).")
        self.slide_action.toggled.connect(self._set_slide_theme)
        self.scale_group = QActionGroup(self)
        self.scale_actions: dict[int, QAction] = {}
        for scale in range(1, figure_export.MAX_SCALE + 1):
            width = scale * figure_export.DEFAULT_WIDTH
            action = QAction(f"PNG scale ×{scale} ({width} px wide)", self, checkable=True,
                             checked=scale == 1)
            action.setObjectName(f"exportScale{scale}")
            action.setActionGroup(self.scale_group)
            action.triggered.connect(lambda _checked=False, s=scale: self.set_scale(s))
            self.scale_actions[scale] = action

    def _action(self, text: str, slot: Callable[[], Any], shortcut: QKeySequence | None,
                name: str) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    # --- options ------------------------------------------------------------------------

    def _set_caption(self, on: bool) -> None:
        self.caption = bool(on)

    def _set_slide_theme(self, on: bool) -> None:
        self.slide_theme = bool(on)

    def set_scale(self, scale: int) -> None:
        self.scale = figure_export.validate_scale(scale)
        self.scale_actions[scale].setChecked(True)

    @property
    def theme(self) -> str:
        return "slide" if self.slide_theme else "screen"

    # --- what to export -----------------------------------------------------------------

    def _current_view(self) -> Any:
        current = getattr(self.main_window, "current_view", None)
        return current() if callable(current) else None

    def _offscreen_views(self) -> dict[str, Any]:
        """Every figure for the window's settings, laid out offscreen in the export theme."""
        from .figures import build_figures

        state = self.main_window.state
        views = build_figures(state, getattr(self.main_window, "prepared", None),
                              getattr(self.main_window, "last_result", None), theme=self.theme)
        self._scratch.extend(views.values())
        for view in views.values():
            figure_export.prepare_offscreen(view)
        return views

    def _dispose_offscreen_views(self) -> None:
        """Delete the offscreen views the last action built."""
        for view in self._scratch:
            view.close()
            view.deleteLater()
        self._scratch.clear()

    def _export_view(self, name: str | None = None) -> Any:
        """The live view when it is on screen in the export theme, else an offscreen one."""
        live = self._current_view()
        if live is not None and (name is None or live.figure_name == name) and live.isVisible() \
                and getattr(getattr(live, "theme", None), "name", "screen") == self.theme:
            return live
        views = self._offscreen_views()
        if name is None:
            name = live.figure_name if live is not None else next(iter(views))
        return views[name]

    # --- actions ------------------------------------------------------------------------

    def export_current(self, path: str | os.PathLike[str] | None = None) -> Path | None:
        """Write the current view to ``path`` (asked for with a dialog when None)."""
        live = self._current_view()
        if live is None:
            self._fail("There is no figure to export.")
            return None
        if path is None:
            path = self._ask_save_path(f"{live.figure_name}.png", "Export figure",
                                       ";;".join(_FILTERS.values()))
            if path is None:
                return None
        written = self._run(lambda: [figure_export.export_figure(
            self._export_view(), path, self.scale, self.caption)])
        return written[0] if written else None

    def export_all_in_background(self) -> bool:
        """Ask for a folder, then let the window export every figure into it in the
        background (progress and Cancel in the status bar)."""
        folder = QFileDialog.getExistingDirectory(self.main_window, "Export all figures into",
                                                  str(self._folder))
        if not folder:
            return False
        self._folder = Path(folder)
        return bool(self.main_window.export_all(folder))

    def export_all(self, folder: str | os.PathLike[str] | None = None) -> list[Path] | None:
        """Write every figure in every format into ``folder`` (a dialog when None)."""
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self.main_window, "Export all figures into",
                                                      str(self._folder))
            if not folder:
                return None
        return self._run(lambda: figure_export.export_all(
            self._offscreen_views(), folder, self.formats, self.scale, self.caption,
            progress=self._progress))

    def export_shift_gif(self, path: str | os.PathLike[str] | None = None) -> Path | None:
        """Write the cyclic shift as an animated GIF to ``path`` (a dialog when None)."""
        if path is None:
            path = self._ask_save_path(figure_export.animation_file_name(self.animated.name),
                                       f"Export {self.animated.title.lower()} as GIF",
                                       "GIF animation (*.gif)")
            if path is None:
                return None
        written = self._run(lambda: [figure_export.export_shift_gif(
            self._export_view(self.animated.name), path, self.scale, self.caption)])
        return written[0] if written else None

    def export_shift_frames(self, folder: str | os.PathLike[str] | None = None) -> list[Path] | None:
        """Write the cyclic shift as numbered PNG frames into ``folder`` (a dialog when None)."""
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self.main_window, "Export PNG frames into",
                                                      str(self._folder))
            if not folder:
                return None
        def write(stage: Path) -> list[Path]:
            return figure_export.export_shift_frames(self._export_view(self.animated.name), stage,
                                                     self.scale, self.caption)

        # all frames or none: written into a staging folder, moved into ``folder`` at the end
        return self._run(lambda: write_file_set(folder, write))

    def copy_current(self) -> bool:
        """Put the current view on the clipboard (image and SVG)."""
        live = self._current_view()
        if live is None:
            self._fail("There is no figure to copy.")
            return False
        try:
            figure_export.copy_to_clipboard(self._export_view(), self.scale, self.caption)
        except Exception as error:
            self._fail(f"The figure could not be copied: {error}")
            return False
        finally:
            self._dispose_offscreen_views()
        self._status(f"Copied the {live.figure_name} figure to the clipboard")
        return True

    # --- plumbing -----------------------------------------------------------------------

    def _run(self, job: Callable[[], list[Path]]) -> list[Path] | None:
        self.last_error = None
        try:
            written = job()
        except figure_export.ExportError as error:
            self._fail(str(error))
            return None
        except Exception as error:  # a bug must not take the window down with it
            self._fail(f"The export failed: {type(error).__name__}: {error}")
            return None
        finally:
            self._dispose_offscreen_views()
        self.last_written = list(written)
        if written:
            self._folder = written[0].parent
            where = written[0] if len(written) == 1 else f"{len(written)} files in {written[0].parent}"
            self._status(f"Exported {where}")
        return written

    def _progress(self, done: int, total: int, name: str) -> None:
        self._status(f"Exporting [{done}/{total}] {name}")

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

    def _status(self, message: str) -> None:
        status_bar = getattr(self.main_window, "statusBar", None)
        if callable(status_bar):
            status_bar().showMessage(message, 6000)

    def _fail(self, message: str) -> None:
        """Show ``message`` (status bar and a message box) and keep it in ``last_error``."""
        self.last_error = message
        self._status(message)
        QMessageBox.warning(self.main_window, "Export failed", message)


def _default_folder() -> Path:
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return Path(pictures) if pictures and Path(pictures).is_dir() else Path.cwd()


def install_export_actions(main_window: Any, menu: QMenu, before: QAction | None = None) -> ExportActions:
    """Add the export actions to ``menu`` (the window's File menu), before the ``before``
    action (Quit) when given. Returns the actions' owner, also reachable as
    ``main_window.findChild(QObject, "exportActions")``."""
    actions = ExportActions(main_window)
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
    options.addAction(actions.caption_action)
    options.addAction(actions.slide_action)
    options.addSeparator()
    for action in actions.scale_actions.values():
        options.addAction(action)
    add(options)
    if quit_action is not None:
        add(None)
    main_window.addActions([actions.export_figure_action, actions.export_all_action,
                            actions.copy_action])
    return actions
