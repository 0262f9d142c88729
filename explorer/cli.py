"""The command line: write figures without opening a window, print the cost table.

    python main.py export IMAGE --out DIR [options]   every figure, one file per format
    python main.py flops [--model NAME] [options]     the per-stage cost table

Qt runs headless here: ``QT_QPA_PLATFORM`` is set to ``offscreen`` before Qt is imported
(unless a platform is already chosen), and ``flops`` never imports Qt at all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from explorer.cli_weights import (
    add_weights_option,
    add_weights_parser,
    checkpoint_for_weights,
    config_for_weights,
    run_weights,
)
from explorer.figures import FIGURE_NAMES, FIGURES, animated_figures
from explorer.numbers import si
from explorer.state import DEFAULT_NUMBERING, MAX_WINDOW_SIZE, MIN_WINDOW_SIZE, NUMBERINGS, PAPER_TOY_SETTINGS
from explorer.state import MAX_IMAGE_SIZE as MAX_IMG_SIZE
from explorer.state import MIN_IMAGE_SIZE as MIN_IMG_SIZE
from swin_model.config import PRESET_NAMES

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "CliError", "build_parser", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
"""An export that failed while running (model error, rendering or writing failure)."""
EXIT_USAGE = 2
"""Bad command line or bad input: unknown option or model, out-of-range stage, block,
head or query, a missing or broken image or checkpoint, an unwritable output folder."""

PROG = "python main.py"
DEFAULT_WINDOW_SIZE = 7
DEFAULT_IMG_SIZE = 224

DESCRIPTION = """\
Swin Explorer: an interactive explorer of the Swin Transformer (patches, M×M windows,
the cyclic shift and its nine regions, the attention mask, real attention maps, patch
merging and cost).

  python main.py               open the explorer window on a bundled photo
  python main.py IMAGE         open the explorer window on IMAGE
  python main.py export ...    write figures without opening a window
  python main.py flops ...     print the per-stage cost table

Run 'python main.py export --help' or 'python main.py flops --help' for the options."""

EXPORT_DESCRIPTION = """\
{first_paragraph}

Stage, block and head are 1-based, as in the explorer's spin boxes (stage 1-4 for the
presets; block 1 to the stage's depth, even blocks use shifted windows; head 1 to the
stage's number of heads). --query is a 0-based ROW,COL token of the chosen stage's grid
and --window a 0-based row-major window index (negative counts from the end).

Exit status: 0 on success, 2 for a bad command line or bad input (missing or broken
image or checkpoint, unknown model, stage/block/head/window/query out of range, bad format,
scale outside 1-4, unwritable output folder), 1 when the export fails while running."""
EXPORT_DESCRIPTION = EXPORT_DESCRIPTION.format(first_paragraph=textwrap.fill(
    "Write every figure of the explorer for IMAGE into DIR without opening a window: one file per "
    f"figure and format, named {', '.join(FIGURE_NAMES[:-1])} and {FIGURE_NAMES[-1]} (for example "
    "DIR/mask.svg), plus "
    + " and ".join(f"DIR/{spec.name}.gif, the animated {spec.title.lower()}" for spec in animated_figures())
    + ". The model runs once (random weights seeded with 0 for a preset, or the weights of "
    "--checkpoint) to fill the figures that show its output ("
    + ", ".join(spec.name for spec in FIGURES if spec.needs_model)
    + "), and not at all when --figures leaves them out. Progress goes to stderr.", width=89))

FLOPS_DESCRIPTION = """\
Print the analytic cost of one forward pass per stage, in the style of the Swin paper:
resolution h×w, channels C, window M (the window actually used: it shrinks to the grid
when the grid is no larger than M), shift, depth, the lecture's Ω(MSA) = 4hwC² + 2(hw)²C
and Ω(W-MSA) = 4hwC² + 2M²hwC of one attention layer, the stage's multiply-accumulates
(MACs, the official flops() convention, patch merging at the end of the stage included),
FLOPs (2 per MAC) and parameters. Swin-T at 224 with M = 7 is 4.49 G MACs."""


class CliError(Exception):
    """A problem reported as one line ``error: <message>`` and exit status ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line instead of exiting with the usage."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    return value


