"""A small HTTP server on 127.0.0.1 for the weights tests: it serves files with Range
support and can redirect, answer 404, drop a connection mid-body once, or hold a body
half-sent until the test releases it. It never talks to any other address, serves on a
port the OS picks, and stops itself after ``lifetime`` seconds whatever the test does.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from swin_model import SwinConfig, SwinTransformer, save_official

__all__ = ["WeightsServer", "allow_only_loopback", "refused_url", "serve", "write_checkpoint"]

def write_checkpoint(folder: Path, name: str, config: SwinConfig) -> Path:
    """An official-layout checkpoint of ``config`` with random weights (seed 0), written as
    ``folder/name.pth``."""
    torch.manual_seed(0)
    path = folder / f"{name}.pth"
    save_official(SwinTransformer(config), path)
    return path


PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def allow_only_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy, and no name lookup but 127.0.0.1 / localhost: nothing leaves the machine
    (for an autouse fixture of the tests that download)."""
    for variable in PROXY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host not in ("127.0.0.1", "localhost"):
            raise OSError(f"test guard: no network lookups but loopback ({host!r})")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
SEND_CHUNK = 64 * 1024


@dataclass
class Request:
    """One request the server received: its path and Range header (None without one)."""

    path: str
    range: str | None


@dataclass
class WeightsServer:
    """Routes (``/path`` -> file or bytes) and the ways to misbehave; see :func:`serve`."""

    files: dict[str, Path | bytes]
    ranges: bool = True
    redirects: dict[str, str] = field(default_factory=dict)
    drop_once: dict[str, int] = field(default_factory=dict)
    """``/path`` -> body bytes after which the first response on that path is cut off."""
    hold: dict[str, int] = field(default_factory=dict)
    """``/path`` -> body bytes after which responses wait for :attr:`release` (bounded)."""
    hold_timeout: float = 30.0
    requests: list[Request] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)
    """Set once a response reached its hold point."""
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def size(self, path: str) -> int:
        body = self.files[path]
        return len(body) if isinstance(body, bytes) else body.stat().st_size

    def read(self, path: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start``..``end`` (inclusive) of ``path`` in chunks, never all at once."""
        body = self.files[path]
        if isinstance(body, bytes):
            for offset in range(start, end + 1, SEND_CHUNK):
                yield body[offset:min(offset + SEND_CHUNK, end + 1)]
            return
        with body.open("rb") as stream:
            stream.seek(start)
            left = end + 1 - start
            while left > 0:
                chunk = stream.read(min(SEND_CHUNK, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk


def _handler(server_state: WeightsServer) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            header = self.headers.get("Range")
            with lock:
                server_state.requests.append(Request(path, header))
            if path in server_state.redirects:
                self.send_response(302)
                self.send_header("Location", server_state.url(server_state.redirects[path]))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if path not in server_state.files:
                self.send_error(404, "Not Found")
                return
            size = server_state.size(path)
            start, end, status = 0, size - 1, 200
            match = _RANGE.match(header or "") if server_state.ranges else None
            if match is not None:
                start = int(match.group(1))
                end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(end + 1 - start))
            if server_state.ranges:
                self.send_header("Accept-Ranges", "bytes")
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            with lock:
                cut = server_state.drop_once.pop(path, None)
            hold = server_state.hold.get(path)
            sent = 0
            try:
                for chunk in server_state.read(path, start, end):
                    if cut is not None and sent + len(chunk) >= cut:
                        self.wfile.write(chunk[: max(cut - sent, 0)])
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    if hold is not None and sent <= hold < sent + len(chunk):
                        self.wfile.write(chunk[: hold - sent])
                        self.wfile.flush()
                        server_state.held.set()
                        server_state.release.wait(server_state.hold_timeout)
                        chunk = chunk[hold - sent:]
                        sent = hold
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler


@contextmanager
def serve(files: dict[str, Path | bytes], *, lifetime: float = 120.0,
          **options: object) -> Iterator[WeightsServer]:
    """Serve ``files`` on 127.0.0.1 for the ``with`` block (and at most ``lifetime`` seconds)."""
    state = WeightsServer(files=files, **options)  # type: ignore[arg-type]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    deadline = threading.Timer(lifetime, httpd.shutdown)
    deadline.daemon = True
    thread.start()
    deadline.start()
    try:
        yield state
    finally:
        state.release.set()
        deadline.cancel()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def refused_url(path: str = "/weights.pth") -> str:
    """An address on 127.0.0.1 where nothing listens: a port the OS just gave and took back."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


# --- catalogues and checkpoints made for the tests -------------------------------------------

def catalogue_entry(name: str, config: object, **fields: object) -> dict[str, object]:
    """A catalogue entry (as in assets/weights.json) for ``config`` (a SwinConfig); its own
    address is on an unresolvable host and must never be used: tests pass a URL."""
    layout = {key: getattr(config, key) for key in ("patch_size", "embed_dim", "img_size", "window_size",
                                                      "num_classes")}
    layout["depths"] = list(config.depths)  # type: ignore[attr-defined]
    layout["num_heads"] = list(config.num_heads)  # type: ignore[attr-defined]
    entry: dict[str, object] = {"name": name, "title": f"test weights {name}", "layout": layout,
                                "url": f"https://weights.invalid/{name}.pth", "size": None, "sha256": None}
    entry.update(fields)
    return entry


def write_catalogue(path: Path, *entries: dict[str, object]) -> Path:
    import json

    path.write_text(json.dumps({"format": 1, "weights": list(entries)}), encoding="utf-8")
    return path
