"""The SwinConfig a state dict was made from, read off its tensor shapes."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

import torch

from .. import windows
from ..config import SwinConfig
from .common import CheckpointError
from .layouts import convert_to_official

__all__ = ["DEFAULT_IMG_SIZE", "config_from_official", "config_from_state_dict"]

DEFAULT_IMG_SIZE = 224
"""The nominal input side when neither a ``config.json`` nor an override gives one."""

_BLOCK = re.compile(r"^layers\.(\d+)\.blocks\.(\d+)\.(.+)$")
_INFERRED_FIELDS = ("patch_size", "in_chans", "num_classes", "embed_dim", "depths", "num_heads",
                    "window_size", "mlp_ratio", "qkv_bias", "stage_window_sizes")
_TABLE = "layers.{stage}.blocks.{block}.attn.relative_position_bias_table"


def config_from_state_dict(state: Mapping[str, torch.Tensor], **overrides: object) -> SwinConfig:
    """The SwinConfig that a state dict (any layout) was made from, read off tensor shapes:
    embed_dim, in_chans and patch_size from the patch-embedding convolution (C, in, p, p),
    depths from the block count of each stage, num_heads and window_size from each bias
    table ((2M-1)^2, heads), mlp_ratio from fc1 (ratio * C, C), qkv_bias from its presence,
    num_classes from the head (num_classes, C) (0 without one). ``img_size`` (224 unless
    overridden) and ``shifted`` are free; overriding a field read off the shapes with another
    value is an error.

    Tables smaller in the last stages than in the first are read as the official code builds
    them: a stage whose grid at the nominal input is no larger than M gets window
    min(M, grid) and a table of that side. They give ``stage_window_sizes`` and, unless
    overridden, the ``img_size`` they were built for."""
    return config_from_official(convert_to_official(state, None).state, overrides)


def config_from_official(state: Mapping[str, torch.Tensor], overrides: Mapping[str, object]) -> SwinConfig:
    """:func:`config_from_state_dict` of a state dict already in the official layout."""
    field_names = [f.name for f in dataclasses.fields(SwinConfig)]
    unknown = [name for name in overrides if name not in field_names]
    if unknown:
        raise CheckpointError(f"unknown override {unknown[0]!r}; SwinConfig fields are "
                              f"{', '.join(field_names)}")
    inferred, evidence = _infer_fields(state)
    stage_windows = inferred["stage_window_sizes"]
    assert isinstance(stage_windows, tuple)
    if overrides.get("stage_window_sizes", stage_windows) is None:  # None: window_size everywhere
        overrides = {**overrides, "stage_window_sizes": (inferred["window_size"],) * len(stage_windows)}
    for name, value in overrides.items():
        if name in inferred and not _same_value(value, inferred[name]):
            raise CheckpointError(f"{name}={value!r} disagrees with the checkpoint: "
                                  f"{evidence[name]} gives {name}={inferred[name]!r}")
    fields: dict[str, Any] = {"img_size": DEFAULT_IMG_SIZE, **overrides, **inferred}
    given = overrides.get("img_size")
    if len(set(stage_windows)) > 1 and given is None:
        fields["img_size"] = _img_size_for_windows(inferred, None)
    elif len(set(stage_windows)) > 1 and isinstance(given, int) and not isinstance(given, bool):
        _img_size_for_windows(inferred, given)  # invalid sizes are left to SwinConfig to name
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
    stage_windows: list[int] = []
    for stage in range(len(depths)):
        first_key = _TABLE.format(stage=stage, block=0)
        for block in range(depths[stage]):
            key = _TABLE.format(stage=stage, block=block)
            table = _require(state, key, 2)
            side = math.isqrt(table.shape[0])
            if side * side != table.shape[0] or side % 2 == 0:
                raise CheckpointError(f"window_size: {key} has {table.shape[0]} rows, not (2M-1)^2 "
                                      f"for any window M")
            window = (side + 1) // 2
            if block == 0:
                num_heads.append(int(table.shape[1]))
                stage_windows.append(window)
            elif window != stage_windows[stage]:
                rows = state[first_key].shape[0]
                raise CheckpointError(f"window_size differs between blocks: {first_key} has {rows} rows "
                                      f"(M={stage_windows[stage]}), {key} has {table.shape[0]} rows "
                                      f"(M={window}); the blocks of a stage share one window size")
    window_size = stage_windows[0]
    table_key = _TABLE.format(stage=0, block=0)
    rows = state[table_key].shape[0]
    fc1 = _require(state, "layers.0.blocks.0.mlp.fc1.weight", 2)
    head = state.get("head.weight")
    if head is None and "head.bias" in state:
        raise CheckpointError("missing key 'head.weight' (the checkpoint has head.bias, so it has "
                              "a classification head)")
    inferred: dict[str, object] = {
        "patch_size": int(kernel_h), "in_chans": int(in_chans), "embed_dim": int(embed_dim),
        "depths": tuple(depths), "num_heads": tuple(num_heads), "window_size": window_size,
        "mlp_ratio": fc1.shape[0] / fc1.shape[1],
        "qkv_bias": _qkv_bias(state, depths),
        "num_classes": int(head.shape[0]) if head is not None else 0,
        "stage_window_sizes": tuple(stage_windows),
    }
    evidence = {
        "patch_size": f"patch_embed.proj.weight {tuple(proj.shape)}",
        "in_chans": f"patch_embed.proj.weight {tuple(proj.shape)}",
        "embed_dim": f"patch_embed.proj.weight {tuple(proj.shape)}",
        "depths": "the block count of each stage",
        "num_heads": "the width of the relative position bias tables",
        "window_size": f"{table_key} with {rows} rows = (2*{window_size}-1)^2",
        "mlp_ratio": f"layers.0.blocks.0.mlp.fc1.weight {tuple(fc1.shape)}",
        "qkv_bias": "the presence of the attn.qkv.bias keys",
        "num_classes": f"head.weight {tuple(head.shape)}" if head is not None else "the absence of a head",
        "stage_window_sizes": "the side of the relative position bias tables of each stage",
    }
    return inferred, evidence


def _qkv_bias(state: Mapping[str, torch.Tensor], depths: list[int]) -> bool:
    """Whether the blocks have a q, k, v bias; all of them or none must."""
    keys = [f"layers.{stage}.blocks.{block}.attn.qkv.bias"
            for stage, depth in enumerate(depths) for block in range(depth)]
    absent = [key for key in keys if key not in state]
    if absent and len(absent) < len(keys):
        raise CheckpointError(f"missing key {absent[0]!r} (other blocks have attn.qkv.bias, so "
                              f"every block has one)")
    return not absent


def _table_rows(window: int) -> int:
    return (2 * window - 1) ** 2


def _img_size_for_windows(inferred: Mapping[str, object], given: int | None) -> int:
    """The nominal input side at which the official code builds the stage windows the tables
    show: ``given`` when it fits them, else the side at which the first shrunk stage's grid
    is exactly its window. CheckpointError naming a table when no side (or not ``given``) fits."""
    found, window_size, patch_size = (inferred["stage_window_sizes"], inferred["window_size"],
                                      inferred["patch_size"])
    assert isinstance(found, tuple) and isinstance(window_size, int) and isinstance(patch_size, int)
    stage_windows = tuple(int(window) for window in found)
    num_stages = len(stage_windows)
    first = _TABLE.format(stage=0, block=0)
    if given is None:
        shrunk = next(stage for stage, window in enumerate(stage_windows) if window != window_size)
        candidate = stage_windows[shrunk] * patch_size << shrunk
        if windows.official_table_windows(candidate, candidate, patch_size, window_size,
                                          num_stages) == list(stage_windows):
            return candidate
        key = _TABLE.format(stage=shrunk, block=0)
        raise CheckpointError(
            f"window_size differs between blocks: {first} has {_table_rows(window_size)} rows "
            f"(M={window_size}), {key} has {_table_rows(stage_windows[shrunk])} rows "
            f"(M={stage_windows[shrunk]}); the official code builds a smaller window only in stages "
            f"whose grid is no larger than M (window min(M, grid)), and no input size gives "
            f"the windows {list(stage_windows)}")
    if given < 1:
        return given  # SwinConfig refuses it, naming img_size
    expected = windows.official_table_windows(given, given, patch_size, window_size, num_stages)
    if expected == list(stage_windows):
        return given
    stage = next(s for s, (built, found) in enumerate(zip(expected, stage_windows, strict=True))
                 if built != found)
    height, width = windows.stage_resolutions(*windows.patch_grid(given, given, patch_size),
                                              num_stages)[stage]
    raise CheckpointError(
        f"window_size differs between stages: {_TABLE.format(stage=stage, block=0)} has "
        f"{_table_rows(stage_windows[stage])} rows (M={stage_windows[stage]}), but at "
        f"img_size={given} stage {stage + 1} is {height}x{width}, which the official code builds "
        f"with window {expected[stage]} ({_table_rows(expected[stage])} rows); {first} has "
        f"{_table_rows(window_size)} rows (M={window_size})")


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
