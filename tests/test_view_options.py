"""A figure's own switches (the architecture's split, the attention rollout, the cyclic
shift's step) travel to an export in another process, so Save, Copy and Export all draw the
figure as it is shown."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from figure_views import dispose_views
from PySide6 import QtWidgets

from explorer.export.options import ExportOptions
from explorer.export_job import ExportRequest, export_arguments
from explorer.figures import FIGURE_NAMES, build_figures
from explorer.state import ExplorerState
from swin_model.preprocess import load_image, prepare

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO / "assets" / "chelsea.jpg"
STATE = ExplorerState(img_size=64, window_size=4)
SWITCHES = {"architecture": ("split", "code", "paper"), "attention": ("rollout", "on", "off"),
            "cyclic-shift": ("step", "0", "end")}
"""figure -> (option, a value that is not the default, the default)."""


@pytest.fixture
def views(qapp: QtWidgets.QApplication):
    built = build_figures(STATE, prepare(load_image(PHOTO), 64), None, names=FIGURE_NAMES)
    yield built
    dispose_views(built)


def test_the_switches_read_back_as_they_are_set(views) -> None:
    for name, view in views.items():
        options = view.view_options()
        if name not in SWITCHES:
            assert options == {}, name
            with pytest.raises(ValueError, match=name):
                view.set_view_option("split", "code")
            continue
        option, other, default = SWITCHES[name]
        assert options == {option: default}, name
        view.set_view_option(option, other)
        assert view.view_options() == {option: other}, name
        with pytest.raises(ValueError, match=option):
            view.set_view_option(option, "sideways")
        with pytest.raises(ValueError):
            view.set_view_option("colour", other)
    assert views["architecture"].split() == "code"
    assert views["attention"].rollout_enabled()
    assert views["cyclic-shift"].shift_step() == 0


def test_the_export_job_passes_the_switches_of_the_figures_it_writes() -> None:
    request = ExportRequest(options=ExportOptions(), figures=("architecture", "mask"),
                            view_options=(("architecture", "split", "code"), ("attention", "rollout", "on")))
    arguments = export_arguments(STATE, PHOTO, Path("out"), request)
    assert "--view=architecture.split=code" in arguments
    assert not any(argument.startswith("--view=attention") for argument in arguments)  # not exported


def _export(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "main.py", "export", str(PHOTO), "--out", str(tmp_path / "out"),
                           "--img-size", "64", "--figures", "architecture", "--format", "svg", *extra],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def _texts(svg: Path) -> str:
    return " ".join(element.text or "" for element in ET.parse(svg).iter())


def test_the_command_line_draws_the_switch_it_is_given(tmp_path: Path) -> None:
    done = _export(tmp_path, "--view", "architecture.split=code")
    assert done.returncode == 0, done.stderr
    assert "the official code's split" in _texts(tmp_path / "out" / "architecture.svg")
    bad = _export(tmp_path / "bad", "--view", "architecture.split=sideways")
    assert bad.returncode == 2 and "--view" in bad.stderr and "split=paper or split=code" in bad.stderr
    assert not (tmp_path / "bad").exists()
    unknown = _export(tmp_path / "unknown", "--view", "nosuch.step=1")
    assert unknown.returncode == 2 and "unknown figure 'nosuch'" in unknown.stderr
