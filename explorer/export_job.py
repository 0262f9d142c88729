"""Exporting without blocking the window: every figure, one figure, the GIF, the frames, or
the clipboard.

The figures are rendered by the command line (``python main.py export``) in a separate
process, from the window's settings and the shown image, so the window stays responsive
however long the export takes: the window's own thread only starts the process (the image
is written for it by a helper thread), reads its progress and moves finished files into
place. The process writes the whole set into a temporary folder and moves it in only when
every file is written (a failed or cancelled export leaves the folder as it was), and
reports ``[k/N] name`` after each file, which becomes progress here. The files are the
same, byte for byte, as the ones the command line writes for the same settings and options.

A single file (Save, the GIF) or the frames are written by the process into a hidden
folder beside their destination, then renamed into place (:func:`scratch_folder_beside`,
:func:`deliver`); a copy becomes :class:`FigureMimeData` on the clipboard.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image
from PySide6 import QtCore, QtGui, QtWidgets

from .figures import FIGURE_NAMES, animated_figures
from .state import ExplorerState

if TYPE_CHECKING:
    from .export.options import ExportOptions

__all__ = [
    "ExportJob",
    "ExportProgress",
    "ExportRequest",
    "FigureMimeData",
    "deliver",
    "export_arguments",
    "scratch_folder_beside",
]

BACKGROUND_NICENESS = 5
"""How much the export process lowers its priority (Unix ``nice``)."""
PACKAGE_PARENT = Path(__file__).resolve().parent.parent
"""The folder that holds the ``explorer`` package: the child process imports it from there."""
CLI_ENTRY = (f"import os, sys; hasattr(os, 'nice') and os.nice({BACKGROUND_NICENESS}); "
             "from explorer.cli import main; sys.exit(main(sys.argv[1:]))")
"""The child's program: the command line, at a lower priority than the window (the window's
thread gets a core first when both want one)."""
_PROGRESS = re.compile(r"^\[(\d+)/(\d+)\] (.+)$")


def _size_argument(state: ExplorerState) -> str:
    """``--img-size`` for ``state``: N, or W×H for an input that is not square."""
    if state.img_shape is None:
        return str(state.img_size)
    height, width = state.img_shape
    return f"{width}x{height}"


@dataclass(frozen=True)
class ExportRequest:
    """What one background export writes into its folder: ``figures`` in ``formats`` with
    ``options``, plus the GIF of each animated figure among them (``gif``) and its PNG
    frames in ``<figure>-frames/`` (``frames``)."""

    options: ExportOptions
    formats: tuple[str, ...] = ("png", "svg", "pdf")
    figures: tuple[str, ...] = FIGURE_NAMES
    gif: bool = True
    frames: bool = False
    view_options: tuple[tuple[str, str, str], ...] = ()
    """(figure, name, value) of each figure's own switches, as shown (see
    :meth:`explorer.views.base.FigureView.view_options`)."""

    def file_names(self) -> list[str]:
        """The files and folders the export puts into its folder, in writing order."""
        from .export import figure_file_names, frames_folder_name

        names = figure_file_names(self.figures, self.formats, self.gif)
        if self.frames:
            names += [frames_folder_name(spec.name) for spec in animated_figures(self.figures)]
        return names


def export_arguments(state: ExplorerState, image: Path, folder: Path, request: ExportRequest) -> list[str]:
    """The ``main.py export`` arguments that write ``request`` for ``state`` and ``image``
    into ``folder``."""
    options = request.options
    arguments = ["export", str(image), "--out", str(folder), "--img-size", _size_argument(state),
                 "--window-size", str(state.window_size), "--stage", str(state.stage + 1),
                 "--block", str(state.block + 1), "--head", str(state.head + 1),
                 "--window", str(state.window), "--query", f"{state.query[0]},{state.query[1]}",
                 "--numbering", state.numbering, "--format", ",".join(request.formats),
                 "--figures", ",".join(request.figures), "--scale", str(options.scale),
                 "--theme", options.theme, "--background", options.background,
                 f"--title={options.title}", "--gif" if request.gif else "--no-gif"]
    # "--caption=TEXT", one argument (as --title): a text starting with "-" stays the text
    caption = options.caption_value
    arguments.append("--no-caption" if caption is False else "--caption" if caption is True
                     else f"--caption={caption}")
    if request.frames:
        arguments.append("--frames")
    arguments += [f"--view={figure}.{name}={value}" for figure, name, value in request.view_options
                  if figure in request.figures]
    if state.checkpoint_path:
        arguments += ["--checkpoint", state.checkpoint_path]
    else:
        arguments += ["--model", state.model_name]
    if not state.shifted:
        arguments.append("--no-shift")
    return arguments


class ExportJob(QtCore.QObject):
    """One export run in a child process, writing ``request`` into ``folder``. Emits
    ``progressed(done, total, name)`` after each file, then ``finished(paths)`` (the files
    the process reported, in ``folder``) or ``failed(message)`` (also after :meth:`cancel`).

    :meth:`start` returns at once: a helper thread writes the image for the process (a PNG
    of a large photo takes a while to encode), and the process starts once it is written."""

    progressed = QtCore.Signal(int, int, str)
    finished = QtCore.Signal(list)
    failed = QtCore.Signal(str)
    _imageWritten = QtCore.Signal(str)
    """From the helper thread: "" once the image is written, else why it could not be."""

    def __init__(self, state: ExplorerState, image: Image.Image, folder: str | Path, request: ExportRequest,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.request = request
        self._scratch = tempfile.TemporaryDirectory(prefix="swin-explorer-export-")
        self._image = image
        self._source = Path(self._scratch.name) / "image.png"
        self._writer: threading.Thread | None = None
        self._written: list[Path] = []
        self._cancelled = False
        self._ended = False
        self._stderr = ""
        self._process = QtCore.QProcess(self)
        self._process.setProgram(sys.executable)
        self._process.setArguments(["-c", CLI_ENTRY, *export_arguments(state, self._source, self.folder,
                                                                      request)])
        self._process.setWorkingDirectory(str(PACKAGE_PARENT))
        environment = QtCore.QProcessEnvironment.systemEnvironment()
        environment.insert("QT_QPA_PLATFORM", "offscreen")
        self._process.setProcessEnvironment(environment)
        self._process.readyReadStandardError.connect(self._read_progress)
        self._process.finished.connect(self._on_finished)
        self._process.errorOccurred.connect(self._on_error)
        self._imageWritten.connect(self._on_image_written)

    def start(self) -> None:
        """Write the image (in a helper thread), then start the process; returns at once."""
        if self._writer is not None:
            return
        self._writer = threading.Thread(target=self._write_image, name="export-image", daemon=True)
        self._writer.start()

    def _write_image(self) -> None:
        """In the helper thread: the image as a PNG for the process (Pillow's encoder lets go
        of the interpreter lock while it works, so the window's thread keeps running)."""
        try:
            self._image.save(self._source, compress_level=1)
            outcome = ""
        except Exception as error:
            outcome = f"The export could not start: the image could not be written ({error})"
        with contextlib.suppress(RuntimeError):  # the job was deleted meanwhile
            self._imageWritten.emit(outcome)

    @QtCore.Slot(str)
    def _on_image_written(self, problem: str) -> None:
        if self._cancelled:
            self._end()
            self.failed.emit("The export was cancelled; nothing was written.")
        elif problem:
            self._end()
            self.failed.emit(problem)
        else:
            self._process.start()

    @property
    def running(self) -> bool:
        """The job has started and not yet ended."""
        return self._writer is not None and not self._ended

    def cancel(self) -> None:
        """Stop the export; the process leaves no file behind (it ends on SIGINT)."""
        if not self.running:
            return
        self._cancelled = True
        if self._process.state() != QtCore.QProcess.ProcessState.NotRunning:
            pid = self._process.processId()
            if pid > 0 and sys.platform != "win32":
                os.kill(pid, signal.SIGINT)
            else:
                self._process.kill()

    def wait(self, timeout_ms: int = 300_000) -> bool:
        """Block until the process ends (for scripts and tests); True when it did, or when
        the job never got as far as starting it."""
        if self._writer is not None:
            self._writer.join(timeout_ms / 1000)
        if self._process.state() == QtCore.QProcess.ProcessState.NotRunning:
            return not (self._writer is not None and self._writer.is_alive())
        return self._process.waitForFinished(timeout_ms)

    def _end(self) -> None:
        self._ended = True
        self._scratch.cleanup()

    @QtCore.Slot()
    def _read_progress(self) -> None:
        text = bytes(self._process.readAllStandardError().data()).decode(errors="replace")
        self._stderr += text
        for line in text.splitlines():
            match = _PROGRESS.match(line.strip())
            if match:
                self._written.append(self.folder / match.group(3))
                self.progressed.emit(int(match.group(1)), int(match.group(2)), match.group(3))

    @QtCore.Slot(int, QtCore.QProcess.ExitStatus)
    def _on_finished(self, code: int, _status: QtCore.QProcess.ExitStatus) -> None:
        self._read_progress()
        self._end()
        if code == 0 and not self._cancelled:
            self.finished.emit(list(self._written))
        elif self._cancelled:
            self.failed.emit("The export was cancelled; nothing was written.")
        else:
            errors = [line for line in self._stderr.splitlines() if line.startswith("error: ")]
            reason = errors[-1][len("error: "):] if errors else f"the export process ended with code {code}"
            self.failed.emit(f"The export failed: {reason}")

    @QtCore.Slot(QtCore.QProcess.ProcessError)
    def _on_error(self, error: QtCore.QProcess.ProcessError) -> None:
        if error == QtCore.QProcess.ProcessError.FailedToStart:
            self._end()
            self.failed.emit(f"The export could not start: {self._process.errorString()}")


def scratch_folder_beside(target: Path) -> Path:
    """A new hidden folder in ``target``'s folder (created if missing), where an export can
    write what :func:`deliver` then renames into place: the same file system, so the move
    is instant and a file appears whole. OSError when the folder cannot be made."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".swin-explorer-", dir=target.parent))


def deliver(scratch: Path, moves: Mapping[str, Path]) -> list[Path]:
    """Move each ``scratch / name`` to its destination (a file replaces the file there; a
    folder's files go into the destination folder), then remove ``scratch``. Returns the
    destinations of the files, in order. An OSError names the file that could not move."""
    delivered: list[Path] = []
    try:
        for name, destination in moves.items():
            source = scratch / name
            if source.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                for item in sorted(source.iterdir()):
                    os.replace(item, destination / item.name)
                    delivered.append(destination / item.name)
            else:
                os.replace(source, destination)
                delivered.append(destination)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return delivered


class FigureMimeData(QtCore.QMimeData):
    """A figure for the clipboard: its PNG (``image/png``, as written) and SVG
    (``image/svg+xml``) bytes, and the image itself, decoded from the PNG only when a
    program asks for it (so copying decodes nothing in the window's thread).

    A Python object owned by the clipboard must not outlive the interpreter (its clean-up
    would call back into Python): before the window goes, :meth:`image` is handed to the
    clipboard as an entry Qt makes itself (see ``ExportActions.release_clipboard``)."""

    _IMAGE_FORMAT = "application/x-qt-image"

    def __init__(self, png: bytes, svg: bytes) -> None:
        super().__init__()
        self._png = png
        self._image: QtGui.QImage | None = None
        self.setData("image/png", QtCore.QByteArray(png))
        self.setData("image/svg+xml", QtCore.QByteArray(svg))

    def image(self) -> QtGui.QImage:
        """The figure as an image, decoded from the PNG on first use."""
        if self._image is None:
            self._image = QtGui.QImage.fromData(self._png)
        return self._image

    def formats(self) -> list[str]:
        return [self._IMAGE_FORMAT, *super().formats()]

    def hasFormat(self, mime_type: str) -> bool:
        return mime_type == self._IMAGE_FORMAT or super().hasFormat(mime_type)

    def retrieveData(self, mime_type: str, kind: QtCore.QMetaType | QtCore.QMetaType.Type) -> object:
        if mime_type == self._IMAGE_FORMAT:
            return self.image()
        return super().retrieveData(mime_type, kind)


class ExportProgress(QtWidgets.QWidget):
    """A progress bar and a Cancel button for the status bar, shown while an export runs."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportProgress")
        self.bar = QtWidgets.QProgressBar()
        self.bar.setObjectName("exportProgressBar")
        self.bar.setMaximumWidth(220)
        self.bar.setFormat("Exporting %v/%m")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setObjectName("exportCancel")
        self.cancel_button.setToolTip("Stop the export; nothing is written.")
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._job: ExportJob | None = None
        self._what = "Exporting"
        self.cancel_button.clicked.connect(self._cancel)
        self.hide()

    def start(self, job: ExportJob, what: str = "Exporting") -> None:
        """Show the bar for ``job``; ``what`` it does ("Copying", "Exporting"). The bar stays
        still until the first file is written (a busy animation would repaint all along)."""
        self._job = job
        self._what = what
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat(f"{what}: starting…")
        self.show()

    @QtCore.Slot(int, int, str)
    def show_progress(self, done: int, total: int, name: str) -> None:
        self.bar.setFormat(f"{self._what} %v/%m")
        self.bar.setRange(0, total)
        self.bar.setValue(done)
        self.bar.setToolTip(name)

    def stop(self) -> None:
        self._job = None
        self.hide()

    @QtCore.Slot()
    def _cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()
