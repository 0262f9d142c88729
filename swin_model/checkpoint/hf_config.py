"""Reading the ``config.json`` of an HF or timm model folder: the nominal image side, and
refusal of configurations this Swin V1 cannot reproduce."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

from .common import CheckpointError

__all__ = ["MODEL_LAYER_NORM_EPS", "read_config_json"]

MODEL_LAYER_NORM_EPS = 1e-5
"""The epsilon of every LayerNorm of ``SwinTransformer``."""


def read_config_json(path: Path, required: bool = True) -> int | None:
    """The nominal image side an HF or timm ``config.json`` declares (HF's ``image_size``,
    an int or a [height, width] pair of which the height counts, or timm's
    ``pretrained_cfg.input_size`` (channels, height, width)); refuses configs that
    describe a model this Swin V1 cannot reproduce. When not ``required``, a config that is
    unreadable or not a Swin V1's is ignored (None). Warnings name the caller of
    :func:`read_checkpoint`."""
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        if not required:
            return None
        raise CheckpointError(f"{path}: not a readable JSON config ({error})") from error
    if not isinstance(config, dict):
        if not required:
            return None
        raise CheckpointError(f"{path}: expected a JSON object, found {type(config).__name__}")
    timm_swin = str(config.get("architecture", "")).startswith("swin_")
    if not required and config.get("model_type") != "swin" and not timm_swin:
        return None
    model_type = config.get("model_type")
    if model_type is not None and model_type != "swin":
        raise CheckpointError(f"{path}: describes a {model_type!r} model; only Swin V1 ('swin') loads here")
    if config.get("use_absolute_embeddings"):
        raise CheckpointError(f"{path}: use_absolute_embeddings is set; this Swin V1 has no "
                              f"absolute position embedding")
    activation = config.get("hidden_act", "gelu")
    if activation != "gelu":
        raise CheckpointError(f"{path}: hidden_act is {activation!r}; this Swin V1 uses 'gelu'")
    eps = config.get("layer_norm_eps")
    if isinstance(eps, int | float) and not math.isclose(float(eps), MODEL_LAYER_NORM_EPS):
        warnings.warn(f"{path}: layer_norm_eps is {eps}, the model's LayerNorms use "
                      f"{MODEL_LAYER_NORM_EPS}; outputs will differ slightly", stacklevel=3)
    size = config.get("image_size")
    if size is None:
        input_size = (config.get("pretrained_cfg") or {}).get("input_size")
        size = input_size[-2] if isinstance(input_size, list) and len(input_size) == 3 else None
    if isinstance(size, list | tuple):
        size = size[0] if size else None
    if size is not None and (not isinstance(size, int) or size < 1):
        raise CheckpointError(f"{path}: image size {size!r} is not a positive integer")
    return size
