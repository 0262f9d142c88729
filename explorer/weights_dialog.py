"""Model → Download pretrained weights…: the catalogue in a dialog, one download at a time off
the GUI thread, with its progress (bytes, rate, time left) and a Cancel button. On success
the window loads the weights and switches to them.

The download is :func:`swin_model.weights.download_weights` run by a :class:`DownloadWorker`
moved to a QThread; the worker's signals are connected to methods of the dialog, which
lives in the GUI thread, so they arrive there (queued). Cancelling sets a flag the download
reads between chunks, and shuts the connection down so that a read waiting on the network
returns at once; a cancelled or failed download leaves the cache as it was (an
interrupted one keeps its ``.part`` file, and the next download of it resumes).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtWidgets

from .cli_weights import format_bytes, format_progress

if TYPE_CHECKING:
    from swin_model.weights import Catalogue, DownloadProgress, WeightsEntry

    from .main_window import MainWindow

__all__ = ["DownloadWorker", "WeightsDialog", "cached_checkpoints", "open_weights_dialog"]

STOP_WAIT_MS = 35_000
"""The longest closing the window waits for a cancelled download to stop: a read stops at
once, a connection attempt at the download's network timeout (30 s)."""
PROGRESS_STEPS = 1000
INTRO = ("Official Swin Transformer weights trained on ImageNet, released by the paper's authors. "
         "Each file is downloaded once into {folder} and used offline afterwards; with them the "
         "attention maps and the prediction are the trained model's.")


def cached_checkpoints() -> list[Path]:
    """The downloaded catalogue weights in the cache folder, in catalogue order (for the model
    list at start-up; their contents are checked when they are used)."""
    from swin_model.weights import cached_checkpoints as cached

    return cached()


