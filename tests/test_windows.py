"""Window geometry against hand-worked cases and the official loop-based construction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from swin_model import preset, windows


def official_img_mask(height: int, width: int, window: int, shift: int) -> np.ndarray:
    """The official block's construction: three slices per axis, counted in a loop."""
    img_mask = np.zeros((height, width), dtype=np.int64)
    slices = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    count = 0
    for h in slices:
        for w in slices:
            img_mask[h, w] = count
            count += 1
    return img_mask


def official_attention_mask(height: int, width: int, window: int, shift: int) -> torch.Tensor:
    img_mask = torch.from_numpy(official_img_mask(height, width, window, shift)).float()
    tiles = img_mask.view(height // window, window, width // window, window)
    tiles = tiles.permute(0, 2, 1, 3).reshape(-1, window * window)
    diff = tiles.unsqueeze(1) - tiles.unsqueeze(2)
    return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)


def test_region_map_14x14_window7_shift3_by_hand() -> None:
    regions = windows.region_map(14, 14, 7, 3)
    # rows 0-6 | 7-10 | 11-13 and the same for columns
    assert regions[0, 0] == 0 and regions[6, 6] == 0
    assert regions[0, 7] == 1 and regions[6, 10] == 1
    assert regions[0, 11] == 2 and regions[6, 13] == 2
    assert regions[7, 0] == 3 and regions[10, 10] == 4 and regions[10, 11] == 5
    assert regions[11, 0] == 6 and regions[13, 7] == 7 and regions[13, 13] == 8
    counts = np.bincount(regions.ravel(), minlength=9)
    assert counts.tolist() == [49, 28, 21, 28, 16, 12, 21, 12, 9]


