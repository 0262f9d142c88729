"""Image loading and preprocessing: what the model sees, stated plainly.

An image is resized to a square ``size x size`` with bicubic resampling (the aspect ratio
is not kept), then normalised with the ImageNet mean and standard deviation. Padding to a
multiple of the patch and of the window happens later, inside the model, and is described
by :mod:`swin_model.windows`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageLoadError",
    "PreparedImage",
    "decode_image",
    "load_image",
    "prepare",
]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


class ImageLoadError(ValueError):
    """An image file is missing, unreadable or not an image."""


def _to_rgb(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation and flatten any alpha onto white, giving plain RGB."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _decode(source: str | Path | io.BytesIO, name: str) -> Image.Image:
    try:
        with Image.open(source) as image:
            image.load()
            if image.width < 1 or image.height < 1:
                raise ImageLoadError(f"{name} is an empty image ({image.width} x {image.height} px)")
            return _to_rgb(image)
    except ImageLoadError:
        raise
    except UnidentifiedImageError as error:
        raise ImageLoadError(f"{name} is not an image that Pillow can read") from error
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageLoadError(f"{name} could not be read: {error}") from error


def load_image(path: str | PathLike[str]) -> Image.Image:
    """Read an image file as RGB. Raises ImageLoadError with a clear message when the file
    is missing, a folder, truncated or not an image."""
    path = Path(path)
    if not path.exists():
        raise ImageLoadError(f"{path} does not exist")
    if path.is_dir():
        raise ImageLoadError(f"{path} is a folder, not an image file")
    return _decode(path, str(path))


def decode_image(data: bytes, name: str = "the pasted image") -> Image.Image:
    """Decode encoded image bytes (PNG, JPEG, ...) as RGB; ``name`` is used in errors."""
    if not data:
        raise ImageLoadError(f"{name} is empty")
    return _decode(io.BytesIO(data), name)


@dataclass(frozen=True)
class PreparedImage:
    """The model input and what is drawn under the overlays.

    ``display`` is uint8 (size, size, 3), the resized RGB image; ``pixels`` is float32
    (3, size, size), ``(display / 255 - mean) / std`` per channel; ``source_size`` is the
    original (width, height) in pixels.
    """

    display: np.ndarray = field(repr=False)
    pixels: np.ndarray = field(repr=False)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    source_size: tuple[int, int] = (0, 0)

    @property
    def size(self) -> int:
        """The side of the square model input, in pixels."""
        return int(self.display.shape[0])


def prepare(image: Image.Image, size: int) -> PreparedImage:
    """Resize ``image`` to ``size x size`` (bicubic) and normalise it with the ImageNet
    mean and std. Returns display (size, size, 3) uint8 and pixels (3, size, size) float32."""
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    rgb = image if image.mode == "RGB" else _to_rgb(image)
    resized = rgb.resize((size, size), Image.Resampling.BICUBIC)
    display = np.asarray(resized, dtype=np.uint8).copy()
    display.setflags(write=False)
    mean = np.asarray(IMAGENET_MEAN, dtype=np.float32)[:, None, None]
    std = np.asarray(IMAGENET_STD, dtype=np.float32)[:, None, None]
    pixels = (display.transpose(2, 0, 1).astype(np.float32) / 255.0 - mean) / std
    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    pixels.setflags(write=False)
    return PreparedImage(display=display, pixels=pixels, source_size=(rgb.width, rgb.height))
