"""Loading PyTorch pickles safely: ``torch.load(weights_only=True)`` only, and a refused file
explained by the globals its pickle would import, read statically without running it."""

from __future__ import annotations

import io
import pickletools
import re
import warnings
import zipfile
from pathlib import Path

import torch

from .common import CheckpointError

__all__ = ["pickle_globals", "safe_torch_load"]

_SAFE_PICKLE_MODULES = ("torch",)
"""Top-level modules a safe checkpoint may import from: tensor rebuilding and storage."""
_SAFE_PICKLE_GLOBALS = frozenset({
    "collections.OrderedDict", "builtins.set", "builtins.frozenset", "builtins.bytearray",
    "_codecs.encode",
})
"""Further globals a safe checkpoint may import: plain containers."""


def safe_torch_load(path: Path) -> object:
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
        for reference in pickle_globals(pickle_bytes) or []:
            module = reference.rsplit(".", 1)[0]
            if reference in _SAFE_PICKLE_GLOBALS or module.split(".")[0] in _SAFE_PICKLE_MODULES:
                continue
            unsafe.add(reference)
    return sorted(unsafe)


def pickle_globals(data: bytes) -> list[str] | None:
    """'module.name' of every global a pickle stream imports, read statically with
    pickletools (nothing is executed); None when ``data`` does not start with a pickle.
    Consecutive pickles (the legacy torch format) are all scanned, up to the first bytes
    that are not a pickle (the raw tensor data that follows them). STACK_GLOBAL takes its
    module and name from the last two strings pushed, directly or from the memo."""
    stream = io.BytesIO(data)
    references: list[str] = []
    complete = 0
    while stream.tell() < len(data):
        strings: list[str] = []
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
                    memo[_memo_index(argument)] = pushed
                elif opcode.name in ("GET", "BINGET", "LONG_BINGET") and (
                        remembered := memo.get(_memo_index(argument))):
                    strings.append(remembered)
                pushed = argument if isinstance(argument, str) and "UNICODE" in opcode.name else None
                if pushed is not None:
                    strings.append(pushed)
        except Exception:
            break
        complete += 1
    return references if complete else None


def _memo_index(argument: object) -> int:
    """The memo slot a PUT or GET opcode names; pickletools decodes it as an int."""
    if not isinstance(argument, int):
        raise TypeError(f"memo index {argument!r} is not an integer")
    return argument
