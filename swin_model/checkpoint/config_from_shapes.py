"""The SwinConfig a state dict was made from, read off its tensor shapes."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

import torch

from ..config import SwinConfig
from .common import CheckpointError
from .layouts import convert_to_official

__all__ = ["DEFAULT_IMG_SIZE", "config_from_official", "config_from_state_dict"]

DEFAULT_IMG_SIZE = 224
"""The nominal input side when neither a ``config.json`` nor an override gives one."""

_BLOCK = re.compile(r"^layers\.(\d+)\.blocks\.(\d+)\.(.+)$")
_INFERRED_FIELDS = ("patch_size", "in_chans", "num_classes", "embed_dim", "depths", "num_heads",
                    "window_size", "mlp_ratio", "qkv_bias")


def config_from_state_dict(state: Mapping[str, torch.Tensor], **overrides: object) -> SwinConfig:
    """The SwinConfig that a state dict (any layout) was made from, read off tensor shapes:
    embed_dim, in_chans and patch_size from the patch-embedding convolution (C, in, p, p),
    depths from the block count of each stage, num_heads and window_size from each bias
    table ((2M-1)^2, heads), mlp_ratio from fc1 (ratio * C, C), qkv_bias from its presence,
    num_classes from the head (num_classes, C) (0 without one). ``img_size`` (224 unless
    overridden) and ``shifted`` are free; overriding a field read off the shapes with another
    value is an error."""
    return config_from_official(convert_to_official(state, None).state, overrides)


def config_from_official(state: Mapping[str, torch.Tensor], overrides: Mapping[str, object]) -> SwinConfig:
    """:func:`config_from_state_dict` of a state dict already in the official layout."""
    field_names = [f.name for f in dataclasses.fields(SwinConfig)]
    unknown = [name for name in overrides if name not in field_names]
    if unknown:
        raise CheckpointError(f"unknown override {unknown[0]!r}; SwinConfig fields are "
                              f"{', '.join(field_names)}")
    inferred, evidence = _infer_fields(state)
    for name, value in overrides.items():
        if name in inferred and not _same_value(value, inferred[name]):
            raise CheckpointError(f"{name}={value!r} disagrees with the checkpoint: "
                                  f"{evidence[name]} gives {name}={inferred[name]!r}")
    fields: dict[str, Any] = {"img_size": DEFAULT_IMG_SIZE, **overrides, **inferred}
    try:
        return SwinConfig(**fields)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"the checkpoint's shapes give an invalid configuration: {error}") from error


def _same_value(given: object, inferred: object) -> bool:
    """Whether an override equals a value read off the shapes: a list matches a tuple, a
    bool only a bool, a float within rounding."""
    if isinstance(inferred, tuple):
        return isinstance(given, list | tuple) and tuple(given) == inferred
    if isinstance(inferred, bool):
        return given is inferred
    if isinstance(inferred, float):
        return isinstance(given, int | float) and math.isclose(float(given), inferred)
    return given == inferred and not isinstance(given, bool)


def _require(state: Mapping[str, torch.Tensor], key: str, ndim: int) -> torch.Tensor:
    """``state[key]``, which must exist and have ``ndim`` dimensions."""
    if key not in state:
        raise CheckpointError(f"missing key {key!r}; is this a Swin Transformer V1 checkpoint?")
    tensor = state[key]
    if tensor.ndim != ndim:
        raise CheckpointError(f"key {key!r} has shape {tuple(tensor.shape)}, expected {ndim} dimensions")
    return tensor


def _infer_fields(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, object], dict[str, str]]:
    """({field: value read off the shapes}, {field: where it was read})."""
    proj = _require(state, "patch_embed.proj.weight", 4)
    embed_dim, in_chans, kernel_h, kernel_w = proj.shape
    if kernel_h != kernel_w:
        raise CheckpointError(f"patch_embed.proj.weight has a {kernel_h}x{kernel_w} kernel; "
                              f"only square patches are supported")
    depths = _block_counts(state)
    num_heads: list[int] = []
    window_sizes: list[tuple[int, str, int]] = []
    for stage in range(len(depths)):
        for block in range(depths[stage]):
            key = f"layers.{stage}.blocks.{block}.attn.relative_position_bias_table"
            table = _require(state, key, 2)
            side = math.isqrt(table.shape[0])
            if side * side != table.shape[0] or side % 2 == 0:
                raise CheckpointError(f"window_size: {key} has {table.shape[0]} rows, not (2M-1)^2 "
                                      f"for any window M")
            window_sizes.append(((side + 1) // 2, key, table.shape[0]))
            if block == 0:
                num_heads.append(int(table.shape[1]))
    window_size, table_key, rows = window_sizes[0]
    for other, key, other_rows in window_sizes:
        if other != window_size:
            raise CheckpointError(f"window_size differs between blocks: {table_key} has {rows} rows "
                                  f"(M={window_size}), {key} has {other_rows} rows (M={other}); "
                                  f"one window size for all stages is supported")
    fc1 = _require(state, "layers.0.blocks.0.mlp.fc1.weight", 2)
    head = state.get("head.weight")
    inferred: dict[str, object] = {
        "patch_size": int(kernel_h), "in_chans": int(in_chans), "embed_dim": int(embed_dim),
        "depths": tuple(depths), "num_heads": tuple(num_heads), "window_size": window_size,
        "mlp_ratio": fc1.shape[0] / fc1.shape[1],
        "qkv_bias": "layers.0.blocks.0.attn.qkv.bias" in state,
        "num_classes": int(head.shape[0]) if head is not None else 0,
    }
    evidence = {
        "patch_size": f"patch_embed.proj.weight {tuple(proj.shape)}",
        "in_chans": f"patch_embed.proj.weight {tuple(proj.shape)}",
        "embed_dim": f"patch_embed.proj.weight {tuple(proj.shape)}",
        "depths": "the block count of each stage",
        "num_heads": "the width of the relative position bias tables",
        "window_size": f"{table_key} with {rows} rows = (2*{window_size}-1)^2",
        "mlp_ratio": f"layers.0.blocks.0.mlp.fc1.weight {tuple(fc1.shape)}",
        "qkv_bias": "the presence of layers.0.blocks.0.attn.qkv.bias",
        "num_classes": f"head.weight {tuple(head.shape)}" if head is not None else "the absence of a head",
    }
    return inferred, evidence


def _block_counts(state: Mapping[str, torch.Tensor]) -> list[int]:
    """Blocks per stage, from the ``layers.{i}.blocks.{j}.*`` keys; a gap is an error."""
    blocks: dict[int, set[int]] = {}
    for key in state:
        if match := _BLOCK.match(key):
            blocks.setdefault(int(match.group(1)), set()).add(int(match.group(2)))
    if not blocks:
        raise CheckpointError("no transformer blocks found (keys layers.{i}.blocks.{j}.*); "
                              "is this a Swin Transformer V1 checkpoint?")
    for stage in range(max(blocks) + 1):
        present = blocks.get(stage, set())
        expected = set(range(max(present) + 1)) if present else {0}
        if present != expected:
            gap = min(expected - present)
            raise CheckpointError(f"missing key layers.{stage}.blocks.{gap}.* (stage {stage + 1} "
                                  f"has blocks {sorted(present)})")
    return [len(blocks[stage]) for stage in range(max(blocks) + 1)]
