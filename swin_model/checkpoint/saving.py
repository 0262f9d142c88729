"""Writing a SwinTransformer's weights in the official or the timm layout."""

from __future__ import annotations

from pathlib import Path

import torch

from ..model import SwinTransformer
from .layouts import from_official

__all__ = ["save_official", "save_timm"]


def save_official(model: SwinTransformer, path: str | Path) -> None:
    """Write ``{"model": state_dict}`` with torch.save, as the official releases do."""
    torch.save({"model": from_official(model.state_dict(), "official")}, Path(path))


def save_timm(model: SwinTransformer, path: str | Path) -> None:
    """Write the weights in the timm >= 0.9 layout: a bare state dict via torch.save, or a
    safetensors file when ``path`` ends in ``.safetensors``."""
    state = {key: value.contiguous() for key, value in from_official(model.state_dict(), "timm").items()}
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path), metadata={"format": "pt"})
    else:
        torch.save(state, path)
