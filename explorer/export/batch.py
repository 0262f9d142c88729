"""Writing figure files: one figure to one file, or every figure in every format into a
folder (plus the GIF of each animated figure) as one all-or-nothing set, with progress
reports.

Rendering happens in memory (:mod:`.rendering`, :mod:`.animation`); writing is atomic
(:mod:`.atomic`). Bad options and failures raise :class:`~.atomic.ExportError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from explorer.figures import animated_figures

from .animation import animation_file_name, export_animation_gif
from .atomic import ExportError, ensure_folder, write_file_set, write_rendered
from .options import FORMATS, parse_formats, validate_background, validate_scale
from .painting import FigureLike
from .rendering import render_figure

__all__ = [
    "ProgressCallback",
    "export_all",
    "export_figure",
    "figure_file_names",
]

ProgressCallback = Callable[[int, int, str], None]
"""``progress(done, total, file_name)``, called after each file is written."""


def export_figure(view: FigureLike, path: str | os.PathLike[str], scale: int = 1,
                  caption: bool | str = False, fmt: str | None = None, *, title: str = "",
                  background: str = "theme") -> Path:
    """Write ``view`` to ``path``; the format is ``fmt`` or the file's extension."""
    path = Path(path)
    try:
        chosen = parse_formats(fmt or path.suffix)[0]
        validate_scale(scale)
        validate_background(background)
    except ValueError as error:
        raise ExportError(path, str(error)) from error
    return write_rendered(path, lambda: render_figure(view, chosen, scale, caption, title=title,
                                                      background=background))


def _planned_files(figure_names: Iterable[str], formats: Sequence[str],
                   with_gif: bool) -> list[tuple[str, str, str | None]]:
    """``(file name, figure name, format)`` of each file, in writing order: every figure
    in every format, then the GIF (format None) of each animated figure when ``with_gif``."""
    names = tuple(figure_names)
    files: list[tuple[str, str, str | None]] = [
        (f"{figure}.{fmt}", figure, fmt) for figure in names for fmt in formats]
    if with_gif:
        files.extend((animation_file_name(spec.name), spec.name, None) for spec in animated_figures(names))
    return files


def figure_file_names(figure_names: Iterable[str], formats: Sequence[str],
                      with_gif: bool = True) -> list[str]:
    """The files :func:`export_all` writes for these figures, in writing order."""
    return [file_name for file_name, _, _ in _planned_files(figure_names, formats, with_gif)]


def export_all(views: Mapping[str, Any], folder: str | os.PathLike[str],
               formats: Sequence[str] = FORMATS, scale: int = 1, caption: bool | str = False,
               with_gif: bool = True, progress: ProgressCallback | None = None,
               staged: bool = True, *, title: str = "", background: str = "theme") -> list[Path]:
    """Write every view in ``views`` (figure name -> view) in every format into ``folder``
    as ``<figure>.<format>``, plus ``<figure>.gif`` for each animated figure among them
    when ``with_gif``. Returns the paths in the order of :func:`figure_file_names`. ``title``
    and ``background`` apply to every file (the GIF keeps the theme's background).

    The set is all or nothing (``staged``, the default): the files are written into a
    staging folder and moved into ``folder`` once every one of them is written, so a
    failure or an interruption (also one raised by ``progress``) leaves ``folder`` as it
    was, not even created. Other files already in ``folder`` stay; same-named ones are
    replaced at the end. ``staged=False`` writes straight into ``folder`` (for a caller
    that stages a larger set itself, see :func:`~.atomic.write_file_set`)."""
    formats = parse_formats(formats)
    validate_scale(scale)
    validate_background(background)
    planned = _planned_files(views, formats, with_gif)

    def write(target: Path) -> list[Path]:
        written: list[Path] = []
        for file_name, figure, fmt in planned:
            path = target / file_name
            if fmt is None:
                written.append(export_animation_gif(views[figure], path, scale, caption, title=title))
            else:
                written.append(export_figure(views[figure], path, scale, caption, fmt, title=title,
                                             background=background))
            if progress is not None:
                progress(len(written), len(planned), file_name)
        return written

    if staged:
        return write_file_set(folder, write)
    folder = Path(folder)
    ensure_folder(folder)
    return write(folder)
