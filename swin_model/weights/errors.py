"""The errors of the weights package; each message says what went wrong and what to do."""

from __future__ import annotations

__all__ = ["ChecksumMismatch", "DownloadCancelled", "DownloadError", "UnexpectedSize", "WeightsError"]


class WeightsError(Exception):
    """Pretrained weights that cannot be found, fetched or trusted; the message says why."""


class DownloadError(WeightsError):
    """A download that failed: the network, the server or the file. ``url`` is the address
    tried; the file is not cached."""

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class UnexpectedSize(DownloadError):
    """A download whose size is not the one expected: not the file asked for, or corrupted."""


class DownloadCancelled(WeightsError):
    """A download stopped because its caller asked; the partial file is kept for a resume."""


class ChecksumMismatch(WeightsError):
    """A file whose sha256 is not the one the catalogue gives or its first download recorded."""
