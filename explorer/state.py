"""What the user chose, and the immutable messages exchanged with the model worker.

Pure data: no Qt, no torch at import time (the window must appear before torch loads).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from swin_model.config import SwinConfig, preset
from swin_model.windows import config_at_window

__all__ = [
    "CAPTURE_BUDGET_BYTES",
    "DEFAULT_NUMBERING",
    "MAX_IMAGE_SIZE",
    "MAX_WINDOW_SIZE",
    "MIN_IMAGE_SIZE",
    "MIN_WINDOW_SIZE",
    "NUMBERINGS",
    "PAPER_SETTINGS",
    "PAPER_TOY_SETTINGS",
    "CapturedBlock",
    "ExplorerState",
    "InferenceRequest",
    "InferenceResult",
    "Numbering",
    "RecordMeta",
    "aspect_shape",
    "input_shape",
    "model_config",
    "window_index",
]

Numbering = Literal["official", "lecture", "both"]
NUMBERINGS: tuple[Numbering, ...] = ("official", "lecture", "both")
"""The region numberings a figure can show: the official code's ``img_mask`` numbers (on the
rolled grid), the lecture's (on the original grid), or both (each grid in its own)."""
DEFAULT_NUMBERING: Numbering = "both"

MIN_IMAGE_SIZE = 32
MAX_IMAGE_SIZE = 1536
MIN_WINDOW_SIZE = 2
MAX_WINDOW_SIZE = 32


@dataclass(frozen=True)
class ExplorerState:
    """The explorer's current choices. ``stage``, ``block`` and ``head`` are 0-based here
    (the spin boxes show stage 1-4). ``query`` is a (row, col) token of the selected stage's
    grid; ``window`` is the row-major index of the selected window in that stage, negative
    values counting from the end (the default -1 is the bottom-right window, where the
    four regions of a shifted block meet).
    ``checkpoint_config`` is the layout read from the checkpoint at ``checkpoint_path`` (at
    its trained window), None for a preset. ``numbering`` names the regions' numbering the
    figures show: "official" (the official img_mask, on the rolled grid), "lecture" (the
    lecture's, on the original grid) or "both" (each on its own grid).
    ``img_shape`` is the model input's (height, width) when it is not ``img_size`` square:
    with ``keep_aspect`` the controller sets it from the photo's aspect ratio (the longer
    side ``img_size``, see :func:`aspect_shape`); the command line's ``--img-size W×H`` sets
    it directly. ``img_size`` is then the longer side."""

    model_name: str = "swin-t"
    img_size: int = 224
    window_size: int = 7
    shifted: bool = True
    stage: int = 0
    block: int = 1
    head: int = 0
    window: int = -1
    query: tuple[int, int] = (0, 0)
    checkpoint_path: str | None = None
    checkpoint_config: SwinConfig | None = None
    numbering: Numbering = DEFAULT_NUMBERING
    keep_aspect: bool = False
    img_shape: tuple[int, int] | None = None

    def replace(self, **changes: Any) -> ExplorerState:
        return dataclasses.replace(self, **changes)


PAPER_SETTINGS: dict[str, Any] = {
    "model_name": "swin-t", "img_size": 224, "window_size": 7, "shifted": True, "stage": 0, "block": 1,
    "head": 0, "window": -1, "checkpoint_path": None, "checkpoint_config": None,
    "keep_aspect": False, "img_shape": None,
}
"""The paper's main setting: Swin-T at 224×224 with M = 7, shifted windows, the first
shifted block."""
PAPER_TOY_SETTINGS: dict[str, Any] = {**PAPER_SETTINGS, "img_size": 32, "window_size": 4}
"""The toy grid of the paper's figures: 8×8 tokens in stage 1, 2×2 windows of M = 4,
shifted by 2."""


def aspect_shape(source_size: tuple[int, int], longer_side: int) -> tuple[int, int]:
    """The (height, width) of a model input that keeps the aspect ratio of a
    ``source_size`` = (width, height) image: the longer side ``longer_side``, the other
    scaled to match (rounded, at least 1 px). The model pads it to the patch and the window
    where it does not divide, as it pads any size."""
    width, height = source_size
    if width < 1 or height < 1:
        raise ValueError(f"an image size must be positive, got {width}×{height}")
    if width >= height:
        return max(1, round(longer_side * height / width)), longer_side
    return longer_side, max(1, round(longer_side * width / height))


def input_shape(state: ExplorerState) -> tuple[int, int]:
    """The model input's (height, width) in pixels for ``state``."""
    return state.img_shape if state.img_shape is not None else (state.img_size, state.img_size)


