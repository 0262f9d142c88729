"""Model configuration: field names follow the official Microsoft Swin code."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["PRESET_NAMES", "SwinConfig", "preset"]


@dataclass(frozen=True)
class SwinConfig:
    """Hyper-parameters of a Swin Transformer V1.

    ``img_size`` is the nominal input side (the model itself accepts any size);
    ``shifted=False`` turns every block into plain W-MSA for comparison.
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "depths", tuple(int(d) for d in self.depths))
        object.__setattr__(self, "num_heads", tuple(int(h) for h in self.num_heads))
        for name in ("img_size", "patch_size", "in_chans", "embed_dim", "window_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.num_classes, int) or self.num_classes < 0:
            raise ValueError(f"num_classes must be an integer >= 0, got {self.num_classes!r}")
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
        if not self.mlp_ratio > 0:
            raise ValueError(f"mlp_ratio must be > 0, got {self.mlp_ratio!r}")

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
