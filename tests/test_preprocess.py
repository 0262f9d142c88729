"""Image loading and preprocessing (swin_model.preprocess), and the bundled assets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from swin_model.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageLoadError,
    decode_image,
    load_image,
    prepare,
)

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PHOTOS = ("chelsea.jpg", "coffee.jpg", "astronaut.jpg")


def test_prepare_resizes_bicubic_and_normalises() -> None:
    rng = np.random.default_rng(0)
    source = Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8))
    prepared = prepare(source, 61)
    expected_display = np.asarray(source.resize((61, 61), Image.Resampling.BICUBIC))
    assert prepared.display.dtype == np.uint8 and prepared.display.shape == (61, 61, 3)
    np.testing.assert_array_equal(prepared.display, expected_display)
    assert prepared.pixels.dtype == np.float32 and prepared.pixels.shape == (3, 61, 61)
    for channel in range(3):
        expected = (expected_display[..., channel] / 255.0 - IMAGENET_MEAN[channel]) / IMAGENET_STD[channel]
        np.testing.assert_allclose(prepared.pixels[channel], expected, rtol=1e-5, atol=1e-5)
    assert prepared.source_size == (53, 37)
    assert prepared.size == 61


def test_white_normalises_to_one_minus_mean_over_std() -> None:
    white = Image.new("RGB", (10, 20), (255, 255, 255))
    prepared = prepare(white, 32)
    for channel in range(3):
        expected = (1 - IMAGENET_MEAN[channel]) / IMAGENET_STD[channel]
        assert prepared.pixels[channel].min() == pytest.approx(expected)
        assert prepared.pixels[channel].max() == pytest.approx(expected)


def test_prepare_rejects_bad_sizes() -> None:
    image = Image.new("RGB", (8, 8))
    for size in (0, -3, 2.5, True):
        with pytest.raises(ValueError):
            prepare(image, size)  # type: ignore[arg-type]


def test_prepared_arrays_are_read_only() -> None:
    prepared = prepare(Image.new("RGB", (8, 8)), 8)
    with pytest.raises(ValueError):
        prepared.pixels[0, 0, 0] = 1.0
    with pytest.raises(ValueError):
        prepared.display[0, 0, 0] = 1


def test_load_image_converts_to_rgb_and_flattens_alpha(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (4, 3), (255, 0, 0, 0))  # fully transparent red
    rgba.putpixel((0, 0), (0, 0, 255, 255))
    rgba.save(tmp_path / "a.png")
    gray = Image.new("L", (5, 5), 80)
    gray.save(tmp_path / "g.png")
    loaded = load_image(tmp_path / "a.png")
    assert loaded.mode == "RGB" and loaded.size == (4, 3)
    assert loaded.getpixel((0, 0)) == (0, 0, 255)
    assert loaded.getpixel((1, 1)) == (255, 255, 255)  # transparent → white background
    assert load_image(tmp_path / "g.png").getpixel((2, 2)) == (80, 80, 80)


def test_load_image_applies_exif_orientation(tmp_path: Path) -> None:
    image = Image.new("RGB", (6, 2), (0, 0, 0))
    image.putpixel((0, 0), (255, 255, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=100)
    loaded = load_image(tmp_path / "rotated.jpg")
    assert loaded.size == (2, 6)


@pytest.mark.parametrize("kind", ["missing", "folder", "not-an-image", "truncated", "empty"])
def test_load_image_errors_are_clear(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "picture.png"
    if kind == "folder":
        path.mkdir()
    elif kind == "not-an-image":
        path.write_text("hello, this is text")
    elif kind == "truncated":
        Image.new("RGB", (64, 64), (10, 200, 30)).save(path)
        path.write_bytes(path.read_bytes()[:60])
    elif kind == "empty":
        path.write_bytes(b"")
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value)
    expected = {"missing": "does not exist", "folder": "is a folder", "not-an-image": "not an image",
                "truncated": "could not be read", "empty": "not an image"}[kind]
    assert expected in str(info.value)


def test_decode_image_from_bytes() -> None:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (7, 3), (1, 2, 3)).save(buffer, format="PNG")
    image = decode_image(buffer.getvalue(), "pasted")
    assert image.size == (7, 3) and image.getpixel((6, 2)) == (1, 2, 3)
    with pytest.raises(ImageLoadError, match="pasted is empty"):
        decode_image(b"", "pasted")
    with pytest.raises(ImageLoadError, match="clip is not an image"):
        decode_image(b"garbage bytes", "clip")


@pytest.mark.parametrize("name", PHOTOS)
def test_bundled_photos_are_real_modest_images(name: str) -> None:
    path = ASSETS / name
    assert path.stat().st_size < 300_000
    image = load_image(path)
    assert min(image.size) >= 256
    pixels = np.asarray(image, dtype=np.float32)
    assert pixels.std() > 20  # a photo, not a flat fill
    assert name.split(".")[0] in (ASSETS / "LICENSES.md").read_text()


def test_test_pattern_is_what_its_generator_draws(tmp_path: Path) -> None:
    output = tmp_path / "pattern.png"
    done = subprocess.run([sys.executable, str(ASSETS / "make_test_pattern.py"), str(output)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    committed = np.asarray(load_image(ASSETS / "test_pattern.png"))
    regenerated = np.asarray(load_image(output))
    assert committed.shape == (224, 224, 3)
    np.testing.assert_array_equal(committed, regenerated)
    # 8 x 8 cells of 28 px: the centre-left of neighbouring cells differ in colour
    cell_colours = {tuple(committed[r * 28 + 2, c * 28 + 2]) for r in range(8) for c in range(8)}
    assert len(cell_colours) == 64


def test_imagenet_labels_file_is_in_class_index_order() -> None:
    from explorer.labels import class_label, imagenet_labels

    labels = imagenet_labels()
    assert len(labels) == 1000
    # well-known ImageNet-1k indices
    assert labels[0].startswith("tench")
    assert labels[1].startswith("goldfish")
    assert labels[281].startswith("tabby")
    assert labels[504] == "coffee mug"
    assert labels[999].startswith("toilet tissue")
    assert class_label(281) == "tabby"
    assert class_label(3, num_classes=10) == "class 3"
