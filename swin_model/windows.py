"""Window geometry of the Swin Transformer: the single source of truth.

Everything that depends on how tokens are grouped lives here: the patch grid and its
padding, padding to a multiple of the window, window partition and reverse, the effective
window and shift per stage, the cyclic shift, the nine shift regions (numbered as the
official ``img_mask``), the 0/-100 attention mask, the 2x2 patch-merging order and the
relative position index. The model and every view call these functions.

Grids are row-major: a token at (row, col) of an ``height x width`` grid has index
``row * width + col``; windows are numbered row-major too.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from .config import SwinConfig

if TYPE_CHECKING:
    import torch

__all__ = [
    "MASK_VALUE",
    "MERGE_OFFSETS",
    "StageGeometry",
    "attention_groups",
    "attention_mask",
    "attention_mask_array",
    "check_window",
    "config_at_window",
    "cyclic_shift",
    "effective_window",
    "lecture_region_map",
    "locate_token",
    "mask_of_regions",
    "merge_patches",
    "official_table_windows",
    "official_to_lecture_region",
    "pad_amount",
    "pad_feature_map",
    "pad_image",
    "patch_grid",
    "receptive_field",
    "receptive_field_growth",
    "region_map",
    "relative_position_index",
    "reverse_cyclic_shift",
    "stage_geometry",
    "stage_resolutions",
    "window_index_map",
    "window_partition",
    "window_reverse",
    "window_token_positions",
]

MASK_VALUE = -100.0
"""What the official mask adds to the logits of pairs from different regions."""

MERGE_OFFSETS: tuple[tuple[int, int], ...] = ((0, 0), (1, 0), (0, 1), (1, 1))
"""(row, col) offsets of x0, x1, x2, x3 in each 2x2 group, in concatenation order:
x0 = [0::2, 0::2], x1 = [1::2, 0::2], x2 = [0::2, 1::2], x3 = [1::2, 1::2]."""

ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, "torch.Tensor")


# --- argument checks -----------------------------------------------------------------------

def _integer(value: object, name: str) -> int:
    """``value`` as an int; TypeError naming ``name`` for a bool, a float or a non-number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    return int(value)


def check_window(window_size: object, shift_size: object = None) -> tuple[int, int]:
    """(window, shift) as ints after checking window >= 1 and 0 <= shift < window (shift 0
    when not given); TypeError or ValueError naming ``window_size`` or ``shift_size``."""
    window = _integer(window_size, "window_size")
    if window < 1:
        raise ValueError(f"window_size must be >= 1, got {window}")
    if shift_size is None:
        return window, 0
    shift = _integer(shift_size, "shift_size")
    if not 0 <= shift < window:
        raise ValueError(f"shift_size must satisfy 0 <= shift_size < window_size = {window}, got {shift}")
    return window, shift


def _check_tiled(height: int, width: int, window_size: int) -> None:
    """A ``height x width`` grid must be whole windows to be partitioned."""
    if height % window_size or width % window_size:
        raise ValueError(f"a {height}x{width} grid is not a multiple of window_size {window_size} "
                         f"on both sides; pad it first (pad_feature_map)")


# --- sizes ---------------------------------------------------------------------------------

def pad_amount(size: int, multiple: int) -> int:
    """How many cells must be added to ``size`` to reach a multiple of ``multiple``."""
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1, got {multiple}")
    return (multiple - size % multiple) % multiple


