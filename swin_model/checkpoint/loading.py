"""Building a SwinTransformer from a checkpoint path: read, convert to the official layout,
infer the configuration, check every key, then load strictly."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import torch

from .. import windows
from ..bias_resize import resize_bias_table, table_window
from ..config import SwinConfig
from ..model import SwinTransformer, normal_tensors
from .common import CheckpointError, StateDict
from .config_from_shapes import _TABLE, _infer_fields, _same_value, config_from_official
from .key_rules import is_derived
from .layouts import convert_to_official, detect_format
from .reading import read_checkpoint

__all__ = ["MAX_LISTED_PROBLEMS", "check_tensor_kinds", "config_at_window", "load_checkpoint"]

config_at_window = windows.config_at_window

MAX_LISTED_PROBLEMS = 12
"""Key problems listed one by one in a CheckpointError; the rest are counted."""

_LOG = logging.getLogger("swin_model.checkpoint")


def load_checkpoint(path: str | Path, **overrides: object) -> SwinTransformer:
    """A SwinTransformer (in eval mode) with the weights at ``path``: an official ``.pth``
    (weights under ``model`` or bare), a timm >= 0.9 file, or an HF folder / ``.safetensors``
    file. Training checkpoints holding EMA weights (``model_ema``, ``state_dict_ema``) give
    those, as timm does. The configuration is read off the tensor shapes; ``img_size``
    comes from an HF ``config.json`` when there is one, else from tables the official code
    shrank for its input size, else 224. ``overrides`` (e.g. ``img_size``, ``shifted``)
    replace fields; one that contradicts the shapes raises CheckpointError. Loading is
    strict: a missing, misshaped or unexpected key, or a tensor that is not a dense
    floating-point one, raises CheckpointError naming it.

    A ``window_size`` W other than the checkpoint's M builds the model at W: each stage is
    given the window the official code builds at ``img_size`` (min(W, grid) where the stage
    grid is no larger than W, unless ``stage_window_sizes`` says otherwise), and every
    relative position bias table of another side is resized bicubically to it as the
    official ``load_pretrained`` does (:func:`swin_model.bias_resize.resize_bias_table`);
    the relative position index follows the new window. ``model.bias_tables_resized_from``
    is then M (None when no table was resized): the model is the trained one only
    approximately, and its accuracy off the trained window is not guaranteed.

    The model's ``checkpoint_info`` says which file, layout and weights were read (the same
    line is logged at INFO level on the ``swin_model.checkpoint`` logger). Inside
    ``torch.inference_mode`` the weights are still normal tensors, so the model runs and
    trains in every mode afterwards.
    """
    with normal_tensors():
        checkpoint = read_checkpoint(path)
        fmt = detect_format(checkpoint.tensors)
        try:
            check_tensor_kinds(checkpoint.tensors)
            official, sources = convert_to_official(checkpoint.tensors, fmt)
            if checkpoint.img_size is not None:
                overrides = {"img_size": checkpoint.img_size, **overrides}
            config, official, resized_from = _config_at_window(official, overrides)
            skeleton = _skeleton(config)
            _check_keys(skeleton.state_dict(), official, sources, fmt)
        except CheckpointError as error:
            raise CheckpointError(f"{checkpoint.path} ({fmt} layout): {error}") from None
        model = _model_with_weights(skeleton, official).eval()
    model.checkpoint_info = f"{checkpoint.path} ({fmt} layout): {checkpoint.weights_used}"
    if resized_from is not None:
        model.checkpoint_info += (f"; bias tables resized bicubically from M={resized_from} "
                                  f"to M={config.window_size}")
    model.bias_tables_resized_from = resized_from
    _LOG.info("loaded %s", model.checkpoint_info)
    return model


def _config_at_window(official: StateDict, overrides: Mapping[str, object]
                      ) -> tuple[SwinConfig, StateDict, int | None]:
    """(config, state with its bias tables fitted to the config, the checkpoint's window M
    when a table was resized, else None), for a state dict in the official layout.

    Without a ``window_size`` override, or with the checkpoint's own, the state is returned
    unchanged with :func:`config_from_official`. Another window W gives the configuration
    the checkpoint's shapes and the other overrides describe, at window W with the stage
    windows the official code builds (or ``stage_window_sizes`` when given), and the tables
    of every other side resized bicubically."""
    requested = overrides.get("window_size")
    inferred, _evidence = _infer_fields(official)
    trained = inferred["window_size"]
    assert isinstance(trained, int)
    if requested is None or _same_value(requested, trained):
        return config_from_official(official, overrides), official, None
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
        raise CheckpointError(f"window_size must be an integer >= 1, got {requested!r}")
    others = {name: value for name, value in overrides.items()
              if name not in ("window_size", "stage_window_sizes")}
    base = config_from_official(official, others)
    try:
        config = base.replace(window_size=requested,
                              stage_window_sizes=_stage_windows(base, requested, overrides))
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"window_size={requested}: {error}") from error
    fitted = dict(official)
    resized = False
    for stage, depth in enumerate(config.depths):
        for block in range(depth):
            key = _TABLE.format(stage=stage, block=block)
            if table_window(official[key]) != config.stage_window(stage):
                fitted[key] = resize_bias_table(official[key], config.stage_window(stage))
                resized = True
    return config, fitted, trained if resized else None


def _stage_windows(base: SwinConfig, window: int, overrides: Mapping[str, object]) -> tuple[int, ...]:
    """The window of each stage of ``base`` rebuilt at ``window``: ``stage_window_sizes``
    when overridden (None: ``window`` everywhere), else min(window, grid) as the official
    code builds them at ``base.img_size``."""
    if "stage_window_sizes" in overrides:
        given = overrides["stage_window_sizes"]
        if given is None:
            return (window,) * base.num_stages
        if not isinstance(given, list | tuple):
            raise CheckpointError(f"stage_window_sizes must be a list or tuple of integers, got {given!r}")
        return tuple(given)  # SwinConfig checks the values
    resized = windows.config_at_window(base, window)
    return tuple(resized.stage_window(stage) for stage in range(base.num_stages))


def check_tensor_kinds(state: Mapping[str, torch.Tensor]) -> None:
    """Raise CheckpointError naming the first tensor of ``state`` (derived buffers aside)
    that is not a dense floating-point tensor with data: sparse or other layouts, meta
    tensors (shapes without data), and integer, bool or complex dtypes are refused."""
    for key, value in state.items():
        if is_derived(key):
            continue
        if value.layout != torch.strided:
            raise CheckpointError(f"key {key!r} has layout {value.layout}; only dense tensors "
                                  f"(torch.strided layout) can be loaded")
        if value.is_meta:
            raise CheckpointError(f"key {key!r} is a meta tensor, a shape without data (strided "
                                  f"layout on the meta device); only tensors with data can be loaded")
        if not value.is_floating_point():
            raise CheckpointError(f"key {key!r} has dtype {value.dtype}; only floating-point "
                                  f"weights can be loaded")


def _skeleton(config: SwinConfig) -> SwinTransformer:
    """The model built on the meta device: its structure without the cost of random init."""
    with torch.device("meta"):
        return SwinTransformer(config)


def _model_with_weights(skeleton: SwinTransformer, state: Mapping[str, torch.Tensor]) -> SwinTransformer:
    """``skeleton`` holding ``state`` (float tensors as float32). Should the model keep any
    tensor that the state dict does not provide, it is built normally and then loaded."""
    weights = {key: value.float() if value.is_floating_point() else value for key, value in state.items()}
    weights = {key: value.clone() if value.is_inference() else value for key, value in weights.items()}
    skeleton.load_state_dict(weights, strict=True, assign=True)
    tensors = [value for module in skeleton.modules() for value in vars(module).values()
               if isinstance(value, torch.Tensor)]
    tensors += list(skeleton.parameters()) + list(skeleton.buffers())
    if not any(tensor.is_meta for tensor in tensors):
        return skeleton
    model = SwinTransformer(skeleton.config)
    model.load_state_dict(weights, strict=True)
    return model


def _check_keys(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor],
               sources: Mapping[str, str], fmt: str) -> None:
    """Raise CheckpointError listing every missing, misshaped and unexpected key of ``found``
    against the model's ``expected`` state; ``sources`` names the key a renamed one came from."""
    def name(key: str) -> str:
        return f"{key!r} (from {sources[key]})" if key in sources else repr(key)

    problems = [f"missing key {key!r}" for key in expected if key not in found]
    problems += [
        f"key {name(key)} has shape {tuple(found[key].shape)}, expected {tuple(value.shape)}"
        for key, value in expected.items() if key in found and found[key].shape != value.shape
    ]
    problems += [f"unexpected key {name(key)}" for key in found if key not in expected]
    if not problems:
        return
    listed = problems[:MAX_LISTED_PROBLEMS]
    if len(problems) > len(listed):
        listed.append(f"... and {len(problems) - len(listed)} more")
    naming = "" if fmt == "official" else " (keys named in the official layout)"
    raise CheckpointError(f"the weights do not fit the model read off their shapes{naming}:\n  "
                          + "\n  ".join(listed))
