"""Loading Swin V1 weights from the official Microsoft, timm and HF transformers layouts.

Every layout is converted to the official key layout (the one ``SwinTransformer`` uses),
the configuration is read off the tensor shapes, and the weights are loaded strictly.

Reading is safe only: ``.pth``/``.pt``/``.bin`` files go through
``torch.load(weights_only=True)`` and ``.safetensors`` through safetensors; a pickle that
imports anything beyond tensors and containers is refused without running it.

Layouts, as they differ from the official one:

- timm >= 0.9: patch merging sits at the START of the next stage
  (``layers.{i+1}.downsample.*`` for the official ``layers.{i}.downsample.*``) and the head
  is ``head.fc.*``.
- HF transformers: ``swin.``-prefixed names, separate q/k/v projections (fused here into
  ``attn.qkv`` with rows in q, k, v order), in both the 4.x naming
  (``attention.self.query``, ``intermediate.dense`` ...) and the 5.x naming
  (``attention.q_proj``, ``mlp.fc1`` ...).
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import pickletools
import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from .config import SwinConfig
from .model import SwinTransformer

__all__ = [
    "FORMATS",
    "CheckpointError",
    "CheckpointFile",
    "config_from_state_dict",
    "detect_format",
    "from_official",
    "load_checkpoint",
    "read_checkpoint",
    "save_official",
    "save_timm",
    "to_official",
]

FORMATS: tuple[str, ...] = ("official", "timm", "hf")
"""Key layouts understood by :func:`to_official`."""

StateDict = dict[str, torch.Tensor]

DERIVED_BUFFERS = ("relative_position_index", "attn_mask")
"""Key endings of buffers computed from the geometry, never loaded."""

HF_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
DEFAULT_IMG_SIZE = 224
MODEL_LAYER_NORM_EPS = 1e-5
MAX_LISTED_PROBLEMS = 12
PICKLE_SNIFF_BYTES = 2**20

# References a safe checkpoint may hold: tensor rebuilding and plain containers.
_SAFE_PICKLE_MODULES = ("torch",)
_SAFE_PICKLE_GLOBALS = frozenset({
    "collections.OrderedDict", "builtins.set", "builtins.frozenset", "builtins.bytearray",
    "_codecs.encode",
})


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit a Swin V1 model; the message says why."""


@dataclass(frozen=True)
class CheckpointFile:
    """What a checkpoint path holds: the raw tensors as stored (any layout) and, when a
    ``config.json`` accompanies them, the nominal image side it declares."""

    path: Path
    tensors: StateDict
    img_size: int | None = None


# --- reading files -----------------------------------------------------------------------

def read_checkpoint(path: str | Path) -> CheckpointFile:
    """Read the tensors of a ``.pth``/``.pt``/``.bin`` file, a ``.safetensors`` file, or an
    HF-style folder (``config.json`` plus ``model.safetensors``, sharded safetensors or
    ``pytorch_model.bin``). A ``config.json`` next to a lone weights file is read too."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or folder")
    if path.is_dir():
        weights = _weights_in_folder(path)
        config_path = path / "config.json"
    else:
        weights = [path]
        config_path = path.parent / "config.json"
    tensors: StateDict = {}
    for weights_path in weights:
        tensors.update(_read_weights_file(weights_path))
    img_size = None
    if config_path.is_file() and config_path != path:
        # a folder's config.json is its own; one beside a lone file counts only if it is a Swin's
        img_size = _read_config_json(config_path, required=path.is_dir())
    return CheckpointFile(path=path, tensors=tensors, img_size=img_size)


def _weights_in_folder(folder: Path) -> list[Path]:
    """The weights files of a model folder, shards in index order."""
    for name in HF_WEIGHT_FILES:
        candidate = folder / name
        if not candidate.is_file():
            continue
        if name.endswith(".index.json"):
            return _shards_from_index(candidate)
        return [candidate]
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    if len(found) == 1:
        return found
    listing = ", ".join(p.name for p in sorted(folder.iterdir())[:10]) or "nothing"
    reason = "several weights files" if found else "no weights file"
    raise CheckpointError(
        f"{folder}: folder holds {reason} (looked for {', '.join(HF_WEIGHT_FILES)}, or a single "
        f"{'/'.join(WEIGHT_SUFFIXES)} file); it contains: {listing}")


def _shards_from_index(index_path: Path) -> list[Path]:
    try:
        weight_map = json.loads(index_path.read_text())["weight_map"]
        shards = sorted(set(weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{index_path}: not a readable safetensors index ({error})") from error
    missing = [name for name in shards if not (index_path.parent / name).is_file()]
    if missing:
        raise CheckpointError(f"{index_path}: shard {missing[0]} is missing from the folder")
    return [index_path.parent / name for name in shards]


def _read_weights_file(path: Path) -> StateDict:
    """Tensors of one file, recognised by its content rather than its name."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read ({error.strerror or error})") from error
    if size == 0:
        raise CheckpointError(f"{path}: the file is empty, not a checkpoint")
    if _looks_like_safetensors(head, size):
        return _read_safetensors(path)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\x80"):
        return _unwrap_state_dict(_safe_torch_load(path), path)
    if _looks_like_json(path, head, size):
        hint = " (pass the folder that holds it and its weights)" if path.name == "config.json" else ""
        raise CheckpointError(f"{path}: this is a JSON file, not model weights{hint}")
    with path.open("rb") as handle:
        start = handle.read(PICKLE_SNIFF_BYTES)
    if _pickle_globals(start) is not None:  # a pickle of protocol 0 or 1
        return _unwrap_state_dict(_safe_torch_load(path), path)
    raise CheckpointError(
        f"{path}: not a recognised checkpoint (expected a PyTorch .pth/.pt/.bin file, a "
        f".safetensors file or an HF model folder)")


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    """Safetensors files open with the header length (u64, little-endian) and a JSON '{'."""
    if len(head) < 9:
        return False
    header_length = int.from_bytes(head[:8], "little")
    return 2 <= header_length <= size - 8 and head[8:9] == b"{"


