"""Image loading and preprocessing: what the model sees, stated plainly.

An image is resized to the model input, a square ``size x size`` or any ``height x width``,
with bicubic resampling (a square input does not keep the aspect ratio), then normalised
with the ImageNet mean and standard deviation. Padding to a multiple of the patch and of
the window happens later, inside the model, and is described by :mod:`swin_model.windows`.

Reading is bounded: only regular files are opened (a FIFO or a device named ``.png`` would
never end), at most :data:`MAX_FILE_BYTES` are read, and an image much larger than
:data:`DECODE_SIDE` per side is decoded at a reduced size (JPEG: by the decoder itself,
``Image.draft``; other formats: ``Image.reduce`` after decoding). Every Pillow mode becomes
RGB by its own value range: 16- and 32-bit integers span 0-65535, floats 0-1.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = [
    "DECODE_SIDE",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MAX_FILE_BYTES",
    "SOURCE_SIZE_KEY",
    "FileTooLargeError",
    "ImageLoadError",
    "LoadedImage",
    "PreparedImage",
    "decode_image",
    "decode_loaded",
    "image_size",
    "load_image",
    "prepare",
    "read_image",
    "read_image_bytes",
    "to_rgb",
]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

MAX_FILE_BYTES = 512 * 1024 * 1024
"""Image files larger than this are refused (and never read further than this)."""
DECODE_SIDE = 1536
"""The largest model input side worth keeping: an image whose shorter side is at least twice
this is decoded at a reduced size that keeps at least this many pixels per side."""
SOURCE_SIZE_KEY = "swin_model.source_size"
"""``image.info`` key of an image decoded at a reduced size: the (width, height) of the
image in the file, after EXIF orientation. :func:`prepare` reports it as ``source_size``."""

_SIXTEEN_BIT_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")
"""Integer modes read as 0-65535 (16-bit PNG and TIFF greyscale; mode I is how older Pillow
versions open them)."""
_FLOAT_MODES = ("F",)
"""Float modes read as 0-1 (float TIFF)."""
_PREMULTIPLIED = {"La": "LA", "RGBa": "RGBA"}
_ORIENTATION_TAG = 0x0112
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""EXIF orientation -> the transposition that shows the image upright (as ImageOps does)."""


class ImageLoadError(ValueError):
    """An image file is missing, unreadable, not a regular file or not an image."""


