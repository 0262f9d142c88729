"""The code type-checks with mypy: the model core strictly, the explorer in the default
mode (the pyproject configuration)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("swin_model", "explorer")


def test_mypy_passes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *TARGETS],
        cwd=ROOT, capture_output=True, text=True, check=False)
    print(result.stdout)
    print(result.stderr, file=sys.stderr)
    assert result.returncode == 0, result.stdout