@pytest.mark.parametrize("height, width, window, shift", [
    (14, 14, 7, 3), (8, 12, 4, 2), (21, 14, 7, 3), (12, 24, 6, 3), (63, 49, 7, 3), (16, 8, 8, 4),
])
def test_region_map_and_mask_match_official_loop(height: int, width: int, window: int,
                                                 shift: int) -> None:
    assert np.array_equal(windows.region_map(height, width, window, shift),
                          official_img_mask(height, width, window, shift))
    mask = windows.attention_mask(height, width, window, shift)
    assert np.array_equal(windows.attention_mask_array(height, width, window, shift), mask.numpy())
    assert mask.shape == ((height // window) * (width // window), window**2, window**2)
    assert torch.equal(mask, official_attention_mask(height, width, window, shift))
    assert set(mask.unique().tolist()) <= {0.0, -100.0}


def test_non_square_regions_by_hand() -> None:
    regions = windows.region_map(8, 12, 4, 2)
    assert regions[:4, :8].max() == 0
    assert set(np.unique(regions[4:6, 8:10])) == {4}
    assert set(np.unique(regions[6:, 10:])) == {8}
    assert regions[5, 11] == 5 and regions[7, 0] == 6 and regions[0, 9] == 1


def test_mask_counts_14x14() -> None:
    mask = windows.attention_mask(14, 14, 7, 3)
    blocked = (mask == -100.0).sum(dim=(1, 2)).tolist()
    # window 0 holds one region; window 1 regions 1 (28 tokens) and 2 (21);
    # window 2 regions 3 and 6; window 3 regions 4, 5, 7, 8 (16, 12, 12, 9)
    assert blocked == [0, 2401 - 28**2 - 21**2, 2401 - 28**2 - 21**2,
                       2401 - 16**2 - 12**2 - 12**2 - 9**2]


def test_no_shift_means_no_regions_and_zero_mask() -> None:
    assert windows.region_map(14, 14, 7, 0).max() == 0
    assert windows.attention_mask(14, 14, 7, 0).abs().max() == 0


def test_lecture_numbering_matches_the_lecture() -> None:
    lecture = windows.lecture_region_map(14, 14, 7, 3)
    # original grid: A = 0 top-left corner, C = 1, 2 the top strip, B = 3, 6 the left strip
    assert lecture[0, 0] == 0 and lecture[2, 2] == 0
    assert lecture[0, 5] == 1 and lecture[0, 12] == 2
    assert lecture[5, 0] == 3 and lecture[12, 0] == 6
    assert lecture[5, 5] == 4 and lecture[13, 13] == 8
    rolled = windows.cyclic_shift(lecture, 3, dims=(0, 1))
    top_right = set(np.unique(rolled[:7, 7:]).tolist())
    bottom_right = set(np.unique(rolled[7:, 7:]).tolist())
    assert top_right == {3, 5}
    assert bottom_right == {0, 2, 6, 8}
    # and the relabelling agrees with the official regions on the rolled grid
    assert np.array_equal(windows.official_to_lecture_region(windows.region_map(14, 14, 7, 3)), rolled)


def test_partition_reverse_round_trip_and_order() -> None:
    grid = torch.arange(2 * 8 * 12 * 3, dtype=torch.float32).view(2, 8, 12, 3)
    parts = windows.window_partition(grid, 4)
    assert parts.shape == (2 * 6, 4, 4, 3)
    assert torch.equal(parts[1], grid[0, 0:4, 4:8])  # windows row-major
    assert torch.equal(parts[3], grid[0, 4:8, 0:4])
    assert torch.equal(parts[6], grid[1, 0:4, 0:4])
    assert torch.equal(windows.window_reverse(parts, 4, 8, 12), grid)
    index = windows.window_index_map(8, 12, 4)
    assert index[5, 9] == 5 and index[0, 4] == 1


def test_cyclic_shift_rolls_up_and_left() -> None:
    grid = np.arange(25).reshape(5, 5)
    rolled = windows.cyclic_shift(grid, 2, dims=(0, 1))
    assert rolled[0, 0] == grid[2, 2]
    assert rolled[4, 4] == grid[1, 1]
    assert np.array_equal(windows.reverse_cyclic_shift(rolled, 2, dims=(0, 1)), grid)
    tensor = torch.from_numpy(grid)[None, :, :, None]
    assert torch.equal(windows.cyclic_shift(tensor, 2)[0, :, :, 0], torch.from_numpy(rolled))


def test_token_positions_follow_the_roll() -> None:
    positions = windows.window_token_positions(14, 14, 7, 3)
    assert positions.shape == (4, 49, 2)
    assert positions[0, 0].tolist() == [3, 3]
    assert positions[3, 48].tolist() == [2, 2]  # bottom-right slot wrapped from the top-left
    for row, col in [(0, 0), (5, 12), (13, 2)]:
        window, slot = windows.locate_token(row, col, 14, 14, 7, 3)
        assert positions[window, slot].tolist() == [row, col]


def test_merge_order_and_odd_padding() -> None:
    grid = torch.arange(3 * 5, dtype=torch.float32).view(1, 3, 5, 1)
    merged = windows.merge_patches(grid)
    assert merged.shape == (1, 2, 3, 4)
    # x0 = (0, 0), x1 = (1, 0), x2 = (0, 1), x3 = (1, 1) of the first 2x2 group
    assert merged[0, 0, 0].tolist() == [grid[0, 0, 0, 0], grid[0, 1, 0, 0], grid[0, 0, 1, 0],
                                        grid[0, 1, 1, 0]]
    assert merged[0, 1, 2].tolist() == [grid[0, 2, 4, 0], 0.0, 0.0, 0.0]  # padded corner
    assert windows.MERGE_OFFSETS == ((0, 0), (1, 0), (0, 1), (1, 1))


def test_relative_position_index() -> None:
    index = windows.relative_position_index(7)
    assert index.shape == (49, 49)
    assert index.min() == 0 and index.max() == 13 * 13 - 1
    assert torch.all(index.diagonal() == 6 * 13 + 6)
    # token 0 = (0, 0) and token 48 = (6, 6): offset (-6, -6) -> entry 0
    assert index[0, 48] == 0 and index[48, 0] == 13 * 13 - 1
    shrunk = windows.relative_position_index(6, 7)
    assert shrunk.shape == (36, 36)
    assert torch.all(shrunk.diagonal() == 6 * 13 + 6)
    assert shrunk.max() < 169
    with pytest.raises(ValueError):
        windows.relative_position_index(8, 7)


def test_effective_window_and_stage_geometry() -> None:
    assert windows.effective_window(7, 7, 7, 3) == (7, 0)
    assert windows.effective_window(8, 6, 7, 3) == (6, 0)
    assert windows.effective_window(8, 8, 7, 3) == (7, 3)
    tiny = windows.stage_geometry(preset("swin-t"), 224, 224)
    assert [(g.height, g.width) for g in tiny] == [(56, 56), (28, 28), (14, 14), (7, 7)]
    assert [g.shift_size for g in tiny] == [3, 3, 3, 0]
    assert [g.num_windows for g in tiny] == [64, 16, 4, 1]
    assert tiny[3].window_shrunk is False and tiny[3].block_shift(1) == 0
    odd = windows.stage_geometry(preset("swin-t"), 230, 190)
    assert [(g.height, g.width) for g in odd] == [(58, 48), (29, 24), (15, 12), (8, 6)]
    assert [(g.padded_height, g.padded_width) for g in odd] == [(63, 49), (35, 28), (21, 14), (12, 6)]
    assert odd[3].window_size == 6 and odd[3].window_shrunk and odd[3].shift_size == 0
    assert odd[0].stride == 4 and odd[3].stride == 32
    large = windows.stage_geometry(preset("swin-b", img_size=384, window_size=12))
    assert [g.window_size for g in large] == [12, 12, 12, 12]
    assert [g.shift_size for g in large] == [6, 6, 6, 0]
    unshifted = windows.stage_geometry(preset("swin-t", shifted=False))
    assert all(g.shift_size == 0 for g in unshifted)


def test_patch_grid_and_padding() -> None:
    assert windows.patch_grid(230, 190, 4) == (58, 48)
    assert windows.pad_amount(230, 4) == 2 and windows.pad_amount(224, 4) == 0
    padded = windows.pad_image(torch.ones(1, 3, 230, 190), 4)
    assert padded.shape == (1, 3, 232, 192)
    assert padded[..., 230:, :].abs().sum() == 0
