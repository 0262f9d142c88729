"""Official pretrained weights in one action: the catalogue, the cache folder, and a
streaming download that resumes, follows redirects, reports progress, can be cancelled, and
keeps a file only once it is verified.

- :mod:`.catalogue`: ``assets/weights.json`` (names, layouts, addresses, sizes, sha256);
- :mod:`.cache`: the cache folder, what it holds, sha256 records and checks (no network);
- :mod:`.fetch`: one address streamed to a file (urllib; Range resume, redirects, progress);
- :mod:`.download`: fetch, check size, sha256 and layout, then rename into the cache.

Pure Python and torch (only when a file is loaded to check it); never Qt. Importing the
package does not import torch.
"""

from __future__ import annotations

from .cache import (
    CACHE_ENV,
    CacheStatus,
    cache_root,
    cached_checkpoints,
    cached_path,
    file_sha256,
    status,
    target_path,
    verified_path,
    verify_if_cached,
    weights_dir,
)
from .catalogue import CATALOGUE_ENV, DEFAULT_CATALOGUE, Catalogue, Mirror, WeightsEntry, load_catalogue
from .download import check_layout, download_weights, manual_hint
from .errors import ChecksumMismatch, DownloadCancelled, DownloadError, UnexpectedSize, WeightsError
from .fetch import CancelToken, DownloadProgress, FetchResult, fetch

__all__ = [
    "CACHE_ENV",
    "CATALOGUE_ENV",
    "DEFAULT_CATALOGUE",
    "CacheStatus",
    "CancelToken",
    "Catalogue",
    "ChecksumMismatch",
    "DownloadCancelled",
    "DownloadError",
    "DownloadProgress",
    "FetchResult",
    "Mirror",
    "UnexpectedSize",
    "WeightsEntry",
    "WeightsError",
    "cache_root",
    "cached_checkpoints",
    "cached_path",
    "check_layout",
    "download_weights",
    "fetch",
    "file_sha256",
    "load_catalogue",
    "manual_hint",
    "status",
    "target_path",
    "verified_path",
    "verify_if_cached",
    "weights_dir",
]
