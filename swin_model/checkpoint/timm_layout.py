"""The timm >= 0.9 layout: patch merging at the START of the next stage
(``layers.{i+1}.downsample.*`` for the official ``layers.{i}.downsample.*``, which turns the
stage-i features of C channels into 2C) and the head under ``head.fc.*``."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

import torch

from .common import Converted, StateDict
from .key_rules import KeyRule, rename_keys

__all__ = ["OFFICIAL_TO_TIMM", "TIMM_TO_OFFICIAL", "is_timm", "official_to_timm", "timm_to_official"]

_DOWNSAMPLE = re.compile(r"^layers\.(\d+)\.downsample\.(.+)$")

TIMM_TO_OFFICIAL: tuple[KeyRule, ...] = (
    KeyRule.of(r"layers\.(?P<stage>0*[1-9]\d*)\.downsample\.(?P<rest>.+)",
               "layers.{stage}.downsample.{rest}", stage_shift=-1),
    KeyRule.of(r"head\.fc\.(?P<rest>.*)", "head.{rest}"),
)
OFFICIAL_TO_TIMM: tuple[KeyRule, ...] = (
    KeyRule.of(r"layers\.(?P<stage>\d+)\.downsample\.(?P<rest>.+)",
               "layers.{stage}.downsample.{rest}", stage_shift=1),
    KeyRule.of(r"head\.(?P<rest>.*)", "head.fc.{rest}"),
)


def is_timm(keys: Collection[str]) -> bool:
    """A ``head.fc.*`` key, or patch merging that never sits in stage 0."""
    if any(key.startswith("head.fc.") for key in keys):
        return True
    merging_stages = {int(m.group(1)) for key in keys if (m := _DOWNSAMPLE.match(key))}
    return bool(merging_stages) and 0 not in merging_stages


def timm_to_official(state: Mapping[str, torch.Tensor]) -> Converted:
    """``state`` renamed by :data:`TIMM_TO_OFFICIAL`: the merging of timm stage i+1, a norm
    (4C,) and a reduction (2C, 4C), becomes the one ending official stage i; tensors unchanged."""
    return rename_keys(state, TIMM_TO_OFFICIAL)


def official_to_timm(state: Mapping[str, torch.Tensor]) -> StateDict:
    """``state`` renamed by :data:`OFFICIAL_TO_TIMM`, the inverse of :func:`timm_to_official`."""
    return rename_keys(state, OFFICIAL_TO_TIMM).state
