"""The one count formatter (explorer/numbers.py) writes what each former copy wrote."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from explorer import numbers
from explorer.numbers import si

counts = st.integers(-(2**53), 2**53)
values = st.one_of(counts, st.floats(-1e15, 1e15, allow_nan=False))


def cli_si(value: int) -> str:
    """explorer/cli.py's former _si (the cost table of the command line)."""
    for unit, size in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if abs(value) >= size:
            return f"{value / size:.2f}{unit}"
    return str(value)


@given(counts)
def test_automatic_units_match_the_command_line_table(value: int) -> None:
    assert si(value) == cli_si(value)


@given(values)
def test_fixed_units_match_the_views(value: float) -> None:
    assert si(value, 3, unit="G", space=True) == f"{value / 1e9:.3f} G"  # cost view
    assert si(value, unit="G", space=True) == f"{value / 1e9:.2f} G"  # prediction panel
    assert si(value, unit="M", space=True) == f"{value / 1e6:.2f} M"  # parameters
    assert si(value, 0, unit="G", space=True) == f"{value / 1e9:.0f} G"


def test_examples() -> None:
    assert si(4_494_405_120) == "4.49G"
    assert si(28_288_354) == "28.29M"
    assert si(1_000) == "1.00K"
    assert si(999) == "999"
    assert si(-2_500_000) == "-2.50M"
    assert si(4_494_405_120, 3, unit="G", space=True) == "4.494 G"
    assert si(5_000_000_000, 0, unit="G", space=True) == "5 G"
    assert si(12_345, unit="K") == "12.35K"
    assert doctest.testmod(numbers).failed == 0


def test_unknown_unit() -> None:
    with pytest.raises(ValueError, match="unit"):
        si(1, unit="T")


def test_importing_numbers_loads_no_qt() -> None:
    code = (
        "import sys, explorer.numbers\n"
        "qt = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')]\n"
        "print(','.join(qt))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
