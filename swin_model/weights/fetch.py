"""Streaming one address to a file: chunks straight to disk, resumed with an HTTP Range
request where the server supports it, redirects followed (GitHub release assets redirect
to their storage host), progress reported, cancellable between chunks.

Pure Python (urllib): no torch, no Qt. Every failure is a :class:`DownloadError` whose
message names the problem and the address.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import DownloadCancelled, DownloadError, UnexpectedSize

__all__ = [
    "CHUNK_BYTES",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "CancelToken",
    "DownloadProgress",
    "FetchResult",
    "fetch",
]

CHUNK_BYTES = 1 << 20
"""The most bytes read from the connection (and written) at a time."""
DEFAULT_TIMEOUT = 30.0
"""Seconds a connection attempt or a read may stall before the download fails."""
DEFAULT_RETRIES = 4
"""Resumes tried after a connection drops mid-file, each from where the file stopped."""
USER_AGENT = "swin-explorer/0.1 (+python urllib)"
_CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")
_UNSATISFIED_RANGE = re.compile(r"^bytes\s+\*/(\d+)$")


@dataclass(frozen=True)
class DownloadProgress:
    """Where a download stands: ``received`` bytes of ``total`` (None when the server does
    not say) are on disk, ``resumed_from`` of them from an earlier attempt; ``rate`` is the
    mean speed of this attempt in bytes per second and ``seconds_left`` the time to the end
    at that speed (None while unknown)."""

    url: str
    received: int
    total: int | None
    resumed_from: int
    rate: float
    seconds_left: float | None

    @property
    def fraction(self) -> float | None:
        """``received / total`` (None without a total)."""
        return self.received / self.total if self.total else None


@dataclass(frozen=True)
class FetchResult:
    """A finished download: the file, its size and sha256, and the bytes that came from an
    earlier, interrupted attempt (0 when it ran in one go)."""

    path: Path
    size: int
    sha256: str
    resumed_from: int


class CancelToken:
    """A cancel request for :func:`fetch`, usable as its ``should_cancel``: :meth:`cancel`
    may be called from any thread. Besides stopping the download at its next chunk, it
    shuts down the connection, so that a read waiting on a stalled server returns at once
    instead of at the timeout."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None

    def __call__(self) -> bool:
        return self._event.is_set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        self._event.set()
        with self._lock:
            connection = self._socket
        if connection is not None:
            with contextlib.suppress(OSError):  # already closed
                connection.shutdown(socket.SHUT_RDWR)

    def _attach(self, connection: socket.socket | None) -> None:
        with self._lock:
            self._socket = connection
        if connection is not None and self._event.is_set():
            self.cancel()


def _socket_of(response: object) -> socket.socket | None:
    """The socket an http.client response reads from (None if it cannot be found)."""
    raw = getattr(getattr(response, "fp", None), "raw", None)
    connection = getattr(raw, "_sock", None)
    return connection if isinstance(connection, socket.socket) else None


class _Dropped(Exception):
    """The connection ended before the whole file came (internal: triggers a resume)."""


def fetch(url: str, part: Path, *, progress: Callable[[DownloadProgress], None] | None = None,
          should_cancel: Callable[[], bool] | None = None, timeout: float = DEFAULT_TIMEOUT,
          retries: int = DEFAULT_RETRIES, retry_wait: float = 1.0, chunk_bytes: int = CHUNK_BYTES,
          progress_interval: float = 0.1, expected_size: int | None = None,
          opener: urllib.request.OpenerDirector | None = None) -> FetchResult:
    """Download ``url`` into the file ``part``, appending to what ``part`` already holds when
    the server honours a Range request (else starting over), and return the finished file.

    ``progress`` is called with a :class:`DownloadProgress` at the start, at most every
    ``progress_interval`` seconds while bytes arrive, and at the end. ``should_cancel`` is
    asked before each chunk (a :class:`CancelToken` also interrupts a read that waits on a
    stalled connection); when it answers True, :class:`DownloadCancelled` is raised and
    ``part`` is kept for a later resume. A connection that drops mid-file is resumed up to
    ``retries`` times (waiting ``retry_wait`` × attempt seconds). The file is never held in
    memory: at most ``chunk_bytes`` are.

    DownloadError names the problem and ``url`` for an HTTP error status, a refused or
    unreachable host, a timeout, a connection dropped more often than ``retries``, or a file
    larger than the server announced; UnexpectedSize (a DownloadError) for a file whose size
    is not ``expected_size``."""
    opener = urllib.request.build_opener() if opener is None else opener
    attempt = 0
    while True:
        offset = part.stat().st_size if part.is_file() else 0
        if expected_size is not None and offset > expected_size:
            part.unlink()
            offset = 0
        try:
            return _attempt(opener, url, part, offset, progress, should_cancel, timeout, chunk_bytes,
                            progress_interval, expected_size)
        except _Dropped as dropped:
            if should_cancel is not None and should_cancel():
                raise DownloadCancelled(f"the download of {url} was cancelled") from None
            attempt += 1
            if attempt > retries:
                raise DownloadError(f"the connection to {_host(url)} dropped {attempt} times ({dropped}) "
                                    f"while downloading {url}", url) from None
            if retry_wait > 0:
                time.sleep(retry_wait * attempt)


