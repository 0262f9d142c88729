"""The catalogue of pretrained weights: ``assets/weights.json`` read into frozen entries.

Each entry names an official release by its file stem (e.g. ``swin_tiny_patch4_window7_224``),
the model layout its tensors have, the address it is downloaded from, and its size in bytes
and sha256 where a source states them (None otherwise). ``SWIN_EXPLORER_CATALOGUE`` names
another catalogue file of the same form (for a mirror inside an organisation, or tests).

Pure Python: importing this module does not import torch.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import SwinConfig
from ..flops import count_params
from .errors import WeightsError

__all__ = [
    "CATALOGUE_ENV",
    "DEFAULT_CATALOGUE",
    "Catalogue",
    "Mirror",
    "WeightsEntry",
    "load_catalogue",
]

DEFAULT_CATALOGUE = Path(__file__).resolve().parents[2] / "assets" / "weights.json"
"""The catalogue shipped with the program."""
CATALOGUE_ENV = "SWIN_EXPLORER_CATALOGUE"
"""Environment variable naming a catalogue file to read instead of :data:`DEFAULT_CATALOGUE`."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_LAYOUT_FIELDS = ("patch_size", "embed_dim", "depths", "num_heads", "img_size", "window_size", "num_classes")
_PICKLE_OVERHEAD = 1.005
"""A float32 checkpoint is its parameters' bytes plus a little pickle and buffer overhead."""


@dataclass(frozen=True)
class Mirror:
    """Another address of the same weights (e.g. timm's copy on the Hugging Face hub): a
    different file, in the key ``layout`` it names, so the entry's size and sha256 do not
    apply to it."""

    url: str
    layout: str = "official"
    approx_size: str | None = None


@dataclass(frozen=True)
class WeightsEntry:
    """One release: its file stem ``name``, a human ``title``, the model layout its tensors
    have (``config``, at its training input size and window), where it is downloaded from,
    and its ``size`` in bytes and ``sha256`` (lower-case hex) when known."""

    name: str
    title: str
    config: SwinConfig
    url: str
    size: int | None = None
    sha256: str | None = None
    pretrain: str = ""
    top1: float | None = None
    mirrors: tuple[Mirror, ...] = ()

    @property
    def file_name(self) -> str:
        """The official file name, ``<name>.pth``."""
        return f"{self.name}.pth"

    @property
    def approx_bytes(self) -> int:
        """The file size in bytes: ``size`` when known, else estimated from the parameter
        count (float32)."""
        if self.size is not None:
            return self.size
        return int(4 * count_params(self.config) * _PICKLE_OVERHEAD)

    @property
    def layout_text(self) -> str:
        """The layout in one line: C, depths, heads, M, input side and classes."""
        config = self.config
        return (f"C = {config.embed_dim}, depths {list(config.depths)}, heads {list(config.num_heads)}, "
                f"M = {config.window_size}, {config.img_size}×{config.img_size}, "
                f"{config.num_classes} classes")


class Catalogue(Mapping[str, WeightsEntry]):
    """The entries of one catalogue file by name, in file order."""

    def __init__(self, entries: list[WeightsEntry], path: Path | None = None) -> None:
        self.path = path
        self._entries: dict[str, WeightsEntry] = {}
        for entry in entries:
            if entry.name in self._entries:
                raise WeightsError(f"{path}: the catalogue names {entry.name!r} twice")
            self._entries[entry.name] = entry

    def __getitem__(self, name: str) -> WeightsEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise WeightsError(f"unknown weights {name!r}; the catalogue has "
                               f"{', '.join(self._entries) or 'no entries'}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, name: str) -> WeightsEntry:
        """The entry ``name``; a name ending in ``.pth`` or ``.safetensors`` is taken as its
        stem. WeightsError listing the known names for an unknown one."""
        for suffix in (".pth", ".safetensors"):
            if name.endswith(suffix) and name[: -len(suffix)] in self._entries:
                name = name[: -len(suffix)]
        return self[name]


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """The catalogue at ``path``; by default the file ``SWIN_EXPLORER_CATALOGUE`` names, else
    :data:`DEFAULT_CATALOGUE`. WeightsError naming the file and the problem when it cannot
    be read or an entry is malformed."""
    if path is None:
        path = os.environ.get(CATALOGUE_ENV) or DEFAULT_CATALOGUE
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise WeightsError(f"cannot read the weights catalogue {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise WeightsError(f"the weights catalogue {path} is not valid JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("weights"), list):
        raise WeightsError(f"the weights catalogue {path} has no 'weights' list")
    entries = []
    for index, item in enumerate(data["weights"]):
        try:
            entries.append(_entry(item))
        except (KeyError, TypeError, ValueError) as error:
            label = item.get("name", f"#{index + 1}") if isinstance(item, dict) else f"#{index + 1}"
            raise WeightsError(f"the weights catalogue {path}: entry {label}: {error}") from None
    return Catalogue(entries, path)


def _entry(item: Any) -> WeightsEntry:
    if not isinstance(item, dict):
        raise TypeError("an entry must be a JSON object")
    name = item["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name must be a file stem (letters, digits, _ . -), got {name!r}")
    layout = item["layout"]
    if not isinstance(layout, dict):
        raise TypeError("layout must be a JSON object")
    missing = [field for field in _LAYOUT_FIELDS if field not in layout]
    if missing:
        raise KeyError(f"layout lacks {', '.join(missing)}")
    fields: dict[str, Any] = {field: tuple(value) if isinstance(value, list) else value
                              for field, value in layout.items()}
    config = SwinConfig(**fields)
    url = item["url"]
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ValueError(f"url must be an http(s) address, got {url!r}")
    size = item.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ValueError(f"size must be a number of bytes or null, got {size!r}")
    sha256 = item.get("sha256") or None
    if sha256 is not None and (not isinstance(sha256, str) or not _SHA256.match(sha256.lower())):
        raise ValueError(f"sha256 must be 64 hex digits or null, got {sha256!r}")
    mirrors = tuple(Mirror(url=str(mirror["url"]), layout=str(mirror.get("layout", "official")),
                           approx_size=mirror.get("approx_size"))
                    for mirror in item.get("mirrors", ()))
    top1 = item.get("top1")
    return WeightsEntry(name=name, title=str(item.get("title", name)), config=config, url=url, size=size,
                        sha256=sha256.lower() if sha256 else None, pretrain=str(item.get("pretrain", "")),
                        top1=float(top1) if top1 is not None else None, mirrors=mirrors)
