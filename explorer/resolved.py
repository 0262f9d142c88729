"""Everything derived from one :class:`~explorer.state.ExplorerState`, computed once.

:func:`resolve` turns what the user chose into what every part of the explorer needs: the
model configuration, the geometry of every stage, the stage, block, head, window and query
clamped to that geometry, the selected block's effective window and shift, and the key
that says whether a new model run is needed. The controller resolves each change once and
hands the result to the views; the command line resolves its arguments the same way.

Pure: numpy-free geometry from :mod:`swin_model.windows`, no Qt, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from swin_model.config import SwinConfig
from swin_model.windows import StageGeometry, stage_geometry

from .state import ExplorerState, input_shape, model_config, window_index

__all__ = [
    "CAPTURE_FIELDS",
    "MODEL_FIELDS",
    "RUN_FIELDS",
    "ResolvedState",
    "model_label",
    "resolve",
    "settle",
]

MODEL_FIELDS: tuple[str, ...] = ("model_name", "img_size", "img_shape", "window_size", "shifted",
                                 "checkpoint_path", "checkpoint_config")
"""State fields that choose the model and its input: changing one needs a new model run."""
CAPTURE_FIELDS: tuple[str, ...] = ("stage", "block")
"""State fields that choose the block whose attention is shown. A run records every block
when they fit its memory budget; then a change of these needs no new run."""
RUN_FIELDS: tuple[str, ...] = MODEL_FIELDS + CAPTURE_FIELDS
"""Every field whose change can need a new model run (head, window and query never do: a
recorded block's attention holds every head, window and query)."""


def model_label(state: ExplorerState) -> str:
    """ "Swin-T" for "swin-t"; a checkpoint's file name when one is loaded."""
    if state.checkpoint_path:
        return state.checkpoint_path.replace("\\", "/").rsplit("/", 1)[-1]
    name = state.model_name
    return "Swin-" + name.split("-", 1)[1].upper() if name.lower().startswith("swin-") else name


def _clamp(value: int, low: int, high: int) -> int:
    return min(max(value, low), high)


@dataclass(frozen=True)
class ResolvedState:
    """One state with everything derived from it. ``state`` is the clamped state: its
    stage, block, head and query lie inside the geometry and its window is a
    non-negative index."""

    state: ExplorerState
    config: SwinConfig
    geometries: tuple[StageGeometry, ...]

    @property
    def image_size(self) -> int:
        """The input's longer side (its side, for the usual square input)."""
        return self.state.img_size

    @property
    def image_shape(self) -> tuple[int, int]:
        """The model input's (height, width) in pixels."""
        return input_shape(self.state)

    @property
    def image_height(self) -> int:
        return self.image_shape[0]

    @property
    def image_width(self) -> int:
        return self.image_shape[1]

    def input_text(self) -> str:
        """The input size for captions: "224×224", or "168×224 (H×W)" when not square."""
        height, width = self.image_shape
        return f"{height}×{width}" + (" (H×W)" if height != width else "")

    @property
    def stage(self) -> int:
        return self.state.stage

    @property
    def geometry(self) -> StageGeometry:
        """The selected stage's geometry (effective window, shift, padded grid)."""
        return self.geometries[self.state.stage]

    @property
    def block(self) -> int:
        return self.state.block

    @property
    def head(self) -> int:
        return self.state.head

    @property
    def window(self) -> int:
        return self.state.window

    @property
    def query(self) -> tuple[int, int]:
        return self.state.query

    @property
    def window_size(self) -> int:
        """The selected stage's effective window (it shrinks to a small stage's grid)."""
        return self.geometry.window_size

    @property
    def shift(self) -> int:
        """The shift of the selected block (0 for W-MSA blocks)."""
        return self.geometry.block_shift(self.state.block)

    @property
    def model_key(self) -> tuple[Any, ...]:
        """The values of :data:`MODEL_FIELDS`: two states with the same key share a model run."""
        return tuple(getattr(self.state, name) for name in MODEL_FIELDS)

    @property
    def capture_key(self) -> tuple[int, int]:
        """The (stage, block) whose attention is shown."""
        return (self.state.stage, self.state.block)

    def block_kind(self) -> str:
        return "SW-MSA" if self.shift else "W-MSA"

    def no_shift_reason(self) -> str:
        """Why the selected block does not shift (for a W-MSA block), in plain words."""
        geometry = self.geometry
        if not self.config.shifted:
            return "shifted windows are switched off"
        if geometry.shift_size == 0:
            return (
                f"stage {geometry.stage + 1} never shifts (its {geometry.height}×{geometry.width} "
                f"map is no larger than the window)"
            )
        return f"block {self.block + 1} is W-MSA (blocks 2, 4, … shift)"

    def shift_hint(self) -> str:
        """What to change to see a shifted block, or "" when nothing would."""
        geometry = self.geometry
        if not self.config.shifted:
            return "Tick “Shifted windows” to see the nine regions."
        if geometry.shift_size == 0:
            shifting = [g.stage + 1 for g in self.geometries if g.shift_size]
            return f"Pick stage {shifting[-1]} or earlier to see a shift." if shifting else ""
        if geometry.depth < 2:
            return ""
        shifted_block = self.block + 1 if self.block + 1 < geometry.depth else self.block - 1
        return f"Pick block {shifted_block + 1} (SW-MSA) to see the nine regions."

    def caption_parts(self, *, block: bool = True, head: bool = False) -> list[str]:
        """Model, input size, stage, block, window and shift, as caption pieces."""
        geometry = self.geometry
        parts = [
            model_label(self.state),
            f"input {self.input_text()}",
            f"stage {self.stage + 1}/{len(self.geometries)}",
        ]
        if block:
            parts.append(f"block {self.block + 1}/{geometry.depth} ({self.block_kind()})")
        if head:
            parts.append(f"head {self.head + 1}/{geometry.num_heads}")
        parts.append(f"M = {geometry.window_size}")
        parts.append(f"shift {self.shift}" if block else f"shift {geometry.shift_size}")
        return parts


@lru_cache(maxsize=64)
def resolve(state: ExplorerState) -> ResolvedState:
    """``state`` with its config and per-stage geometry, every index clamped to it.

    States are immutable, so asking again for the same state returns the same object."""
    config = model_config(state)
    geometries = tuple(stage_geometry(config, *input_shape(state)))
    stage = _clamp(state.stage, 0, len(geometries) - 1)
    geometry = geometries[stage]
    row, col = state.query
    clamped = state.replace(
        stage=stage,
        block=_clamp(state.block, 0, geometry.depth - 1),
        head=_clamp(state.head, 0, geometry.num_heads - 1),
        window=window_index(state.window, geometry.num_windows),
        query=(_clamp(row, 0, geometry.height - 1), _clamp(col, 0, geometry.width - 1)),
    )
    return ResolvedState(state=clamped, config=config, geometries=geometries)


def settle(old: ExplorerState, new: ExplorerState) -> ResolvedState:
    """Resolve ``new``, reached from ``old`` by one change.

    When the stage or the input size changes and the query does not, the query follows
    the same image point to the new grid (each merge halves it). A new grid of windows
    (another stage, input size or M) starts on the bottom-right window, where a shift's
    four regions meet."""
    old_stage = resolve(old).stage
    stage = _clamp(new.stage, 0, len(resolve(new).geometries) - 1)
    query = new.query
    old_shape, new_shape = input_shape(old), input_shape(new)
    if new.query == old.query and (stage != old_stage or new_shape != old_shape):
        merges = 2.0 ** (old_stage - stage)
        query = (int(query[0] * merges * new_shape[0] / old_shape[0]),
                 int(query[1] * merges * new_shape[1] / old_shape[1]))
    same_grid = (stage, new_shape, new.window_size) == (old_stage, old_shape, old.window_size)
    return resolve(new.replace(stage=stage, query=query, window=new.window if same_grid else -1))
