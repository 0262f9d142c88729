"""The key layouts as a table: recognising one from key names and converting between it
and the official layout. The tensors themselves are unchanged but for HF's fused q, k, v."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import torch

from .common import Converted, StateDict
from .hf_layout import hf_to_official, is_hf
from .official_layout import is_official, official_from_official, official_to_official
from .timm_layout import is_timm, official_to_timm, timm_to_official

__all__ = ["FORMATS", "Layout", "convert_to_official", "detect_format", "from_official", "to_official"]


@dataclass(frozen=True)
class Layout:
    """A key layout: whether key names look like it, and the conversions from it to the
    official layout and (when it can be written) back."""

    name: str
    recognises: Callable[[Collection[str]], bool]
    to_official: Callable[[Mapping[str, torch.Tensor]], Converted]
    from_official: Callable[[Mapping[str, torch.Tensor]], StateDict] | None = None


_OFFICIAL = Layout("official", is_official, official_to_official, official_from_official)
_TIMM = Layout("timm", is_timm, timm_to_official, official_to_timm)
_HF = Layout("hf", is_hf, hf_to_official)

_LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (_OFFICIAL, _TIMM, _HF)}
_DETECTION_ORDER: tuple[Layout, ...] = (_HF, _TIMM, _OFFICIAL)
"""The first layout that recognises the keys is theirs; the official one recognises any."""

FORMATS: tuple[str, ...] = tuple(_LAYOUTS)
"""Key layouts understood by :func:`to_official`."""


def detect_format(state: Mapping[str, torch.Tensor]) -> str:
    """"official", "timm" or "hf", from the key names alone."""
    keys = list(state)
    return next(layout.name for layout in _DETECTION_ORDER if layout.recognises(keys))


def convert_to_official(state: Mapping[str, torch.Tensor], fmt: str | None) -> Converted:
    """``state`` in the official layout with where its renamed keys came from; ``fmt`` is
    detected when None."""
    fmt = detect_format(state) if fmt is None else fmt
    if fmt not in _LAYOUTS:
        raise ValueError(f"unknown checkpoint layout {fmt!r}; choose one of {', '.join(FORMATS)}")
    return _LAYOUTS[fmt].to_official(state)


def to_official(state: Mapping[str, torch.Tensor], fmt: str | None = None) -> StateDict:
    """A state dict in layout ``fmt`` (detected when None) in the official key layout, with
    derived buffers dropped. Keys that have no official counterpart are kept unchanged."""
    return convert_to_official(state, fmt).state


def from_official(state: Mapping[str, torch.Tensor], fmt: str) -> StateDict:
    """An official-layout state dict in layout ``fmt`` ("official" or "timm"), without
    derived buffers."""
    layout = _LAYOUTS.get(fmt)
    if layout is None or layout.from_official is None:
        writable = " or ".join(repr(name) for name, known in _LAYOUTS.items() if known.from_official)
        raise ValueError(f"cannot write the {fmt!r} layout; choose {writable}")
    return layout.from_official(state)
