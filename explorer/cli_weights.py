"""The ``weights`` command: the official pretrained weights, downloaded once and used offline.

    python main.py weights list                      names, sizes, and which are cached where
    python main.py weights download NAME [--url URL] download into the cache (progress on stderr)
    python main.py weights path NAME                 the cached file (exit 2 if not cached)

and the ``--weights NAME`` option of ``export`` and ``flops``. No Qt is imported here; the
download itself is :func:`swin_model.weights.download_weights`.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from explorer.numbers import si

if TYPE_CHECKING:
    from swin_model.config import SwinConfig
    from swin_model.weights import DownloadProgress

__all__ = [
    "PROGRESS_EVERY",
    "add_weights_option",
    "add_weights_parser",
    "checkpoint_for_weights",
    "config_for_weights",
    "format_bytes",
    "format_progress",
    "run_weights",
]

EXIT_OK = 0
EXIT_USAGE = 2
"""The exit status of an error, as for the other commands (see :mod:`explorer.cli`)."""

PROGRESS_EVERY = 1.0
"""Seconds between progress lines when stderr is not a terminal (a terminal gets one line,
rewritten ten times a second)."""

WEIGHTS_DESCRIPTION = """\
The official Swin Transformer ImageNet-1k weights (the paper authors' GitHub releases),
downloaded once into the cache folder and used offline afterwards:

  python main.py weights list                 every catalogue entry, its size, and whether
                                              it is cached (and where)
  python main.py weights download NAME        download NAME (resumes an interrupted download;
                                              --url replaces the address, for a mirror)
  python main.py weights path NAME            print the cached file (checked against its sha256)

Then 'python main.py export IMAGE --weights NAME ...' and 'python main.py flops --weights
NAME' use them; in the explorer, Model > Download pretrained weights... downloads and loads
them.

The cache folder is SWIN_EXPLORER_CACHE/weights when that variable is set, else the user's
cache folder (on Linux $XDG_CACHE_HOME/swin-explorer/weights or
~/.cache/swin-explorer/weights). A file downloaded by hand goes there as NAME.pth.

Exit status: 0 on success, 2 on an error (unknown name, not cached, network or server
failure, a file that is corrupted or does not match the catalogue), 130 when interrupted
(run the download again to resume it)."""


def _cli_error(message: str) -> Exception:
    """The command line's error (exit status 2); imported here, as explorer.cli imports this module."""
    from explorer.cli import CliError

    return CliError(message, EXIT_USAGE)


def add_weights_parser(commands: Any) -> None:
    """Add the ``weights`` command (with ``list``, ``download`` and ``path``) to ``commands``,
    the subparsers of ``python main.py``."""
    formatter = argparse.RawDescriptionHelpFormatter
    weights = commands.add_parser("weights", help="download the official pretrained weights, list them",
                                  description=WEIGHTS_DESCRIPTION, formatter_class=formatter)
    actions = weights.add_subparsers(dest="weights_command", metavar="{list,download,path}",
                                     parser_class=type(weights))
    actions.add_parser("list", help="the catalogue: names, sizes, cached or not (with the path)",
                       description="List every weights entry of the catalogue: its name, its size, "
                                   "and whether it is cached (with the file's path).")
    download = actions.add_parser("download", help="download weights into the cache",
                                  description="Download the weights NAME into the cache folder, "
                                              "resuming an interrupted download. Progress goes to "
                                              "stderr; the cached file's path to stdout.")
    download.add_argument("name", metavar="NAME", help="a name from 'python main.py weights list'")
    download.add_argument("--url", metavar="URL",
                          help="download from URL instead of the catalogue's address (a mirror)")
    download.add_argument("--force", action="store_true", help="download again even if cached")
    path = actions.add_parser("path", help="print the cached file of NAME",
                              description="Print the cached file of the weights NAME after checking "
                                          "its sha256; exit status 2 when it is not cached.")
    path.add_argument("name", metavar="NAME", help="a name from 'python main.py weights list'")


def add_weights_option(parser: Any) -> None:
    """Add ``--weights NAME`` to ``parser`` (or to a mutually exclusive group of it)."""
    parser.add_argument("--weights", metavar="NAME",
                        help="downloaded official weights by name (see 'python main.py weights list')")


def run_weights(args: argparse.Namespace) -> int:
    """Run ``python main.py weights ...``; returns the exit status."""
    from swin_model.weights import WeightsError

    try:
        if args.weights_command == "list":
            return _list()
        if args.weights_command == "download":
            return _download(args.name, args.url, args.force)
        if args.weights_command == "path":
            print(_verified(args.name))
            return EXIT_OK
    except WeightsError as error:
        raise _cli_error(str(error)) from None
    raise _cli_error("choose one of: list, download, path (see 'python main.py weights --help')")


def checkpoint_for_weights(name: str) -> str:
    """The verified cached file of the weights ``name``, for ``--checkpoint``; CliError (exit
    2) saying how to download them when they are not cached."""
    from swin_model.weights import WeightsError

    try:
        return str(_verified(name))
    except WeightsError as error:
        raise _cli_error(f"--weights: {error}") from None


def config_for_weights(args: argparse.Namespace) -> SwinConfig:
    """The configuration of the weights ``args.weights`` from the catalogue (no file needed),
    at ``args.img_size``, ``args.window_size`` (default: their own M) and ``args.shifted``;
    ``args.model`` becomes the name, for the cost table's title."""
    from swin_model.weights import WeightsError, load_catalogue

    try:
        entry = load_catalogue().entry(args.weights)
    except WeightsError as error:
        raise _cli_error(f"--weights: {error}") from None
    if args.window_size is None:
        args.window_size = entry.config.window_size
    args.model = entry.name
    try:
        return entry.config.replace(img_size=args.img_size, window_size=args.window_size,
                                    shifted=args.shifted, stage_window_sizes=None)
    except ValueError as error:
        raise _cli_error(str(error)) from None


def format_bytes(count: float) -> str:
    """``count`` bytes as '12.3 MB' (decimal units, as download sizes are quoted)."""
    return f"{si(count, 1, space=True)}B" if count >= 1000 else f"{int(count)} B"


def format_progress(progress: DownloadProgress) -> str:
    """One line: bytes received of the total (and the percentage), rate, time left."""
    done = format_bytes(progress.received)
    if progress.total:
        done += f" of {format_bytes(progress.total)} ({100 * progress.received / progress.total:.1f}%)"
    rate = f"{format_bytes(progress.rate)}/s" if progress.rate > 0 else "starting"
    left = f", {_duration(progress.seconds_left)} left" if progress.seconds_left is not None else ""
    resumed = f", resumed at {format_bytes(progress.resumed_from)}" if progress.resumed_from else ""
    return f"{done}, {rate}{left}{resumed}"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _verified(name: str) -> Any:
    from swin_model.weights import verified_path

    return verified_path(name)


def _list() -> int:
    from swin_model.weights import load_catalogue, status, weights_dir

    catalogue = load_catalogue()
    rows = [("name", "size", "cached")]
    for entry in catalogue.values():
        state = status(entry)
        size = format_bytes(entry.size) if entry.size is not None else f"≈{format_bytes(entry.approx_bytes)}"
        if state.path is not None:
            where = f"yes: {state.path}"
        elif state.partial_bytes:
            where = f"no (partial download of {format_bytes(state.partial_bytes)}: download resumes it)"
        else:
            where = "no"
        rows.append((entry.name, size, where))
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    for row in rows:
        print(f"{row[0].ljust(widths[0])}  {row[1].rjust(widths[1])}  {row[2]}")
    print(f"\ncache folder: {weights_dir()}")
    print("sizes with ≈ are estimated from the parameter count (no source states the exact size)")
    return EXIT_OK


class _ProgressPrinter:
    """Progress on stderr: one rewritten line on a terminal, else a line every
    :data:`PROGRESS_EVERY` seconds (and the last one)."""

    def __init__(self) -> None:
        self.terminal = sys.stderr.isatty()
        self.last = 0.0
        self.width = 0
        self.finished = False

    def __call__(self, progress: DownloadProgress) -> None:
        line = format_progress(progress)
        finished = progress.total is not None and progress.received >= progress.total
        if finished and self.finished:
            return
        self.finished = finished
        now = time.monotonic()
        if self.terminal:
            print("\r" + line.ljust(self.width), end="\n" if finished else "", file=sys.stderr, flush=True)
            self.width = len(line)
        elif finished or now - self.last >= PROGRESS_EVERY:
            print(line, file=sys.stderr, flush=True)
            self.last = now
        if finished:
            print("checking the file (it must load as the catalogue's model) ...", file=sys.stderr,
                  flush=True)


def _download(name: str, url: str | None, force: bool) -> int:
    from swin_model.weights import DownloadError, cached_path, download_weights, load_catalogue

    catalogue = load_catalogue()
    entry = catalogue.entry(name)
    cached = not force and cached_path(entry.name) is not None
    if cached:
        print(f"{entry.name} is already cached; checking its sha256 ...", file=sys.stderr, flush=True)
    else:
        print(f"downloading {entry.name} ({entry.title}) from {url or entry.url}", file=sys.stderr,
              flush=True)
    try:
        path = download_weights(entry.name, url=url, catalogue=catalogue, force=force,
                                progress=_ProgressPrinter())
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to resume the download", file=sys.stderr)
        raise
    except DownloadError as error:
        raise _cli_error(f"download failed: {error}") from None
    print(f"{'verified' if cached else 'downloaded and verified'}: {path}", file=sys.stderr, flush=True)
    print(path)
    return EXIT_OK
