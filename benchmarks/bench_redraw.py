"""Redraw time of every figure view after a control change, at input 224.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_redraw.py [--repeats 30] [--size 224]

For each view and each control change (stage, block, window, query, ...), the view is
first drawn in state A, then ``update_state`` alternates between states A and B; the
median and the 90th percentile of the ``update_state`` calls are printed in milliseconds.
"update+paint" adds the synchronous repaint of the shown view's viewport (offscreen
platform, the view's own antialiasing), i.e. the frame the user waits for, measured the same
way. The target is 16 ms (one frame) for update plus paint.

(Painting the scene into a plain ``QImage.Format_ARGB32`` image instead, as an earlier
version did, costs several ms more: that non-premultiplied format is a slow path that a
window's backing store never takes.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pyqtgraph as pg

from explorer.figures import FIGURES
from explorer.state import ExplorerState, InferenceResult, RecordMeta
from swin_model.windows import stage_geometry

FRAME_MS = 16.0


@dataclass(frozen=True)
class Prepared:
    display: np.ndarray
    pixels: np.ndarray


def control_changes(base: ExplorerState) -> dict[str, tuple[ExplorerState, ExplorerState]]:
    """Pairs of states that differ in one control."""
    return {
        "stage 1↔2": (base.replace(stage=0), base.replace(stage=1)),
        "block 1↔2": (base.replace(block=0), base.replace(block=1)),
        "window": (base.replace(window=7), base.replace(window=63)),
        "query": (base.replace(query=(10, 10)), base.replace(query=(50, 3))),
        "shift on↔off": (base.replace(shifted=True), base.replace(shifted=False)),
    }


def synthetic_result(state: ExplorerState) -> InferenceResult:
    """A result shaped like the model's for ``state`` (softmax rows of random logits)."""
    from explorer.state import model_config

    geometry = stage_geometry(model_config(state), state.img_size, state.img_size)[state.stage]
    n = geometry.tokens_per_window
    logits = np.random.default_rng(0).normal(size=(geometry.num_windows, geometry.num_heads, n, n))
    attention = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return InferenceResult(
        request_id=1,
        state=state,
        attention=attention.astype(np.float32),
        record_meta=RecordMeta(
            stage=state.stage,
            block=state.block,
            window_size=geometry.window_size,
            shift_size=geometry.block_shift(state.block),
            grid_size=(geometry.height, geometry.width),
            padded_size=(geometry.padded_height, geometry.padded_width),
        ),
    )


def time_changes(
    view,
    first: ExplorerState,
    second: ExplorerState,
    prepared: Prepared,
    repeats: int,
    paint: bool,
    result: bool,
) -> list[float]:
    results = {id(state): synthetic_result(state) for state in (first, second)} if result else {}
    viewport = view.render_target().viewport()
    samples = []
    for index in range(repeats + 2):
        state = first if index % 2 == 0 else second
        start = time.perf_counter()
        view.update_state(state, prepared)
        if result:
            view.update_result(results[id(state)])
        if paint:
            viewport.repaint()
        elapsed = (time.perf_counter() - start) * 1000
        if index >= 2:  # the first two build caches for both states
            samples.append(elapsed)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args(argv)
    app = pg.mkQApp()
    rng = np.random.default_rng(0)
    prepared = Prepared(
        display=rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8),
        pixels=np.zeros((3, args.size, args.size), dtype=np.float32),
    )
    base = ExplorerState(img_size=args.size, stage=0, block=1)
    print(f"update_state after one control change, input {args.size}, median of {args.repeats} (p90), ms")
    print(f"{'view':<13} {'change':<13} {'update':>14} {'update+paint':>16}")
    worst: dict[str, float] = {}
    for spec in FIGURES:
        name, view = spec.name, spec.create()
        view.resize(900, 700)
        view.show()
        app.processEvents()
        for change, (first, second) in control_changes(base).items():
            with_result = name == "attention" and change in ("query", "window")
            update = time_changes(
                view, first, second, prepared, args.repeats, paint=False, result=with_result
            )
            painted = time_changes(
                view, first, second, prepared, args.repeats, paint=True, result=with_result
            )
            median = statistics.median(update)
            p90 = sorted(update)[int(0.9 * (len(update) - 1))]
            with_paint = statistics.median(painted)
            worst[name] = max(worst.get(name, 0.0), with_paint)
            print(f"{name:<13} {change:<13} {median:>7.2f} ({p90:5.2f}) {with_paint:>10.2f}")
        view.close()
    print()
    over = [name for name, ms in worst.items() if ms > FRAME_MS]
    summary = ", ".join(f"{name} {ms:.1f}" for name, ms in worst.items())
    print(f"slowest change per view (median ms, update+paint): {summary}")
    print("all within one 16 ms frame" if not over else f"over 16 ms: {', '.join(over)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
