"""Where images come from: a file, the clipboard, a drop on the window, or a recent file.

:class:`ImageSources` reads and decodes what the user offers and hands the image to the
controller; anything that is not an image is reported through ``failed`` and the current
image stays.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from . import settings as app_settings
from .labels import ASSETS_DIR

if TYPE_CHECKING:
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


def _qimage_to_png(image: QtGui.QImage) -> bytes:
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    QtGui.QImageWriter(buffer, QtCore.QByteArray(b"png")).write(image)
    return bytes(buffer.data().data())


class ImageSources(QtCore.QObject):
    """Opens images for ``controller`` and keeps the recent-files list in ``settings``.

    Until the controller is ready (the image code still loading) the last image asked for
    is kept in :attr:`pending` and opened by :meth:`open_pending`."""

    failed = QtCore.Signal(str)
    """A message for the user: what could not be opened, and that the current image stays."""

    def __init__(self, controller: Controller, settings: QtCore.QSettings, parent: QtWidgets.QWidget,
                 pending: str | Path | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self._settings = settings
        self._dialog_parent = parent
        self.pending: str | Path | None = pending

    def open_image(self, path: str | Path, remember: bool = True) -> bool:
        """Show the image at ``path``. On failure the current image stays and ``failed``
        says why; returns whether the image is now shown (True also when queued because
        the model code is still loading)."""
        if not self._controller.is_ready:
            self.pending = path
            return True
        from swin_model.preprocess import ImageLoadError, load_image

        try:
            image = load_image(path)
        except ImageLoadError as error:
            self.failed.emit(f"Could not open the image: {error}. The current image is kept.")
            if remember:
                app_settings.remove_recent_file(self._settings, str(path))
            return False
        self._controller.set_image(image, str(path))
        if remember:
            app_settings.add_recent_file(self._settings, str(Path(path).resolve()))
        return True

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
