"""Building a SwinTransformer from a checkpoint path: read, convert to the official layout,
infer the configuration, check every key, then load strictly."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import torch

from ..config import SwinConfig
from ..model import SwinTransformer, normal_tensors
from .common import CheckpointError
from .config_from_shapes import config_from_official
from .key_rules import is_derived
from .layouts import convert_to_official, detect_format
from .reading import read_checkpoint

__all__ = ["MAX_LISTED_PROBLEMS", "check_tensor_kinds", "load_checkpoint"]

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
            config = config_from_official(official, overrides)
            skeleton = _skeleton(config)
            _check_keys(skeleton.state_dict(), official, sources, fmt)
        except CheckpointError as error:
            raise CheckpointError(f"{checkpoint.path} ({fmt} layout): {error}") from None
        model = _model_with_weights(skeleton, official).eval()
    model.checkpoint_info = f"{checkpoint.path} ({fmt} layout): {checkpoint.weights_used}"
    _LOG.info("loaded %s", model.checkpoint_info)
    return model


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