def window_index(window: int, num_windows: int) -> int:
    """``window`` as an index in 0 .. num_windows - 1: negative values count from the end,
    anything out of range is clamped."""
    if window < 0:
        window += num_windows
    return min(max(window, 0), num_windows - 1)


def model_config(state: ExplorerState) -> SwinConfig:
    """The configuration of the model ``state`` describes, at the state's input size, window
    and shift: the checkpoint's own layout when one is chosen (its bias tables resized to the
    state's window when that differs from the trained one), else the named preset with the
    state's window size."""
    if state.checkpoint_config is not None:
        at_window = config_at_window(state.checkpoint_config, state.window_size)
        return at_window.replace(img_size=state.img_size, shifted=state.shifted)
    return preset(state.model_name, img_size=state.img_size, window_size=state.window_size,
                  shifted=state.shifted)


CAPTURE_BUDGET_BYTES = 1 << 30
"""A run records every block's attention when that fits in this many bytes (Swin-T at
1536 px takes about 0.4 GB); above it only the selected block is recorded."""


@dataclass(frozen=True)
class InferenceRequest:
    """One model run: ``pixels`` is the normalised input, float32 (3, H, W) with (H, W)
    :func:`input_shape` of ``state``.
    ``capture`` is the (stage, block) whose attention is recorded; with ``capture_all``
    every block's is, when the estimate stays within ``capture_budget`` bytes."""

    request_id: int
    state: ExplorerState
    pixels: np.ndarray = field(repr=False)
    capture: tuple[int, int]
    capture_all: bool = True
    capture_budget: int = CAPTURE_BUDGET_BYTES


@dataclass(frozen=True)
class RecordMeta:
    """Where a captured block's attention comes from: its 0-based ``stage`` and ``block``,
    the effective ``window_size`` and ``shift_size`` the block used, the stage's token grid
    ``grid_size`` (rows, cols) and that grid padded to the window, ``padded_size``."""

    stage: int
    block: int
    window_size: int
    shift_size: int
    grid_size: tuple[int, int]
    padded_size: tuple[int, int]


@dataclass(frozen=True)
class CapturedBlock:
    """One block's recorded attention: ``attention`` float32 (num_windows, heads, N, N),
    ``mask`` float32 (num_windows, N, N) for a shifted block (None otherwise)."""

    attention: np.ndarray = field(repr=False)
    mask: np.ndarray | None = field(repr=False)
    meta: RecordMeta


@dataclass(frozen=True)
class InferenceResult:
    """The answer to request ``request_id``. On failure ``error`` holds a message and the
    other fields are empty. ``attention`` is (num_windows, heads, N, N) of the block that
    ``state`` selects, ``mask`` its mask and ``record_meta`` where it comes from (None when
    nothing was captured). ``captured`` holds every block the run recorded, by (stage,
    block): all of them, unless they would not fit the request's capture budget.
    ``capture_note`` says which blocks were recorded and why."""

    request_id: int
    state: ExplorerState
    error: str | None = None
    top_classes: tuple[tuple[int, float], ...] = ()
    trained_head: bool = False
    attention: np.ndarray | None = field(default=None, repr=False)
    mask: np.ndarray | None = field(default=None, repr=False)
    record_meta: RecordMeta | None = None
    measured_macs: int | None = None
    elapsed_seconds: float = 0.0
    captured: Mapping[tuple[int, int], CapturedBlock] = field(default_factory=dict, repr=False)
    capture_note: str = ""
    non_finite: str | None = None
    bias_tables: Mapping[tuple[int, int], np.ndarray] = field(default_factory=dict, repr=False)
    """Each block's relative position bias table as trained, float32 ((2M−1)², heads), by
    (stage, block)."""
    trained_window: int | None = None
    """The window the loaded weights were trained at, when the model resized their bias
    tables (bicubically, as the official code does) to the state's window; None otherwise."""
    """When the logits hold a NaN or an infinity: where the forward pass first produced
    one, e.g. "stage 2, block 1 (attention)"; None when the logits are finite."""

    def for_state(self, state: ExplorerState) -> InferenceResult | None:
        """This run seen from ``state``: the same prediction with the attention of the block
        ``state`` selects, or None when the run did not record that block or ran another
        model or input."""
        from .resolved import MODEL_FIELDS

        if self.error or any(getattr(self.state, name) != getattr(state, name) for name in MODEL_FIELDS):
            return None
        block = self.captured.get((state.stage, state.block))
        if block is None:
            return None
        return dataclasses.replace(self, state=state, attention=block.attention, mask=block.mask,
                                   record_meta=block.meta)
