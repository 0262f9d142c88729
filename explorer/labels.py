"""ImageNet-1k class names bundled in assets/imagenet_labels.txt (line i = class i)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["ASSETS_DIR", "LABELS_PATH", "class_label", "imagenet_labels"]

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
LABELS_PATH = ASSETS_DIR / "imagenet_labels.txt"


@cache
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 class names in class-index order (the sorted WordNet synsets)."""
    labels = tuple(line.strip() for line in LABELS_PATH.read_text(encoding="utf-8").splitlines())
    if len(labels) != 1000 or not all(labels):
        raise ValueError(f"{LABELS_PATH} must hold 1000 non-empty lines, found {len(labels)}")
    return labels


def class_label(index: int, num_classes: int = 1000) -> str:
    """A readable name for class ``index``: the ImageNet name for a 1000-class head,
    otherwise ``class <index>``. Only the first lemma is kept ("tabby" of "tabby, tabby cat")."""
    if num_classes == 1000 and 0 <= index < 1000:
        return imagenet_labels()[index].split(",")[0].strip()
    return f"class {index}"