class FileTooLargeError(ImageLoadError):
    """A file holds more bytes than the reader was allowed to read."""


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image: ``image`` is RGB, maybe reduced; ``source_size`` the (width, height)
    of the image in the file after EXIF orientation; ``notes`` what the user should be told
    (e.g. that the image exceeds Pillow's decompression-bomb limit)."""

    image: Image.Image
    source_size: tuple[int, int]
    notes: tuple[str, ...] = ()


def to_rgb(image: Image.Image) -> Image.Image:
    """``image`` as plain RGB: alpha is flattened onto white, 16- and 32-bit integer modes
    are scaled from 0-65535 and float modes from 0-1 to 0-255 (rounded, clipped); every other
    mode uses Pillow's own conversion. (EXIF orientation is applied when reading.)"""
    if image.mode in _PREMULTIPLIED:
        image = image.convert(_PREMULTIPLIED[image.mode])
    if image.mode in _SIXTEEN_BIT_MODES:
        return _scaled_grey(image, 65535.0).convert("RGB")
    if image.mode in _FLOAT_MODES:
        return _scaled_grey(image, 1.0).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def _scaled_grey(image: Image.Image, top: float) -> Image.Image:
    """A one-channel image with values 0..``top`` as an 8-bit "L" image (rounded, clipped;
    NaN becomes 0)."""
    values = np.asarray(image, dtype=np.float32)  # H, W
    scaled = np.nan_to_num(values * np.float32(255.0 / top), nan=0.0, posinf=255.0, neginf=0.0)
    grey = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(grey, "L")


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # a broken EXIF block: show the image as stored
        return 1


def _bomb_note(name: str, width: int, height: int) -> tuple[str, ...]:
    limit = Image.MAX_IMAGE_PIXELS
    if limit is None or width * height <= limit:
        return ()
    return (f"{name} is {width}×{height} px ({width * height / 1e6:.0f} megapixels), more than "
            f"Pillow's decompression-bomb limit of {limit / 1e6:.0f} megapixels",)


def _decode(source: str | Path | io.BytesIO, name: str, reduce_to: int | None) -> LoadedImage:
    try:
        with Image.open(source) as image:
            width, height = image.size
            if width < 1 or height < 1:
                raise ImageLoadError(f"{name} is an empty image ({width} x {height} px)")
            notes = _bomb_note(name, width, height)
            orientation = _orientation(image)
            if reduce_to is not None and image.format == "JPEG":
                image.draft(None, (reduce_to, reduce_to))  # decodes at 1/2, 1/4 or 1/8 size
            image.load()
            rgb = to_rgb(image)
    except ImageLoadError:
        raise
    except UnidentifiedImageError as error:
        raise ImageLoadError(f"{name} is not an image that Pillow can read") from error
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageLoadError(f"{name} could not be read: {error}") from error
    if reduce_to is not None:
        factor = min(rgb.width, rgb.height) // reduce_to
        if factor >= 2:
            rgb = rgb.reduce(factor)
    if orientation in _TRANSPOSE_FOR_ORIENTATION:
        rgb = rgb.transpose(_TRANSPOSE_FOR_ORIENTATION[orientation])
    source_size = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    if rgb.size != source_size:
        rgb.info[SOURCE_SIZE_KEY] = source_size
    return LoadedImage(rgb, source_size, notes)


def _megabytes(count: int) -> str:
    return f"{count / 2**20:.0f} MB" if count >= 2**20 else f"{count} bytes"


def read_image_bytes(path: str | PathLike[str], max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at ``path``, at most ``max_bytes`` of them. Raises
    ImageLoadError when the file is missing, a folder, not a regular file (a FIFO, device or
    socket, which might never end) or unreadable, and FileTooLargeError when it is larger
    than ``max_bytes``."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO that replaced the file does not wait for a writer
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise ImageLoadError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise ImageLoadError(f"{path} is a folder, not an image file") from None
    except OSError as error:
        raise ImageLoadError(f"{path} could not be read: {error.strerror or error}") from None
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise ImageLoadError(f"{path} is a folder, not an image file")
        if not stat.S_ISREG(info.st_mode):
            raise ImageLoadError(f"{path} is not a regular file (a pipe, device or socket), "
                                 "so it is not read")
        too_big = FileTooLargeError(f"{path} is larger than {_megabytes(max_bytes)}, so it is not read")
        if info.st_size > max_bytes:
            raise too_big
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            data = stream.read(max_bytes + 1)
    except OSError as error:
        raise ImageLoadError(f"{path} could not be read: {error.strerror or error}") from None
    finally:
        os.close(descriptor)
    if len(data) > max_bytes:
        raise too_big
    return data


def read_image(path: str | PathLike[str], reduce_to: int | None = DECODE_SIDE,
               max_bytes: int = MAX_FILE_BYTES) -> LoadedImage:
    """Read and decode the image file at ``path`` (see :func:`read_image_bytes` and
    :func:`decode_loaded`)."""
    data = read_image_bytes(path, max_bytes)
    return _decode(io.BytesIO(data), str(path), reduce_to)  # an empty file: "not an image"


def decode_loaded(data: bytes, name: str = "the pasted image",
                  reduce_to: int | None = DECODE_SIDE) -> LoadedImage:
    """Decode encoded image bytes (PNG, JPEG, ...) as RGB, applying the EXIF orientation;
    an image whose shorter side is at least ``2 * reduce_to`` is reduced (None: never).
    ``name`` is used in errors and notes."""
    if not data:
        raise ImageLoadError(f"{name} is empty")
    return _decode(io.BytesIO(data), name, reduce_to)


def image_size(data: bytes, name: str = "the image") -> tuple[int, int]:
    """The (width, height) that the header of encoded image ``data`` states, without
    decoding the pixels; ImageLoadError when the header is not an image's."""
    if not data:
        raise ImageLoadError(f"{name} is empty")
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except UnidentifiedImageError as error:
        raise ImageLoadError(f"{name} is not an image that Pillow can read") from error
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageLoadError(f"{name} could not be read: {error}") from error


def load_image(path: str | PathLike[str]) -> Image.Image:
    """Read an image file as RGB. Raises ImageLoadError with a clear message when the file
    is missing, a folder, not a regular file, too large, truncated or not an image."""
    return read_image(path).image


def decode_image(data: bytes, name: str = "the pasted image") -> Image.Image:
    """Decode encoded image bytes (PNG, JPEG, ...) as RGB; ``name`` is used in errors."""
    return decode_loaded(data, name).image


@dataclass(frozen=True)
class PreparedImage:
    """The model input and what is drawn under the overlays.

    ``display`` is uint8 (H, W, 3), the resized RGB image; ``pixels`` is float32
    (3, H, W), ``(display / 255 - mean) / std`` per channel; ``source_size`` is the
    original (width, height) in pixels.
    """

    display: np.ndarray = field(repr=False)
    pixels: np.ndarray = field(repr=False)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    source_size: tuple[int, int] = (0, 0)

    @property
    def shape(self) -> tuple[int, int]:
        """The model input's (height, width), in pixels."""
        return int(self.display.shape[0]), int(self.display.shape[1])

    @property
    def size(self) -> int:
        """The longer side of the model input (its side, when square), in pixels."""
        return max(self.shape)


def _input_shape(size: int | tuple[int, int]) -> tuple[int, int]:
    sides = (size, size) if not isinstance(size, tuple) else size
    if len(sides) != 2 or any(not isinstance(side, int) or isinstance(side, bool) or side < 1
                              for side in sides):
        raise ValueError(f"size must be a positive integer or a (height, width) pair of them, got {size!r}")
    return sides


def prepare(image: Image.Image, size: int | tuple[int, int]) -> PreparedImage:
    """Resize ``image`` to ``size x size``, or to ``size = (height, width)`` (bicubic), and
    normalise it with the ImageNet mean and std. Returns display (H, W, 3) uint8 and pixels
    (3, H, W) float32."""
    height, width = _input_shape(size)
    rgb = to_rgb(image)
    resized = rgb.resize((width, height), Image.Resampling.BICUBIC)
    display = np.asarray(resized, dtype=np.uint8).copy()
    display.setflags(write=False)
    mean = np.asarray(IMAGENET_MEAN, dtype=np.float32)[:, None, None]
    std = np.asarray(IMAGENET_STD, dtype=np.float32)[:, None, None]
    pixels = (display.transpose(2, 0, 1).astype(np.float32) / 255.0 - mean) / std
    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    pixels.setflags(write=False)
    source = image.info.get(SOURCE_SIZE_KEY)
    source_size = (int(source[0]), int(source[1])) if source is not None else (rgb.width, rgb.height)
    return PreparedImage(display=display, pixels=pixels, source_size=source_size)
