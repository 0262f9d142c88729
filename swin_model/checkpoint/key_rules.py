"""Renaming state-dict keys by tables of patterns, as timm's ``checkpoint_filter_fn`` does."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch

from .common import Converted, StateDict

__all__ = ["DERIVED_BUFFERS", "KeyRule", "is_derived", "rename_key", "rename_keys"]

DERIVED_BUFFERS = ("relative_position_index", "attn_mask")
"""Key endings of buffers computed from the geometry, never loaded."""


def is_derived(key: str) -> bool:
    """Whether ``key`` names a buffer the model computes itself (see :data:`DERIVED_BUFFERS`)."""
    return key.rsplit(".", 1)[-1] in DERIVED_BUFFERS


@dataclass(frozen=True)
class KeyRule:
    """Renames a key that ``pattern`` matches in full to ``template``, formatted with the
    pattern's named groups. A ``stage`` group is shifted by ``stage_shift`` when that is not 0."""

    pattern: re.Pattern[str]
    template: str
    stage_shift: int = 0

    @classmethod
    def of(cls, pattern: str, template: str, stage_shift: int = 0) -> KeyRule:
        """The rule for a ``pattern`` given as a regular expression string."""
        return cls(re.compile(pattern), template, stage_shift)

    def rename(self, key: str) -> str | None:
        """``key`` renamed; None when the pattern does not match all of it."""
        match = self.pattern.fullmatch(key)
        if match is None:
            return None
        groups = match.groupdict()
        if self.stage_shift and "stage" in groups:
            groups["stage"] = str(int(groups["stage"]) + self.stage_shift)
        return self.template.format(**groups)


def rename_key(key: str, rules: Iterable[KeyRule]) -> str | None:
    """``key`` renamed by the first rule that matches it; None when none does."""
    return next((renamed for rule in rules if (renamed := rule.rename(key)) is not None), None)


def rename_keys(state: Mapping[str, torch.Tensor], rules: Iterable[KeyRule]) -> Converted:
    """``state`` without derived buffers, every key renamed by the first rule that matches it
    and kept as it is when none does. The tensors are the same objects, shapes unchanged."""
    rules = tuple(rules)
    converted: StateDict = {}
    sources: dict[str, str] = {}
    for key, value in state.items():
        if is_derived(key):
            continue
        renamed = rename_key(key, rules)
        new_key = key if renamed is None else renamed
        converted[new_key] = value
        if new_key != key:
            sources[new_key] = key
    return Converted(converted, sources)