def patch_grid(img_height: int, img_width: int, patch_size: int) -> tuple[int, int]:
    """Token grid (rows, cols) of an image after padding it to a multiple of the patch."""
    if _integer(patch_size, "patch_size") < 1:
        raise ValueError(f"patch_size must be >= 1, got {patch_size}")
    if img_height < 1 or img_width < 1:
        raise ValueError(f"image size must be positive, got {img_height}x{img_width}")
    return -(-img_height // patch_size), -(-img_width // patch_size)


def stage_resolutions(grid_height: int, grid_width: int, num_stages: int) -> list[tuple[int, int]]:
    """Token grid of each stage: every merge halves the grid, rounding up (odd sizes are
    padded by one row or column before merging)."""
    sizes = [(grid_height, grid_width)]
    for _ in range(num_stages - 1):
        height, width = sizes[-1]
        sizes.append(((height + 1) // 2, (width + 1) // 2))
    return sizes


def effective_window(height: int, width: int, window_size: int, shift_size: int) -> tuple[int, int]:
    """The official rule: a feature map no larger than the window gets one window of
    side min(height, width) and no shift. Returns (window, shift)."""
    window_size, shift_size = check_window(window_size, shift_size)
    if min(height, width) <= window_size:
        return min(height, width), 0
    return window_size, shift_size


def official_table_windows(img_height: int, img_width: int, patch_size: int, window_size: int,
                           num_stages: int) -> list[int]:
    """The window each stage's blocks are built with by the official code for a nominal
    ``img_height x img_width`` input, and so the side T of their (2T-1)^2 bias tables:
    min(M, min(h, w)) where the stage grid h x w is no larger than M, else M. (Grids round
    up as :func:`stage_resolutions` does; the official code, which needs every size to
    divide, gets the same grids.)"""
    grid = patch_grid(img_height, img_width, patch_size)
    return [effective_window(height, width, window_size, 0)[0]
            for height, width in stage_resolutions(*grid, num_stages)]


@dataclass(frozen=True)
class StageGeometry:
    """Where the windows of one stage fall.

    ``height x width`` is the stage's token grid, ``padded_height x padded_width`` the grid
    after padding to a multiple of ``window_size`` (the effective window). ``shift_size`` is
    the shift of the stage's odd (SW-MSA) blocks; even blocks never shift. ``stride`` is the
    side of one token in input pixels.
    """

    stage: int
    height: int
    width: int
    window_size: int
    shift_size: int
    padded_height: int
    padded_width: int
    channels: int
    num_heads: int
    depth: int
    stride: int
    window_shrunk: bool

    @property
    def windows_per_column(self) -> int:
        return self.padded_height // self.window_size

    @property
    def windows_per_row(self) -> int:
        return self.padded_width // self.window_size

    @property
    def num_windows(self) -> int:
        return self.windows_per_column * self.windows_per_row

    @property
    def tokens_per_window(self) -> int:
        return self.window_size * self.window_size

    def block_shift(self, block: int) -> int:
        """The shift used by block ``block`` (0-based): W-MSA on even, SW-MSA on odd blocks."""
        return self.shift_size if block % 2 == 1 else 0


def stage_geometry(config: SwinConfig, img_height: int | None = None,
                   img_width: int | None = None) -> list[StageGeometry]:
    """Geometry of every stage for an input of ``img_height x img_width`` pixels
    (``config.img_size`` square when omitted)."""
    img_height = config.img_size if img_height is None else img_height
    img_width = img_height if img_width is None else img_width
    grid = patch_grid(img_height, img_width, config.patch_size)
    geometries = []
    for stage, (height, width) in enumerate(stage_resolutions(*grid, config.num_stages)):
        window, shift = effective_window(height, width, config.stage_window(stage),
                                         config.stage_shift(stage))
        geometries.append(StageGeometry(
            stage=stage,
            height=height,
            width=width,
            window_size=window,
            shift_size=shift,
            padded_height=height + pad_amount(height, window),
            padded_width=width + pad_amount(width, window),
            channels=config.stage_dim(stage),
            num_heads=config.num_heads[stage],
            depth=config.depths[stage],
            stride=config.patch_size * 2**stage,
            window_shrunk=window < config.window_size,
        ))
    return geometries


# --- padding -------------------------------------------------------------------------------

def pad_image(pixels: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Zero-pad (batch, channels, H, W) at the bottom and right to a multiple of the patch."""
    import torch.nn.functional as F

    pad_bottom = pad_amount(pixels.shape[-2], patch_size)
    pad_right = pad_amount(pixels.shape[-1], patch_size)
    if pad_bottom or pad_right:
        pixels = F.pad(pixels, (0, pad_right, 0, pad_bottom))
    return pixels


def pad_feature_map(features: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad (batch, H, W, C) at the bottom and right so H and W divide by ``multiple``."""
    import torch.nn.functional as F

    pad_bottom = pad_amount(features.shape[1], multiple)
    pad_right = pad_amount(features.shape[2], multiple)
    if pad_bottom or pad_right:
        features = F.pad(features, (0, 0, 0, pad_right, 0, pad_bottom))
    return features


# --- partition and shift -------------------------------------------------------------------

def _swap_window_axes(grid: ArrayOrTensor) -> ArrayOrTensor:
    """Swap axes 2 and 3 of a 6-d grid, numpy or torch."""
    if isinstance(grid, np.ndarray):
        return grid.transpose(0, 1, 3, 2, 4, 5)
    return grid.permute(0, 1, 3, 2, 4, 5)


def _contiguous(grid: ArrayOrTensor) -> ArrayOrTensor:
    """``grid`` in contiguous row-major memory (itself when it already is)."""
    if isinstance(grid, np.ndarray):
        return np.ascontiguousarray(grid)
    return grid.contiguous()


def window_partition(features: ArrayOrTensor, window_size: int) -> ArrayOrTensor:
    """(batch, H, W, C) -> (batch * num_windows, M, M, C), windows row-major per image; H and W
    are multiples of M. Works on torch tensors and numpy arrays. The result is contiguous,
    so it can be viewed as (batch * num_windows, M*M, C) whatever the grid (a reshape alone
    returns a strided view when the map is one window tall and the batch is 1)."""
    window_size, _ = check_window(window_size)
    batch, height, width, channels = features.shape
    _check_tiled(height, width, window_size)
    grid = features.reshape(batch, height // window_size, window_size,
                            width // window_size, window_size, channels)
    return _contiguous(_swap_window_axes(grid).reshape(-1, window_size, window_size, channels))


def window_reverse(windows: ArrayOrTensor, window_size: int, height: int, width: int) -> ArrayOrTensor:
    """(batch * num_windows, M, M, C) -> (batch, H, W, C), contiguous; the inverse of
    window_partition."""
    window_size, _ = check_window(window_size)
    _check_tiled(height, width, window_size)
    channels = windows.shape[-1]
    grid = windows.reshape(-1, height // window_size, width // window_size,
                           window_size, window_size, channels)
    return _contiguous(_swap_window_axes(grid).reshape(-1, height, width, channels))


def window_index_map(height: int, width: int, window_size: int) -> np.ndarray:
    """(height, width) int array: the row-major index of the window holding each token.
    ``height`` and ``width`` are multiples of ``window_size`` (pad first)."""
    window_size, _ = check_window(window_size)
    rows = np.arange(height) // window_size
    cols = np.arange(width) // window_size
    return rows[:, None] * (width // window_size) + cols[None, :]


def window_token_positions(height: int, width: int, window_size: int, shift_size: int) -> np.ndarray:
    """(num_windows, M*M, 2) int64: for every slot of every window, the (row, col) on the
    original, unrolled padded grid of the token that the cyclic shift put there. This is how
    a window's attention maps back to the image. ``height`` and ``width`` are the padded grid."""
    window_size, shift_size = check_window(window_size, shift_size)
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    positions = cyclic_shift(np.stack([rows, cols], axis=-1), shift_size, dims=(0, 1))
    return window_partition(positions[None], window_size).reshape(-1, window_size * window_size, 2)


def locate_token(row: int, col: int, height: int, width: int, window_size: int,
                 shift_size: int) -> tuple[int, int]:
    """(window, slot) that the token at original (row, col) occupies after the cyclic shift,
    on a padded ``height x width`` grid; the inverse of :func:`window_token_positions`."""
    window_size, shift_size = check_window(window_size, shift_size)
    rolled_row = (row - shift_size) % height
    rolled_col = (col - shift_size) % width
    window = (rolled_row // window_size) * (width // window_size) + rolled_col // window_size
    slot = (rolled_row % window_size) * window_size + rolled_col % window_size
    return window, slot


def _roll(grid: ArrayOrTensor, shift: int, dims: tuple[int, int]) -> ArrayOrTensor:
    if _integer(shift, "shift_size") == 0:
        return grid
    if isinstance(grid, np.ndarray):
        return np.roll(grid, (shift, shift), axis=dims)
    return grid.roll(shifts=(shift, shift), dims=dims)


def cyclic_shift(grid: ArrayOrTensor, shift_size: int, dims: tuple[int, int] = (1, 2)) -> ArrayOrTensor:
    """Roll up and left by ``shift_size``: the top rows and left columns wrap to the bottom and
    right. ``dims`` are the (row, col) axes: (1, 2) for (batch, H, W, C), (0, 1) for (H, W).
    ``shift_size`` is >= 0 (and may exceed a window: the views roll pixels)."""
    return _roll(grid, -_non_negative_shift(shift_size), dims)


def reverse_cyclic_shift(grid: ArrayOrTensor, shift_size: int,
                         dims: tuple[int, int] = (1, 2)) -> ArrayOrTensor:
    """Undo :func:`cyclic_shift`: roll down and right by ``shift_size`` (>= 0)."""
    return _roll(grid, _non_negative_shift(shift_size), dims)


def _non_negative_shift(shift_size: int) -> int:
    shift = _integer(shift_size, "shift_size")
    if shift < 0:
        raise ValueError(f"shift_size must be >= 0, got {shift}")
    return shift


# --- regions and mask ----------------------------------------------------------------------

def _axis_regions(size: int, window_size: int, shift_size: int) -> np.ndarray:
    """Slice index 0, 1, 2 of each position along one axis, as the official slices
    (0, -M), (-M, -s), (-s, None)."""
    index = np.arange(size)
    return (index >= size - window_size).astype(np.int64) + (index >= size - shift_size)


def region_map(height: int, width: int, window_size: int, shift_size: int) -> np.ndarray:
    """(height, width) int64 array of the official ``img_mask`` regions 0-8 on the rolled,
    padded grid: three row slices x three column slices, counted row-major. All zeros when
    ``shift_size`` is 0."""
    window_size, shift_size = check_window(window_size, shift_size)
    if shift_size == 0:
        return np.zeros((height, width), dtype=np.int64)
    rows = _axis_regions(height, window_size, shift_size)
    cols = _axis_regions(width, window_size, shift_size)
    regions: np.ndarray = rows[:, None] * 3 + cols[None, :]
    return regions


def official_to_lecture_region(region: ArrayOrTensor) -> ArrayOrTensor:
    """Relabel official regions 0-8 with the lecture's numbering of the original grid, where
    the wrapped strips come first (A = 0 is the top-left corner, C = 1, 2 the top strip and
    B = 3, 6 the left strip). Official slice 2 is the lecture's slice 0, 0 is 1, 1 is 2."""
    relabelled: ArrayOrTensor = ((region // 3 + 1) % 3) * 3 + (region % 3 + 1) % 3
    return relabelled


def lecture_region_map(height: int, width: int, window_size: int, shift_size: int) -> np.ndarray:
    """(height, width) int64 array on the original, unrolled grid in the lecture's numbering."""
    rolled_back = reverse_cyclic_shift(region_map(height, width, window_size, shift_size),
                                       shift_size, dims=(0, 1))
    if shift_size == 0:
        return rolled_back
    return official_to_lecture_region(rolled_back)


def attention_mask_array(height: int, width: int, window_size: int, shift_size: int) -> np.ndarray:
    """(num_windows, M*M, M*M) float32 numpy array of exactly 0.0 and -100.0, built as the
    official block builds its mask: the region of every window slot, then -100 wherever a
    key's region differs from the query's. ``height`` and ``width`` are the padded grid. All
    zeros when ``shift_size`` is 0."""
    img_mask = region_map(height, width, window_size, shift_size).reshape(1, height, width, 1)
    mask_windows = window_partition(img_mask, window_size).reshape(-1, window_size * window_size)
    return mask_of_regions(mask_windows)


def mask_of_regions(slot_regions: np.ndarray) -> np.ndarray:
    """The official mask rule on windows whose slots hold ``slot_regions`` (..., N): float32
    (..., N, N), :data:`MASK_VALUE` where the key's region differs from the query's, 0.0
    where they match."""
    different = slot_regions[..., None, :] != slot_regions[..., :, None]
    return np.where(different, np.float32(MASK_VALUE), np.float32(0.0))


def attention_mask(height: int, width: int, window_size: int, shift_size: int) -> torch.Tensor:
    """:func:`attention_mask_array` as a float32 tensor (num_windows, M*M, M*M), the form the
    model adds to its attention logits."""
    import torch

    return torch.from_numpy(attention_mask_array(height, width, window_size, shift_size))


# --- merging and relative positions -----------------------------------------------------------

def merge_patches(features: torch.Tensor) -> torch.Tensor:
    """(batch, H, W, C) -> (batch, ceil(H/2), ceil(W/2), 4C): pads odd sizes at the bottom
    and right, then concatenates each 2x2 group in the order x0, x1, x2, x3."""
    import torch

    features = pad_feature_map(features, 2)
    return torch.cat([features[:, row::2, col::2, :] for row, col in MERGE_OFFSETS], dim=-1)


def relative_position_index(window_size: int, table_window_size: int | None = None) -> torch.Tensor:
    """(M*M, M*M) int64 index into a (2T-1)^2 bias table, T = ``table_window_size``
    (default M). A window shrunk below the table's size reads the entries of its own
    offsets, which are a subset of the table's."""
    import torch

    window_size, _ = check_window(window_size)
    table = window_size if table_window_size is None else _integer(table_window_size, "table_window_size")
    if window_size > table:
        raise ValueError(f"window {window_size} is larger than the bias table's window {table}")
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size),
                                        indexing="ij")).flatten(1)  # 2, M*M
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # M*M, M*M, 2
    relative = relative + (table - 1)
    return relative[:, :, 0] * (2 * table - 1) + relative[:, :, 1]


# --- receptive field ---------------------------------------------------------------------------

GROUPS_PER_WINDOW = 9
"""Group labels of :func:`attention_groups`: window * 9 + official region (0-8)."""


def attention_groups(height: int, width: int, window_size: int, shift_size: int) -> np.ndarray:
    """(height, width) int64 on the original, unrolled padded grid: which tokens attend to
    each other in one (S)W-MSA block. Two tokens share a label exactly when the cyclic shift
    puts them in the same window and the mask does not block them (same official region):
    label = window * 9 + region, window row-major on the rolled grid. Without a shift every
    token of a window shares its window's label. ``height`` and ``width`` are the padded grid."""
    window_size, shift_size = check_window(window_size, shift_size)
    rolled = (window_index_map(height, width, window_size) * GROUPS_PER_WINDOW
              + region_map(height, width, window_size, shift_size))
    groups: np.ndarray = reverse_cyclic_shift(rolled, shift_size, dims=(0, 1))
    return groups


def _attention_sources(field: np.ndarray, geometry: StageGeometry, shift_size: int) -> np.ndarray:
    """(h, w) bool: the block inputs that reach the (h, w) bool ``field`` of block outputs.

    An output token mixes its own input (residual, norms and MLP work per token) with every
    real token of its attention group; padded tokens are zeros after the norm, so their keys
    and values are constants that carry nothing from the image."""
    groups = attention_groups(geometry.padded_height, geometry.padded_width,
                              geometry.window_size, shift_size)[:geometry.height, :geometry.width]
    reached: np.ndarray = field | np.isin(groups, np.unique(groups[field]))
    return reached


def _merge_sources(field: np.ndarray, height: int, width: int) -> np.ndarray:
    """(height, width) bool of the previous stage: the tokens whose 2x2 groups form the
    merged tokens of the (ceil(height/2), ceil(width/2)) bool ``field`` (padding rows and
    columns of an odd map are zeros and reach nothing)."""
    sources = np.zeros((height, width), dtype=bool)
    for row, col in MERGE_OFFSETS:
        part = sources[row::2, col::2]
        part |= field[:part.shape[0], :part.shape[1]]
    return sources


def _checked_position(config: SwinConfig, geometries: list[StageGeometry], stage: int, block: int,
                      row: int, col: int) -> StageGeometry:
    """The geometry of 1-based ``stage`` after checking stage, block and (row, col)."""
    stage, block = _integer(stage, "stage"), _integer(block, "block")
    if not 1 <= stage <= config.num_stages:
        raise ValueError(f"stage must be 1-{config.num_stages} (1-based), got {stage}")
    geometry = geometries[stage - 1]
    if not 1 <= block <= geometry.depth:
        raise ValueError(f"block must be 1-{geometry.depth} for stage {stage} (1-based), got {block}")
    row, col = _integer(row, "row"), _integer(col, "col")
    if not (0 <= row < geometry.height and 0 <= col < geometry.width):
        raise ValueError(f"token ({row}, {col}) is outside stage {stage}'s "
                         f"{geometry.height}x{geometry.width} grid")
    return geometry


def receptive_field(config: SwinConfig, height: int, width: int, stage: int, block: int,
                    row: int, col: int) -> np.ndarray:
    """(ceil(H/p), ceil(W/p)) bool over the stage-1 patch grid of an ``height x width`` input
    (p = patch size; patches of the zero padding to a multiple of p included): True where a
    patch can change token (``row``, ``col``) of the stage's grid after block ``block`` has
    run. ``stage`` and ``block`` count from 1, like the explorer; (row, col) from 0.

    Rules, read backwards from the token (exactly the model's geometry):
    - W-MSA / SW-MSA block: a token mixes with the tokens of its :func:`attention_groups`
      group: its window after the roll, restricted to its own region (a hard mask; the
      model's -100 leaves weights of about e^-100, not exactly 0). The roll makes no false
      neighbours: tokens that only meet because of the wrap-around are in other regions.
    - Padding to the window: padded tokens are zeros after the first norm; they sit in the
      windows and are attended to, but as constants (bias-only keys and values) they
      carry no patch, and their outputs are cropped away.
    - Patch merging: a merged token is the union of its 2x2 group (padding of an odd map
      adds nothing). Norms, MLPs and residuals mix nothing between tokens.
    """
    geometries = stage_geometry(config, height, width)
    geometry = _checked_position(config, geometries, stage, block, row, col)
    field = np.zeros((geometry.height, geometry.width), dtype=bool)
    field[row, col] = True
    for stage_index in range(stage - 1, -1, -1):
        geometry = geometries[stage_index]
        last = block if stage_index == stage - 1 else geometry.depth
        for block_index in range(last - 1, -1, -1):
            field = _attention_sources(field, geometry, geometry.block_shift(block_index))
        if stage_index > 0:
            previous = geometries[stage_index - 1]
            field = _merge_sources(field, previous.height, previous.width)
    return field


def receptive_field_growth(config: SwinConfig, height: int, width: int, patch_row: int,
                           patch_col: int) -> list[tuple[int, int, int]]:
    """How the receptive field at one place of the image grows through the network.

    For every block in forward order, (stage, block, patches) with 1-based stage and
    block: the number of stage-1 patches in the :func:`receptive_field` of the token that
    holds stage-1 patch (``patch_row``, ``patch_col``) after that block; that token is
    (patch_row >> s, patch_col >> s) at 0-based stage s (every merge halves the grid)."""
    geometries = stage_geometry(config, height, width)
    first = geometries[0]
    if not (0 <= patch_row < first.height and 0 <= patch_col < first.width):
        raise ValueError(f"patch ({patch_row}, {patch_col}) is outside the "
                         f"{first.height}x{first.width} patch grid")
    growth = []
    for stage_index, geometry in enumerate(geometries):
        row, col = patch_row >> stage_index, patch_col >> stage_index
        for block_index in range(geometry.depth):
            field = receptive_field(config, height, width, stage_index + 1, block_index + 1, row, col)
            growth.append((stage_index + 1, block_index + 1, int(field.sum())))
    return growth


def config_at_window(config: SwinConfig, window_size: int) -> SwinConfig:
    """The configuration :func:`load_checkpoint` gives a checkpoint of ``config`` loaded at
    another ``window_size`` W: window W, and each stage the window the official code builds at
    ``config.img_size`` (min(W, grid) where the stage grid is no larger than W), which is the
    side its bias tables are resized to; ``config`` itself at its own window. Pure (the
    geometry only). ValueError from SwinConfig for an invalid W."""
    if window_size == config.window_size:
        return config
    stage_windows = official_table_windows(config.img_size, config.img_size, config.patch_size,
                                           window_size, config.num_stages)
    return config.replace(window_size=window_size, stage_window_sizes=tuple(stage_windows))
