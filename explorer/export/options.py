"""Export options: the file formats of one figure, the PNG scale, the background, and
the page options (caption, title, theme) that the File menu and the command line share.

Both the renderers and the batch layer check their options here (the command line and the
File menu too), so a bad value gives the same message wherever it comes from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "BACKGROUNDS",
    "DEFAULT_WIDTH",
    "FORMATS",
    "MAX_SCALE",
    "THEMES",
    "ExportOptions",
    "parse_formats",
    "validate_background",
    "validate_scale",
]

FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
"""File formats of one figure, by extension."""

DEFAULT_WIDTH = 1200
"""Width in pixels of a PNG at scale 1 (and the user-unit width of SVG and PDF pages)."""

MAX_SCALE = 4
"""PNG scale factors run from 1 to MAX_SCALE."""

BACKGROUNDS: tuple[str, ...] = ("theme", "transparent")
"""``theme``: the figure on its theme's opaque background; ``transparent``: no background
at all (PNG pixels with alpha 0, no background shape in SVG and PDF). A GIF, which has no
partial transparency, always keeps the theme's background."""

THEMES: tuple[str, ...] = ("screen", "slide")
"""``screen``: as the explorer shows the figures; ``slide``: white background, large fonts."""


def validate_background(background: str) -> str:
    """``background`` if it is one of BACKGROUNDS, else ValueError."""
    if background not in BACKGROUNDS:
        raise ValueError(f"unknown background {background!r}; choose from {', '.join(BACKGROUNDS)}")
    return background


@dataclass(frozen=True)
class ExportOptions:
    """The options of an export, as the File menu's Export options and the command line's
    flags (``--scale``, ``--caption [TEXT]``/``--no-caption``, ``--title``, ``--background``,
    ``--theme``) choose them.

    ``caption`` puts a line under the figure: ``caption_text`` when it is not empty, else
    the figure's own settings line (model, input, stage, block, M, shift). ``title`` is a
    line above the figure (none when empty)."""

    scale: int = 1
    caption: bool = True
    caption_text: str = ""
    title: str = ""
    background: str = "theme"
    theme: str = "screen"

    def __post_init__(self) -> None:
        validate_scale(self.scale)
        validate_background(self.background)
        if self.theme not in THEMES:
            raise ValueError(f"unknown theme {self.theme!r}; choose from {', '.join(THEMES)}")

    @property
    def caption_value(self) -> bool | str:
        """What the renderers take as ``caption``: False (none), True (the figure's own
        line) or the text to write."""
        if not self.caption:
            return False
        return self.caption_text.strip() or True

    @property
    def transparent(self) -> bool:
        return self.background == "transparent"


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
