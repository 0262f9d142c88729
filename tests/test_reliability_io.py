"""Reliability of reading images and writing figure sets (issue 8, explorer side).

Every Pillow mode becomes RGB by its own value range; only regular files are read, with a
size limit; large JPEGs decode at a reduced size; a set of figures appears whole or not at
all, and a folder that already holds files keeps them."""

from __future__ import annotations

import colorsys
import errno
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from swin_model.preprocess import (
    DECODE_SIDE,
    ImageLoadError,
    decode_loaded,
    load_image,
    prepare,
    read_image,
    read_image_bytes,
    to_rgb,
)

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO / "assets" / "coffee.jpg"
SIDE = 16


# --- every mode, by its own range -------------------------------------------------------------

def _ramp(low: float, high: float, dtype: type) -> np.ndarray:
    """(SIDE, SIDE) values from ``low`` to ``high`` in row-major order."""
    return np.linspace(low, high, SIDE * SIDE).reshape(SIDE, SIDE).astype(dtype)


def _alpha() -> np.ndarray:
    """(SIDE, SIDE) uint8 alpha, transposed against the ramps so every pair is met."""
    return _ramp(0, 255, np.uint8).T.copy()


def _over_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Reference flattening of straight (not premultiplied) alpha onto white."""
    a = alpha.astype(np.float64)[..., None] / 255.0
    return np.rint(rgb.astype(np.float64) * a + 255.0 * (1.0 - a))


def _grey(values: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(values, dtype=np.float64)[..., None], 3, axis=-1)


def _sixteen_bit(mode: str) -> Image.Image:
    """A 0-65535 ramp in a 16-bit mode (I;16 is little-endian, I;16B big-endian, I;16N native)."""
    values = _ramp(0, 65535, np.uint16)
    order = {"I;16": "<u2", "I;16L": "<u2", "I;16B": ">u2", "I;16N": "=u2"}[mode]
    return Image.frombytes(mode, (SIDE, SIDE), values.astype(order).tobytes())


def _sixteen_bit_reference(values: np.ndarray) -> np.ndarray:
    """0-65535 -> 0-255, rounded (integer arithmetic; out-of-range values clipped)."""
    clipped = np.clip(values.astype(np.int64), 0, 65535)
    return _grey((clipped + 128) // 257)


class ModeCase:
    """An image in one mode, the file format that keeps the mode (None: in memory only),
    the expected RGB pixels and the tolerance of the reference formula."""

    def __init__(self, mode: str, make: Callable[[], Image.Image],
                 expected: Callable[[Image.Image], np.ndarray], fmt: str | None, tolerance: int = 0) -> None:
        self.mode, self.make, self.expected, self.fmt, self.tolerance = mode, make, expected, fmt, tolerance


def _palette_image(mode: str) -> Image.Image:
    indices = _ramp(0, 255, np.uint8)
    image = Image.fromarray(indices, "L").convert("P")
    palette = [(index * 7) % 256 for index in range(256)] + [(index * 13) % 256 for index in range(256)] \
        + [255 - index for index in range(256)]
    image.putpalette([palette[channel * 256 + index] for index in range(256) for channel in range(3)])
    if mode == "PA":
        image = image.convert("PA")
        image.putalpha(Image.fromarray(_alpha(), "L"))
    return image


def _palette_rgb(image: Image.Image) -> np.ndarray:
    palette = np.asarray(image.getpalette()[:768], dtype=np.float64).reshape(256, 3)
    return palette[np.asarray(image.getchannel(0) if image.mode == "PA" else image)]


def _hsv_reference(image: Image.Image) -> np.ndarray:
    hsv = np.asarray(image, dtype=np.float64) / 255.0
    return np.array([[colorsys.hsv_to_rgb(*pixel) for pixel in row] for row in hsv]) * 255.0


def _lab_reference(image: Image.Image) -> np.ndarray:
    transform = ImageCms.buildTransform(ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"),
                                        "LAB", "RGB")
    return np.asarray(ImageCms.applyTransform(image, transform), dtype=np.float64)


def _ycbcr_reference(image: Image.Image) -> np.ndarray:
    y, cb, cr = (np.asarray(image, dtype=np.float64)[..., k] for k in range(3))
    rgb = np.stack([y + 1.402 * (cr - 128), y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128),
                    y + 1.772 * (cb - 128)], axis=-1)
    return np.clip(np.rint(rgb), 0, 255)


def _colour_ramps() -> np.ndarray:
    """(SIDE, SIDE, 3) uint8 with three different ramps."""
    return np.stack([_ramp(0, 255, np.uint8), _ramp(0, 255, np.uint8).T, _ramp(255, 0, np.uint8)], axis=-1)


def _rgba() -> np.ndarray:
    return np.concatenate([_colour_ramps(), _alpha()[..., None]], axis=-1)


def _premultiplied_la(image: Image.Image) -> np.ndarray:
    grey = np.asarray(image, dtype=np.float64)
    return _over_white(_grey(grey[..., 0]), grey[..., 1].astype(np.uint8))


MODE_CASES = [
    ModeCase("1", lambda: Image.fromarray(_ramp(0, 255, np.uint8) > 127).convert("1"),
             lambda image: _grey(np.asarray(image, dtype=np.float64) * 255), "PNG"),
    ModeCase("L", lambda: Image.fromarray(_ramp(0, 255, np.uint8), "L"),
             lambda image: _grey(np.asarray(image)), "PNG"),
    ModeCase("LA", lambda: Image.fromarray(np.stack([_ramp(0, 255, np.uint8), _alpha()], axis=-1), "LA"),
             lambda image: _over_white(_grey(np.asarray(image)[..., 0]), np.asarray(image)[..., 1]),
             "PNG", 1),
    # premultiplied greyscale: Pillow unpremultiplies it, then it is flattened like LA
    ModeCase("La", lambda: Image.fromarray(np.stack([_ramp(0, 255, np.uint8), np.full((SIDE, SIDE), 255,
                                                                                       np.uint8)], axis=-1),
                                           "LA").convert("La"),
             _premultiplied_la, None, 1),
    ModeCase("P", lambda: _palette_image("P"), _palette_rgb, "PNG"),
    ModeCase("PA", lambda: _palette_image("PA"),
             lambda image: _over_white(_palette_rgb(image), np.asarray(image.getchannel("A"))), "TIFF", 1),
    ModeCase("RGB", lambda: Image.fromarray(_colour_ramps(), "RGB"),
             lambda image: np.asarray(image, dtype=np.float64), "PNG"),
    ModeCase("RGBA", lambda: Image.fromarray(_rgba(), "RGBA"),
             lambda image: _over_white(np.asarray(image)[..., :3], np.asarray(image)[..., 3]), "PNG", 1),
    ModeCase("RGBa", lambda: Image.fromarray(np.concatenate(
                 [_colour_ramps(), np.full((SIDE, SIDE, 1), 255, np.uint8)], axis=-1), "RGBA"
             ).convert("RGBa"),
             lambda image: np.asarray(image, dtype=np.float64)[..., :3], None),
    ModeCase("RGBX", lambda: Image.fromarray(_rgba(), "RGBA").convert("RGBX"),
             lambda image: np.asarray(image, dtype=np.float64)[..., :3], None),
    ModeCase("CMYK", lambda: Image.fromarray(_rgba(), "RGBA").convert("RGB").convert("CMYK"),
             lambda image: np.rint((255 - np.asarray(image, dtype=np.float64)[..., :3])
                                   * (255 - np.asarray(image, dtype=np.float64)[..., 3:]) / 255), "TIFF", 1),
    ModeCase("YCbCr", lambda: Image.fromarray(_colour_ramps(), "RGB").convert("YCbCr"),
             _ycbcr_reference, "TIFF", 2),
    ModeCase("LAB", lambda: Image.fromarray(_colour_ramps(), "LAB"), _lab_reference, "TIFF", 2),
    ModeCase("HSV", lambda: Image.fromarray(_colour_ramps(), "HSV"), _hsv_reference, None, 1),
    # 16- and 32-bit integers span 0-65535 (values outside are clipped)
    ModeCase("I", lambda: Image.fromarray(_ramp(-5000, 70000, np.int32)),
             lambda image: _sixteen_bit_reference(np.asarray(image)), "TIFF"),
    ModeCase("I;16", lambda: _sixteen_bit("I;16"),
             lambda image: _sixteen_bit_reference(np.asarray(image)), "PNG"),
    ModeCase("I;16B", lambda: _sixteen_bit("I;16B"),
             lambda image: _sixteen_bit_reference(np.asarray(image)), "TIFF"),
    ModeCase("I;16L", lambda: _sixteen_bit("I;16L"),
             lambda image: _sixteen_bit_reference(np.asarray(image)), None),
    ModeCase("I;16N", lambda: _sixteen_bit("I;16N"),
             lambda image: _sixteen_bit_reference(np.asarray(image)), None),
    # floats span 0-1 (a float TIFF of a photo), clipped outside
    ModeCase("F", lambda: Image.fromarray(_ramp(-0.2, 1.2, np.float32)),
             lambda image: _grey(np.clip(np.rint(np.asarray(image, dtype=np.float64) * 255), 0, 255)),
             "TIFF"),
]


def test_every_pillow_mode_has_a_case() -> None:
    assert {case.mode for case in MODE_CASES} == set(Image.MODES)


@pytest.mark.parametrize("case", MODE_CASES, ids=[case.mode for case in MODE_CASES])
def test_every_mode_becomes_rgb_by_its_range(case: ModeCase, tmp_path: Path) -> None:
    image = case.make()
    assert image.mode == case.mode
    if case.fmt is not None:
        path = tmp_path / f"image.{case.fmt.lower()}"
        image.save(path, case.fmt)
        with Image.open(path) as reopened:
            reopened.load()
            # the file keeps the mode (I;16B is read back as I;16 from PNG, as Pillow does)
            assert reopened.mode == case.mode, f"{case.fmt} stores {case.mode} as {reopened.mode}"
            expected = case.expected(reopened)
        converted = load_image(path)
    else:
        expected = case.expected(image)
        converted = to_rgb(image)
    assert converted.mode == "RGB" and converted.size == (SIDE, SIDE)
    actual = np.asarray(converted, dtype=np.float64)
    difference = np.abs(actual - expected)
    worst = np.unravel_index(difference.argmax(), actual.shape)
    assert difference.max() <= case.tolerance, f"{case.mode}: off by {difference.max()} at {worst}"
    # the whole range is used: neither all white nor all black
    assert actual.min() < 40 and actual.max() > 215


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "grey16.png"
    Image.fromarray(np.full((8, 8), 32768, np.uint16)).save(path)
    assert load_image(path).getpixel((3, 3)) == (128, 128, 128)
    prepared = prepare(load_image(path), 8)
    assert int(prepared.display[0, 0, 0]) == 128


# --- only regular files, with a size limit ----------------------------------------------------

def _run_python(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_png_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    code = (f"from swin_model.preprocess import ImageLoadError, load_image\n"
            f"try:\n    load_image({str(fifo)!r})\nexcept ImageLoadError as error:\n    print(error)\n")
    try:
        done = _run_python(code)
    except subprocess.TimeoutExpired:
        pytest.fail("load_image blocked on a FIFO")
    assert done.returncode == 0, done.stderr
    assert str(fifo) in done.stdout and "not a regular file" in done.stdout


def test_devices_and_oversized_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="not a regular file"):
        load_image("/dev/zero")
    sparse = tmp_path / "huge.png"
    with open(sparse, "wb") as stream:
        stream.truncate(600 * 2**20)  # sparse: nothing is written
    with pytest.raises(ImageLoadError, match="larger than 512 MB"):
        load_image(sparse)
    small = tmp_path / "small.png"
    Image.new("RGB", (40, 40), (1, 2, 3)).save(small)
    with pytest.raises(ImageLoadError, match="larger than"):
        read_image_bytes(small, max_bytes=50)
    assert read_image_bytes(small) == small.read_bytes()


# --- large images: reduced while decoding, the source size kept ---------------------------------

def _jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    ramp = np.linspace(0, 255, width, dtype=np.float32).astype(np.uint8)
    image = Image.fromarray(np.ascontiguousarray(np.broadcast_to(ramp[None, :], (height, width))), "L")
    buffer = io.BytesIO()
    options = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif
    image.save(buffer, "JPEG", quality=80, **options)
    return buffer.getvalue()


def test_a_large_jpeg_is_decoded_at_a_reduced_size() -> None:
    loaded = decode_loaded(_jpeg(4 * DECODE_SIDE + 100, 2 * DECODE_SIDE + 40), "large.jpg")
    assert loaded.source_size == (4 * DECODE_SIDE + 100, 2 * DECODE_SIDE + 40)
    width, height = loaded.image.size
    assert loaded.image.mode == "RGB"
    assert DECODE_SIDE <= min(width, height) < 2 * DECODE_SIDE
    assert width * height < loaded.source_size[0] * loaded.source_size[1] / 3
    assert prepare(loaded.image, 64).source_size == loaded.source_size
    # the content is the same picture: a left-to-right ramp
    row = np.asarray(loaded.image)[height // 2, :, 0].astype(int)
    assert row[0] < 10 and row[-1] > 245 and np.all(np.diff(row[:: max(1, width // 50)]) >= -2)
    assert loaded.notes == ()


def test_a_reduced_jpeg_keeps_its_exif_orientation() -> None:
    loaded = decode_loaded(_jpeg(2 * DECODE_SIDE + 8, 2 * DECODE_SIDE + 200, orientation=6), "turned.jpg")
    assert loaded.source_size == (2 * DECODE_SIDE + 200, 2 * DECODE_SIDE + 8)  # turned a quarter
    width, height = loaded.image.size
    assert width > height and min(width, height) >= DECODE_SIDE


def test_small_images_are_not_reduced() -> None:
    loaded = read_image(PHOTO)
    assert loaded.image.size == loaded.source_size == Image.open(PHOTO).size
    assert prepare(loaded.image, 32).source_size == loaded.source_size


def test_a_decompression_bomb_is_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000 * 1000)
    with pytest.warns(Image.DecompressionBombWarning):
        loaded = decode_loaded(_jpeg(1200, 1000), "bomb.jpg")
    assert len(loaded.notes) == 1
    assert "bomb.jpg" in loaded.notes[0] and "decompression-bomb limit" in loaded.notes[0]


# --- figure sets: whole or nothing ----------------------------------------------------------------

@pytest.fixture(scope="module")
def views():
    """Two small figures, laid out offscreen."""
    from figure_views import dispose_views
    from PySide6 import QtWidgets

    from explorer import export
    from explorer.figures import build_figures
    from explorer.state import ExplorerState

    _app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    state = ExplorerState(img_size=64)
    built = build_figures(state, prepare(load_image(PHOTO), 64), None, names=("mask", "cost"))
    for view in built.values():
        export.prepare_offscreen(view)
    yield built
    dispose_views(built)


def _listing(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def test_a_failed_set_leaves_nothing_and_keeps_what_was_there(views, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from explorer import export
    from explorer.export import atomic

    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "mask.png").write_bytes(b"an older mask")
    real_write = atomic.write_atomic
    calls: list[Path] = []

    def full_disk_on_the_third_file(path, chunks):
        calls.append(Path(path))
        if len(calls) == 3:
            raise export.ExportError(path, os.strerror(errno.ENOSPC))
        return real_write(path, chunks)

    monkeypatch.setattr(atomic, "write_atomic", full_disk_on_the_third_file)
    with pytest.raises(export.ExportError, match="No space left on device"):
        export.export_all(views, out, ("png", "svg"))
    assert len(calls) == 3
    assert _listing(out) == ["mask.png", "notes.txt"]
    assert (out / "mask.png").read_bytes() == b"an older mask"
    assert _listing(tmp_path) == ["out", "out/mask.png", "out/notes.txt"]  # no staging folder left

    monkeypatch.setattr(atomic, "write_atomic", real_write)
    written = export.export_all(views, out, ("png", "svg"))
    assert [path.name for path in written] == ["mask.png", "mask.svg", "cost.png", "cost.svg"]
    assert all(path.parent == out for path in written)
    assert _listing(out) == ["cost.png", "cost.svg", "mask.png", "mask.svg", "notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "mask.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # replaced at the end
    assert _listing(tmp_path) == ["out", *(f"out/{name}" for name in _listing(out))]


def test_an_interrupted_set_leaves_nothing(views, tmp_path: Path) -> None:
    from explorer import export

    out = tmp_path / "new" / "figures"

    def interrupt_after_the_first(done: int, _total: int, _name: str) -> None:
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export.export_all(views, out, ("svg",), progress=interrupt_after_the_first)
    assert _listing(tmp_path) == []
    written = export.export_all(views, out, ("svg",))
    assert _listing(tmp_path) == ["new", "new/figures", "new/figures/cost.svg", "new/figures/mask.svg"]
    assert written == [out / "mask.svg", out / "cost.svg"]


def test_an_unwritable_folder_is_refused_before_anything_is_created(views, tmp_path: Path) -> None:
    from explorer import export

    (tmp_path / "file.txt").write_text("a file")
    with pytest.raises(export.ExportError, match=r"file\.txt"):
        export.export_all(views, tmp_path / "file.txt" / "sub", ("svg",))
    assert _listing(tmp_path) == ["file.txt"]
