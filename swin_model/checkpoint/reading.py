"""Reading the tensors of a checkpoint path as stored, in whatever key layout: a
``.pth``/``.pt``/``.bin`` pickle (through :func:`safe_torch_load` only), a ``.safetensors``
file, or an HF-style folder, sharded or not. Files are recognised by their content."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import NamedTuple

import torch

from .common import CheckpointError, StateDict
from .hf_config import read_config_json
from .pickle_safety import pickle_globals, safe_torch_load

__all__ = ["EMA_WRAPPERS", "HF_WEIGHT_FILES", "PICKLE_SNIFF_BYTES", "STATE_WRAPPERS", "WEIGHT_SUFFIXES",
           "CheckpointFile", "read_checkpoint"]

HF_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
PICKLE_SNIFF_BYTES = 2**20
"""How much of a file without a known signature is scanned for a protocol 0 or 1 pickle."""
EMA_WRAPPERS = ("state_dict_ema", "model_ema")
"""Keys under which training checkpoints (timm, DeiT, the official code with EMA) keep the
exponential moving average of the weights; preferred, as timm prefers them."""
STATE_WRAPPERS = (*EMA_WRAPPERS, "model", "state_dict")
"""Keys a checkpoint may keep its state dict under, in order of preference."""


@dataclass(frozen=True)
class CheckpointFile:
    """What a checkpoint path holds: the raw tensors as stored (any layout) and, when a
    ``config.json`` accompanies them, the nominal image side it declares.

    ``source`` is the entry the tensors were read from (e.g. ``"model_ema"`` or
    ``"state_dict"``; None for a bare state dict, a safetensors file or an HF folder) and
    ``unused`` the other state-dict entries present but not read (e.g. ``("model",)`` when
    the EMA weights were preferred)."""

    path: Path
    tensors: StateDict
    img_size: int | None = None
    source: str | None = None
    unused: tuple[str, ...] = ()

    @property
    def weights_used(self) -> str:
        """Which weights these are, in words: the entry and the ones left unread."""
        if self.source is None:
            return "weights at the top level (no wrapping entry)"
        kind = "EMA weights" if self.source in EMA_WRAPPERS else "weights"
        note = f"{kind} under {self.source!r}"
        if self.unused:
            note += f" ({', '.join(repr(key) for key in self.unused)} also present, not used)"
        return note


class _Unwrapped(NamedTuple):
    """A state dict and the entry it came from (see :class:`CheckpointFile`)."""

    tensors: StateDict
    source: str | None = None
    unused: tuple[str, ...] = ()


def read_checkpoint(path: str | Path) -> CheckpointFile:
    """Read the tensors of a ``.pth``/``.pt``/``.bin`` file, a ``.safetensors`` file, or an
    HF-style folder (``config.json`` plus ``model.safetensors``, sharded safetensors or
    ``pytorch_model.bin``). A ``config.json`` next to a lone weights file is read too, and
    counts only if it describes a Swin; a folder's own ``config.json`` always counts."""
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
    source: str | None = None
    unused: tuple[str, ...] = ()
    for weights_path in weights:
        read = _read_weights(weights_path)
        tensors.update(read.tensors)
        source, unused = source or read.source, unused or read.unused
    img_size = None
    if config_path.is_file() and config_path != path:
        img_size = read_config_json(config_path, required=path.is_dir())
    return CheckpointFile(path=path, tensors=tensors, img_size=img_size, source=source, unused=unused)


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
    """The shard files a ``model.safetensors.index.json`` maps its weights to, sorted by name.
    A shard is a relative path inside the index's folder: an absolute path or one with a
    ``..`` part is refused before anything is read. (Shards may be symbolic links, as in the
    HF hub cache, whose snapshot files link to blobs elsewhere.)"""
    try:
        weight_map = json.loads(index_path.read_text())["weight_map"]
        shards = sorted(set(weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{index_path}: not a readable safetensors index ({error})") from error
    for name in shards:
        if not isinstance(name, str) or not name:
            raise CheckpointError(f"{index_path}: shard name {name!r} is not a file name")
        if _leaves_folder(name):
            raise CheckpointError(f"{index_path}: shard path {name!r} points outside the folder "
                                  f"{index_path.parent}; shards must be files inside it")
    missing = [name for name in shards if not (index_path.parent / name).is_file()]
    if missing:
        raise CheckpointError(f"{index_path}: shard {missing[0]} is missing from the folder")
    return [index_path.parent / name for name in shards]


def _leaves_folder(name: str) -> bool:
    """Whether a relative file name from an index could name a file outside its folder:
    absolute (POSIX or Windows, drive or UNC) or with a ``..`` part."""
    for pure in (PurePosixPath(name), PureWindowsPath(name)):
        if pure.is_absolute() or pure.anchor or ".." in pure.parts:
            return True
    return False


def _read_weights_file(path: Path) -> StateDict:
    """Tensors of one file, recognised by its content rather than its name."""
    return _read_weights(path).tensors


def _read_weights(path: Path) -> _Unwrapped:
    """Tensors of one file, recognised by its content rather than its name, and the entry of
    a training checkpoint they were read from."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read ({error.strerror or error})") from error
    if size == 0:
        raise CheckpointError(f"{path}: the file is empty, not a checkpoint")
    if _looks_like_safetensors(head, size):
        return _Unwrapped(_read_safetensors(path))
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\x80"):
        return _unwrap(safe_torch_load(path), path)
    if _looks_like_json(path, head, size):
        hint = " (pass the folder that holds it and its weights)" if path.name == "config.json" else ""
        raise CheckpointError(f"{path}: this is a JSON file, not model weights{hint}")
    if _looks_like_old_pickle(path):
        return _unwrap(safe_torch_load(path), path)
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
    """A file of at most 64 MiB, opening with '{' or '[', that parses as JSON."""
    if head.lstrip()[:1] not in (b"{", b"[") or size > 64 * 2**20:
        return False
    try:
        json.loads(path.read_bytes())
    except ValueError:
        return False
    return True


def _looks_like_old_pickle(path: Path) -> bool:
    """A pickle of protocol 0 or 1, which has no signature: its first bytes parse as one."""
    with path.open("rb") as handle:
        start = handle.read(PICKLE_SNIFF_BYTES)
    return pickle_globals(start) is not None


def _read_safetensors(path: Path) -> StateDict:
    """Every tensor of a safetensors file, on the CPU."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return dict(load_file(str(path), device="cpu"))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable safetensors file ({error})") from error


def _unwrap_state_dict(loaded: object, path: Path) -> StateDict:
    """The tensors of a loaded checkpoint (see :func:`_unwrap`)."""
    return _unwrap(loaded, path).tensors


def _unwrap(loaded: object, path: Path) -> _Unwrapped:
    """The tensors of a loaded checkpoint: under one of :data:`STATE_WRAPPERS` (the EMA
    weights first, as timm prefers them) or bare, with a DataParallel ``module.`` prefix
    removed; and the entry they came from."""
    state = loaded
    present: list[str] = []
    source: str | None = None
    if isinstance(loaded, Mapping):
        present = [key for key in STATE_WRAPPERS if isinstance(loaded.get(key), Mapping)]
        source = next((key for key in present if loaded[key]), present[0] if present else None)
        if source is not None:
            state = loaded[source]
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
    return _Unwrapped(tensors, source, tuple(key for key in present if key != source))
