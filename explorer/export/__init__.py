"""Figure export: render a figure view's scene to PNG, SVG, PDF, GIF or the clipboard.

Every format paints the same picture: the visible part of the view's QGraphicsScene, on
the view's background (or transparent), with an optional title above and caption
underneath; SVG and PDF stay vector.
Rendering happens in memory; writing is atomic, so a failed export leaves neither a
partial file nor a temporary one. Failures raise :class:`ExportError`, whose message names
the path and the cause.

The modules, one job each:

- :mod:`.options`: formats, PNG scale, background and the page options, checked;
- :mod:`.painting`: one page (scene, background, caption) painted with any QPainter;
- :mod:`.rendering`: a figure as a QImage, PNG, SVG or PDF bytes, or on the clipboard;
- :mod:`.atomic`: atomic file writing, folder checks, :class:`ExportError`;
- :mod:`.animation`: the frames of an animated figure, as a GIF or numbered PNGs;
- :mod:`.batch`: one figure to a file, every figure into a folder;
- :mod:`.offscreen`: laying a view out without a window.

Every public name is available here: ``from explorer import export; export.render_svg``.
"""

from __future__ import annotations

from .animation import (
    DEFAULT_FRAME_MS,
    HOLD_FRAME_MS,
    SHIFT_FRAMES_DIR,
    SHIFT_GIF_NAME,
    AnimatedFigureLike,
    animation_file_name,
    animation_frames,
    export_animation_frames,
    export_animation_gif,
    export_shift_frames,
    export_shift_gif,
    frame_file_name,
    frames_folder_name,
    render_animation_gif,
    render_shift_gif,
)
from .atomic import ExportError, write_atomic
from .batch import ProgressCallback, export_all, export_figure, figure_file_names
from .offscreen import OFFSCREEN_FIGURE_SIZE, prepare_offscreen
from .options import (
    BACKGROUNDS,
    DEFAULT_WIDTH,
    FORMATS,
    MAX_SCALE,
    THEMES,
    ExportOptions,
    parse_formats,
    validate_background,
    validate_scale,
)
from .painting import FigureLike
from .rendering import (
    copy_to_clipboard,
    render_figure,
    render_image,
    render_pdf,
    render_png,
    render_svg,
)

__all__ = [
    "BACKGROUNDS",
    "DEFAULT_FRAME_MS",
    "DEFAULT_WIDTH",
    "FORMATS",
    "HOLD_FRAME_MS",
    "MAX_SCALE",
    "OFFSCREEN_FIGURE_SIZE",
    "SHIFT_FRAMES_DIR",
    "SHIFT_GIF_NAME",
    "THEMES",
    "AnimatedFigureLike",
    "ExportError",
    "ExportOptions",
    "FigureLike",
    "ProgressCallback",
    "animation_file_name",
    "animation_frames",
    "copy_to_clipboard",
    "export_all",
    "export_animation_frames",
    "export_animation_gif",
    "export_figure",
    "export_shift_frames",
    "export_shift_gif",
    "figure_file_names",
    "frame_file_name",
    "frames_folder_name",
    "parse_formats",
    "prepare_offscreen",
    "render_animation_gif",
    "render_figure",
    "render_image",
    "render_pdf",
    "render_png",
    "render_shift_gif",
    "render_svg",
    "validate_background",
    "validate_scale",
    "write_atomic",
]
