"""Loading Swin V1 weights from the official Microsoft, timm and HF transformers layouts.

Every layout is converted to the official key layout (the one ``SwinTransformer`` uses),
the configuration is read off the tensor shapes, and the weights are loaded strictly.

Reading is safe only: ``.pth``/``.pt``/``.bin`` files go through
``torch.load(weights_only=True)`` and ``.safetensors`` through safetensors; a pickle that
imports anything beyond tensors and containers is refused without running it.

- :mod:`.reading`, :mod:`.pickle_safety`, :mod:`.hf_config`: files to raw tensors;
- :mod:`.official_layout`, :mod:`.timm_layout`, :mod:`.hf_layout`: one table of key
  rules per layout, and :mod:`.layouts` dispatching over them;
- :mod:`.config_from_shapes`: the SwinConfig read off the tensor shapes;
- :mod:`.loading`, :mod:`.saving`: whole models in and out.
"""

from __future__ import annotations

from ..config import SwinConfig as SwinConfig
from ..model import SwinTransformer as SwinTransformer
from .common import CheckpointError, StateDict
from .config_from_shapes import _BLOCK as _BLOCK
from .config_from_shapes import _INFERRED_FIELDS as _INFERRED_FIELDS
from .config_from_shapes import DEFAULT_IMG_SIZE, config_from_official, config_from_state_dict
from .config_from_shapes import _block_counts as _block_counts
from .config_from_shapes import _infer_fields as _infer_fields
from .config_from_shapes import _require as _require
from .config_from_shapes import _same_value as _same_value
from .hf_config import MODEL_LAYER_NORM_EPS, read_config_json
from .hf_layout import _HF_BLOCK_PARTS as _HF_BLOCK_PARTS
from .hf_layout import _HF_QKV_PARTS as _HF_QKV_PARTS
from .hf_layout import _HF_TOP_LEVEL as _HF_TOP_LEVEL
from .hf_layout import _hf_key_to_official as _hf_key_to_official
from .hf_layout import hf_to_official
from .key_rules import DERIVED_BUFFERS, is_derived
from .layouts import FORMATS, convert_to_official, detect_format, from_official, to_official
from .loading import MAX_LISTED_PROBLEMS, check_tensor_kinds, load_checkpoint
from .loading import _check_keys as _check_keys
from .loading import _model_with_weights as _model_with_weights
from .loading import _skeleton as _skeleton
from .pickle_safety import _SAFE_PICKLE_GLOBALS as _SAFE_PICKLE_GLOBALS
from .pickle_safety import _SAFE_PICKLE_MODULES as _SAFE_PICKLE_MODULES
from .pickle_safety import _unsafe_references as _unsafe_references
from .pickle_safety import pickle_globals, safe_torch_load
from .reading import (
    EMA_WRAPPERS,
    HF_WEIGHT_FILES,
    PICKLE_SNIFF_BYTES,
    STATE_WRAPPERS,
    WEIGHT_SUFFIXES,
    CheckpointFile,
    read_checkpoint,
)
from .reading import _looks_like_json as _looks_like_json
from .reading import _looks_like_safetensors as _looks_like_safetensors
from .reading import _read_safetensors as _read_safetensors
from .reading import _read_weights_file as _read_weights_file
from .reading import _shards_from_index as _shards_from_index
from .reading import _unwrap_state_dict as _unwrap_state_dict
from .reading import _weights_in_folder as _weights_in_folder
from .saving import save_official, save_timm
from .timm_layout import _DOWNSAMPLE as _DOWNSAMPLE
from .timm_layout import timm_to_official

# The private names these functions had in the single-module version, still importable.
_is_derived = is_derived
_convert_to_official = convert_to_official
_timm_to_official = timm_to_official
_hf_to_official = hf_to_official
_config_from_official = config_from_official
_read_config_json = read_config_json
_safe_torch_load = safe_torch_load
_pickle_globals = pickle_globals

__all__ = [
    "DEFAULT_IMG_SIZE",
    "DERIVED_BUFFERS",
    "EMA_WRAPPERS",
    "FORMATS",
    "HF_WEIGHT_FILES",
    "MAX_LISTED_PROBLEMS",
    "MODEL_LAYER_NORM_EPS",
    "PICKLE_SNIFF_BYTES",
    "STATE_WRAPPERS",
    "WEIGHT_SUFFIXES",
    "CheckpointError",
    "CheckpointFile",
    "StateDict",
    "check_tensor_kinds",
    "config_from_state_dict",
    "detect_format",
    "from_official",
    "load_checkpoint",
    "read_checkpoint",
    "save_official",
    "save_timm",
    "to_official",
]