def _input_size(text: str) -> int | tuple[int, int]:
    """``--img-size``: a side N (a square input), or W×H (also WxH): (height, width)."""
    parts = text.strip().lower().replace("×", "x").split("x")
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or W×H in whole pixels, got {text!r}") from None
    if len(numbers) == 1:
        return numbers[0]
    if len(numbers) == 2:
        width, height = numbers
        return height, width
    raise argparse.ArgumentTypeError(f"expected N or W×H in whole pixels, got {text!r}")


def _view_option(text: str) -> tuple[str, str, str]:
    """``--view FIGURE.NAME=VALUE``: (figure, name, value)."""
    target, equals, value = text.partition("=")
    figure, dot, name = target.partition(".")
    if not (equals and dot and figure and name and value):
        raise argparse.ArgumentTypeError(f"expected FIGURE.NAME=VALUE, got {text!r}")
    if figure not in FIGURE_NAMES:
        raise argparse.ArgumentTypeError(f"unknown figure {figure!r} in {text!r}")
    return figure, name, value


def _output_folder(text: str) -> Path:
    """``--out``: an empty name would silently mean the working directory."""
    if not text:
        raise argparse.ArgumentTypeError("the output folder must not be empty")
    return Path(text)


MODEL_NAMES = PRESET_NAMES
BACKGROUNDS = ("theme", "transparent")
"""``--background`` choices: explorer.export.BACKGROUNDS (not imported: that loads Qt)."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python main.py`` with its ``export`` and ``flops`` subcommands."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog=PROG, description=DESCRIPTION, formatter_class=formatter)
    commands = parser.add_subparsers(dest="command", metavar="{export,flops,weights}", parser_class=_Parser)
    models = ", ".join(MODEL_NAMES)

    export = commands.add_parser("export", help="write figures for an image without opening a window",
                                 description=EXPORT_DESCRIPTION, formatter_class=formatter)
    export.add_argument("image", metavar="IMAGE", help="the input photo (any format Pillow reads)")
    export.add_argument("--out", metavar="DIR", required=True, type=_output_folder,
                        help="output folder (created if missing)")
    source = export.add_mutually_exclusive_group()
    source.add_argument("--model", metavar="NAME", default="swin-t",
                        help=f"preset with random weights seeded with 0: {models} (default swin-t)")
    source.add_argument("--checkpoint", metavar="PATH",
                        help="weights to load: official .pth, timm or Hugging Face safetensors")
    add_weights_option(source)
    _add_config_options(export)
    export.add_argument("--keep-aspect", action="store_true",
                        help="keep the image's aspect ratio: its longer side becomes --img-size N and "
                             "the other is scaled to match (the model pads it), as the explorer's "
                             "“Keep aspect ratio”")
    export.add_argument("--stage", metavar="S", type=_positive_int, default=1,
                        help="stage, 1-based (1-4 for the presets; default 1)")
    export.add_argument("--block", metavar="B", type=_positive_int, default=2,
                        help="block in the stage, 1-based (default 2, the first shifted block)")
    export.add_argument("--head", metavar="H", type=_positive_int, default=1,
                        help="attention head, 1-based (default 1)")
    export.add_argument("--window", type=int, metavar="W", default=-1,
                        help="window whose mask is shown, 0-based row-major index in the stage; "
                             "negative counts from the end (default -1: the bottom-right window, "
                             "where a shifted block's four regions meet)")
    export.add_argument("--query", metavar="ROW,COL", default="0,0",
                        help="query token, 0-based row and column in the stage's grid (default 0,0)")
    export.add_argument("--format", metavar="LIST", default="png,svg,pdf",
                        help="comma-separated formats among png, svg, pdf (default png,svg,pdf)")
    export.add_argument("--scale", metavar="K", type=_positive_int, default=1,
                        help="PNG and GIF scale 1-4: K × 1200 pixels wide (default 1)")
    export.add_argument("--theme", choices=("screen", "slide"), default="screen",
                        help="screen: as the explorer shows it; slide: white background, large fonts "
                             "(default screen)")
    export.add_argument("--caption", metavar="TEXT", nargs="?", const=True, default=True,
                        help="a caption under each figure: TEXT, or without TEXT the figure's settings "
                             "(model, stage, block, head, M, shift, input size) (default: the settings)")
    export.add_argument("--no-caption", dest="caption", action="store_const", const=False,
                        help="no caption under the figures")
    export.add_argument("--title", metavar="TEXT", default="",
                        help="a title above each figure (default none)")
    export.add_argument("--background", choices=BACKGROUNDS, default="theme",
                        help="theme: the theme's opaque background; transparent: none (PNG with alpha, "
                             "no background shape in SVG and PDF; the GIF keeps the theme's) "
                             "(default theme)")
    export.add_argument("--figures", metavar="LIST", default=",".join(FIGURE_NAMES),
                        help=f"comma-separated figures among {', '.join(FIGURE_NAMES)} (default all)")
    export.add_argument("--numbering", choices=NUMBERINGS, default=DEFAULT_NUMBERING,
                        help="how the shift regions are numbered: the official img_mask numbers on the "
                             "rolled grid, the lecture's on the original grid, or both (default both)")
    export.add_argument("--gif", action=argparse.BooleanOptionalAction, default=True,
                        help="also write each animated figure as a GIF (default on)")
    export.add_argument("--frames", action="store_true",
                        help="also write each animated figure as numbered PNG frames into "
                             + " and ".join(f"DIR/{spec.name}-frames/" for spec in animated_figures()))
    export.add_argument("--view", metavar="FIGURE.NAME=VALUE", action="append", default=[],
                        type=_view_option,
                        help="a figure's own switch, as in the explorer (repeatable): "
                             "architecture.split=paper|code, attention.rollout=on|off, "
                             "cyclic-shift.step=N|end (the step of the roll the PNG shows)")

    flops = commands.add_parser("flops", help="print the per-stage cost table",
                                description=FLOPS_DESCRIPTION, formatter_class=formatter)
    flops.add_argument("--model", metavar="NAME", default="swin-t", help=f"{models} (default swin-t)")
    _add_config_options(flops)
    flops.add_argument("--json", action="store_true",
                       help="print one JSON object (total_macs, total_flops, params, stages) instead")
    add_weights_option(flops)
    add_weights_parser(commands)
    return parser


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--img-size", metavar="N|W×H", type=_input_size, default=DEFAULT_IMG_SIZE,
                        help=f"input size in pixels, each side {MIN_IMG_SIZE}-{MAX_IMG_SIZE}: N for a "
                             f"square N×N input (default {DEFAULT_IMG_SIZE}), or width×height such as "
                             "320×224 (also 320x224); the model pads a side to the patch and the window")
    parser.set_defaults(img_shape=None)
    parser.add_argument("--window-size", metavar="M", type=_positive_int, default=None,
                        help=f"window side M in tokens, {MIN_WINDOW_SIZE}-{MAX_WINDOW_SIZE} (default "
                             f"{DEFAULT_WINDOW_SIZE}, or the checkpoint's own)")
    parser.add_argument("--no-shift", dest="shifted", action="store_false",
                        help="use plain W-MSA in every block (no shifted windows)")
    parser.add_argument("--paper", action="store_true",
                        help=f"the toy grid of the paper's figures: input {PAPER_TOY_SETTINGS['img_size']} "
                             f"px (8×8 tokens in stage 1) and M = {PAPER_TOY_SETTINGS['window_size']}, "
                             "shift 2")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (without the program name); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # --help
            return int(stop.code or 0)
        if args.command == "flops":
            return _run_flops(args)
        if args.command == "export":
            return _run_export(args)
        if args.command == "weights":
            return run_weights(args)
        parser.print_help()
        return EXIT_OK
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `python main.py flops | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


# --- shared validation ----------------------------------------------------------------------

def _config(args: argparse.Namespace) -> Any:
    """The preset configuration named on the command line, validated."""
    from swin_model.config import preset

    _check_sizes(args)
    if getattr(args, "weights", None):
        return config_for_weights(args)
    if args.window_size is None:
        args.window_size = DEFAULT_WINDOW_SIZE
    try:
        return preset(args.model, img_size=args.img_size, window_size=args.window_size,
                      shifted=args.shifted)
    except ValueError as error:
        raise CliError(str(error)) from None


def _check_sizes(args: argparse.Namespace) -> None:
    """Validate the sizes; afterwards ``args.img_size`` is the input's longer side and
    ``args.img_shape`` its (height, width) when not square (else None)."""
    if args.paper:
        if args.img_size != DEFAULT_IMG_SIZE or args.window_size is not None:
            raise CliError("--paper sets the input size and M: leave out --img-size and --window-size")
        args.img_size, args.window_size = PAPER_TOY_SETTINGS["img_size"], PAPER_TOY_SETTINGS["window_size"]
        args.paper = False
    if isinstance(args.img_size, tuple):
        height, width = args.img_size
        if not (MIN_IMG_SIZE <= height <= MAX_IMG_SIZE and MIN_IMG_SIZE <= width <= MAX_IMG_SIZE):
            sides = f"{MIN_IMG_SIZE}-{MAX_IMG_SIZE}"
            raise CliError(f"--img-size: each side must be {sides}, got {width}×{height}")
        args.img_size, args.img_shape = max(height, width), (None if height == width else (height, width))
    if not MIN_IMG_SIZE <= args.img_size <= MAX_IMG_SIZE:
        raise CliError(f"--img-size must be {MIN_IMG_SIZE}-{MAX_IMG_SIZE}, got {args.img_size}")
    if args.window_size is not None and not MIN_WINDOW_SIZE <= args.window_size <= MAX_WINDOW_SIZE:
        raise CliError(f"--window-size must be {MIN_WINDOW_SIZE}-{MAX_WINDOW_SIZE}, got {args.window_size}")


# --- flops ----------------------------------------------------------------------------------

def _cost_summary(args: argparse.Namespace) -> dict[str, Any]:
    from swin_model.flops import count_macs, stage_params

    config = _config(args)
    height, width = args.img_shape or (args.img_size, args.img_size)
    report = count_macs(config, height, width)
    stages = []
    for stage, params in zip(report.stages, stage_params(config), strict=True):
        stages.append({
            "stage": stage.stage + 1,
            "height": stage.height,
            "width": stage.width,
            "padded_height": stage.padded_height,
            "padded_width": stage.padded_width,
            "channels": stage.channels,
            "num_heads": stage.num_heads,
            "window_size": stage.window_size,
            "shift_size": stage.shift_size,
            "depth": stage.depth,
            "num_windows": stage.num_windows,
            "msa_omega": stage.msa_omega,
            "wmsa_omega": stage.wmsa_omega,
            "merging_macs": stage.merging,
            "macs": stage.macs,
            "flops": 2 * stage.macs,
            "params": params,
        })
    return {
        "model": args.model.lower(),
        "img_size": args.img_size,
        "img_height": height,
        "img_width": width,
        "window_size": args.window_size,
        "shifted": args.shifted,
        "total_macs": report.total,
        "total_flops": report.flops,
        "params": report.params,
        "patch_embed_macs": report.patch_embed,
        "final_norm_macs": report.final_norm,
        "head_macs": report.head,
        "by_part": report.by_part(),
        "stages": stages,
    }


def _cost_table(summary: dict[str, Any]) -> str:
    headers = ("stage", "h×w", "C", "heads", "M", "shift", "depth", "Ω(MSA)", "Ω(W-MSA)",
               "MACs", "FLOPs", "params")
    rows = [headers]
    for stage in summary["stages"]:
        rows.append((
            str(stage["stage"]), f"{stage['height']}×{stage['width']}", str(stage["channels"]),
            str(stage["num_heads"]), str(stage["window_size"]), str(stage["shift_size"]),
            str(stage["depth"]), si(stage["msa_omega"]), si(stage["wmsa_omega"]),
            si(stage["macs"]), si(stage["flops"]), si(stage["params"]),
        ))
    other_macs = summary["patch_embed_macs"] + summary["final_norm_macs"] + summary["head_macs"]
    other_params = summary["params"] - sum(stage["params"] for stage in summary["stages"])
    rows.append(("embed+head", "", "", "", "", "", "", "", "", si(other_macs), si(2 * other_macs),
                 si(other_params)))
    rows.append(("total", "", "", "", "", "", "", "", "", si(summary["total_macs"]),
                 si(summary["total_flops"]), si(summary["params"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        cells = [row[0].ljust(widths[0]), *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:],
                                                                                    strict=True))]
        return "  ".join(cells).rstrip()

    shift = "shifted windows" if summary["shifted"] else "no shift"
    title = (f"{summary['model']} at {summary['img_height']}×{summary['img_width']}, M = "
             f"{summary['window_size']}, {shift}: {summary['total_macs']:,} MACs "
             f"({si(summary['total_macs'])}), {summary['params']:,} parameters")
    rule = "-" * len(line(headers))
    notes = ("Ω(MSA), Ω(W-MSA): one attention layer of the stage (MACs). MACs, FLOPs: the whole "
             "stage,\nits patch merging included; FLOPs = 2 × MACs.")
    return "\n".join([title, rule, line(headers), rule, *(line(row) for row in rows[1:-1]), rule,
                      line(rows[-1]), "", notes])


def _run_flops(args: argparse.Namespace) -> int:
    summary = _cost_summary(args)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(_cost_table(summary))
    return EXIT_OK


# --- export ---------------------------------------------------------------------------------

def _parse_query(text: str) -> tuple[int, int]:
    parts = text.replace(" ", "").split(",")
    try:
        row, col = (int(part) for part in parts)
    except ValueError:
        raise CliError(f"--query must be ROW,COL (two whole numbers), got {text!r}") from None
    return row, col


def _parse_figures(text: str) -> tuple[str, ...]:
    """``"mask,cost"`` as registry names in registry order; unknown names are an error."""
    chosen = {name.strip().lower() for name in text.split(",") if name.strip()}
    unknown = sorted(chosen - set(FIGURE_NAMES))
    if unknown or not chosen:
        given = ", ".join(unknown) if unknown else "none"
        raise CliError(f"--figures: unknown figure {given}; choose from {', '.join(FIGURE_NAMES)}")
    return tuple(name for name in FIGURE_NAMES if name in chosen)


def _check_output_folder(folder: Path) -> None:
    """Fail early (before the model runs) when ``folder`` cannot be created or written;
    nothing is created here (the files appear together once all are written)."""
    from explorer.export.atomic import ExportError, check_folder

    try:
        check_folder(folder)
    except ExportError as error:
        raise CliError(f"cannot write to the output folder {folder}: {error.cause}") from None


class _DeferredInterrupt:
    """While active, Ctrl-C (SIGINT) only sets :attr:`requested`; :meth:`check` raises
    KeyboardInterrupt at a safe point (between two files). A KeyboardInterrupt raised
    inside Qt's C++ painting, which calls Python overrides, can crash the process. The
    previous handler is restored on exit."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _DeferredInterrupt:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._note)
        return self

    def __exit__(self, *_exc: object) -> None:
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _note(self, _signum: int, _frame: Any) -> None:
        self.requested = True

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt


