"""Where downloaded weights live, which are there, and whether they are still what was
downloaded.

The folder is ``<user cache>/weights``: ``<user cache>`` is ``SWIN_EXPLORER_CACHE`` when
set, else the platform's cache folder for ``swin-explorer`` (platformdirs when installed;
otherwise ``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS,
``%LOCALAPPDATA%\\swin-explorer\\cache`` on Windows, as QStandardPaths' CacheLocation).
A cached file is ``<name>.pth`` (or ``<name>.safetensors`` from a safetensors mirror);
``<name>.pth.part`` is an unfinished download, never taken as cached. ``sha256.json``
records the sha256 of each file when it is first downloaded or first used, and every later
use checks the file against it (or against the catalogue's sha256 when that is known).

Pure Python, no network: nothing here opens a connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .catalogue import Catalogue, WeightsEntry, load_catalogue
from .errors import ChecksumMismatch, WeightsError

__all__ = [
    "APP_NAME",
    "CACHED_SUFFIXES",
    "CACHE_ENV",
    "HASH_CHUNK",
    "PART_SUFFIX",
    "RECORDS_FILE",
    "CacheStatus",
    "cache_root",
    "cached_checkpoints",
    "cached_path",
    "file_sha256",
    "part_path",
    "record_sha256",
    "recorded_sha256",
    "status",
    "target_path",
    "verified_path",
    "verify_if_cached",
    "weights_dir",
]

APP_NAME = "swin-explorer"
CACHE_ENV = "SWIN_EXPLORER_CACHE"
"""Environment variable naming the cache folder (weights go in its ``weights`` folder)."""
CACHED_SUFFIXES = (".pth", ".safetensors")
"""The suffixes of a finished download, in the order they are looked for."""
PART_SUFFIX = ".part"
RECORDS_FILE = "sha256.json"
HASH_CHUNK = 1 << 20
"""Bytes read at a time when hashing a file."""


def cache_root() -> Path:
    """The user's cache folder of the program (see the module's description)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    try:  # optional: not a dependency
        platformdirs = importlib.import_module("platformdirs")
    except ImportError:
        folder = _platform_cache() / APP_NAME
        return folder / "cache" if sys.platform == "win32" else folder
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def _platform_cache() -> Path:
    """The platform's per-user cache folder, as QStandardPaths and platformdirs find it."""
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        return Path(local) if local else Path.home() / "AppData" / "Local"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"


def weights_dir() -> Path:
    """The folder that holds downloaded weights (not created here)."""
    return cache_root() / "weights"


def target_path(entry: WeightsEntry, url: str | None = None, folder: Path | None = None) -> Path:
    """Where the download of ``entry`` from ``url`` (default its own address) is cached:
    ``<name>.safetensors`` when the address names a safetensors file, else ``<name>.pth``."""
    folder = weights_dir() if folder is None else folder
    address = (url or entry.url).split("?", 1)[0].split("#", 1)[0]
    suffix = ".safetensors" if address.endswith(".safetensors") else ".pth"
    return folder / f"{entry.name}{suffix}"


def part_path(target: Path) -> Path:
    """The unfinished download of ``target``: ``<target>.part``."""
    return target.with_name(target.name + PART_SUFFIX)


def cached_path(name: str, folder: Path | None = None) -> Path | None:
    """The cached file of the weights ``name``, or None when there is none (a ``.part``
    file never counts). Does not check its contents; see :func:`verified_path`."""
    folder = weights_dir() if folder is None else folder
    for suffix in CACHED_SUFFIXES:
        candidate = folder / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def cached_checkpoints(catalogue: Catalogue | None = None, folder: Path | None = None) -> list[Path]:
    """The cached files of the catalogue's weights, in catalogue order (contents unchecked)."""
    catalogue = load_catalogue() if catalogue is None else catalogue
    found = (cached_path(name, folder) for name in catalogue)
    return [path for path in found if path is not None]


@dataclass(frozen=True)
class CacheStatus:
    """What the cache holds of one entry: the finished file (or None) and the bytes of an
    unfinished download (0 when there is none)."""

    entry: WeightsEntry
    path: Path | None
    partial_bytes: int

    @property
    def cached(self) -> bool:
        return self.path is not None


