"""Atomic file writing for export: a file, or a set of files, appears whole or not at all.

Bytes go to a temporary file in the destination folder, which is then renamed into place
(``os.replace``), so a failed export leaves neither a partial file nor a temporary one, and
an existing file survives a failed overwrite. A set of files (:func:`write_file_set`) is
written into a hidden staging folder and moved into its folder only when every file has
been written; the folder is checked first (:func:`check_folder`) and nothing is created when
the check, a file or the caller fails or is interrupted. Failures raise
:class:`ExportError`, whose message names the path and the cause (the operating system's
reason for OS errors).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = [
    "ExportError",
    "check_folder",
    "ensure_folder",
    "os_reason",
    "write_atomic",
    "write_file_set",
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _file_mode() -> int:
    """The permissions a new file gets under the current umask (mkstemp makes it 0o600)."""
    return 0o666 & ~_umask()


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


def _nearest_existing(folder: Path) -> Path:
    """``folder`` or its nearest ancestor that exists (as anything: a file too)."""
    candidate = folder.absolute()
    while not os.path.lexists(candidate) and candidate.parent != candidate:
        candidate = candidate.parent
    return candidate


def check_folder(folder: str | os.PathLike[str]) -> None:
    """Raise ExportError unless files can be written into ``folder`` (creating it and its
    parents if missing). Creates nothing that stays."""
    folder = Path(folder)
    if str(folder) == "":
        raise ExportError(folder, "the folder name is empty")
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise ExportError(folder, os.strerror(errno.ENOTDIR) if existing != folder.absolute()
                          else "not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ExportError(folder, os_reason(error)) from error


def _stage_in(folder: Path) -> Path:
    """A new hidden staging folder on the same file system as ``folder``: inside it when it
    exists (its parent may be read-only, e.g. a mount point), else in its nearest existing
    ancestor (nothing on the way is created yet)."""
    place = folder if folder.is_dir() else _nearest_existing(folder)
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{folder.absolute().name or 'export'}.", suffix=".partial",
                                      dir=place))
        os.chmod(stage, 0o777 & ~_umask())  # mkdtemp makes it 0o700; it may become the folder
    except OSError as error:
        raise ExportError(folder, os_reason(error)) from error
    return stage


def _move_into(stage: Path, folder: Path) -> None:
    """Move everything in ``stage`` into ``folder``: a rename of the whole stage when
    ``folder`` does not exist, else file by file (same-named files are replaced, other
    files stay)."""
    if not os.path.lexists(folder):
        folder.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # e.g. created meanwhile: merge instead
            os.rename(stage, folder)
            return
    for source in sorted(stage.rglob("*")):
        if source.is_dir():
            continue
        target = folder / source.relative_to(stage)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)


def write_file_set(folder: str | os.PathLike[str], write: Callable[[Path], list[Path]]) -> list[Path]:
    """Have ``write(stage)`` write a set of files into a staging folder, then move them into
    ``folder`` (created if missing) and return their final paths, in ``write``'s order.

    ``folder`` is checked before anything is created. When ``write`` raises anything
    (an ExportError, a KeyboardInterrupt, ...), the staging folder and everything in it
    are removed and the exception propagates: ``folder`` is neither created nor changed."""
    folder = Path(folder)
    check_folder(folder)
    stage = _stage_in(folder)
    try:
        written = write(stage)
        _move_into(stage, folder)
    except ExportError as error:
        if not error.path.is_relative_to(stage):
            raise
        raise ExportError(folder / error.path.relative_to(stage), error.cause) from error
    except OSError as error:
        raise ExportError(folder, os_reason(error)) from error
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return [folder / Path(path).relative_to(stage) for path in written]