class DownloadWorker(QtCore.QObject):
    """Downloads (or, when cached, checks) one catalogue entry in the thread it is moved to."""

    progressed = QtCore.Signal(object)
    """A :class:`swin_model.weights.DownloadProgress`."""
    succeeded = QtCore.Signal(str)
    """The cached file, verified."""
    failed = QtCore.Signal(str)
    """What went wrong, in words (the address, and where a file downloaded by hand goes)."""
    cancelled = QtCore.Signal(str)

    def __init__(self, name: str, url: str | None = None, catalogue: Catalogue | None = None,
                 options: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.name = name
        self.url = url
        self.catalogue = catalogue
        self.options = options or {}
        from swin_model.weights import CancelToken

        self._cancel = CancelToken()

    def cancel(self) -> None:
        """Stop the download now (safe from any thread): a read waiting on the network is
        interrupted, and the partial file is kept for a resume."""
        self._cancel.cancel()

    @QtCore.Slot()
    def run(self) -> None:
        from swin_model.weights import DownloadCancelled, WeightsError, download_weights

        try:
            path = download_weights(self.name, url=self.url, catalogue=self.catalogue,
                                    progress=self.progressed.emit, should_cancel=self._cancel,
                                    **self.options)
        except DownloadCancelled as error:
            self.cancelled.emit(str(error))
        except WeightsError as error:
            self.failed.emit(str(error))
        except Exception as error:  # the dialog shows it and goes on
            self.failed.emit(f"{type(error).__name__}: {error}")
        else:
            self.succeeded.emit(str(path))


class WeightsDialog(QtWidgets.QDialog):
    """The catalogue with a download button, progress and Cancel.

    ``urls`` replaces the download address of entries by name (a mirror; tests serve files
    on 127.0.0.1); ``catalogue`` replaces the catalogue file; ``download_options`` go to
    :func:`~swin_model.weights.download_weights` (e.g. ``timeout``)."""

    weightsReady = QtCore.Signal(str)
    """The verified cached file of the chosen weights."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, *, urls: dict[str, str] | None = None,
                 catalogue: Catalogue | None = None,
                 download_options: dict[str, Any] | None = None) -> None:
        super().__init__(parent)
        from swin_model.weights import load_catalogue, weights_dir

        self.setObjectName("weightsDialog")
        self.setWindowTitle("Download pretrained weights")
        self.catalogue = load_catalogue() if catalogue is None else catalogue
        self.urls = dict(urls or {})
        self.download_options = dict(download_options or {})
        self.last_error: str | None = None
        self._thread: QtCore.QThread | None = None
        self._worker: DownloadWorker | None = None
        self._delete_when_stopped = False

        intro = QtWidgets.QLabel(INTRO.format(folder=weights_dir()))
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QtWidgets.QTreeWidget()
        self.table.setObjectName("weightsList")
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels(["Weights", "Size", "Top-1", "Cached"])
        self.table.setAlternatingRowColors(True)
        self.details = QtWidgets.QLabel()
        self.details.setObjectName("weightsDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName("downloadProgress")
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.status = QtWidgets.QLabel("Choose weights and press Download.")
        self.status.setObjectName("downloadStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.download_button = QtWidgets.QPushButton("Download and use")
        self.download_button.setObjectName("downloadButton")
        self.download_button.setDefault(True)
        self.cancel_button = QtWidgets.QPushButton("Cancel download")
        self.cancel_button.setObjectName("cancelDownloadButton")
        self.cancel_button.setEnabled(False)
        self.close_button = QtWidgets.QPushButton("Close")
        self.close_button.setObjectName("closeButton")

        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

        self.table.currentItemChanged.connect(self._on_current_changed)
        self.table.itemDoubleClicked.connect(self._on_double_clicked)
        self.download_button.clicked.connect(self._on_download_clicked)
        self.cancel_button.clicked.connect(self.cancel_download)
        self.close_button.clicked.connect(self.reject)
        self.refresh()
        first = self.table.topLevelItem(0)
        if first is not None:
            self.table.setCurrentItem(first)
        for column in range(self.table.columnCount()):
            self.table.resizeColumnToContents(column)
        self.resize(760, 460)

    # --- what tests and the window read -------------------------------------------------

    @property
    def downloading(self) -> bool:
        """Whether a download (or check) runs: from Download until its thread has finished
        and the dialog has taken note."""
        return self._thread is not None

    def selected_name(self) -> str | None:
        item = self.table.currentItem()
        return None if item is None else str(item.data(0, QtCore.Qt.ItemDataRole.UserRole))

    def select(self, name: str) -> None:
        """Make the entry ``name`` the current one."""
        for row in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(row)
            if item is not None and item.data(0, QtCore.Qt.ItemDataRole.UserRole) == name:
                self.table.setCurrentItem(item)
                return
        raise KeyError(name)

    def refresh(self) -> None:
        """Fill the list from the catalogue and the cache."""
        from swin_model.weights import status

        current = self.selected_name()
        self.table.clear()
        for entry in self.catalogue.values():
            state = status(entry)
            size = (format_bytes(entry.size) if entry.size is not None
                    else f"≈{format_bytes(entry.approx_bytes)}")
            if state.cached:
                cached = "yes"
            elif state.partial_bytes:
                cached = f"partly ({format_bytes(state.partial_bytes)})"
            else:
                cached = "no"
            top1 = f"{entry.top1:.1f}%" if entry.top1 is not None else ""
            item = QtWidgets.QTreeWidgetItem([entry.title, size, top1, cached])
            item.setData(0, QtCore.Qt.ItemDataRole.UserRole, entry.name)
            item.setToolTip(0, entry.name)
            item.setTextAlignment(1, QtCore.Qt.AlignmentFlag.AlignRight)
            item.setTextAlignment(2, QtCore.Qt.AlignmentFlag.AlignRight)
            self.table.addTopLevelItem(item)
        if current is not None:
            self.select(current)

    # --- downloading ---------------------------------------------------------------------

    def start_download(self, name: str | None = None) -> None:
        """Download (or check, when cached) the entry ``name`` (default: the selected one)."""
        if self.downloading:
            return
        name = self.selected_name() if name is None else name
        if name is None:
            return
        entry = self.catalogue.entry(name)
        self.last_error = None
        worker = DownloadWorker(entry.name, self.urls.get(entry.name), self.catalogue, self.download_options)
        thread = QtCore.QThread()
        thread.setObjectName(f"weightsDownload:{entry.name}")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progressed.connect(self._on_progress)
        worker.succeeded.connect(self._on_succeeded)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        thread.finished.connect(self._on_thread_finished)
        self._worker, self._thread = worker, thread
        self._set_busy(True)
        self.progress.setValue(0)
        self.status.setStyleSheet("")
        self.status.setText(f"Connecting to {self._host(entry)} …")
        thread.start()

    @QtCore.Slot()
    def cancel_download(self) -> None:
        """Stop the running download at its next chunk; the cache stays as it was."""
        if self._worker is not None and self.downloading:
            self._worker.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling …")

    def stop(self, wait_ms: int = STOP_WAIT_MS) -> bool:
        """Cancel a running download and wait for its thread; False if it did not stop."""
        if self._thread is None:
            return True
        if self._worker is not None:
            self._worker.cancel()
        self._thread.quit()
        stopped = self._thread.wait(wait_ms)
        if stopped:  # take the worker's last signals and the thread's end now
            QtCore.QCoreApplication.sendPostedEvents(self)
        return stopped

    # --- worker -> screen (queued into the GUI thread) -----------------------------------

    @QtCore.Slot(object)
    def _on_progress(self, progress: DownloadProgress) -> None:
        fraction = progress.fraction
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, PROGRESS_STEPS)
            self.progress.setValue(round(fraction * PROGRESS_STEPS))
        self.status.setText(format_progress(progress))
        if fraction is not None and fraction >= 1.0:
            self.status.setText(format_progress(progress) + " — checking the file …")

    @QtCore.Slot(str)
    def _on_succeeded(self, path: str) -> None:
        self._finish_thread()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(PROGRESS_STEPS)
        self.status.setText(f"Ready: {path}")
        self.refresh()
        self.weightsReady.emit(path)

    @QtCore.Slot(str)
    def _on_failed(self, message: str) -> None:
        self._finish_thread()
        self.last_error = message
        self.progress.setRange(0, PROGRESS_STEPS)
        self.status.setStyleSheet("color: #c62828;")
        self.status.setText(f"Download failed: {message}")
        self.refresh()

    @QtCore.Slot(str)
    def _on_cancelled(self, _message: str) -> None:
        self._finish_thread()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.status.setText("Cancelled. Download again to resume where it stopped.")
        self.refresh()

    def _finish_thread(self) -> None:
        if self._thread is not None:
            self._thread.quit()

    @QtCore.Slot()
    def _on_thread_finished(self) -> None:
        thread = self._thread
        if thread is not None:
            # ``finished`` is sent from the thread just before it ends: let it end, then the
            # worker (released here) and the thread are deleted on this thread, never on the
            # ending one
            thread.wait()
            thread.deleteLater()
        self._thread = self._worker = None
        self._set_busy(False)
        if self._delete_when_stopped:
            self.deleteLater()

    # --- user ----------------------------------------------------------------------------

    @QtCore.Slot()
    def _on_download_clicked(self) -> None:
        self.start_download()

    @QtCore.Slot(QtWidgets.QTreeWidgetItem, int)
    def _on_double_clicked(self, _item: QtWidgets.QTreeWidgetItem, _column: int) -> None:
        self.start_download()

    @QtCore.Slot(QtWidgets.QTreeWidgetItem, QtWidgets.QTreeWidgetItem)
    def _on_current_changed(self, current: QtWidgets.QTreeWidgetItem | None,
                            _previous: QtWidgets.QTreeWidgetItem | None) -> None:
        if current is None:
            self.details.setText("")
            return
        from swin_model.weights import status

        entry = self.catalogue.entry(str(current.data(0, QtCore.Qt.ItemDataRole.UserRole)))
        state = status(entry)
        where = (f"Cached: {state.path}" if state.path is not None
                 else f"From: {self.urls.get(entry.name, entry.url)}")
        pretrain = f" — trained on {entry.pretrain}" if entry.pretrain else ""
        self.details.setText(f"<b>{entry.name}</b>{pretrain}<br>{entry.layout_text}<br>{where}")
        if not self.downloading:
            self.download_button.setText("Use" if state.cached else "Download and use")

    def _set_busy(self, busy: bool) -> None:
        self.download_button.setEnabled(not busy)
        self.table.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        if not busy:
            self._on_current_changed(self.table.currentItem(), None)

    def _host(self, entry: WeightsEntry) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.urls.get(entry.name, entry.url)).netloc

    def done(self, result: int) -> None:
        """Close; a running download is cancelled, and the dialog is deleted once it stops."""
        if self.downloading:
            self.cancel_download()
            self._delete_when_stopped = True
            self.hide()
            super().done(result)
            return
        super().done(result)
        self.deleteLater()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        """The window closing: stop the download first (its thread must not outlive it)."""
        if event.type() == QtCore.QEvent.Type.Close and watched is self.parent():
            self.stop()
        return False


def open_weights_dialog(window: MainWindow, *, urls: dict[str, str] | None = None,
                        catalogue: Catalogue | None = None,
                        download_options: dict[str, Any] | None = None) -> WeightsDialog:
    """Show the weights dialog over ``window`` (not blocking); weights that become ready are
    loaded with ``window.load_checkpoint`` (read in the window's worker, then listed and
    chosen in the model list) and the dialog closes."""
    dialog = WeightsDialog(window, urls=urls, catalogue=catalogue, download_options=download_options)
    window.installEventFilter(dialog)
    dialog.weightsReady.connect(window.load_checkpoint)
    dialog.weightsReady.connect(dialog.accept)
    dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
    dialog.show()
    return dialog