def status(entry: WeightsEntry, folder: Path | None = None) -> CacheStatus:
    """The cache status of ``entry``."""
    folder = weights_dir() if folder is None else folder
    partial = 0
    for suffix in CACHED_SUFFIXES:
        part = folder / f"{entry.name}{suffix}{PART_SUFFIX}"
        if part.is_file():
            partial = max(partial, part.stat().st_size)
    return CacheStatus(entry, cached_path(entry.name, folder), partial)


def file_sha256(path: Path, should_cancel: Callable[[], bool] | None = None) -> str:
    """The sha256 (lower-case hex) of the file at ``path``, read in :data:`HASH_CHUNK` pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            if should_cancel is not None and should_cancel():
                from .errors import DownloadCancelled

                raise DownloadCancelled(f"checking {path.name} was cancelled")
            digest.update(chunk)
    return digest.hexdigest()


def _records(folder: Path) -> dict[str, dict[str, object]]:
    path = folder / RECORDS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise WeightsError(f"cannot read the sha256 records {path}: {error}; delete the file to "
                           f"record the cached weights afresh") from None
    if not isinstance(data, dict):
        return {}
    return {key: value for key, value in data.items() if isinstance(value, dict)}


def recorded_sha256(file_name: str, folder: Path | None = None) -> str | None:
    """The sha256 recorded for the cached file ``file_name``, or None."""
    folder = weights_dir() if folder is None else folder
    value = _records(folder).get(file_name, {}).get("sha256")
    return value if isinstance(value, str) else None


def record_sha256(file_name: str, sha256: str, size: int, url: str | None,
                  folder: Path | None = None) -> None:
    """Record ``sha256`` for the cached file ``file_name`` (written atomically)."""
    folder = weights_dir() if folder is None else folder
    records = _records(folder)
    records[file_name] = {"sha256": sha256, "size": size, "url": url,
                          "recorded": datetime.now(UTC).isoformat(timespec="seconds")}
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".sha256-", suffix=".json", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(records, stream, indent=1, sort_keys=True)
        os.replace(temporary, folder / RECORDS_FILE)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def verified_path(name: str, catalogue: Catalogue | None = None, folder: Path | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> Path:
    """The cached file of the weights ``name`` after checking its sha256 against the
    catalogue's, else against the one recorded at its download; a file never recorded (one
    put there by hand) is recorded now. No network is used.

    WeightsError when the weights are not cached (saying how to download them, and where a
    file downloaded by hand goes); ChecksumMismatch when the file changed since."""
    catalogue = load_catalogue() if catalogue is None else catalogue
    entry = catalogue.entry(name)
    folder = weights_dir() if folder is None else folder
    path = cached_path(entry.name, folder)
    if path is None:
        raise WeightsError(f"the weights {entry.name} are not downloaded: run 'python main.py weights "
                           f"download {entry.name}', or save {entry.url} as "
                           f"{target_path(entry, folder=folder)}")
    actual = file_sha256(path, should_cancel)
    official = entry.sha256 if path.suffix == ".pth" else None
    expected, origin = (official, "the catalogue gives") if official else \
        (recorded_sha256(path.name, folder), "was recorded when it was downloaded")
    if expected is None:
        record_sha256(path.name, actual, path.stat().st_size, None, folder)
        return path
    if actual != expected:
        raise ChecksumMismatch(
            f"{path} has sha256 {actual}, but {expected} {origin}: the file changed or is corrupted. "
            f"Delete it and download it again (python main.py weights download {entry.name}).")
    return path


def verify_if_cached(path: str | Path, catalogue: Catalogue | None = None) -> None:
    """Check the sha256 of ``path`` when it is a cached catalogue file (in :func:`weights_dir`,
    named after an entry); any other path is left alone. For code that loads checkpoints by
    path (the explorer's worker): ChecksumMismatch when a cached file changed."""
    path = Path(path)
    folder = weights_dir()
    if path.suffix not in CACHED_SUFFIXES or path.resolve().parent != folder.resolve():
        return
    catalogue = load_catalogue() if catalogue is None else catalogue
    if path.stem in catalogue:
        verified_path(path.stem, catalogue, folder)
