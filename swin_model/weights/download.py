"""Downloading catalogue weights into the cache: fetch to ``<file>.part`` in the cache
folder, check the size and sha256 the catalogue gives, load the file with
:func:`swin_model.load_checkpoint` and compare its layout with the catalogue's, and only
then rename it into place. A failed, corrupted or cancelled download leaves the cached
files as they were (an interrupted one keeps its ``.part`` file for a resume; a corrupted
one loses it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import cached_path, part_path, record_sha256, target_path, verified_path, weights_dir
from .catalogue import Catalogue, WeightsEntry, load_catalogue
from .errors import ChecksumMismatch, DownloadCancelled, DownloadError, UnexpectedSize, WeightsError
from .fetch import DEFAULT_RETRIES, DEFAULT_TIMEOUT, DownloadProgress, fetch

if TYPE_CHECKING:
    from ..config import SwinConfig

__all__ = ["LAYOUT_FIELDS", "check_layout", "download_weights", "manual_hint"]

LAYOUT_FIELDS = ("patch_size", "in_chans", "embed_dim", "depths", "num_heads", "window_size", "mlp_ratio",
                 "qkv_bias", "num_classes")
"""The configuration fields read off a file's tensor shapes that must equal the catalogue's."""


def manual_hint(entry: WeightsEntry, target: Path) -> str:
    """Where a file downloaded by hand goes, and the other addresses to try."""
    hint = f"To install it by hand, download {entry.url} with a browser and save it as {target}"
    if entry.mirrors:
        hint += (f"; or try a mirror: python main.py weights download {entry.name} "
                 f"--url {entry.mirrors[0].url}")
    return hint + "."


def download_weights(name: str, *, url: str | None = None, catalogue: Catalogue | None = None,
                     folder: Path | None = None,
                     progress: Callable[[DownloadProgress], None] | None = None,
                     should_cancel: Callable[[], bool] | None = None, force: bool = False,
                     timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
                     retry_wait: float = 1.0, progress_interval: float = 0.1) -> Path:
    """The cached file of the catalogue weights ``name``, downloaded first unless already
    cached (and, then, checked against its sha256; ``force`` downloads again).

    ``url`` replaces the catalogue's address (a mirror, or a test server); the catalogue's
    size and sha256 are checked only for a file of the official name. ``progress``,
    ``should_cancel``, ``timeout``, ``retries``, ``retry_wait`` and ``progress_interval`` go to
    :func:`~swin_model.weights.fetch.fetch`.

    Raises DownloadError (the network or the server; the message names the address and
    where a file downloaded by hand goes), DownloadCancelled, ChecksumMismatch (a download
    whose sha256 or size is not the catalogue's, or a cached file that changed), or
    WeightsError (a file that does not load or whose layout is not the catalogue's)."""
    catalogue = load_catalogue() if catalogue is None else catalogue
    entry = catalogue.entry(name)
    folder = weights_dir() if folder is None else folder
    source = url or entry.url
    if not force and cached_path(entry.name, folder) is not None:
        return verified_path(entry.name, catalogue, folder)
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WeightsError(f"cannot create the weights folder {folder}: {error.strerror or error}") from None
    target = target_path(entry, source, folder)
    part = part_path(target)
    _forget_other_source(part, source)
    official_file = source.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] == entry.file_name
    try:
        result = fetch(source, part, progress=progress, should_cancel=should_cancel, timeout=timeout,
                       retries=retries, retry_wait=retry_wait, progress_interval=progress_interval,
                       expected_size=entry.size if official_file else None)
    except UnexpectedSize as error:
        _drop(part)
        raise ChecksumMismatch(f"{error}: it is corrupted or not the release; the download was "
                               f"discarded") from None
    except DownloadError as error:
        if not part.is_file() or part.stat().st_size == 0:
            _drop(part)  # nothing to resume: leave no trace
            if created:
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise DownloadError(f"{error}. {manual_hint(entry, target)}", error.url) from None
    if official_file and entry.sha256 and result.sha256 != entry.sha256:
        _drop(part)
        raise ChecksumMismatch(f"the file downloaded from {source} has sha256 {result.sha256}, but the "
                               f"catalogue gives {entry.sha256}: it is corrupted or not the release; "
                               f"the download was discarded")
    if should_cancel is not None and should_cancel():
        raise DownloadCancelled(f"the download of {source} was cancelled before it was checked")
    try:
        check_layout(part, entry)
    except WeightsError as error:
        _drop(part)
        raise WeightsError(f"the file downloaded from {source} was discarded: {error}") from None
    record_sha256(target.name, result.sha256, result.size, source, folder)
    os.replace(part, target)
    _discard(_source_note(part))
    return target


def check_layout(path: Path, entry: WeightsEntry) -> SwinConfig:
    """The configuration read off the tensors at ``path``, after checking that the file loads
    with :func:`swin_model.load_checkpoint` (strictly, safe unpickling) and that its shapes
    give the catalogue's layout. WeightsError naming every field that differs."""
    from ..checkpoint import CheckpointError, load_checkpoint

    try:
        model = load_checkpoint(path, img_size=entry.config.img_size)
    except CheckpointError as error:
        raise WeightsError(f"it does not load as a Swin checkpoint: {error}") from None
    except (OSError, RuntimeError, ValueError) as error:
        raise WeightsError(f"it does not load as a Swin checkpoint: {type(error).__name__}: "
                           f"{error}") from None
    found = model.config
    differences = [f"{field} {getattr(found, field)!r} (the catalogue gives {getattr(entry.config, field)!r})"
                   for field in LAYOUT_FIELDS if getattr(found, field) != getattr(entry.config, field)]
    if differences:
        raise WeightsError(f"its tensor shapes do not match the catalogue's layout of {entry.name}: "
                           + ", ".join(differences))
    return found


def _source_note(part: Path) -> Path:
    """The file beside ``<file>.part`` naming the address its bytes came from."""
    return part.with_name(part.name + ".source")


def _forget_other_source(part: Path, source: str) -> None:
    """Drop a partial download that came from another address (its bytes may differ), and
    note ``source`` as the address of the one to come."""
    note = _source_note(part)
    try:
        previous = note.read_text(encoding="utf-8").strip()
    except OSError:
        previous = None
    if previous != source:
        _drop(part)
    note.write_text(source + "\n", encoding="utf-8")


def _drop(part: Path) -> None:
    """Delete an unfinished download and its source note."""
    _discard(part)
    _discard(_source_note(part))


def _discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
