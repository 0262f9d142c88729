"""Animations: the steps of an animated figure as images, as a looping GIF, or as numbered
PNG frames.

Which figures animate comes from the registry (:func:`explorer.figures.animated_figures`);
their file names come from the figure's name: ``<figure>.gif``, and the frames
``<figure>-01.png``, ``<figure>-02.png`` ... in a folder ``<figure>-frames``. An animated
view shows step ``k`` after ``set_shift_step(k)``, for ``k`` below ``shift_steps()``.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from PIL import Image
from PySide6.QtGui import QImage

from explorer.figures import animated_figures

from .atomic import ExportError, write_atomic, write_rendered
from .options import validate_scale
from .painting import FigureLike
from .rendering import encode_image, render_image

__all__ = [
    "DEFAULT_FRAME_MS",
    "HOLD_FRAME_MS",
    "SHIFT_FRAMES_DIR",
    "SHIFT_GIF_NAME",
    "AnimatedFigureLike",
    "animation_file_name",
    "animation_frames",
    "export_animation_frames",
    "export_animation_gif",
    "export_shift_frames",
    "export_shift_gif",
    "frame_file_name",
    "frames_folder_name",
    "render_animation_gif",
    "render_shift_gif",
]

DEFAULT_FRAME_MS = 700
"""How long each intermediate step of an animation stays on screen."""
HOLD_FRAME_MS = 1600
"""How long the first (before the roll) and last (after it) frames stay on screen."""


@runtime_checkable
class AnimatedFigureLike(FigureLike, Protocol):
    """A figure view with animation steps (the cyclic-shift view). A view may also have
    ``shift_step()``, its current step, which is restored after rendering the frames."""

    def shift_steps(self) -> int: ...

    def set_shift_step(self, step: int) -> None: ...


def animation_file_name(figure: str) -> str:
    """The GIF file of the animated figure called ``figure``."""
    return f"{figure}.gif"


def frames_folder_name(figure: str) -> str:
    """The folder the command line puts the PNG frames of ``figure`` in."""
    return f"{figure}-frames"


def frame_file_name(figure: str, number: int, count: int) -> str:
    """The PNG file of frame ``number`` (from 1) of ``count``: ``<figure>-01.png`` ...,
    zero-padded to at least two digits so that the files sort in order."""
    digits = max(2, len(str(count)))
    return f"{figure}-{number:0{digits}d}.png"


def _animated_figure_name() -> str:
    """The name of the registry's animated figure (the first, should there be several)."""
    animated = animated_figures()
    if not animated:
        raise RuntimeError("no figure in explorer.figures.FIGURES animates")
    return animated[0].name


SHIFT_GIF_NAME = animation_file_name(_animated_figure_name())
"""The GIF file of the cyclic shift, the animated figure."""
SHIFT_FRAMES_DIR = frames_folder_name(_animated_figure_name())
"""The folder of the cyclic shift's PNG frames."""


def animation_frames(view: AnimatedFigureLike, scale: int = 1, caption: bool | str = False, *,
                     title: str = "", background: str = "theme") -> list[QImage]:
    """One image per step of ``view`` (see :func:`~.rendering.render_image`); the view's
    current step is restored."""
    steps = view.shift_steps()
    if steps < 1:
        raise ValueError(f"the {view.figure_name} figure has no animation steps")
    current = getattr(view, "shift_step", None)
    restore = current() if callable(current) else 0
    frames = []
    try:
        for step in range(steps):
            view.set_shift_step(step)
            frames.append(render_image(view, scale, caption, title=title, background=background))
    finally:
        view.set_shift_step(restore)
    return frames


def _pil_image(image: QImage) -> Image.Image:
    """``image`` as an RGB Pillow image (a copy: it does not share Qt's buffer)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    buffer = bytes(rgb.constBits())
    return Image.frombuffer("RGB", (rgb.width(), rgb.height()), buffer, "raw", "RGB",
                            rgb.bytesPerLine(), 1).copy()


def render_animation_gif(view: AnimatedFigureLike, scale: int = 1, caption: bool | str = False,
                         frame_ms: int = DEFAULT_FRAME_MS, *, title: str = "") -> bytes:
    """The steps of ``view`` as a looping animated GIF on the theme's background (a GIF has
    no partial transparency); the first and last frames are held for HOLD_FRAME_MS, the
    steps between them for ``frame_ms``."""
    frames = [_pil_image(frame) for frame in animation_frames(view, scale, caption, title=title)]
    durations = [frame_ms] * len(frames)
    durations[0] = durations[-1] = max(frame_ms, HOLD_FRAME_MS)
    output = io.BytesIO()
    frames[0].save(output, format="GIF", save_all=True, append_images=frames[1:],
                   duration=durations, loop=0, optimize=False, disposal=1)
    return output.getvalue()


def export_animation_gif(view: AnimatedFigureLike, path: str | os.PathLike[str], scale: int = 1,
                         caption: bool | str = False, frame_ms: int = DEFAULT_FRAME_MS, *,
                         title: str = "") -> Path:
    """Write the animation of ``view`` (one frame per ``set_shift_step(k)``) to ``path``."""
    path = Path(path)
    try:
        validate_scale(scale)
    except ValueError as error:
        raise ExportError(path, str(error)) from error
    return write_rendered(path, lambda: render_animation_gif(view, scale, caption, frame_ms, title=title))


def export_animation_frames(view: AnimatedFigureLike, folder: str | os.PathLike[str], scale: int = 1,
                            caption: bool | str = False, *, title: str = "",
                            background: str = "theme") -> list[Path]:
    """Write the steps of ``view`` as numbered PNGs (:func:`frame_file_name`) into
    ``folder``; on failure no frame of this call is left behind."""
    folder = Path(folder)
    try:
        validate_scale(scale)
        images = animation_frames(view, scale, caption, title=title, background=background)
    except ValueError as error:
        raise ExportError(folder, str(error)) from error
    except Exception as error:
        raise ExportError(folder, f"rendering failed: {error}") from error
    written: list[Path] = []
    try:
        for number, image in enumerate(images, start=1):
            path = folder / frame_file_name(view.figure_name, number, len(images))
            written.append(write_atomic(path, [encode_image(image, "png")]))
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    return written


render_shift_gif = render_animation_gif
"""The cyclic-shift GIF (an older name of :func:`render_animation_gif`)."""
export_shift_gif = export_animation_gif
"""Write the cyclic-shift GIF (an older name of :func:`export_animation_gif`)."""
export_shift_frames = export_animation_frames
"""Write the cyclic-shift frames (an older name of :func:`export_animation_frames`)."""
