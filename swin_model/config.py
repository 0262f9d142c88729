"""Model configuration: field names follow the official Microsoft Swin code."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["PRESET_NAMES", "SwinConfig", "preset"]


@dataclass(frozen=True)
class SwinConfig:
    """Hyper-parameters of a Swin Transformer V1.

    ``img_size`` is the nominal input side (the model itself accepts any size);
    ``shifted=False`` turns every block into plain W-MSA for comparison.

    ``stage_window_sizes`` is the window each stage is built with, when it is not
    ``window_size`` everywhere (None): the official code builds a stage whose grid at
    ``img_size`` is no larger than M with window min(M, grid) and a bias table of that side,
    and a checkpoint made that way loads with these windows. Integer fields take ints only
    (not bools or floats); a wrong type raises TypeError, a value out of range ValueError,
    both naming the field.
    """

    img_size: int = 224
    patch_size: int = 4
    in_chans: int = 3
    num_classes: int = 1000
    embed_dim: int = 96
    depths: tuple[int, ...] = (2, 2, 6, 2)
    num_heads: tuple[int, ...] = (3, 6, 12, 24)
    window_size: int = 7
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    shifted: bool = True
    stage_window_sizes: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("img_size", "patch_size", "in_chans", "embed_dim", "window_size"):
            value = _integer(getattr(self, name), name)
            if value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
            object.__setattr__(self, name, value)
        num_classes = _integer(self.num_classes, "num_classes")
        if num_classes < 0:
            raise ValueError(f"num_classes must be an integer >= 0, got {num_classes!r}")
        object.__setattr__(self, "num_classes", num_classes)
        object.__setattr__(self, "depths", _integers(self.depths, "depths"))
        object.__setattr__(self, "num_heads", _integers(self.num_heads, "num_heads"))
        for name in ("qkv_bias", "shifted"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if isinstance(self.mlp_ratio, bool) or not isinstance(self.mlp_ratio, numbers.Real):
            raise TypeError(f"mlp_ratio must be a number, got {self.mlp_ratio!r}")
        mlp_ratio = float(self.mlp_ratio)
        if not (math.isfinite(mlp_ratio) and mlp_ratio > 0):
            raise ValueError(f"mlp_ratio must be finite and > 0, got {self.mlp_ratio!r}")
        object.__setattr__(self, "mlp_ratio", mlp_ratio)
        if not self.depths:
            raise ValueError("depths must name at least one stage")
        if any(d < 1 for d in self.depths):
            raise ValueError(f"depths must all be >= 1, got {self.depths}")
        if len(self.num_heads) != len(self.depths):
            raise ValueError(
                f"num_heads must have one entry per stage ({len(self.depths)}), got {self.num_heads}"
            )
        if any(h < 1 for h in self.num_heads):
            raise ValueError(f"num_heads must all be >= 1, got {self.num_heads}")
        for stage, heads in enumerate(self.num_heads):
            dim = self.stage_dim(stage)
            if dim % heads:
                raise ValueError(
                    f"embed_dim: stage {stage + 1} has {dim} channels, "
                    f"not divisible by num_heads[{stage}] = {heads}"
                )
        self._check_stage_windows()

    def _check_stage_windows(self) -> None:
        if self.stage_window_sizes is None:
            return
        stage_windows = _integers(self.stage_window_sizes, "stage_window_sizes")
        if len(stage_windows) != len(self.depths):
            raise ValueError(f"stage_window_sizes must have one entry per stage ({len(self.depths)}), "
                             f"got {stage_windows}")
        if any(not 1 <= window <= self.window_size for window in stage_windows):
            raise ValueError(f"stage_window_sizes must lie in 1..window_size = {self.window_size}, "
                             f"got {stage_windows}")
        uniform = all(window == self.window_size for window in stage_windows)
        object.__setattr__(self, "stage_window_sizes", None if uniform else stage_windows)

    @property
    def num_stages(self) -> int:
        return len(self.depths)

    def stage_dim(self, stage: int) -> int:
        """Channels C of stage ``stage`` (0-based): embed_dim doubled at every merge."""
        return self.embed_dim << stage

    @property
    def num_features(self) -> int:
        return self.stage_dim(self.num_stages - 1)

    @property
    def shift_size(self) -> int:
        """Nominal shift of the odd blocks, M // 2 (0 when ``shifted`` is off)."""
        return self.window_size // 2 if self.shifted else 0

    def stage_window(self, stage: int) -> int:
        """The window stage ``stage`` (0-based) is built with, and the side of its bias tables:
        ``window_size`` unless ``stage_window_sizes`` says otherwise."""
        if self.stage_window_sizes is None:
            return self.window_size
        return self.stage_window_sizes[stage]

    def stage_shift(self, stage: int) -> int:
        """Nominal shift of the odd blocks of stage ``stage``: half its window (0 unshifted)."""
        return self.stage_window(stage) // 2 if self.shifted else 0

    def replace(self, **changes: Any) -> SwinConfig:
        return dataclasses.replace(self, **changes)


_PRESETS: dict[str, dict[str, object]] = {
    "swin-t": {"embed_dim": 96, "depths": (2, 2, 6, 2), "num_heads": (3, 6, 12, 24)},
    "swin-s": {"embed_dim": 96, "depths": (2, 2, 18, 2), "num_heads": (3, 6, 12, 24)},
    "swin-b": {"embed_dim": 128, "depths": (2, 2, 18, 2), "num_heads": (4, 8, 16, 32)},
    "swin-l": {"embed_dim": 192, "depths": (2, 2, 18, 2), "num_heads": (6, 12, 24, 48)},
}
PRESET_NAMES: tuple[str, ...] = tuple(_PRESETS)


def preset(name: str, **overrides: object) -> SwinConfig:
    """The official configuration ``name`` (swin-t/s/b/l), with fields overridden.

    The official 384 models pair ``img_size=384`` with ``window_size=12``.
    """
    key = name.lower().replace("_", "-")
    if key not in _PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")
    fields: dict[str, Any] = {**_PRESETS[key], **overrides}
    return SwinConfig(**fields)


def _integer(value: object, name: str) -> int:
    """``value`` as an int; TypeError naming ``name`` for a bool, a float or a non-number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    return int(value)


def _integers(values: object, name: str) -> tuple[int, ...]:
    """``values``, a list or tuple (any iterable but a string) of integers, as a tuple of ints."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of integers, got {values!r}")
    items = tuple(values)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise TypeError(f"{name} must hold integers only, got {item!r} in {items!r}")
    return tuple(int(item) for item in items)
