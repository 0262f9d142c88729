"""The command line, run as a user runs it: ``python main.py ...`` in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch
from PIL import Image

from explorer.figures import FIGURE_NAMES, animated_figures
from explorer.state import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
from swin_model import SwinTransformer
from swin_model.config import preset
from swin_model.flops import count_macs

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO / "assets" / "coffee.jpg"


def run_main(*args: str | Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "main.py", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


# --- help -----------------------------------------------------------------------------------

def test_help_documents_commands_gui_and_one_based_indices() -> None:
    top = run_main("--help")
    assert top.returncode == 0, top.stderr
    for text in ("export", "flops", "python main.py IMAGE", "window"):
        assert text in top.stdout
    export_help = run_main("export", "--help")
    assert export_help.returncode == 0
    text = " ".join(export_help.stdout.split())
    for option in ("--out", "--model", "--checkpoint", "--img-size", "--window-size", "--no-shift",
                   "--stage", "--block", "--head", "--query", "--format", "--scale", "--theme",
                   "--caption", "--no-caption"):
        assert option in text
    assert "1-based" in text and "stage 1-4" in text
    assert "cyclic-shift.gif" in text


# --- flops ----------------------------------------------------------------------------------

def test_flops_json_matches_count_macs() -> None:
    result = run_main("flops", "--model", "swin-t", "--img-size", "224", "--window-size", "7", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    report = count_macs(preset("swin-t", img_size=224, window_size=7))
    assert summary["total_macs"] == report.total
    assert isinstance(summary["total_macs"], int)
    assert summary["total_flops"] == 2 * report.total
    assert summary["params"] == report.params
    stages = summary["stages"]
    assert [s["stage"] for s in stages] == [1, 2, 3, 4]
    assert [(s["height"], s["width"]) for s in stages] == [(56, 56), (28, 28), (14, 14), (7, 7)]
    assert [s["channels"] for s in stages] == [96, 192, 384, 768]
    assert [s["window_size"] for s in stages] == [7, 7, 7, 7]
    # the last stage's 7x7 grid is one window: no shift there
    assert [s["shift_size"] for s in stages] == [3, 3, 3, 0]
    assert [s["macs"] for s in stages] == [s.macs for s in report.stages]
    assert [s["msa_omega"] for s in stages] == [s.msa_omega for s in report.stages]
    assert [s["wmsa_omega"] for s in stages] == [s.wmsa_omega for s in report.stages]
    # each stage's parameters are those of the model's stage (its blocks and the merging
    # that ends it, the official layout), counted on the real module tree
    with torch.device("meta"):
        model = SwinTransformer(preset("swin-t", img_size=224, window_size=7))
    assert [s["params"] for s in stages] == [sum(p.numel() for p in layer.parameters())
                                             for layer in model.layers]
    assert summary["params"] == sum(p.numel() for p in model.parameters())


def test_flops_does_not_import_torch() -> None:
    script = ("import sys; from explorer.cli import main; status = main(['flops', '--json']); "
              "print('torch' in sys.modules); sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_flops_table_no_shift_and_other_sizes() -> None:
    result = run_main("flops", "--model", "swin-b", "--img-size", "384", "--window-size", "12",
                      "--no-shift")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    report = count_macs(preset("swin-b", img_size=384, window_size=12, shifted=False))
    assert f"{report.total:,} MACs" in lines[0]
    assert "no shift" in lines[0]
    header = next(line for line in lines if line.startswith("stage"))
    for column in ("h×w", "C", "M", "Ω(MSA)", "Ω(W-MSA)", "MACs", "FLOPs", "params"):
        assert column in header
    rows = [line.split() for line in lines if line[:1].isdigit()]
    assert [row[1] for row in rows] == ["96×96", "48×48", "24×24", "12×12"]
    shift_column = header.split().index("shift")
    assert [row[shift_column] for row in rows] == ["0", "0", "0", "0"]
    total = next(line for line in lines if line.startswith("total"))
    assert "47.11G" in total  # the published Swin-B 384 figure, 47.1G


def test_flops_bad_input_in_subprocess() -> None:
    result = run_main("flops", "--model", "swin-x")
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: unknown preset 'swin-x'; choose one of "
                                     "swin-t, swin-s, swin-b, swin-l")


SIZE_RANGE = f"--img-size must be {MIN_IMAGE_SIZE}-{MAX_IMAGE_SIZE}"


@pytest.mark.parametrize(("args", "message"), [
    (("flops", "--img-size", "8"), SIZE_RANGE),
    (("flops", "--img-size", str(MAX_IMAGE_SIZE + 1)), SIZE_RANGE),
    (("flops", "--window-size", "1"), "--window-size must be 2-32"),
    (("flops", "--window-size", "abc"), "expected a whole number"),
    (("flops", "--bogus"), "unrecognized arguments: --bogus"),
])
def test_flops_bad_input(args: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    from explorer.cli import main

    assert main(list(args)) == 2
    stderr = capsys.readouterr().err
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_help_lists_every_preset(capsys: pytest.CaptureFixture[str]) -> None:
    from explorer.cli import main
    from swin_model import PRESET_NAMES

    assert main(["export", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert all(name in help_text for name in PRESET_NAMES)


# --- export: bad input ----------------------------------------------------------------------

BAD_EXPORTS: dict[str, tuple[tuple[str, ...], str]] = {
    # case: (arguments after "export", with {tmp} and {photo} filled in; expected message)
    "missing-image": (("{tmp}/missing.jpg", "--out", "{tmp}/out"), "does not exist"),
    "broken-image": (("{tmp}/broken.jpg", "--out", "{tmp}/out"), "broken.jpg"),
    "unknown-model": (("{photo}", "--out", "{tmp}/out", "--model", "swin-q"), "unknown preset 'swin-q'"),
    "stage": (("{photo}", "--out", "{tmp}/out", "--stage", "5"), "--stage must be 1-4, got 5"),
    "stage-zero": (("{photo}", "--out", "{tmp}/out", "--stage", "0"), "--stage must be 1-4"),
    "block": (("{photo}", "--out", "{tmp}/out", "--stage", "4", "--block", "3"),
              "--block must be 1-2 for stage 4"),
    "head": (("{photo}", "--out", "{tmp}/out", "--head", "4"), "--head must be 1-3 for stage 1"),
    "query": (("{photo}", "--out", "{tmp}/out", "--img-size", "64", "--query", "16,0"),
              "outside stage 1's 16×16 grid"),
    "window": (("{photo}", "--out", "{tmp}/out", "--img-size", "112", "--window", "16"),
               "--window must be 0-15"),
    "query-syntax": (("{photo}", "--out", "{tmp}/out", "--query", "3"), "--query must be ROW,COL"),
    "format": (("{photo}", "--out", "{tmp}/out", "--format", "png,gif"), "unknown format 'gif'"),
    "scale": (("{photo}", "--out", "{tmp}/out", "--scale", "5"), "scale must be an integer from 1 to 4"),
    "checkpoint": (("{photo}", "--out", "{tmp}/out", "--checkpoint", "{tmp}/bogus.pth"), "bad checkpoint"),
    "unwritable-out": (("{photo}", "--out", "{tmp}/a-file.txt/sub"), "cannot write to the output folder"),
    "no-out": (("{photo}",), "required: --out"),
    "figures": (("{photo}", "--out", "{tmp}/out", "--figures", "mask,shifted"), "unknown figure shifted"),
}
SUBPROCESS_CASES = ("missing-image", "stage", "unwritable-out")
"""Run as separate processes (each imports torch); the rest run main() in-process."""


def _bad_export_setup(tmp_path: Path, case: str) -> list[str]:
    (tmp_path / "a-file.txt").write_text("a regular file, so nothing can be created under it")
    (tmp_path / "bogus.pth").write_bytes(b"not a checkpoint at all")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    args, _message = BAD_EXPORTS[case]
    return ["export", *(arg.format(tmp=tmp_path, photo=PHOTO) for arg in args)]


def _check_bad_export(tmp_path: Path, case: str, code: int, stderr: str) -> None:
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert BAD_EXPORTS[case][1] in lines[0]
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_export_bad_input_in_subprocess(tmp_path: Path, case: str) -> None:
    result = run_main(*_bad_export_setup(tmp_path, case))
    _check_bad_export(tmp_path, case, result.returncode, result.stderr)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("case", [case for case in BAD_EXPORTS if case not in SUBPROCESS_CASES])
def test_export_bad_input(tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    from explorer.cli import main

    code = main(_bad_export_setup(tmp_path, case))
    _check_bad_export(tmp_path, case, code, capsys.readouterr().err)


# --- export: a full run ---------------------------------------------------------------------

def test_export_writes_every_figure_with_progress(tmp_path: Path) -> None:
    out = tmp_path / "figures"
    result = run_main("export", PHOTO, "--out", out, "--format", "png,svg", "--scale", "2",
                      "--theme", "slide", "--no-caption", "--frames", "--stage", "1", "--block", "2",
                      "--head", "2", "--query", "30,41")
    assert result.returncode == 0, result.stderr
    figures = FIGURE_NAMES
    expected = [f"{figure}.{fmt}" for figure in figures for fmt in ("png", "svg")]
    expected += [f"{spec.name}.gif" for spec in animated_figures()]
    assert sorted(path.name for path in out.iterdir() if path.is_file()) == sorted(expected)
    progress = [line for line in result.stderr.splitlines() if re.match(r"\[\d+/\d+\] ", line)]
    assert progress == [f"[{k}/{len(expected)}] {name}" for k, name in enumerate(expected, start=1)]
    assert f"wrote {len(expected) + 4} files to {out}" in result.stdout
    for figure in figures:
        with Image.open(out / f"{figure}.png") as image:
            assert image.width == 2 * 1200
            # slide theme: a white page
            assert image.convert("RGB").getpixel((3, 3)) == (255, 255, 255)
        root = ET.parse(out / f"{figure}.svg").getroot()
        assert root.tag.endswith("svg")
    frames = sorted((out / "cyclic-shift-frames").iterdir())
    assert [frame.name for frame in frames] == [f"cyclic-shift-{k:02d}.png" for k in range(1, 5)]
    with Image.open(out / "cyclic-shift.gif") as gif:
        assert gif.n_frames == 4
    # --no-caption: the caption text is nowhere in the drawing
    svg_text = (out / "mask.svg").read_text(encoding="utf-8")
    assert "block 2/2 (SW-MSA) · M = 7 · shift 3" not in svg_text.split("</desc>", 1)[1]
    # by default the mask shown is the bottom-right window's, where the four regions meet
    assert "window 63" in svg_text
    assert "Traceback" not in result.stderr


def test_export_writes_only_the_figures_asked_for(tmp_path: Path) -> None:
    out = tmp_path / "some"
    result = run_main("export", PHOTO, "--out", out, "--format", "svg", "--img-size", "64",
                      "--figures", "cost, mask")
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in out.iterdir()) == ["cost.svg", "mask.svg"]
    # written in registry order, whatever order the list gives
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert progress == ["[1/2] mask.svg", "[2/2] cost.svg"]


def test_paper_toy_grid_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from explorer.cli import main

    assert main(["flops", "--paper", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["img_size"], summary["window_size"]) == (32, 4)
    first = summary["stages"][0]
    assert (first["height"], first["width"], first["window_size"], first["shift_size"]) == (8, 8, 4, 2)
    assert main(["flops", "--paper", "--img-size", "64"]) == 2
    assert "--paper sets the input size" in capsys.readouterr().err


@pytest.mark.parametrize(("numbering", "lettered"), [("official", False), ("lecture", True)])
def test_export_numbering(tmp_path: Path, numbering: str, lettered: bool) -> None:
    out = tmp_path / numbering
    result = run_main("export", PHOTO, "--out", out, "--paper", "--numbering", numbering,
                      "--figures", "regions", "--format", "svg")
    assert result.returncode == 0, result.stderr
    texts = ["".join(element.itertext()).strip() for element in ET.parse(out / "regions.svg").iter()
             if element.tag.endswith("text")]
    assert ("0 A" in texts) == lettered