def _use_offscreen_qt() -> Any:
    """A headless QApplication (QT_QPA_PLATFORM=offscreen unless a platform is set)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    qInstallMessageHandler(_qt_message)
    app = QApplication.instance()
    return app if app is not None else QApplication([PROG])


_QUIET_QT_MESSAGES = ("does not support propagateSizeHints",)
"""Qt's offscreen platform warns about what only a real window would do."""


def _qt_message(_kind: Any, _context: Any, message: str) -> None:
    if not any(text in message for text in _QUIET_QT_MESSAGES):
        print(message, file=sys.stderr, flush=True)


def _progress(done: int, total: int, name: str) -> None:
    print(f"[{done}/{total}] {name}", file=sys.stderr, flush=True)


def _run_export(args: argparse.Namespace) -> int:
    from explorer import export as figure_export

    if args.weights:
        args.checkpoint = checkpoint_for_weights(args.weights)

    try:
        formats = figure_export.parse_formats(args.format)
    except ValueError as error:
        raise CliError(f"--format: {error}") from None
    try:
        figure_export.validate_scale(args.scale)
    except ValueError as error:
        raise CliError(f"--scale: {error}") from None
    page = {"title": args.title, "background": figure_export.validate_background(args.background)}
    query = _parse_query(args.query)
    figures = _parse_figures(args.figures)
    _check_sizes(args)
    _check_output_folder(args.out)
    from swin_model.preprocess import ImageLoadError, load_image, prepare

    try:
        image = load_image(args.image)
    except ImageLoadError as error:
        raise CliError(str(error)) from None
    if args.keep_aspect:
        if args.img_shape is not None:
            raise CliError("--keep-aspect takes the shape from the image: give --img-size as one side N")
        from explorer.state import aspect_shape

        shape = aspect_shape(image.size, args.img_size)
        args.img_shape = None if shape[0] == shape[1] else shape
    height, width = args.img_shape or (args.img_size, args.img_size)
    prepared = prepare(image, (height, width))
    plan = _plan_export(args, query)

    result = None
    if any(spec.needs_model for spec in FIGURES if spec.name in figures):
        import torch  # noqa: F401  (before "running": Ctrl-C inside torch's import could half-load it)

        from explorer.inference import ModelCache, run_inference
        from explorer.state import InferenceRequest

        cache = ModelCache()
        if plan.checkpoint_model is not None:
            cache.add_checkpoint(plan.state.checkpoint_path, plan.checkpoint_model)
        print(f"running {plan.label} on {args.image} ({height}×{width}, H×W) ...",
              file=sys.stderr, flush=True)
        request = InferenceRequest(request_id=1, state=plan.state, pixels=prepared.pixels,
                                   capture=(plan.state.stage, plan.state.block))
        result = run_inference(request, cache)
        if result.error:
            raise CliError(result.error, EXIT_FAILED)

    from explorer.export.atomic import write_file_set

    with _DeferredInterrupt() as interrupt:
        _use_offscreen_qt()
        from explorer.figures import build_figures

        views = build_figures(plan.state, prepared, result, theme=args.theme, names=figures)
        for figure, name, value in args.view:
            if figure in views:
                try:
                    views[figure].set_view_option(name, value)
                except ValueError as error:
                    raise CliError(f"--view: {error}") from None
        for view in views.values():
            figure_export.prepare_offscreen(view)
        interrupt.check()

        def progress(done: int, total: int, name: str) -> None:
            _progress(done, total, name)
            interrupt.check()

        def write(stage: Path) -> list[Path]:
            """Every file of the export into ``stage``; moved into --out when all are written."""
            written = figure_export.export_all(views, stage, formats, args.scale, args.caption,
                                               with_gif=args.gif, progress=progress, staged=False, **page)
            for spec in animated_figures(figures) if args.frames else ():
                name = figure_export.frames_folder_name(spec.name)
                view = views[spec.name]
                if not isinstance(view, figure_export.AnimatedFigureLike):
                    raise CliError(f"the {spec.name} figure has no animation steps", EXIT_FAILED)
                frames = figure_export.export_shift_frames(view, stage / name, args.scale, args.caption,
                                                           **page)
                written.extend(frames)
                print(f"[frames] {len(frames)} PNG frames in {args.out / name}", file=sys.stderr, flush=True)
                interrupt.check()
            interrupt.check()
            return written

        try:
            written = write_file_set(args.out, write)
        except figure_export.ExportError as error:
            raise CliError(str(error), EXIT_FAILED) from None
    print(f"wrote {len(written)} files to {args.out}")
    return EXIT_OK


