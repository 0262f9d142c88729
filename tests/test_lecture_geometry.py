"""Relative position index, bias-table resizing, receptive field and attention rollout, each
against an independent construction written out here (the official lines, a token-by-token
dependency propagation, the model's own gradients, a dense matrix product)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from swin_model import SwinConfig, SwinTransformer, capture_attention, preset, windows
from swin_model.bias_resize import resize_bias_table, table_window
from swin_model.rollout import attention_rollout, block_order

# --- relative position index -------------------------------------------------------------------


def official_relative_position_index(window: int, table_window_size: int | None = None) -> torch.Tensor:
    """The official WindowAttention lines (table side T = window unless given)."""
    table = window if table_window_size is None else table_window_size
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij"))
    coords_flat = torch.flatten(coords, 1)  # 2, M*M
    relative = coords_flat[:, :, None] - coords_flat[:, None, :]  # 2, M*M, M*M
    relative = relative.permute(1, 2, 0).contiguous()  # M*M, M*M, 2
    relative[:, :, 0] += table - 1
    relative[:, :, 1] += table - 1
    relative[:, :, 0] *= 2 * table - 1
    return relative.sum(-1)


@pytest.mark.parametrize("window", [1, 2, 3, 4, 7, 12])
def test_relative_position_index_is_the_official_construction(window: int) -> None:
    index = windows.relative_position_index(window)
    assert torch.equal(index, official_relative_position_index(window))
    assert index.shape == (window**2, window**2)
    assert int(index.max()) == (2 * window - 1) ** 2 - 1
    # the diagonal (a token with itself, offset (0, 0)) reads the table's centre
    assert set(index.diagonal().tolist()) == {(2 * window - 1) ** 2 // 2}


@pytest.mark.parametrize(("window", "table"), [(5, 7), (7, 12), (2, 3)])
def test_shrunk_window_reads_its_offsets_from_the_larger_table(window: int, table: int) -> None:
    assert torch.equal(windows.relative_position_index(window, table),
                       official_relative_position_index(window, table))


# --- bias table resize -------------------------------------------------------------------------


def official_resize(table: torch.Tensor, new_window: int) -> torch.Tensor:
    """The official load_pretrained lines for one relative_position_bias_table key."""
    length1, heads1 = table.size()
    length2 = (2 * new_window - 1) ** 2
    if length1 == length2:
        return table
    side1, side2 = int(length1**0.5), int(length2**0.5)
    resized = torch.nn.functional.interpolate(
        table.permute(1, 0).view(1, heads1, side1, side1), size=(side2, side2), mode="bicubic")
    return resized.view(heads1, length2).permute(1, 0)


@pytest.mark.parametrize(("window", "new_window", "heads"), [(7, 12, 3), (12, 7, 4), (7, 7, 2), (2, 5, 1)])
def test_resize_bias_table_is_the_official_bicubic_interpolation(window: int, new_window: int,
                                                                 heads: int) -> None:
    table = torch.randn((2 * window - 1) ** 2, heads, generator=torch.Generator().manual_seed(window))
    resized = resize_bias_table(table, new_window)
    assert resized.shape == ((2 * new_window - 1) ** 2, heads)
    assert torch.equal(resized, official_resize(table, new_window))
    assert resized.is_contiguous()
    assert table_window(resized) == new_window


def test_resize_keeps_a_constant_table_and_the_heads_apart() -> None:
    table = torch.zeros(13 * 13, 2)
    table[:, 0] = 0.25
    table[:, 1] = -1.5
    resized = resize_bias_table(table, 12)
    assert torch.allclose(resized[:, 0], torch.full((23 * 23,), 0.25))
    assert torch.allclose(resized[:, 1], torch.full((23 * 23,), -1.5))


def test_resize_matches_interpolate_on_one_head_image() -> None:
    table = torch.arange(13 * 13, dtype=torch.float32).reshape(-1, 1)
    image = table.reshape(1, 1, 13, 13)
    expected = F.interpolate(image, size=(23, 23), mode="bicubic", align_corners=False).reshape(-1, 1)
    assert torch.equal(resize_bias_table(table, 12), expected)


@pytest.mark.parametrize("rows", [0, 8, 16, 24])
def test_table_window_rejects_other_shapes(rows: int) -> None:
    with pytest.raises(ValueError, match="bias table"):
        table_window(np.zeros((rows, 3)))


# --- attention groups and receptive field -------------------------------------------------------

SMALL = SwinConfig(img_size=44, patch_size=4, num_classes=0, embed_dim=8, depths=(2, 2, 2),
                   num_heads=(1, 2, 2), window_size=3)
"""11x13 patches at 44x52: stage 1 pads to 12x15 (window 3, shift 1), stage 2 is 6x7 (pads to
6x9), stage 3 is 3x4 (window 3, no shift, pads to 3x6): odd maps, padding and merging."""

CASES = [
    (SMALL, 44, 52),
    (SMALL.replace(window_size=4), 44, 52),
    (SMALL.replace(shifted=False), 44, 52),
    (SMALL.replace(window_size=2, depths=(2, 4, 2)), 36, 28),
]


def test_attention_groups_are_window_and_region_after_the_roll() -> None:
    height, width, window, shift = 12, 15, 3, 1
    groups = windows.attention_groups(height, width, window, shift)
    rolled = np.roll(np.arange(height * width).reshape(height, width), (-shift, -shift), axis=(0, 1))
    regions = windows.region_map(height, width, window, shift)
    place = {}
    for row in range(height):
        for col in range(width):
            token = rolled[row, col]
            place[token] = ((row // window, col // window), regions[row, col])
    flat = groups.reshape(-1)
    for a in range(height * width):
        for b in range(0, height * width, 7):
            assert (flat[a] == flat[b]) == (place[a] == place[b])


def brute_force_fields(config: SwinConfig, height: int, width: int) -> dict[tuple[int, int], np.ndarray]:
    """{(stage, block) 1-based: (h, w, h1, w1) bool}: which stage-1 patch reaches which token
    after each block, propagated forward token by token through the rolled windows."""
    geometries = windows.stage_geometry(config, height, width)
    h1, w1 = geometries[0].height, geometries[0].width
    depends = np.eye(h1 * w1, dtype=bool).reshape(h1, w1, h1 * w1)
    fields = {}
    for stage, geometry in enumerate(geometries):
        h, w = geometry.height, geometry.width
        if stage:
            merged = np.zeros((h, w, h1 * w1), dtype=bool)
            previous_h, previous_w = depends.shape[:2]
            for row in range(h):
                for col in range(w):
                    for dr in (0, 1):
                        for dc in (0, 1):
                            if 2 * row + dr < previous_h and 2 * col + dc < previous_w:
                                merged[row, col] |= depends[2 * row + dr, 2 * col + dc]
            depends = merged
        for block in range(geometry.depth):
            window = geometry.window_size
            shift = geometry.shift_size if block % 2 else 0
            ph, pw = geometry.padded_height, geometry.padded_width
            ids = np.full((ph, pw), -1)
            ids[:h, :w] = np.arange(h * w).reshape(h, w)
            rolled = np.roll(ids, (-shift, -shift), axis=(0, 1))
            regions = windows.region_map(ph, pw, window, shift)
            slot_ids = windows.window_partition(rolled[None, :, :, None], window).reshape(-1, window**2)
            slot_regions = windows.window_partition(regions[None, :, :, None], window).reshape(-1, window**2)
            flat = depends.reshape(h * w, -1)
            new = flat.copy()
            for tokens, token_regions in zip(slot_ids, slot_regions, strict=True):
                for token, region in zip(tokens, token_regions, strict=True):
                    if token < 0:
                        continue
                    for other, other_region in zip(tokens, token_regions, strict=True):
                        if other >= 0 and other_region == region:
                            new[token] |= flat[other]
            depends = new.reshape(h, w, -1)
            fields[(stage + 1, block + 1)] = depends.reshape(h, w, h1, w1)
    return fields


@pytest.mark.parametrize(("config", "height", "width"), CASES)
def test_receptive_field_matches_token_by_token_propagation(config: SwinConfig, height: int,
                                                            width: int) -> None:
    expected = brute_force_fields(config, height, width)
    for (stage, block), fields in expected.items():
        rows, cols = fields.shape[:2]
        for row in range(rows):
            for col in range(cols):
                field = windows.receptive_field(config, height, width, stage, block, row, col)
                assert field.dtype == bool
                assert np.array_equal(field, fields[row, col]), (stage, block, row, col)


def test_receptive_field_of_swin_t_by_hand() -> None:
    config = preset("swin-t")
    # W-MSA block 1: exactly the token's 7x7 window
    field = windows.receptive_field(config, 224, 224, 1, 1, 20, 20)
    assert field.shape == (56, 56)
    assert np.array_equal(np.argwhere(field).min(axis=0), [14, 14])
    assert np.array_equal(np.argwhere(field).max(axis=0), [20, 20])
    # SW-MSA block 2: its shifted window (rows and cols 17-23) spans four block-1 windows
    field = windows.receptive_field(config, 224, 224, 1, 2, 20, 20)
    assert field.sum() == 4 * 49
    # the top-left token's shifted window wraps around, but the mask keeps it to its region
    wrapped = windows.receptive_field(config, 224, 224, 1, 2, 0, 0)
    assert not wrapped[49:, :].any() and not wrapped[:, 49:].any()
    no_shift = config.replace(shifted=False)
    assert windows.receptive_field(no_shift, 224, 224, 1, 2, 20, 20).sum() == 49
    assert windows.receptive_field(no_shift, 224, 224, 3, 6, 5, 5).sum() == 28 * 28
    assert windows.receptive_field(no_shift, 224, 224, 4, 1, 0, 0).all()


def test_receptive_field_growth_follows_the_image_point() -> None:
    config = preset("swin-t")
    growth = windows.receptive_field_growth(config, 224, 224, 20, 20)
    assert [(stage, block) for stage, block, _ in growth] == [
        (stage + 1, block + 1) for stage, block in block_order(config)]
    sizes = [size for _, _, size in growth]
    assert sizes == sorted(sizes)
    assert sizes[:2] == [49, 196]
    assert sizes[-1] == 56 * 56
    for stage, block, size in growth:
        token = (20 >> (stage - 1), 20 >> (stage - 1))
        assert windows.receptive_field(config, 224, 224, stage, block, *token).sum() == size
    unshifted = windows.receptive_field_growth(config.replace(shifted=False), 224, 224, 20, 20)
    assert all(off <= on for (_, _, on), (_, _, off) in zip(growth, unshifted, strict=True))


@pytest.mark.parametrize(("stage", "block", "row", "col"),
                         [(0, 1, 0, 0), (4, 1, 0, 0), (1, 3, 0, 0), (1, 1, 11, 0), (1, 1, 0, -1)])
def test_receptive_field_rejects_positions_outside_the_model(stage: int, block: int, row: int,
                                                             col: int) -> None:
    with pytest.raises(ValueError):
        windows.receptive_field(SMALL, 44, 52, stage, block, row, col)


def patch_gradient(config: SwinConfig, height: int, width: int, stage: int, block: int, row: int,
                   col: int) -> np.ndarray:
    """(h1, w1) bool: the stage-1 patches where the gradient of one token's output (after
    ``block`` of ``stage``, 1-based) w.r.t. the input image is not zero."""
    torch.manual_seed(0)
    model = SwinTransformer(config).double().eval()
    pixels = torch.randn(1, config.in_chans, height, width, dtype=torch.float64, requires_grad=True)
    outputs: list[torch.Tensor] = []
    target = model.layers[stage - 1].blocks[block - 1]
    handle = target.register_forward_hook(lambda _module, _inputs, output: outputs.append(output))
    try:
        model.forward_grid(pixels)
    finally:
        handle.remove()
    direction = torch.randn(outputs[0].shape[-1], dtype=torch.float64)
    (outputs[0][0, row, col] * direction).sum().backward()
    assert pixels.grad is not None
    patch = config.patch_size
    grad = windows.pad_image(pixels.grad.abs().sum(dim=1, keepdim=True), patch)[0, 0]
    h1, w1 = grad.shape[0] // patch, grad.shape[1] // patch
    return (grad.reshape(h1, patch, w1, patch).amax(dim=(1, 3)) > 0).numpy()


@pytest.mark.parametrize(("config", "height", "width", "targets"), [
    (SMALL, 44, 52, [(1, 1, 5, 6), (1, 2, 0, 0), (1, 2, 10, 12), (2, 1, 3, 3), (2, 2, 5, 6), (3, 1, 1, 2)]),
    (SMALL.replace(window_size=4), 44, 52, [(1, 2, 4, 3), (2, 2, 0, 6)]),
    (SMALL.replace(shifted=False), 44, 52, [(2, 2, 2, 2)]),
])
def test_receptive_field_is_where_the_gradient_of_the_model_is_not_zero(
        monkeypatch: pytest.MonkeyPatch, config: SwinConfig, height: int, width: int,
        targets: list[tuple[int, int, int, int]]) -> None:
    # the official -100 only makes cross-region weights tiny; -inf makes them exactly zero
    monkeypatch.setattr(windows, "MASK_VALUE", float("-inf"))
    for stage, block, row, col in targets:
        expected = windows.receptive_field(config, height, width, stage, block, row, col)
        reached = patch_gradient(config, height, width, stage, block, row, col)
        assert np.array_equal(reached, expected), (stage, block, row, col)


def test_the_official_mask_leaks_almost_nothing_outside_the_field() -> None:
    """With -100 the gradient outside the field is not exactly zero, but tiny."""
    torch.manual_seed(0)
    config = SMALL
    model = SwinTransformer(config).double().eval()
    pixels = torch.randn(1, 3, 44, 52, dtype=torch.float64, requires_grad=True)
    outputs: list[torch.Tensor] = []
    handle = model.layers[0].blocks[1].register_forward_hook(lambda _m, _i, out: outputs.append(out))
    model.forward_grid(pixels)
    handle.remove()
    outputs[0][0, 0, 0].sum().backward()
    assert pixels.grad is not None
    grad = windows.pad_image(pixels.grad.abs().sum(dim=1, keepdim=True), 4)[0, 0]
    per_patch = grad.reshape(11, 4, 13, 4).amax(dim=(1, 3)).numpy()
    field = windows.receptive_field(config, 44, 52, 1, 2, 0, 0)
    assert per_patch[field].min() > 1e-8
    assert per_patch[~field].max() < 1e-30


# --- rollout -----------------------------------------------------------------------------------


def dense_rollout(config: SwinConfig, height: int, width: int, attentions: list[np.ndarray],
                  stage: int, block: int, row: int, col: int) -> np.ndarray:
    """Rollout as explicit matrices over the real tokens: R = 0.5·A + 0.5·I (rows
    renormalised) per block, merge matrices between stages, multiplied densely."""
    geometries = windows.stage_geometry(config, height, width)
    order = [(s, b) for s, depth in enumerate(config.depths) for b in range(depth)]
    last = order.index((stage - 1, block - 1))
    product = None
    previous_stage = None
    for index in range(last + 1):
        s, b = order[index]
        geometry = geometries[s]
        h, w = geometry.height, geometry.width
        if previous_stage is not None and s != previous_stage:
            before = geometries[previous_stage]
            merge = np.zeros((h * w, before.height * before.width))
            for r in range(h):
                for c in range(w):
                    members = [(2 * r + dr) * before.width + 2 * c + dc for dr in (0, 1) for dc in (0, 1)
                               if 2 * r + dr < before.height and 2 * c + dc < before.width]
                    merge[r * w + c, members] = 1.0 / len(members)
            product = merge @ product
        previous_stage = s
        window = geometry.window_size
        shift = geometry.shift_size if b % 2 else 0
        ph, pw = geometry.padded_height, geometry.padded_width
        averaged = attentions[index].astype(np.float64).mean(axis=1)

        def where(r: int, c: int, window: int = window, shift: int = shift, ph: int = ph,
                  pw: int = pw) -> tuple[int, int]:
            rolled_r, rolled_c = (r - shift) % ph, (c - shift) % pw
            return ((rolled_r // window) * (pw // window) + rolled_c // window,
                    (rolled_r % window) * window + rolled_c % window)

        matrix = np.zeros((h * w, h * w))
        for t in range(h * w):
            window_t, slot_t = where(t // w, t % w)
            for u in range(h * w):
                window_u, slot_u = where(u // w, u % w)
                if window_u == window_t:
                    matrix[t, u] = averaged[window_t, slot_t, slot_u]
        matrix = 0.5 * matrix + 0.5 * np.eye(h * w)
        matrix /= matrix.sum(axis=1, keepdims=True)
        product = matrix if product is None else matrix @ product
    assert product is not None
    final = geometries[stage - 1]
    h1, w1 = geometries[0].height, geometries[0].width
    return product[row * final.width + col].reshape(h1, w1)


def captured_attention(config: SwinConfig, height: int, width: int) -> list[np.ndarray]:
    torch.manual_seed(1)
    model = SwinTransformer(config).eval()
    pixels = torch.randn(1, 3, height, width)
    with torch.no_grad(), capture_attention(model) as records:
        model(pixels)
    assert [(r.stage, r.block) for r in records] == block_order(config)
    return [record.attn.numpy() for record in records]


@pytest.mark.parametrize(("config", "height", "width"), CASES[:3])
def test_rollout_equals_the_dense_matrix_product_on_a_tiny_model(config: SwinConfig, height: int,
                                                                 width: int) -> None:
    attentions = captured_attention(config, height, width)
    geometries = windows.stage_geometry(config, height, width)
    for stage, block, row, col in [(1, 1, 4, 5), (1, 2, 0, 0), (1, 2, 10, 12), (2, 1, 5, 6),
                                   (2, 2, 2, 3), (3, 1, 0, 0), (3, 2, 2, 3)]:
        geometry = geometries[stage - 1]
        row, col = min(row, geometry.height - 1), min(col, geometry.width - 1)
        rolled_out = attention_rollout(config, height, width, attentions, stage, block, row, col)
        expected = dense_rollout(config, height, width, attentions, stage, block, row, col)
        assert rolled_out.shape == (geometries[0].height, geometries[0].width)
        np.testing.assert_allclose(rolled_out, expected, rtol=1e-10, atol=1e-14)
        assert rolled_out.sum() == pytest.approx(1.0)


def test_rollout_of_peaked_attention_follows_the_tokens() -> None:
    """Attention all on one key: the rollout moves half the weight to that key each block."""
    config = SMALL.replace(depths=(1, 1, 1))
    geometry = windows.stage_geometry(config, 44, 52)[0]
    n = geometry.tokens_per_window
    attention = np.zeros((geometry.num_windows, 1, n, n))
    attention[:, :, :, 0] = 1.0  # every query attends to slot 0 of its window: its top-left token
    weights = attention_rollout(config, 44, 52, [attention], 1, 1, 4, 5)
    expected = np.zeros((11, 13))
    expected[4, 5] = 0.5
    expected[3, 3] = 0.5  # slot 0 of the window holding (4, 5), rows 3-5 and columns 3-5
    np.testing.assert_allclose(weights, expected)


def test_rollout_drops_padded_keys_and_renormalises() -> None:
    config = SMALL.replace(depths=(1, 1, 1))
    geometry = windows.stage_geometry(config, 44, 52)[0]  # 11x13 padded to 12x15
    n = geometry.tokens_per_window
    attention = np.full((geometry.num_windows, 1, n, n), 1.0 / n)
    weights = attention_rollout(config, 44, 52, [attention], 1, 1, 10, 12)
    # the bottom-right window holds tokens rows 9-11 x cols 12-14, of which 2 x 1 are real
    assert weights.sum() == pytest.approx(1.0)
    assert set(map(tuple, np.argwhere(weights > 0))) == {(9, 12), (10, 12)}
    assert weights[10, 12] > weights[9, 12]


def test_rollout_needs_every_block_up_to_the_chosen_one() -> None:
    attentions = captured_attention(SMALL, 44, 52)
    with pytest.raises(ValueError, match="needs the attention of 3 blocks"):
        attention_rollout(SMALL, 44, 52, attentions[:2], 2, 1, 0, 0)
    with pytest.raises(ValueError, match="attention must be"):
        attention_rollout(SMALL, 44, 52, attentions[1:], 1, 2, 0, 0)


def test_rollout_module_imports_without_torch() -> None:
    import subprocess
    import sys

    code = ("import sys; import swin_model.rollout, swin_model.windows; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