def _looks_like_json(path: Path, head: bytes, size: int) -> bool:
    if head.lstrip()[:1] not in (b"{", b"[") or size > 64 * 2**20:
        return False
    try:
        json.loads(path.read_bytes())
    except ValueError:
        return False
    return True


def _read_safetensors(path: Path) -> StateDict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return dict(load_file(str(path), device="cpu"))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable safetensors file ({error})") from error


def _safe_torch_load(path: Path) -> object:
    """torch.load restricted to tensors and containers; a pickle that would import and call
    anything else is refused, and nothing in it runs."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        message = str(error)
        code = _unsafe_references(path, message)
        if code:
            raise CheckpointError(
                f"{path}: the file contains executable code (it would call {', '.join(code)} when "
                f"unpickled) and was not loaded. Only plain weights are read; if the file comes "
                f"from a source you trust, re-save just its state dict (torch.save(state_dict, "
                f"path)) or convert it to safetensors.") from None
        lines = [line.strip() for line in message.splitlines() if line.strip()]
        detail = next((line for line in lines if line.startswith("Unsupported")),
                      lines[0] if lines else type(error).__name__)
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({detail})") from None


def _unsafe_references(path: Path, torch_message: str) -> list[str]:
    """Names of callables the pickle in ``path`` imports beyond the safe set, found without
    running it: from torch's refusal message, else by scanning the pickle's opcodes."""
    named = re.findall(r"GLOBAL ([\w.]+)", torch_message)
    if named:
        return sorted(set(named))
    try:
        data = path.read_bytes()
    except OSError:
        return []
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                pickles = [archive.read(name) for name in archive.namelist() if name.endswith(".pkl")]
        except (zipfile.BadZipFile, OSError):
            return []
    else:
        pickles = [data]
    unsafe: set[str] = set()
    for pickle_bytes in pickles:
        for reference in _pickle_globals(pickle_bytes) or []:
            module = reference.rsplit(".", 1)[0]
            if reference in _SAFE_PICKLE_GLOBALS or module.split(".")[0] in _SAFE_PICKLE_MODULES:
                continue
            unsafe.add(reference)
    return sorted(unsafe)


def _pickle_globals(data: bytes) -> list[str] | None:
    """'module.name' of every global a pickle stream imports, read statically with
    pickletools (nothing is executed); None when ``data`` does not start with a pickle.
    Consecutive pickles (the legacy torch format) are all scanned."""
    stream = io.BytesIO(data)
    references: list[str] = []
    complete = 0
    while stream.tell() < len(data):
        strings: list[str] = []  # strings pushed so far, for STACK_GLOBAL's module and name
        memo: dict[int, str | None] = {}
        pushed: str | None = None
        try:
            for opcode, argument, _ in pickletools.genops(stream):
                if opcode.name in ("GLOBAL", "INST"):
                    references.append(str(argument).replace(" ", "."))
                elif opcode.name == "STACK_GLOBAL":
                    references.append(".".join(strings[-2:]) if len(strings) >= 2 else "<unknown>")
                elif opcode.name == "MEMOIZE":
                    memo[len(memo)] = pushed
                elif opcode.name in ("PUT", "BINPUT", "LONG_BINPUT"):
                    memo[int(argument)] = pushed
                elif opcode.name in ("GET", "BINGET", "LONG_BINGET") and memo.get(int(argument)):
                    strings.append(memo[int(argument)])  # type: ignore[arg-type]
                pushed = argument if isinstance(argument, str) and "UNICODE" in opcode.name else None
                if pushed is not None:
                    strings.append(pushed)
        except Exception:
            break  # raw tensor bytes after the pickles, or not a pickle at all
        complete += 1
    return references if complete else None


def _read_config_json(path: Path, required: bool = True) -> int | None:
    """The nominal image side an HF or timm ``config.json`` declares; refuses configs that
    describe a model this Swin V1 cannot reproduce. When not ``required``, a config that is
    unreadable or not a Swin V1's is ignored (None)."""
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
    if size is None:  # timm's config.json
        input_size = (config.get("pretrained_cfg") or {}).get("input_size")
        size = input_size[-2] if isinstance(input_size, list) and len(input_size) == 3 else None
    if isinstance(size, list | tuple):
        size = size[0] if size else None
    if size is not None and (not isinstance(size, int) or size < 1):
        raise CheckpointError(f"{path}: image size {size!r} is not a positive integer")
    return size


