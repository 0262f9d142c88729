"""Colours and themes of the figure views.

The nine shift regions 0-8 use the Okabe-Ito colour-blind-safe palette (its seven
chromatic colours; black is left out because it vanishes on the dark screen theme and hides
black numbers) plus a neutral grey and Paul Tol's wine. Their order was chosen by trying every
assignment: regions that touch in the 3x3 layout of the official ``img_mask`` stay at
least 29 CIELAB units apart under simulated protanopia, deuteranopia and tritanopia
(tests/test_views_figures.py checks this, with a threshold of 25). The same palette serves
both themes: a figure looks the same on screen and on a slide, only the background, text
and line widths change.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "MASK_COLORS",
    "MERGE_COLORS",
    "MERGE_COLOR_NAMES",
    "MSA_COLOR",
    "REGION_COLORS",
    "REGION_COLOR_NAMES",
    "THEMES",
    "WMSA_COLOR",
    "Theme",
    "region_text_color",
    "text_color_on",
    "theme",
]

REGION_COLORS: tuple[str, ...] = (
    "#0072B2",  # 0 blue
    "#E69F00",  # 1 orange
    "#999999",  # 2 grey
    "#882255",  # 3 wine
    "#56B4E9",  # 4 sky blue
    "#D55E00",  # 5 vermillion
    "#CC79A7",  # 6 reddish purple
    "#F0E442",  # 7 yellow
    "#009E73",  # 8 bluish green
)
"""Fill colour of shift region 0-8 (official ``img_mask`` numbering)."""

REGION_COLOR_NAMES: tuple[str, ...] = (
    "blue",
    "orange",
    "grey",
    "wine",
    "sky blue",
    "vermillion",
    "reddish purple",
    "yellow",
    "bluish green",
)
"""What :data:`REGION_COLORS` are called in words (notes, hover text, legends)."""

MASK_COLORS: dict[float, str] = {0.0: "#C8C8C8", -100.0: "#4A4A4A"}
"""Mask cells: 0 (same region, may attend) light grey; -100 (different regions, weight ≈ 0)
dark grey. Neutral on purpose: the mask view draws region strips in REGION_COLORS beside the
cells, so a chromatic mask colour would read as a region. Dark for "blocked" also matches
the attention view, where a masked key gets no colour."""

MSA_COLOR = "#D55E00"
"""Global attention (MSA) in the cost view: vermillion."""
WMSA_COLOR = "#56B4E9"
"""Window attention (W-MSA) in the cost view: sky blue."""

MERGE_COLORS: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
"""The four tokens x0, x1, x2, x3 of a 2x2 patch-merging group (Okabe-Ito)."""
MERGE_COLOR_NAMES: tuple[str, ...] = ("blue", "orange", "bluish green", "reddish purple")
"""What :data:`MERGE_COLORS` are called in words: the merging view's legend and note take
their words from here, so the text names the colour that is drawn."""


def _luminance(color: str) -> float:
    red, green, blue = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def text_color_on(color: str) -> str:
    """Black or white, whichever reads better on a ``#RRGGBB`` fill."""
    return "#000000" if _luminance(color) > 0.4 else "#FFFFFF"


def region_text_color(region: int) -> str:
    """Colour of a region number written on region ``region``'s fill."""
    return text_color_on(REGION_COLORS[region])


@dataclass(frozen=True)
class Theme:
    """Everything that differs between the screen and the slide look.

    Font sizes are in points, pen widths in screen pixels (cosmetic pens).
    """

    name: str
    background: str
    foreground: str
    muted: str
    grid: str
    accent: str
    padding: str
    title_size: int
    label_size: int
    small_size: int
    line_width: float
    thick_width: float


THEMES: dict[str, Theme] = {
    "screen": Theme(
        name="screen",
        background="#1E1E1E",
        foreground="#E8E8E8",
        muted="#A0A0A0",
        grid="#F0F0F0",
        accent="#FFFFFF",
        padding="#808080",
        title_size=11,
        label_size=9,
        small_size=8,
        line_width=1.0,
        thick_width=2.5,
    ),
    "slide": Theme(
        name="slide",
        background="#FFFFFF",
        foreground="#000000",
        muted="#505050",
        grid="#202020",
        accent="#000000",
        padding="#909090",
        title_size=20,
        label_size=15,
        small_size=12,
        line_width=1.5,
        thick_width=3.5,
    ),
}


def theme(name: str) -> Theme:
    """The theme called ``name`` ("screen" or "slide")."""
    try:
        return THEMES[name]
    except KeyError:
        raise ValueError(f"unknown theme {name!r}; choose one of {', '.join(THEMES)}") from None
