"""Atomic file writing for export: a file appears whole or not at all.

Bytes go to a temporary file in the destination folder, which is then renamed into place
(``os.replace``), so a failed export leaves neither a partial file nor a temporary one, and
an existing file survives a failed overwrite. Failures raise :class:`ExportError`, whose
message names the path and the cause (the operating system's reason for OS errors).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = [
    "ExportError",
    "ensure_folder",
    "os_reason",
    "write_atomic",
    "write_rendered",
]


class ExportError(Exception):
    """An export that could not be completed; ``path`` is the file or folder concerned."""

    def __init__(self, path: str | os.PathLike[str], cause: str) -> None:
        self.path = Path(path)
        self.cause = cause
        super().__init__(f"cannot write {self.path}: {cause}")


def os_reason(error: BaseException) -> str:
    """The reason to show for ``error``: the OS's wording for an OSError (``strerror``),
    else the error's message, else its type name."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def ensure_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) unless it exists; ExportError if it cannot be
    created or is not a folder."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(folder, os_reason(error)) from error
    if not folder.is_dir():
        raise ExportError(folder, "not a folder")


def _file_mode() -> int:
    """The permissions a new file gets under the current umask (mkstemp makes it 0o600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: str | os.PathLike[str], chunks: Iterable[bytes]) -> Path:
    """Write ``chunks`` to ``path`` through a temporary file in the same folder, then
    rename it into place. On any failure (including one raised by ``chunks`` midway)
    the temporary file is removed and an existing ``path`` is left untouched; OS errors
    become :class:`ExportError`."""
    path = Path(path)
    ensure_folder(path.parent)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as error:
        raise ExportError(path, os_reason(error)) from error
    try:
        with os.fdopen(handle, "wb") as stream:
            for chunk in chunks:
                stream.write(chunk)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _file_mode())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise ExportError(path, os_reason(error)) from error
        raise
    return path


def write_rendered(path: Path, render: Callable[[], bytes]) -> Path:
    """Call ``render`` and write its bytes atomically to ``path``; a rendering failure
    becomes an :class:`ExportError` naming ``path`` (and nothing is written)."""
    try:
        data = render()
    except ExportError:
        raise
    except Exception as error:
        raise ExportError(path, f"rendering failed: {error}") from error
    return write_atomic(path, [data])
