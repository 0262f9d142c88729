"""The official Microsoft layout, the one ``SwinTransformer`` uses: every key as it is."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import torch

from .common import Converted, StateDict
from .key_rules import KeyRule, rename_keys

__all__ = ["OFFICIAL_RULES", "is_official", "official_from_official", "official_to_official"]

OFFICIAL_RULES: tuple[KeyRule, ...] = ()


def is_official(keys: Collection[str]) -> bool:
    """Any keys may be official: the layout to fall back on when no other one is recognised."""
    return True


def official_to_official(state: Mapping[str, torch.Tensor]) -> Converted:
    """``state`` without derived buffers; no key is renamed and every tensor is kept as is."""
    return rename_keys(state, OFFICIAL_RULES)


def official_from_official(state: Mapping[str, torch.Tensor]) -> StateDict:
    """``state`` without derived buffers, ready to be written."""
    return rename_keys(state, OFFICIAL_RULES).state
