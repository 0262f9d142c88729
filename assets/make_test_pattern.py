"""Write assets/test_pattern.png: a 224 x 224 numbered test pattern.

The image is cut into 8 x 8 cells of 28 px, numbered 0-63 row-major. At 224 px with
4 px patches and M = 7 each cell is exactly one stage-1 window, so the cyclic shift and the
window partition can be followed cell by cell. Faint lines mark every 4 px patch.

    python assets/make_test_pattern.py [OUTPUT]
"""

from __future__ import annotations

import colorsys
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIDE = 224
CELLS = 8
PATCH = 4
OUTPUT = Path(__file__).with_name("test_pattern.png")


def cell_colour(row: int, col: int) -> tuple[int, int, int]:
    """A distinct, mid-light colour for each cell: hue runs along the row-major index,
    lightness alternates like a checkerboard so neighbours always differ."""
    index = row * CELLS + col
    hue = (index * 0.618033988749895) % 1.0
    lightness = 0.62 if (row + col) % 2 == 0 else 0.78
    red, green, blue = colorsys.hls_to_rgb(hue, lightness, 0.55)
    return round(red * 255), round(green * 255), round(blue * 255)


def make_test_pattern() -> Image.Image:
    """The pattern as an RGB image of SIDE x SIDE pixels."""
    image = Image.new("RGB", (SIDE, SIDE), "white")
    draw = ImageDraw.Draw(image)
    cell = SIDE // CELLS
    for row in range(CELLS):
        for col in range(CELLS):
            left, top = col * cell, row * cell
            draw.rectangle((left, top, left + cell - 1, top + cell - 1), fill=cell_colour(row, col))
    for offset in range(0, SIDE, PATCH):
        draw.line((offset, 0, offset, SIDE - 1), fill=(255, 255, 255), width=1)
        draw.line((0, offset, SIDE - 1, offset), fill=(255, 255, 255), width=1)
    for offset in range(0, SIDE + 1, cell):
        edge = min(offset, SIDE - 1)
        draw.line((edge, 0, edge, SIDE - 1), fill=(0, 0, 0), width=1)
        draw.line((0, edge, SIDE - 1, edge), fill=(0, 0, 0), width=1)
    font = ImageFont.load_default(size=13)
    for row in range(CELLS):
        for col in range(CELLS):
            centre = (col * cell + cell / 2, row * cell + cell / 2)
            draw.text(centre, str(row * CELLS + col), fill=(0, 0, 0), font=font, anchor="mm",
                      stroke_width=2, stroke_fill=(255, 255, 255))
    return image


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else OUTPUT
    make_test_pattern().save(output, optimize=True)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