class _ExportPlan:
    """The explorer state the command line asks for, checked against the model."""

    def __init__(self, state: Any, label: str, checkpoint_model: Any = None) -> None:
        self.state = state
        self.label = label
        self.checkpoint_model = checkpoint_model


def _plan_export(args: argparse.Namespace, query: tuple[int, int]) -> _ExportPlan:
    from explorer.resolved import resolve
    from explorer.state import ExplorerState

    checkpoint_model = None
    if args.checkpoint:
        from swin_model.checkpoint import CheckpointError, load_checkpoint

        overrides: dict[str, Any] = {"shifted": args.shifted}
        if args.window_size is not None:
            overrides["window_size"] = args.window_size
        try:
            checkpoint_model = load_checkpoint(args.checkpoint, **overrides).eval()
        except (CheckpointError, OSError) as error:
            message = str(error)
            if str(args.checkpoint) not in message:
                message = f"{args.checkpoint}: {message}"
            raise CliError(f"bad checkpoint: {message}") from None
        config = checkpoint_model.config
        args.window_size = config.window_size
        model_name, label = Path(args.checkpoint).name, f"checkpoint {args.checkpoint}"
    else:
        config = _config(args)
        model_name = label = args.model.lower()
    checkpoint_path = str(Path(args.checkpoint).resolve()) if args.checkpoint else None
    requested = ExplorerState(model_name=model_name, img_size=args.img_size, window_size=args.window_size,
                              shifted=args.shifted, stage=args.stage - 1, block=args.block - 1,
                              head=args.head - 1, window=args.window, query=query,
                              checkpoint_path=checkpoint_path, numbering=args.numbering,
                              img_shape=args.img_shape, keep_aspect=args.keep_aspect,
                              checkpoint_config=None if checkpoint_model is None else config)
    resolved = resolve(requested)
    geometries, stage = resolved.geometries, args.stage
    if not 1 <= stage <= len(geometries):
        raise CliError(f"--stage must be 1-{len(geometries)}, got {stage}")
    stage_info = resolved.geometry
    if not 1 <= args.block <= stage_info.depth:
        raise CliError(f"--block must be 1-{stage_info.depth} for stage {stage}, got {args.block}")
    if not 1 <= args.head <= stage_info.num_heads:
        raise CliError(f"--head must be 1-{stage_info.num_heads} for stage {stage}, got {args.head}")
    row, col = query
    if not (0 <= row < stage_info.height and 0 <= col < stage_info.width):
        raise CliError(f"--query {row},{col} is outside stage {stage}'s {stage_info.height}×"
                       f"{stage_info.width} grid (rows 0-{stage_info.height - 1}, "
                       f"columns 0-{stage_info.width - 1})")
    if not -stage_info.num_windows <= args.window < stage_info.num_windows:
        raise CliError(f"--window must be 0-{stage_info.num_windows - 1} (or negative, counting "
                       f"from the end) for stage {stage}, got {args.window}")
    state = resolved.state
    return _ExportPlan(state, label, checkpoint_model)
