"""Reliability of ``python main.py export`` (issue 8, explorer side), run as a user runs it.

Ctrl-C ends an export with status 130, one line and no file; a full disk or a bad option
leaves the output folder as it was; an empty ``--out`` is an error; a FIFO named like an
image is refused."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MAIN = REPO / "main.py"
PHOTO = REPO / "assets" / "coffee.jpg"
TIMEOUT = 300
PROGRESS = re.compile(r"^(running |\[\d+/\d+\] |\[frames\] )")
"""Progress lines on stderr; everything else there is an error or a warning."""


def _env() -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen")


def run_main(*args: str | Path, cwd: Path = REPO, timeout: float = TIMEOUT,
             **options) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(MAIN), *map(str, args)], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=timeout, **options)


def _problems(stderr: str) -> list[str]:
    """The stderr lines that are not progress reports."""
    return [line for line in stderr.splitlines() if line.strip() and not PROGRESS.match(line)]


def _everything_in(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


# --- Ctrl-C --------------------------------------------------------------------------------------

@pytest.mark.parametrize("after", ["running ", "[1/", "[9/"])
def test_ctrl_c_ends_the_export_with_130_one_line_and_no_file(tmp_path: Path, after: str) -> None:
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, str(MAIN), "export", str(PHOTO), "--out", str(out),
                                "--img-size", "112", "--format", "png,svg,pdf"],
                               cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    lines: list[str] = []
    sent = threading.Event()

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            if not sent.is_set() and line.startswith(after):
                process.send_signal(signal.SIGINT)
                sent.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        process.wait(timeout=TIMEOUT)  # stdout is one short line: its pipe cannot fill up
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail("the export did not end after Ctrl-C")
    reader.join(timeout=60)
    assert process.stdout is not None
    stdout = process.stdout.read()
    stderr = "\n".join(lines)
    assert sent.is_set(), stderr
    assert process.returncode == 130, f"exit {process.returncode}\n{stderr}"
    assert _problems(stderr) == ["error: interrupted"], stderr
    assert "wrote" not in stdout
    assert _everything_in(tmp_path) == []  # neither the folder nor a staging folder


# --- the output folder ------------------------------------------------------------------------------

def test_an_empty_out_is_an_error(tmp_path: Path) -> None:
    done = run_main("export", PHOTO, "--out", "", "--figures", "mask", "--format", "svg", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "empty" in lines[0], done.stderr
    assert _everything_in(tmp_path) == []


def test_a_bad_option_creates_no_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from explorer.cli import main

    out = tmp_path / "new" / "out"
    assert main(["export", str(PHOTO), "--out", str(out), "--stage", "9"]) == 2
    assert "--stage must be 1-4" in capsys.readouterr().err
    assert _everything_in(tmp_path) == []


FILE_SIZE_LIMIT = 200_000
"""Bytes: the first figures are smaller, a later one is larger."""


def _limit_file_size() -> None:
    """In the child: larger files cannot be written (EFBIG; Python ignores SIGXFSZ), as on a
    full disk."""
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


@pytest.mark.skipif(sys.platform == "win32", reason="needs RLIMIT_FSIZE")
def test_a_write_failure_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    (out / "mask.svg").write_text("<svg>an older mask</svg>")
    done = run_main("export", PHOTO, "--out", out, "--img-size", "64", "--format", "svg,png",
                    preexec_fn=_limit_file_size)
    assert done.returncode == 1, done.stderr
    assert re.search(r"^\[2/\d+\] ", done.stderr, re.MULTILINE), "no file was written before the failure"
    problems = _problems(done.stderr)
    assert len(problems) == 1 and problems[0].startswith(f"error: cannot write {out}"), done.stderr
    assert "File too large" in problems[0]
    assert ".partial" not in problems[0]  # the message names the file in --out, not the staging one
    assert _everything_in(tmp_path) == ["out", "out/mask.svg", "out/notes.txt"]
    assert (out / "mask.svg").read_text() == "<svg>an older mask</svg>"


def test_an_export_into_a_folder_with_files_keeps_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    (out / "mask.svg").write_text("<svg>an older mask</svg>")
    done = run_main("export", PHOTO, "--out", out, "--img-size", "64", "--format", "svg",
                    "--figures", "mask,cyclic-shift", "--frames")
    assert done.returncode == 0, done.stderr
    frames = [f"out/cyclic-shift-frames/cyclic-shift-{k:02d}.png" for k in range(1, 5)]
    assert _everything_in(tmp_path) == sorted(["out", "out/notes.txt", "out/mask.svg", "out/cyclic-shift.svg",
                                               "out/cyclic-shift.gif", "out/cyclic-shift-frames", *frames])
    assert (out / "notes.txt").read_text() == "keep me"
    assert "an older mask" not in (out / "mask.svg").read_text()
    assert f"[frames] 4 PNG frames in {out / 'cyclic-shift-frames'}" in done.stderr.splitlines()


# --- inputs that never end -----------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_png_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    try:
        done = run_main("export", fifo, "--out", tmp_path / "out", timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the export blocked on a FIFO")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a regular file" in lines[0] and str(fifo) in lines[0], done.stderr
    assert _everything_in(tmp_path) == ["photo.png"]