def _attempt(opener: urllib.request.OpenerDirector, url: str, part: Path, offset: int,
             progress: Callable[[DownloadProgress], None] | None,
             should_cancel: Callable[[], bool] | None, timeout: float, chunk_bytes: int,
             progress_interval: float, expected_size: int | None) -> FetchResult:
    """One connection: request from ``offset``, stream to ``part``; _Dropped when it ends early."""
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        with error:
            if error.code == 416 and offset:
                return _unsatisfiable_range(error, url, part, offset)
            raise DownloadError(f"the server answered HTTP {error.code} {error.reason} for "
                                f"{error.url or url}", url) from None
    except urllib.error.URLError as error:
        raise DownloadError(f"cannot reach {_host(url)} ({_reason(error.reason)}) to download {url}",
                            url) from None
    except TimeoutError as error:
        raise DownloadError(f"{_host(url)} did not answer within {timeout:g} s ({error}) for {url}",
                            url) from None
    except (http.client.HTTPException, OSError) as error:
        raise _Dropped(f"{type(error).__name__}: {error}") from None
    if isinstance(should_cancel, CancelToken):
        should_cancel._attach(_socket_of(response))
    try:
        return _receive(response, url, part, offset, progress, should_cancel, chunk_bytes, progress_interval,
                        expected_size)
    finally:
        if isinstance(should_cancel, CancelToken):
            should_cancel._attach(None)


def _receive(response: http.client.HTTPResponse, url: str, part: Path, offset: int,
             progress: Callable[[DownloadProgress], None] | None,
             should_cancel: Callable[[], bool] | None, chunk_bytes: int, progress_interval: float,
             expected_size: int | None) -> FetchResult:
    """Stream an opened answer into ``part``; _Dropped when it ends early."""
    with response:
        start, total = _range_of(response, offset)
        if start == 0 and offset:
            offset = 0  # the server sent the whole file: start over
        if total is not None and expected_size is not None and total != expected_size:
            raise UnexpectedSize(f"{url} is {total} bytes, but the catalogue expects {expected_size}", url)
        digest = hashlib.sha256()
        if offset:
            _hash_existing(part, digest)
        with part.open("ab" if offset else "wb") as stream:
            received = _stream(response, stream, digest, url, offset, total, progress, should_cancel,
                               chunk_bytes, progress_interval)
    if total is not None and received < total:
        raise _Dropped(f"{received} of {total} bytes arrived")
    if total is not None and received > total:
        raise DownloadError(f"{url} sent {received} bytes, more than the {total} it announced", url)
    if expected_size is not None and received != expected_size:
        raise UnexpectedSize(f"{url} gave {received} bytes, but the catalogue expects {expected_size}", url)
    return FetchResult(part, received, digest.hexdigest(), offset)


def _stream(response: http.client.HTTPResponse, stream: BinaryIO, digest: hashlib._Hash, url: str,
            offset: int, total: int | None, progress: Callable[[DownloadProgress], None] | None,
            should_cancel: Callable[[], bool] | None, chunk_bytes: int, progress_interval: float) -> int:
    """Copy the body to ``stream`` chunk by chunk; returns the bytes now in the file."""
    received = offset
    started = last_report = time.monotonic()

    def report() -> None:
        if progress is None:
            return
        elapsed = time.monotonic() - started
        rate = (received - offset) / elapsed if elapsed > 0 else 0.0
        left = (total - received) / rate if total is not None and rate > 0 else None
        progress(DownloadProgress(url, received, total, offset, rate, left))

    report()
    while True:
        if should_cancel is not None and should_cancel():
            raise DownloadCancelled(f"the download of {url} was cancelled after {received} bytes")
        try:
            chunk = response.read1(chunk_bytes)
        except (http.client.HTTPException, OSError) as error:
            stream.flush()
            raise _Dropped(f"{type(error).__name__} after {received} bytes") from None
        if not chunk:
            break
        stream.write(chunk)
        digest.update(chunk)
        received += len(chunk)
        now = time.monotonic()
        if now - last_report >= progress_interval:
            last_report = now
            report()
    report()
    return received


def _range_of(response: http.client.HTTPResponse, offset: int) -> tuple[int, int | None]:
    """(first byte sent, whole file size or None) of a 200 or 206 answer."""
    if response.status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", "").strip())
        if match is None or int(match.group(1)) != offset:
            raise _Dropped(f"the server answered the range request from byte {offset} with "
                           f"Content-Range {response.headers.get('Content-Range')!r}")
        return offset, None if match.group(3) == "*" else int(match.group(3))
    length = response.headers.get("Content-Length")
    return 0, int(length) if length and length.isdigit() else None


def _unsatisfiable_range(error: urllib.error.HTTPError, url: str, part: Path, offset: int) -> FetchResult:
    """A 416 answer to a resume: the partial file is complete when it has the size the
    server names; otherwise it is discarded and the download starts over."""
    match = _UNSATISFIED_RANGE.match((error.headers.get("Content-Range") or "").strip())
    if match is not None and int(match.group(1)) == offset:
        digest = hashlib.sha256()
        _hash_existing(part, digest)
        return FetchResult(part, offset, digest.hexdigest(), offset)
    part.unlink()
    raise _Dropped(f"the server refused to resume from byte {offset}; starting over")


def _hash_existing(part: Path, digest: hashlib._Hash) -> None:
    with part.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _reason(reason: object) -> str:
    """A URLError's reason in words: 'connection refused', 'name not resolved', ..."""
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return f"the host name could not be resolved: {reason.strerror or reason}"
    if isinstance(reason, TimeoutError):
        return "the connection timed out"
    if isinstance(reason, OSError):
        return reason.strerror or str(reason)
    return str(reason)
