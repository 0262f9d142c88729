"""What the user chose, and the immutable messages exchanged with the model worker.

Pure data: no Qt, no torch at import time (the window must appear before torch loads).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["ExplorerState", "InferenceRequest", "InferenceResult"]


@dataclass(frozen=True)
class ExplorerState:
    """The explorer's current choices. ``stage``, ``block`` and ``head`` are 0-based here
    (the spin boxes show stage 1-4). ``query`` is a (row, col) token of the selected stage's
    grid; ``window`` is the row-major index of the selected window in that stage."""

    model_name: str = "swin-t"
    img_size: int = 224
    window_size: int = 7
    shifted: bool = True
    stage: int = 0
    block: int = 1
    head: int = 0
    window: int = 0
    query: tuple[int, int] = (0, 0)
    checkpoint_path: str | None = None

    def replace(self, **changes: Any) -> ExplorerState:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class InferenceRequest:
    """One model run: ``pixels`` is the normalised input, float32 (3, img_size, img_size).
    ``capture`` is the (stage, block) whose attention is recorded."""

    request_id: int
    state: ExplorerState
    pixels: np.ndarray = field(repr=False)
    capture: tuple[int, int]


@dataclass(frozen=True)
class InferenceResult:
    """The answer to request ``request_id``. On failure ``error`` holds a message and the
    other fields are empty. ``attention`` is (num_windows, heads, N, N) of the captured
    block, ``record_meta`` its stage, block, window and shift sizes and padded grid."""

    request_id: int
    state: ExplorerState
    error: str | None = None
    top_classes: tuple[tuple[int, float], ...] = ()
    trained_head: bool = False
    attention: np.ndarray | None = field(default=None, repr=False)
    mask: np.ndarray | None = field(default=None, repr=False)
    record_meta: dict[str, Any] = field(default_factory=dict)
    measured_macs: int | None = None
    elapsed_seconds: float = 0.0
