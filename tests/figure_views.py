"""Ending the figure views a test built without a window."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping

from PySide6 import QtCore, QtWidgets


def dispose_views(views: MutableMapping[str, QtWidgets.QWidget] | Iterable[QtWidgets.QWidget]) -> None:
    """Close and delete ``views`` now, not at a later turn of the event loop, so no widget
    (nor a parentless helper widget of pyqtgraph's menus) outlives its test. A mapping is
    emptied too: pytest keeps a fixture's value until after teardown."""
    widgets = list(views.values()) if isinstance(views, MutableMapping) else list(views)
    for view in widgets:
        view.close()
        view.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    if isinstance(views, MutableMapping):
        views.clear()
