"""Shared test set-up: Qt runs offscreen, and no test touches the user's settings."""

from __future__ import annotations

import gc
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before any Qt import: the tests never open a real window.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_SETTINGS_HOME = tempfile.mkdtemp(prefix="swin-explorer-settings-")
os.environ["XDG_CONFIG_HOME"] = _SETTINGS_HOME
os.environ["SWIN_EXPLORER_CACHE"] = tempfile.mkdtemp(prefix="swin-explorer-weights-")

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture(autouse=True, scope="session")
def _isolated_qsettings() -> None:
    """Point every QSettings format at a temporary folder, if Qt is used at all."""
    try:
        from PySide6 import QtCore
    except ImportError:
        return
    for fmt in (QtCore.QSettings.Format.NativeFormat, QtCore.QSettings.Format.IniFormat):
        for scope in (QtCore.QSettings.Scope.UserScope, QtCore.QSettings.Scope.SystemScope):
            QtCore.QSettings.setPath(fmt, scope, _SETTINGS_HOME)


@pytest.fixture(autouse=True, scope="session")
def _empty_clipboard_at_exit() -> Iterator[None]:
    """Qt crashes at interpreter exit while the clipboard still owns data a test put there
    (the clipboard's QMimeData outlives the QApplication's clean-up)."""
    yield
    if "PySide6.QtWidgets" not in sys.modules:
        return
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is not None:
        app.clipboard().clear()
        app.processEvents()


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    """A fresh INI file for one test's QSettings."""
    return tmp_path / "settings.ini"


def _flush_deletions() -> None:
    """Run the deletions the test asked for (``deleteLater``) and collect its garbage."""
    gc.collect()
    if "PySide6.QtWidgets" not in sys.modules:
        return
    from PySide6 import QtCore, QtWidgets

    if QtWidgets.QApplication.instance() is not None:
        QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
        gc.collect()


def _top_level_widgets() -> dict[int, object]:
    """Parentless widgets whose C++ object is alive, by C++ address (a widget that Python
    does not reference gets a new wrapper on each call, so wrappers cannot be compared)."""
    if "PySide6.QtWidgets" not in sys.modules:
        return {}
    from PySide6 import QtWidgets
    from shiboken6 import Shiboken

    if QtWidgets.QApplication.instance() is None:
        return {}
    return {Shiboken.getCppPointer(widget)[0]: widget for widget in QtWidgets.QApplication.topLevelWidgets()
            if widget.parent() is None}


@pytest.fixture(autouse=True)
def _no_widget_outlives_its_test() -> Iterator[None]:
    """Fail a test that leaves a top-level widget alive once its references are gone."""
    before = set(_top_level_widgets())
    yield
    _flush_deletions()
    leaked = [widget for address, widget in _top_level_widgets().items() if address not in before]
    if leaked:
        names = ", ".join(f"{type(widget).__name__}({widget.objectName()!r})" for widget in leaked)
        pytest.fail(f"top-level widgets left alive: {names}", pytrace=False)
