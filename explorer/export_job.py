"""Export all figures without blocking the window.

The figures are rendered by the command line (``python main.py export``) in a separate
process, from the window's settings and the shown image, so the window stays responsive
however long the export takes. The process writes the whole set into a temporary folder
and moves it in only when every file is written (a failed or cancelled export leaves the
folder as it was), and reports ``[k/N] name`` after each file, which becomes progress here.
The files are the same, byte for byte, as the ones the export actions write in the window.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from PIL import Image
from PySide6 import QtCore, QtWidgets

from .state import ExplorerState

__all__ = ["ExportJob", "ExportProgress", "export_arguments"]

PACKAGE_PARENT = Path(__file__).resolve().parent.parent
"""The folder that holds the ``explorer`` package: the child process imports it from there."""
CLI_ENTRY = "import sys; from explorer.cli import main; sys.exit(main(sys.argv[1:]))"
_PROGRESS = re.compile(r"^\[(\d+)/(\d+)\] (.+)$")


def export_arguments(state: ExplorerState, image: Path, folder: Path, formats: Sequence[str], scale: int,
                     caption: bool, theme: str) -> list[str]:
    """The ``main.py export`` arguments that write the figures of ``state`` for ``image``."""
    arguments = ["export", str(image), "--out", str(folder), "--img-size", str(state.img_size),
                 "--window-size", str(state.window_size), "--stage", str(state.stage + 1),
                 "--block", str(state.block + 1), "--head", str(state.head + 1),
                 "--window", str(state.window), "--query", f"{state.query[0]},{state.query[1]}",
                 "--numbering", state.numbering, "--format", ",".join(formats), "--scale", str(scale),
                 "--theme", theme, "--caption" if caption else "--no-caption"]
    if state.checkpoint_path:
        arguments += ["--checkpoint", state.checkpoint_path]
    else:
        arguments += ["--model", state.model_name]
    if not state.shifted:
        arguments.append("--no-shift")
    return arguments


class ExportJob(QtCore.QObject):
    """One "export all" run in a child process. Emits ``progressed(done, total, name)`` after
    each file, then ``finished(paths)`` or ``failed(message)`` (also after :meth:`cancel`)."""

    progressed = QtCore.Signal(int, int, str)
    finished = QtCore.Signal(list)
    failed = QtCore.Signal(str)

    def __init__(self, state: ExplorerState, image: Image.Image, folder: str | Path, formats: Sequence[str],
                 scale: int, caption: bool, theme: str, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self._scratch = tempfile.TemporaryDirectory(prefix="swin-explorer-export-")
        source = Path(self._scratch.name) / "image.png"
        image.save(source)
        self._written: list[Path] = []
        self._cancelled = False
        self._stderr = ""
        self._process = QtCore.QProcess(self)
        self._process.setProgram(sys.executable)
        self._process.setArguments(["-c", CLI_ENTRY, *export_arguments(state, source, self.folder, formats,
                                                                      scale, caption, theme)])
        self._process.setWorkingDirectory(str(PACKAGE_PARENT))
        environment = QtCore.QProcessEnvironment.systemEnvironment()
        environment.insert("QT_QPA_PLATFORM", "offscreen")
        self._process.setProcessEnvironment(environment)
        self._process.readyReadStandardError.connect(self._read_progress)
        self._process.finished.connect(self._on_finished)
        self._process.errorOccurred.connect(self._on_error)

    def start(self) -> None:
        self._process.start()

    @property
    def running(self) -> bool:
        return self._process.state() != QtCore.QProcess.ProcessState.NotRunning

    def cancel(self) -> None:
        """Stop the export; the process leaves no file behind (it ends on SIGINT)."""
        if self.running:
            self._cancelled = True
            pid = self._process.processId()
            if pid > 0 and sys.platform != "win32":
                os.kill(pid, signal.SIGINT)
            else:
                self._process.kill()

    def wait(self, timeout_ms: int = 300_000) -> bool:
        """Block until the process ends (for scripts and tests); True when it did."""
        return self._process.waitForFinished(timeout_ms)

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
        self._scratch.cleanup()
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
            self._scratch.cleanup()
            self.failed.emit(f"The export could not start: {self._process.errorString()}")


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
        self.cancel_button.clicked.connect(self._cancel)
        self.hide()

    def start(self, job: ExportJob) -> None:
        self._job = job
        self.bar.setRange(0, 0)
        self.show()

    @QtCore.Slot(int, int, str)
    def show_progress(self, done: int, total: int, name: str) -> None:
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
