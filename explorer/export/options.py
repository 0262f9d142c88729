"""Export options: the file formats of one figure and the PNG scale, checked.

Both the renderers and the batch layer check their options here (the command line and the
File menu too), so a bad value gives the same message wherever it comes from.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "DEFAULT_WIDTH",
    "FORMATS",
    "MAX_SCALE",
    "parse_formats",
    "validate_scale",
]

FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
"""File formats of one figure, by extension."""

DEFAULT_WIDTH = 1200
"""Width in pixels of a PNG at scale 1 (and the user-unit width of SVG and PDF pages)."""

MAX_SCALE = 4
"""PNG scale factors run from 1 to MAX_SCALE."""


def validate_scale(scale: int) -> int:
    """``scale`` as an int in 1..MAX_SCALE, or ValueError."""
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be an integer from 1 to {MAX_SCALE}, got {scale!r}")
    return scale


def parse_formats(text: str | Iterable[str]) -> tuple[str, ...]:
    """``"png,svg"`` (or an iterable of names) as a de-duplicated tuple of known formats."""
    names = text.split(",") if isinstance(text, str) else list(text)
    formats: list[str] = []
    for raw in names:
        name = raw.strip().lower().lstrip(".")
        if not name:
            continue
        if name not in FORMATS:
            raise ValueError(f"unknown format {raw.strip()!r}; choose from {', '.join(FORMATS)}")
        if name not in formats:
            formats.append(name)
    if not formats:
        raise ValueError(f"no format given; choose from {', '.join(FORMATS)}")
    return tuple(formats)
