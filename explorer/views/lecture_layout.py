"""Arithmetic of the lecture's figures (ViT against Swin, the architecture, the block pair):
pure Python, no Qt.

- ViT's cost: :func:`vit_msa_omega` is the lecture's Ω(MSA) = 4hwC² + 2(hw)²C of one ViT
  layer, with h × w the 16-px patch grid and ViT-B's C = 768 by default (:data:`VIT_B16`).
- Names the figures write: :func:`shape_text` ("56×56×96"), :func:`symbolic_shape`
  ("H/8×W/8×2C"), :func:`attention_name` (W-MSA or SW-MSA).
- Where things go: :class:`Rect` (a box of the diagram, y pointing down),
  :func:`block_pair`, :func:`block_cells` (blocks of a stage in rows of W-MSA/SW-MSA
  pairs) and :func:`merging_slots` (which stage shows each patch merging, at its start or
  its end, in the paper's or the code's split).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from swin_model.windows import StageGeometry, patch_grid

__all__ = [
    "VIT_B16",
    "MergingSlot",
    "Rect",
    "Split",
    "VitSpec",
    "attention_name",
    "block_cells",
    "block_pair",
    "merging_slots",
    "shape_text",
    "symbolic_shape",
    "vit_grid",
    "vit_msa_omega",
]

Split = Literal["paper", "code"]
"""Where the architecture figure puts patch merging: at the start of stages 2-4 (the
paper's Figure 3) or at the end of stages 1-3 (the official code's ``BasicLayer``)."""


# --- ViT -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VitSpec:
    """The ViT the figures compare Swin with: ``patch_size`` px patches embedded to
    ``embed_dim`` channels C, ``depth`` layers of global multi-head attention."""

    name: str
    patch_size: int
    embed_dim: int
    depth: int
    num_heads: int


VIT_B16 = VitSpec(name="ViT-B/16", patch_size=16, embed_dim=768, depth=12, num_heads=12)
"""ViT-B/16 (Dosovitskiy et al. 2021): 16×16 patches, C = 768, 12 layers, 12 heads."""


def vit_grid(
    img_height: int, img_width: int | None = None, patch_size: int = VIT_B16.patch_size
) -> tuple[int, int]:
    """ViT's token grid (h, w): one token per ``patch_size`` px patch, the image padded to a
    multiple of the patch (the same rounding as Swin's patch partition)."""
    return patch_grid(img_height, img_height if img_width is None else img_width, patch_size)


def vit_msa_omega(
    img_height: int,
    img_width: int | None = None,
    patch_size: int = VIT_B16.patch_size,
    channels: int = VIT_B16.embed_dim,
) -> int:
    """MACs of one ViT attention layer, the lecture's Ω(MSA) = 4hwC² + 2(hw)²C, on the
    h × w grid of ``patch_size`` px patches with ``channels`` C (ViT-B's 768 by default).

    3hwC² for the Q, K, V projections, (hw)²C for QKᵀ, (hw)²C for softmax·V, hwC² for
    the output projection; softmax and scale are left out, as in the official ``flops()``."""
    height, width = vit_grid(img_height, img_width, patch_size)
    tokens = height * width
    return 4 * tokens * channels**2 + 2 * tokens**2 * channels


# --- names -----------------------------------------------------------------------------------


def shape_text(height: int, width: int, channels: int) -> str:
    """ "56×56×96": a feature map's rows × columns × channels."""
    return f"{height}×{width}×{channels}"


def symbolic_shape(stage: int, patch_size: int = 4) -> str:
    """The paper's name of stage ``stage``'s (0-based) map: "H/4×W/4×C", "H/8×W/8×2C", ..."""
    stride = patch_size * 2**stage
    factor = 2**stage
    channels = "C" if factor == 1 else f"{factor}C"
    return f"H/{stride}×W/{stride}×{channels}"


def attention_name(geometry: StageGeometry, block: int) -> str:
    """ "SW-MSA" for a block that shifts its windows, "W-MSA" otherwise (even blocks, and
    odd blocks of a stage that never shifts: its map is no larger than the window)."""
    return "SW-MSA" if geometry.block_shift(block) else "W-MSA"


# --- places ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rect:
    """An axis-aligned box of a diagram: top-left (x, y), y pointing down."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x <= self.right and self.y <= y <= self.bottom

    def overlaps(self, other: Rect) -> bool:
        """Whether the interiors meet (touching edges do not count)."""
        return (
            self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom
        )

    def grown(self, margin: float) -> Rect:
        return Rect(self.x - margin, self.y - margin, self.width + 2 * margin, self.height + 2 * margin)

    def united(self, other: Rect) -> Rect:
        left, top = min(self.x, other.x), min(self.y, other.y)
        return Rect(left, top, max(self.right, other.right) - left, max(self.bottom, other.bottom) - top)


def block_pair(block: int, depth: int) -> tuple[int, ...]:
    """The blocks (0-based) of the W-MSA/SW-MSA pair that holds ``block``: (2k, 2k + 1),
    or (2k,) alone when a stage of odd depth ends with it."""
    first = block - block % 2
    return tuple(index for index in (first, first + 1) if index < depth)


def block_cells(depth: int) -> list[tuple[int, int]]:
    """(row, col) of each of ``depth`` blocks laid out in pairs: block 2k + c at (k, c), so
    the W-MSA blocks form the left column and the SW-MSA blocks the right one."""
    return [(block // 2, block % 2) for block in range(depth)]


@dataclass(frozen=True)
class MergingSlot:
    """The patch merging between stage ``after`` and stage ``after + 1`` (0-based), drawn in
    stage ``shown_in``'s column at its ``"start"`` or its ``"end"``."""

    after: int
    shown_in: int
    position: Literal["start", "end"]


def merging_slots(num_stages: int, split: Split) -> list[MergingSlot]:
    """Where each of the ``num_stages - 1`` patch mergings goes: the paper starts stages 2-4
    with one, the official code ends stages 1-3 with one (the last stage has none). The
    same network either way; only the stage boundaries move."""
    if split not in ("paper", "code"):
        raise ValueError(f"split must be 'paper' or 'code', got {split!r}")
    if split == "paper":
        return [
            MergingSlot(after=stage, shown_in=stage + 1, position="start") for stage in range(num_stages - 1)
        ]
    return [MergingSlot(after=stage, shown_in=stage, position="end") for stage in range(num_stages - 1)]
