"""How the explorer writes counts (MACs, FLOPs, parameters) and keeps intervals such as
"[−7, −3)" on one line: pure Python.

Used by the figure views, the prediction panel, export and the command line, so that the
same count reads the same everywhere.
"""

from __future__ import annotations

import re

__all__ = ["NO_BREAK_SPACE", "SI_UNITS", "keep_intervals_together", "si"]

NO_BREAK_SPACE = "\u00a0"

SI_UNITS: dict[str, int] = {"G": 10**9, "M": 10**6, "K": 10**3}
"""The units :func:`si` writes, largest first (the paper's style: G, M, K)."""


def si(value: float, digits: int = 2, *, unit: str | None = None, space: bool = False) -> str:
    """``value`` in G (10⁹), M (10⁶) or K (10³) with ``digits`` decimals; ``space`` puts a
    space between the number and the unit.

    With ``unit`` None, the largest unit not larger than ``|value|`` is chosen, and a value
    below 1000 is written as it is (``str(value)``); with a ``unit``, every value is written
    in that unit.

    >>> si(12_345_678)
    '12.35M'
    >>> si(999)
    '999'
    >>> si(4_494_405_120, 3, unit="G", space=True)
    '4.494 G'
    >>> si(28_288_354, unit="M", space=True)
    '28.29 M'
    """
    separator = " " if space else ""
    if unit is not None:
        try:
            size = SI_UNITS[unit]
        except KeyError:
            raise ValueError(f"unit must be one of {', '.join(SI_UNITS)}, not {unit!r}") from None
        return f"{value / size:.{digits}f}{separator}{unit}"
    for name, size in SI_UNITS.items():
        if abs(value) >= size:
            return f"{value / size:.{digits}f}{separator}{name}"
    return str(value)


_INTERVAL = re.compile(r"([\[(][^\[\]()<>,\s]{1,24}),\s+([^\[\]()<>,\s]{1,24}[\])])")
"""An interval or a pair: "[−7, −3)", "[0, end)", "(25, 26)"; its comma and the space after it."""


def keep_intervals_together(text: str) -> str:
    """``text`` with the space after the comma of each interval or pair made a no-break
    space, so that wrapping never splits one across two lines (plain text or HTML).

    >>> keep_intervals_together("slices [0, −7), [−7, −3)") == "slices [0,\u00a0−7), [−7,\u00a0−3)"
    True
    """
    return _INTERVAL.sub(rf"\1,{NO_BREAK_SPACE}\2", text)
