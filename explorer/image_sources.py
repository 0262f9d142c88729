"""Where images come from: a file, the clipboard, a drop on the window, or a recent file.

:class:`ImageSources` reads and decodes what the user offers and hands the image to the
controller; anything that is not an image is reported through ``failed`` and the current
image stays.

The GUI thread never waits for a file. It only looks at what the file is (a FIFO or device
is refused at once, see :func:`swin_model.preprocess.read_image_bytes`) and reads and
decodes a small image itself (at most SMALL_FILE_BYTES and SMALL_IMAGE_PIXELS: a photo of
the bundled kind, a few milliseconds). Anything larger goes to one background loader thread,
newest file first; the current image stays until the new one is decoded, and a file opened
meanwhile wins over an older one still decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from . import settings as app_settings
from .background import JobOutcome, NewestJobThread, Relay
from .labels import ASSETS_DIR

if TYPE_CHECKING:
    from swin_model.preprocess import LoadedImage

    from .controller import Controller

__all__ = ["DEFAULT_IMAGE", "IMAGE_FILTER", "SAMPLE_IMAGES", "ImageSources"]

DEFAULT_IMAGE = ASSETS_DIR / "chelsea.jpg"
SAMPLE_IMAGES: tuple[tuple[str, Path], ...] = (
    ("Chelsea the cat", ASSETS_DIR / "chelsea.jpg"),
    ("Coffee", ASSETS_DIR / "coffee.jpg"),
    ("Astronaut", ASSETS_DIR / "astronaut.jpg"),
    ("Numbered test pattern", ASSETS_DIR / "test_pattern.png"),
)
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"
SMALL_FILE_BYTES = 1 << 20
"""Files up to this size are read on the GUI thread (when the header says few pixels)."""
SMALL_IMAGE_PIXELS = 1 << 20
"""Images up to this many pixels are decoded on the GUI thread; larger ones in the background."""


def _qimage_to_png(image: QtGui.QImage) -> bytes:
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    QtGui.QImageWriter(buffer, QtCore.QByteArray(b"png")).write(image)
    return bytes(buffer.data().data())


@dataclass(frozen=True)
class _Load:
    """One file for the loader: ``data`` when its bytes were already read."""

    ticket: int
    path: str | Path
    remember: bool
    data: bytes | None = None


def _decode_load(load: _Load) -> LoadedImage:
    """Read (unless already read) and decode the file of ``load``; runs on the loader thread."""
    from swin_model.preprocess import decode_loaded, read_image

    return read_image(load.path) if load.data is None else decode_loaded(load.data, str(load.path))


class ImageSources(QtCore.QObject):
    """Opens images for ``controller`` and keeps the recent-files list in ``settings``.

    Until the controller is ready (the image code still loading) the last image asked for
    is kept in :attr:`pending` and opened by :meth:`open_pending`."""

    failed = QtCore.Signal(str)
    """A message for the user: what could not be opened, and that the current image stays."""
    warned = QtCore.Signal(str)
    """A message for the user about an image that was opened (e.g. a decompression bomb)."""

    def __init__(self, controller: Controller, settings: QtCore.QSettings, parent: QtWidgets.QWidget,
                 pending: str | Path | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self._settings = settings
        self._dialog_parent = parent
        self.pending: str | Path | None = pending
        self._ticket = 0
        self._relay = Relay(self)
        self._relay.delivered.connect(self._on_decoded)
        self._loader = NewestJobThread("image loader", self._relay.delivered.emit)
        self.destroyed.connect(self._loader.close)

    @property
    def loading(self) -> bool:
        """A file is being read or decoded in the background (maybe one no longer wanted);
        once False, its result has been sent to the GUI thread."""
        return self._loader.busy

    def close(self) -> None:
        """Stop the background loader (the window is going away)."""
        self._loader.close()

    def open_image(self, path: str | Path, remember: bool = True) -> bool:
        """Show the image at ``path``. Returns True when it is shown, or accepted and being
        decoded in the background (the current image stays until then; a failure then
        arrives through ``failed``), or queued because the model code is still loading.
        Returns False, and ``failed`` says why, when it is refused at once: missing, a
        folder, not a regular file, or a small file that is not an image."""
        if not self._controller.is_ready:
            self.pending = path
            return True
        from swin_model.preprocess import (
            FileTooLargeError,
            ImageLoadError,
            decode_loaded,
            image_size,
            read_image_bytes,
        )

        self._ticket += 1  # an older file still decoding is no longer wanted
        data: bytes | None = None
        try:
            try:
                data = read_image_bytes(path, max_bytes=SMALL_FILE_BYTES)
            except FileTooLargeError:
                data = None
            if data is not None:
                width, height = image_size(data, str(path))
                if width * height <= SMALL_IMAGE_PIXELS:
                    self._show(decode_loaded(data, str(path)), path, remember)
                    return True
        except ImageLoadError as error:
            self._fail(str(error), path, remember)
            return False
        load = _Load(self._ticket, path, remember, data)
        self._loader.submit(load, partial(_decode_load, load))
        return True

    @QtCore.Slot(object)
    def _on_decoded(self, outcome: JobOutcome) -> None:
        load: _Load = outcome.tag
        if load.ticket != self._ticket:
            return  # a newer image was asked for meanwhile
        if outcome.error is None:
            self._show(outcome.value, load.path, load.remember)
            return
        from swin_model.preprocess import ImageLoadError

        error = outcome.error
        message = (str(error) if isinstance(error, ImageLoadError)
                   else f"{load.path} could not be read: {type(error).__name__}: {error}")
        self._fail(message, load.path, load.remember)
        if self._controller.prepared is None and Path(load.path) != DEFAULT_IMAGE:
            self.open_image(DEFAULT_IMAGE, remember=False)  # nothing shown yet: the bundled photo

    def _show(self, loaded: LoadedImage, path: str | Path, remember: bool) -> None:
        image = loaded.image
        self._controller.set_image(image, str(path))
        if remember:
            app_settings.add_recent_file(self._settings, str(Path(path).resolve()))
        reduced = image.size != loaded.source_size
        for note in loaded.notes:
            shown = f"; it is shown from a reduced copy of {image.width}×{image.height} px" if reduced else ""
            self.warned.emit(f"{note}{shown}.")

    def _fail(self, error: str, path: str | Path, remember: bool) -> None:
        self.failed.emit(f"Could not open the image: {error}. The current image is kept.")
        if remember:
            app_settings.remove_recent_file(self._settings, str(path))

    def open_pending(self) -> None:
        """Open the image asked for before the controller was ready (the bundled photo
        when there was none, or when it cannot be opened)."""
        path, self.pending = self.pending, None
        if path is None or not self.open_image(path):
            self.open_image(DEFAULT_IMAGE, remember=False)

    def choose_image(self) -> None:
        """Ask for an image file with a dialog and open it."""
        name = self._controller.image_name
        start = str(Path(name).parent) if name else ""
        path, _filter = QtWidgets.QFileDialog.getOpenFileName(self._dialog_parent, "Open image", start,
                                                              IMAGE_FILTER)
        if path:
            self.open_image(path)

    def paste_image(self) -> bool:
        """Use the clipboard's image, or the image file it names."""
        data = QtWidgets.QApplication.clipboard().mimeData()
        if data is None:
            self.failed.emit("The clipboard is empty.")
            return False
        return self.open_mime(data, "the clipboard")

    @staticmethod
    def can_open(data: QtCore.QMimeData) -> bool:
        """Whether dropped ``data`` may hold an image."""
        return data.hasUrls() or data.hasImage()

    def open_mime(self, data: QtCore.QMimeData, where: str) -> bool:
        """Open the image file, image or file name that ``data`` carries."""
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
        self.failed.emit(f"There is no image on {where}. The current image is kept.")
        return False

    def _open_qimage(self, image: QtGui.QImage, name: str) -> bool:
        if not self._controller.is_ready:
            self.failed.emit("The model code is still loading; try again in a moment.")
            return False
        from swin_model.preprocess import ImageLoadError, decode_image

        self._ticket += 1  # an older file still decoding is no longer wanted
        try:
            pil_image = decode_image(_qimage_to_png(image), name)
        except ImageLoadError as error:
            self.failed.emit(f"Could not use {name}: {error}. The current image is kept.")
            return False
        self._controller.set_image(pil_image, name)
        return True

    def fill_recent_menu(self, menu: QtWidgets.QMenu) -> None:
        """List the recent files in ``menu`` (rebuilt each time it opens)."""
        menu.clear()
        files = app_settings.recent_files(self._settings)
        for path in files:
            action = menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.setData(path)
            action.triggered.connect(self._open_recent)
        if not files:
            empty = menu.addAction("(no recent files)")
            empty.setEnabled(False)
            return
        menu.addSeparator()
        clear = menu.addAction("Clear list")
        clear.triggered.connect(self.clear_recent)

    @QtCore.Slot()
    def _open_recent(self) -> None:
        action = self.sender()
        if isinstance(action, QtGui.QAction):
            self.open_image(str(action.data()))

    @QtCore.Slot()
    def clear_recent(self) -> None:
        self._settings.setValue("files/recent", [])