def _unwrap_state_dict(loaded: object, path: Path) -> StateDict:
    """The tensors of a loaded checkpoint: under ``model`` or ``state_dict`` or bare, with a
    DataParallel ``module.`` prefix removed."""
    state = loaded
    for wrapper in ("model", "state_dict"):
        if isinstance(state, Mapping) and isinstance(state.get(wrapper), Mapping):
            state = state[wrapper]
            break
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path}: holds a {type(loaded).__name__}, not a state dict of tensors")
    not_tensors = [key for key, value in state.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        keys = ", ".join(repr(key) for key in not_tensors[:5])
        raise CheckpointError(f"{path}: not a state dict of tensors; {keys} hold other values "
                              f"(top-level keys: {', '.join(map(str, list(state)[:8]))})")
    if not state:
        raise CheckpointError(f"{path}: the state dict is empty")
    tensors = {str(key): value for key, value in state.items()}
    if all(key.startswith("module.") for key in tensors):
        tensors = {key[len("module."):]: value for key, value in tensors.items()}
    return tensors


# --- key layouts ---------------------------------------------------------------------------

_DOWNSAMPLE = re.compile(r"^layers\.(\d+)\.downsample\.(.+)$")
_BLOCK = re.compile(r"^layers\.(\d+)\.blocks\.(\d+)\.(.+)$")
_HF_BLOCK = re.compile(r"^encoder\.layers\.(\d+)\.blocks\.(\d+)\.(.+)$")
_HF_DOWNSAMPLE = re.compile(r"^encoder\.layers\.(\d+)\.downsample\.(.+)$")

_HF_TOP_LEVEL = (
    ("embeddings.patch_embeddings.projection.", "patch_embed.proj."),
    ("embeddings.norm.", "patch_embed.norm."),
    ("layernorm.", "norm."),
    ("classifier.", "head."),
)
_HF_BLOCK_PARTS = (  # 4.x and 5.x names inside a block -> official
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


def _is_derived(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in DERIVED_BUFFERS


def detect_format(state: Mapping[str, torch.Tensor]) -> str:
    """"official", "timm" or "hf", from the key names alone."""
    keys = list(state)
    if any(key.startswith(("swin.embeddings.", "embeddings.patch_embeddings.")) for key in keys):
        return "hf"
    if any(key.startswith("head.fc.") for key in keys):
        return "timm"
    merging_stages = {int(m.group(1)) for key in keys if (m := _DOWNSAMPLE.match(key))}
    if merging_stages and 0 not in merging_stages:
        return "timm"
    return "official"


def to_official(state: Mapping[str, torch.Tensor], fmt: str | None = None) -> StateDict:
    """A state dict in layout ``fmt`` (detected when None) in the official key layout, with
    derived buffers dropped. Keys that have no official counterpart are kept unchanged."""
    return _convert_to_official(state, fmt)[0]


def from_official(state: Mapping[str, torch.Tensor], fmt: str) -> StateDict:
    """An official-layout state dict in layout ``fmt`` ("official" or "timm")."""
    if fmt == "official":
        return {key: value for key, value in state.items() if not _is_derived(key)}
    if fmt != "timm":
        raise ValueError(f"cannot write the {fmt!r} layout; choose 'official' or 'timm'")
    converted: StateDict = {}
    for key, value in state.items():
        if _is_derived(key):
            continue
        if match := _DOWNSAMPLE.match(key):
            key = f"layers.{int(match.group(1)) + 1}.downsample.{match.group(2)}"
        elif key.startswith("head."):
            key = "head.fc." + key[len("head."):]
        converted[key] = value
    return converted


def _convert_to_official(state: Mapping[str, torch.Tensor],
                         fmt: str | None) -> tuple[StateDict, dict[str, str]]:
    """(official state, {official key: the source key(s) it came from})."""
    fmt = detect_format(state) if fmt is None else fmt
    if fmt == "official":
        kept = {key: value for key, value in state.items() if not _is_derived(key)}
        return kept, {}
    if fmt == "timm":
        return _timm_to_official(state)
    if fmt == "hf":
        return _hf_to_official(state)
    raise ValueError(f"unknown checkpoint layout {fmt!r}; choose one of {', '.join(FORMATS)}")


def _timm_to_official(state: Mapping[str, torch.Tensor]) -> tuple[StateDict, dict[str, str]]:
    converted: StateDict = {}
    sources: dict[str, str] = {}
    for key, value in state.items():
        if _is_derived(key):
            continue
        new_key = key
        if (match := _DOWNSAMPLE.match(key)) and int(match.group(1)) > 0:
            new_key = f"layers.{int(match.group(1)) - 1}.downsample.{match.group(2)}"
        elif key.startswith("head.fc."):
            new_key = "head." + key[len("head.fc."):]
        converted[new_key] = value
        if new_key != key:
            sources[new_key] = key
    return converted, sources


def _hf_to_official(state: Mapping[str, torch.Tensor]) -> tuple[StateDict, dict[str, str]]:
    converted: StateDict = {}
    sources: dict[str, str] = {}
    qkv_parts: dict[str, dict[int, tuple[str, torch.Tensor]]] = {}
    for original, value in state.items():
        if _is_derived(original):
            continue
        key = original[len("swin."):] if original.startswith("swin.") else original
        new_key = _hf_key_to_official(key)
        if new_key is None:
            block = _HF_BLOCK.match(key)
            part = block and next(((prefix, slot) for prefix, slot in _HF_QKV_PARTS.items()
                                   if block.group(3).startswith(prefix)), None)
            if block and part:
                prefix, slot = part
                fused = f"layers.{block.group(1)}.blocks.{block.group(2)}.attn.qkv." \
                        f"{block.group(3)[len(prefix):]}"
                qkv_parts.setdefault(fused, {})[slot] = (original, value)
                continue
            new_key = original  # no official counterpart: reported as unexpected
        converted[new_key] = value
        if new_key != original:
            sources[new_key] = original
    for fused, parts in qkv_parts.items():
        if len(parts) < 3:
            present = next(iter(parts.values()))[0]
            absent = [name for name, slot in (("query", 0), ("key", 1), ("value", 2)) if slot not in parts]
            raise CheckpointError(f"{present} has no matching {'/'.join(absent)} projection; "
                                  f"q, k and v must all be present to build {fused}")
        pieces = [parts[slot][1] for slot in range(3)]
        if len({piece.shape for piece in pieces}) != 1:
            shapes = ", ".join(f"{parts[slot][0]} {tuple(parts[slot][1].shape)}" for slot in range(3))
            raise CheckpointError(f"q, k and v projections differ in shape: {shapes}")
        converted[fused] = torch.cat(pieces, dim=0)  # rows in q, k, v order
        sources[fused] = " + ".join(parts[slot][0] for slot in range(3))
    return converted, sources


def _hf_key_to_official(key: str) -> str | None:
    """The official name of an HF key (without the ``swin.`` prefix); None if it is a
    q/k/v part or has no counterpart."""
    for prefix, official in _HF_TOP_LEVEL:
        if key.startswith(prefix):
            return official + key[len(prefix):]
    if match := _HF_DOWNSAMPLE.match(key):
        return f"layers.{match.group(1)}.downsample.{match.group(2)}"
    if match := _HF_BLOCK.match(key):
        stage, block, rest = match.groups()
        for prefix, official in _HF_BLOCK_PARTS:
            if rest.startswith(prefix):
                return f"layers.{stage}.blocks.{block}.{official}{rest[len(prefix):]}"
    return None


# --- configuration from shapes -------------------------------------------------------------

_INFERRED_FIELDS = ("patch_size", "in_chans", "num_classes", "embed_dim", "depths", "num_heads",
                    "window_size", "mlp_ratio", "qkv_bias")


def config_from_state_dict(state: Mapping[str, torch.Tensor], **overrides: object) -> SwinConfig:
    """The SwinConfig that a state dict (any layout) was made from, read off tensor shapes:
    embed_dim, in_chans and patch_size from the patch-embedding convolution (C, in, p, p),
    depths from the block count of each stage, num_heads and window_size from each bias
    table ((2M-1)^2, heads), mlp_ratio from fc1, qkv_bias from its presence, num_classes
    from the head (0 without one). ``img_size`` (224 unless overridden) and ``shifted`` are
    free; overriding a field read off the shapes with another value is an error."""
    official, _ = _convert_to_official(state, None)
    return _config_from_official(official, overrides)


def _config_from_official(state: Mapping[str, torch.Tensor], overrides: Mapping[str, object]) -> SwinConfig:
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
    fields = {"img_size": DEFAULT_IMG_SIZE, **overrides, **inferred}
    try:
        return SwinConfig(**fields)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"the checkpoint's shapes give an invalid configuration: {error}") from error


def _same_value(given: object, inferred: object) -> bool:
    if isinstance(inferred, tuple):
        return isinstance(given, list | tuple) and tuple(given) == inferred
    if isinstance(inferred, bool):
        return given is inferred
    if isinstance(inferred, float):
        return isinstance(given, int | float) and math.isclose(float(given), inferred)
    return given == inferred and not isinstance(given, bool)


def _require(state: Mapping[str, torch.Tensor], key: str, ndim: int) -> torch.Tensor:
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
    num_heads, window_sizes = [], []
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


# --- loading -------------------------------------------------------------------------------

def load_checkpoint(path: str | Path, **overrides: object) -> SwinTransformer:
    """A SwinTransformer (in eval mode) with the weights at ``path``: an official ``.pth``
    (weights under ``model`` or bare), a timm >= 0.9 file, or an HF folder / ``.safetensors``
    file. The configuration is read off the tensor shapes; ``img_size`` comes from an HF
    ``config.json`` when there is one, else 224. ``overrides`` (e.g. ``img_size``,
    ``shifted``) replace fields; one that contradicts the shapes raises CheckpointError.
    Loading is strict: a missing, misshaped or unexpected key raises CheckpointError naming it.
    """
    checkpoint = read_checkpoint(path)
    fmt = detect_format(checkpoint.tensors)
    try:
        official, sources = _convert_to_official(checkpoint.tensors, fmt)
        if checkpoint.img_size is not None:
            overrides = {"img_size": checkpoint.img_size, **overrides}
        config = _config_from_official(official, overrides)
        skeleton = _skeleton(config)
        _check_keys(skeleton.state_dict(), official, sources, fmt)
    except CheckpointError as error:
        raise CheckpointError(f"{checkpoint.path} ({fmt} layout): {error}") from None
    return _model_with_weights(skeleton, official).eval()


def _skeleton(config: SwinConfig) -> SwinTransformer:
    """The model built on the meta device: its structure without the cost of random init."""
    with torch.device("meta"):
        return SwinTransformer(config)


def _model_with_weights(skeleton: SwinTransformer, state: Mapping[str, torch.Tensor]) -> SwinTransformer:
    """``skeleton`` holding ``state`` (float tensors as float32). Should the model keep any
    tensor that the state dict does not provide, it is built normally and then loaded."""
    weights = {key: value.float() if value.is_floating_point() else value for key, value in state.items()}
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
    """Raise CheckpointError listing every missing, misshaped and unexpected key."""
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


# --- writing -------------------------------------------------------------------------------

def save_official(model: SwinTransformer, path: str | Path) -> None:
    """Write ``{"model": state_dict}`` with torch.save, as the official releases do."""
    torch.save({"model": from_official(model.state_dict(), "official")}, Path(path))


def save_timm(model: SwinTransformer, path: str | Path) -> None:
    """Write the weights in the timm >= 0.9 layout: a bare state dict via torch.save, or a
    safetensors file when ``path`` ends in ``.safetensors``."""
    state = {key: value.contiguous() for key, value in from_official(model.state_dict(), "timm").items()}
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path), metadata={"format": "pt"})
    else:
        torch.save(state, path)
