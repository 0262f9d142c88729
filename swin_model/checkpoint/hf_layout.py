"""The HF transformers layout: names under an optional ``swin.`` prefix and separate q, k, v
projections, fused here into the official ``attn.qkv`` with rows in q, k, v order. Both the
4.x naming (``attention.self.query``, ``intermediate.dense`` ...) and the 5.x naming
(``attention.q_proj``, ``mlp.fc1`` ...) are read."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

import torch

from .common import CheckpointError, Converted, StateDict
from .key_rules import KeyRule, is_derived, rename_key

__all__ = ["HF_QKV_RULES", "HF_TO_OFFICIAL", "hf_to_official", "is_hf"]

_PREFIX = r"(?:swin\.)?"
_STAGE = _PREFIX + r"encoder\.layers\.(?P<stage>\d+)\."
_BLOCK = _STAGE + r"blocks\.(?P<block>\d+)\."
_OFFICIAL_BLOCK = "layers.{stage}.blocks.{block}."

_HF_TOP_LEVEL = (
    ("embeddings.patch_embeddings.projection.", "patch_embed.proj."),
    ("embeddings.norm.", "patch_embed.norm."),
    ("layernorm.", "norm."),
    ("classifier.", "head."),
)
_HF_BLOCK_PARTS = (
    ("layernorm_before.", "norm1."),
    ("layernorm_after.", "norm2."),
    ("attention.self.relative_position_bias_table", "attn.relative_position_bias_table"),
    ("attention.relative_position_bias.relative_position_bias_table", "attn.relative_position_bias_table"),
    ("attention.output.dense.", "attn.proj."),
    ("attention.o_proj.", "attn.proj."),
    ("intermediate.dense.", "mlp.fc1."),
    ("output.dense.", "mlp.fc2."),
    ("mlp.fc1.", "mlp.fc1."),
    ("mlp.fc2.", "mlp.fc2."),
)
_HF_QKV_PARTS = {
    "attention.self.query.": 0, "attention.self.key.": 1, "attention.self.value.": 2,
    "attention.q_proj.": 0, "attention.k_proj.": 1, "attention.v_proj.": 2,
}
_QKV_NAMES = ("query", "key", "value")

HF_TO_OFFICIAL: tuple[KeyRule, ...] = (
    *(KeyRule.of(_PREFIX + re.escape(hf) + "(?P<rest>.*)", official + "{rest}")
      for hf, official in _HF_TOP_LEVEL),
    KeyRule.of(_STAGE + r"downsample\.(?P<rest>.+)", "layers.{stage}.downsample.{rest}"),
    *(KeyRule.of(_BLOCK + re.escape(hf) + "(?P<rest>.*)", _OFFICIAL_BLOCK + official + "{rest}")
      for hf, official in _HF_BLOCK_PARTS),
)
"""Every HF key with an official counterpart of its own, to that counterpart."""

HF_QKV_RULES: tuple[tuple[KeyRule, int], ...] = tuple(
    (KeyRule.of(_BLOCK + re.escape(hf) + "(?P<rest>.*)", _OFFICIAL_BLOCK + "attn.qkv.{rest}"), slot)
    for hf, slot in _HF_QKV_PARTS.items()
)
"""Every q, k or v projection key, to the fused key it becomes part of and its slot (0, 1, 2)."""


def is_hf(keys: Collection[str]) -> bool:
    """A patch-embedding key under HF's names."""
    return any(key.startswith(("swin.embeddings.", "embeddings.patch_embeddings.")) for key in keys)


def _hf_key_to_official(key: str) -> str | None:
    """The official name of an HF key; None if it is a q/k/v part or has no counterpart."""
    return rename_key(key, HF_TO_OFFICIAL)


def _qkv_slot(key: str) -> tuple[str, int] | None:
    """(fused official key, slot) of a q, k or v projection key; None for any other key."""
    return next(((fused, slot) for rule, slot in HF_QKV_RULES if (fused := rule.rename(key)) is not None),
                None)


def _fuse_qkv(fused: str, parts: Mapping[int, tuple[str, torch.Tensor]]) -> torch.Tensor:
    """The (3C, C) weight or (3C,) bias ``fused`` from the q, k and v parts by slot, each
    (source key, (C, C) or (C,) tensor), stacked in q, k, v order."""
    if len(parts) < 3:
        present = next(iter(parts.values()))[0]
        absent = [name for slot, name in enumerate(_QKV_NAMES) if slot not in parts]
        raise CheckpointError(f"{present} has no matching {'/'.join(absent)} projection; "
                              f"q, k and v must all be present to build {fused}")
    pieces = [parts[slot][1] for slot in range(3)]
    if len({piece.shape for piece in pieces}) != 1:
        shapes = ", ".join(f"{parts[slot][0]} {tuple(parts[slot][1].shape)}" for slot in range(3))
        raise CheckpointError(f"q, k and v projections differ in shape: {shapes}")
    return torch.cat(pieces, dim=0)


def hf_to_official(state: Mapping[str, torch.Tensor]) -> Converted:
    """``state`` renamed by :data:`HF_TO_OFFICIAL`, with every block's q, k, v projections,
    (C, C) weights and (C,) biases, fused into ``attn.qkv`` (3C, C) and (3C,). Keys without
    an official counterpart are kept as they are, to be reported as unexpected."""
    converted: StateDict = {}
    sources: dict[str, str] = {}
    qkv_parts: dict[str, dict[int, tuple[str, torch.Tensor]]] = {}
    for original, value in state.items():
        if is_derived(original):
            continue
        new_key = _hf_key_to_official(original)
        if new_key is None:
            if qkv := _qkv_slot(original):
                fused, slot = qkv
                qkv_parts.setdefault(fused, {})[slot] = (original, value)
                continue
            new_key = original
        converted[new_key] = value
        if new_key != original:
            sources[new_key] = original
    for fused, parts in qkv_parts.items():
        converted[fused] = _fuse_qkv(fused, parts)
        sources[fused] = " + ".join(parts[slot][0] for slot in range(3))
    return Converted(converted, sources)

