"""Exported SVGs look the same in another renderer: librsvg (``rsvg-convert``, what many
slide tools use) draws each figure's SVG like the PNG that Qt exports."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from figure_views import dispose_views
from PIL import Image, ImageFilter

from explorer import export
from explorer.figures import FIGURE_NAMES, build_figures
from explorer.state import ExplorerState
from swin_model.preprocess import load_image, prepare

PHOTO = Path(__file__).resolve().parent.parent / "assets" / "chelsea.jpg"
COMPARE_WIDTH = 256
BLUR_RADIUS = 1.0
TOLERANCE = 4.0
"""Mean absolute difference of the two greyscale images, in levels of 255, after a Gaussian
blur of BLUR_RADIUS pixels. Qt and librsvg antialias and hint text differently, resample the
photo with different filters and put thin lines on other pixel boundaries; the blur evens
out those one-pixel differences, which then cost 0.4-3.3 levels (measured on every figure at
224 px, slide theme). A line drawn at another width, as when a renderer ignores a stroke's
non-scaling effect, changes whole areas: 6.5-38 levels on the figures that had such lines."""
RSVG = shutil.which("rsvg-convert")


def greyscale(image: Image.Image, page: tuple[int, int, int]) -> np.ndarray:
    """``image`` on the ``page`` colour, as blurred float greyscale (H, W), COMPARE_WIDTH wide."""
    rgba = image.convert("RGBA")
    height = round(COMPARE_WIDTH * rgba.height / rgba.width)
    rgba = rgba.resize((COMPARE_WIDTH, height), Image.Resampling.LANCZOS)
    backdrop = Image.new("RGBA", rgba.size, (*page, 255))
    grey = Image.alpha_composite(backdrop, rgba).convert("L").filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
    return np.asarray(grey, dtype=np.float64)


@pytest.fixture(scope="module")
def views(qapp):
    if RSVG is None:
        pytest.fail("rsvg-convert is needed (Debian: apt-get install librsvg2-bin)")
    prepared = prepare(load_image(PHOTO), 224)
    built = build_figures(ExplorerState(img_size=224, stage=0, block=1), prepared, theme="slide")
    for view in built.values():
        export.prepare_offscreen(view)
    yield built
    dispose_views(built)


@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_librsvg_draws_the_svg_like_the_png(views, name: str) -> None:
    view = views[name]
    svg = export.render_svg(view)
    assert b"non-scaling-stroke" not in svg
    drawn = subprocess.run([RSVG, "-w", str(COMPARE_WIDTH * 2), "-f", "png"], input=svg,
                           capture_output=True, timeout=120)
    assert drawn.returncode == 0, drawn.stderr.decode()
    png = Image.open(io.BytesIO(export.render_png(view)))
    page = png.convert("RGB").getpixel((1, 1))
    reference = greyscale(png, page)
    other = greyscale(Image.open(io.BytesIO(drawn.stdout)), page)
    rows = min(len(reference), len(other))
    assert abs(len(reference) - len(other)) <= 1
    difference = float(np.abs(reference[:rows] - other[:rows]).mean())
    assert difference <= TOLERANCE, f"{name}: librsvg differs from the PNG by {difference:.2f} levels"
