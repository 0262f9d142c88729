"""The lean forward (issue 9): one gather per partition / reverse / merge, bias plus mask
cached per shape, the shift and window changed in place, and the traced fast path."""

from __future__ import annotations

import pytest
import torch

from swin_model import SwinConfig, SwinTransformer, windows
from swin_model.bias_resize import resize_bias_table
from swin_model.layers import merge_index, window_plan

SMALL = SwinConfig(img_size=64, embed_dim=24, depths=(2, 2, 2), num_heads=(2, 3, 4),
                   window_size=4, num_classes=10)


def randomised(config: SwinConfig, seed: int = 0) -> SwinTransformer:
    """A model whose every parameter is random, so a misplaced tensor changes the logits."""
    model = SwinTransformer(config).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.2)
    return model


def pixels(height: int = 64, width: int = 64, batch: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(seed))


def reference_logits(model: SwinTransformer, x: torch.Tensor) -> torch.Tensor:
    """The official sequence, step by step with the windows module: pad, roll, partition,
    explicit softmax with bias and mask, reverse, roll back, crop; merging by x0..x3 concat."""
    features = model.patch_embed(x)
    for stage in model.layers:
        for block in stage.blocks:
            _, height, width, channels = features.shape
            window, shift = windows.effective_window(height, width, block.window_size, block.shift_size)
            normed = windows.pad_feature_map(block.norm1(features), window)
            padded_height, padded_width = normed.shape[1:3]
            rolled = windows.cyclic_shift(normed, shift)
            tokens = windows.window_partition(rolled, window).reshape(-1, window * window, channels)
            attention = block.attn
            qkv = attention.qkv(tokens).reshape(tokens.shape[0], window * window, 3, attention.num_heads, -1)
            query, key, value = qkv.permute(2, 0, 3, 1, 4)
            logits = (query * attention.scale) @ key.transpose(-2, -1) + attention.position_bias(window)
            if shift:
                mask = windows.attention_mask(padded_height, padded_width, window, shift)
                logits = (logits.view(-1, mask.shape[0], *logits.shape[1:]) + mask[None, :, None]
                          ).view(logits.shape)
            mixed = (logits.softmax(-1) @ value).transpose(1, 2).reshape(tokens.shape)
            mixed = attention.proj(mixed).view(-1, window, window, channels)
            mixed = windows.window_reverse(mixed, window, padded_height, padded_width)
            features = features + windows.reverse_cyclic_shift(mixed, shift)[:, :height, :width]
            hidden = torch.nn.functional.gelu(block.mlp.fc1(block.norm2(features)))
            features = features + block.mlp.fc2(hidden)
        if stage.downsample is not None:
            merging = stage.downsample
            features = merging.reduction(merging.norm(windows.merge_patches(features)))
    return model.head(model.norm(features).mean(dim=(1, 2)))


# --- the gathers equal the step-by-step geometry --------------------------------------------------

@pytest.mark.parametrize(("height", "width", "window", "shift"), [
    (8, 8, 4, 2), (8, 12, 4, 0), (7, 10, 4, 2), (5, 9, 3, 1), (3, 11, 4, 2), (6, 6, 7, 3)])
def test_plan_gathers_equal_pad_roll_partition(height: int, width: int, window: int, shift: int) -> None:
    grid = torch.randn(2, height, width, 5)
    plan = window_plan(height, width, window, shift)
    effective, effective_shift = windows.effective_window(height, width, window, shift)
    assert (plan.window_size, plan.shift_size) == (effective, effective_shift)
    padded = windows.pad_feature_map(grid, effective)
    expected = windows.window_partition(windows.cyclic_shift(padded, effective_shift), effective)
    assert torch.equal(plan.partition(grid), expected.reshape(-1, effective * effective, 5))
    assert torch.equal(plan.reverse(plan.partition(grid), batch=2), grid)
    if effective_shift:
        assert plan.mask is not None and torch.equal(plan.mask, windows.attention_mask(
            plan.padded_height, plan.padded_width, effective, effective_shift))
    else:
        assert plan.mask is None


@pytest.mark.parametrize(("height", "width"), [(8, 8), (7, 8), (8, 5), (3, 3), (1, 2)])
def test_merge_gather_equals_the_x0_to_x3_concat(height: int, width: int) -> None:
    grid = torch.randn(2, height, width, 3)
    rows = torch.cat([grid.reshape(2, -1, 3), torch.zeros(2, 1, 3)], dim=1)
    gathered = rows.index_select(1, merge_index(height, width)).view(
        2, (height + 1) // 2, (width + 1) // 2, 12)
    assert torch.equal(gathered, windows.merge_patches(grid))


@pytest.mark.parametrize(("height", "width", "shifted"), [
    (64, 64, True), (70, 50, True), (37, 91, False), (24, 40, True)])
def test_forward_equals_the_step_by_step_reference(height: int, width: int, shifted: bool) -> None:
    model = randomised(SMALL.replace(shifted=shifted), seed=height)
    x = pixels(height, width)
    with torch.no_grad():
        expected = reference_logits(model, x)
        torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=1e-5)


def test_packed_and_plain_linear_give_the_same_logits() -> None:
    from swin_model.packed_linear import plain_linear

    model = randomised(SMALL, seed=2)
    x = pixels(70, 50)
    with torch.inference_mode():
        packed = model(x)
        with plain_linear():
            plain = model(x)
    torch.testing.assert_close(packed, plain, atol=1e-5, rtol=1e-5)


def test_offsets_cached_in_inference_mode_are_normal_tensors() -> None:
    model = randomised(SMALL, seed=3)
    x = pixels()
    with torch.inference_mode():
        expected = model(x)
    cached = [offset for block in model.blocks() for offset in block.attn._offsets.values()]
    assert cached and not any(offset.is_inference() for offset in cached)
    logits = model(x)  # grad mode reuses nothing that autograd cannot save
    logits.square().sum().backward()
    torch.testing.assert_close(logits.detach(), expected, atol=1e-5, rtol=1e-5)
    assert all(parameter.grad is not None for parameter in model.parameters())


def test_large_offsets_are_added_up_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    from swin_model import layers

    x = pixels()
    model = randomised(SMALL, seed=12)
    with torch.no_grad():
        expected = model(x)
    kinds = [key[0] for block in model.blocks() for key in block.attn._offsets]
    assert kinds.count("offset") == 2 and kinds.count("bias") == 6  # stage 3 (4x4 = M) is unshifted
    monkeypatch.setattr(layers, "OFFSET_CACHE_BYTES", 0)
    model = randomised(SMALL, seed=12)
    with torch.no_grad():
        assert torch.equal(model(x), expected)
    assert [key[0] for block in model.blocks() for key in block.attn._offsets] == ["bias"] * 6


def test_batch_with_shift_expands_the_offset_per_image() -> None:
    model = randomised(SMALL, seed=4)
    x = pixels(batch=3)
    with torch.no_grad():
        together = model(x)
        apart = torch.cat([model(image[None]) for image in x])
    torch.testing.assert_close(together, apart, atol=1e-5, rtol=1e-5)


# --- the shift and the window change in place ------------------------------------------------------

def test_set_shifted_equals_a_fresh_unshifted_model() -> None:
    model = randomised(SMALL, seed=5)
    x = pixels()
    parameters = [id(parameter) for parameter in model.parameters()]
    with torch.no_grad():
        shifted_logits = model(x)
        model.set_shifted(False)
        fresh = SwinTransformer(SMALL.replace(shifted=False)).eval()
        fresh.load_state_dict(model.state_dict())
        unshifted_logits = model(x)
        assert torch.equal(unshifted_logits, fresh(x))
        assert not torch.allclose(unshifted_logits, shifted_logits)
        assert model.config.shifted is False
        assert [block.shift_size for block in model.blocks()] == [0] * 6
        model.set_shifted(True)
        assert torch.equal(model(x), shifted_logits)
    assert [id(parameter) for parameter in model.parameters()] == parameters


def test_set_window_size_resizes_tables_as_a_fresh_model_loaded_with_them() -> None:
    model = randomised(SMALL, seed=6)
    x = pixels()
    original = {key: value.clone() for key, value in model.state_dict().items()}
    with torch.no_grad():
        before = model(x)
        model.set_window_size(6, tables="resize")
        expected_config = SMALL.replace(window_size=6, stage_window_sizes=tuple(
            windows.official_table_windows(64, 64, 4, 6, 3)))
        assert model.config == expected_config
        fresh = SwinTransformer(expected_config).eval()
        state = dict(original)
        for key in [k for k in state if k.endswith("relative_position_bias_table")]:
            stage = int(key.split(".")[1])
            state[key] = resize_bias_table(original[key], expected_config.stage_window(stage))
        fresh.load_state_dict(state)
        assert torch.equal(model(x), fresh(x))
        assert model.bias_tables_resized_from == 4
        model.set_window_size(4, tables="resize")  # back: the original tables, not a resize of a resize
        for key, value in model.state_dict().items():
            assert torch.equal(value, original[key]), key
        assert model.bias_tables_resized_from is None
        assert torch.equal(model(x), before)


def test_set_window_size_redraws_tables_as_a_fresh_seeded_model() -> None:
    torch.manual_seed(11)
    model = SwinTransformer(SMALL).eval()
    torch.manual_seed(11)
    fresh = SwinTransformer(SMALL.replace(window_size=6)).eval()
    x = pixels()
    model.set_window_size(6)  # built here (no checkpoint): tables redrawn
    assert model.config == fresh.config
    for (key, value), (fresh_key, expected) in zip(model.state_dict().items(), fresh.state_dict().items(),
                                                   strict=True):
        assert key == fresh_key and torch.equal(value, expected), key
    with torch.no_grad():
        assert torch.equal(model(x), fresh(x))


def test_loaded_model_resizes_by_default() -> None:
    model = randomised(SMALL, seed=7)
    model.checkpoint_info = "swin.pth (official layout): model"
    table = model.block(0, 0).attn.relative_position_bias_table.detach().clone()
    model.set_window_size(5)
    assert torch.equal(model.block(0, 0).attn.relative_position_bias_table, resize_bias_table(table, 5))
    assert model.checkpoint_info.endswith("bias tables resized bicubically from M=4 to M=5")
    model.set_window_size(4)
    assert model.checkpoint_info == "swin.pth (official layout): model"


def test_set_window_size_inside_inference_mode_keeps_normal_weights() -> None:
    model = randomised(SMALL, seed=8)
    with torch.inference_mode():
        model.set_window_size(5, tables="resize")
        expected = model(pixels())
    assert not any(parameter.is_inference() for parameter in model.parameters())
    torch.testing.assert_close(model(pixels()).detach(), expected, atol=1e-5, rtol=1e-5)


# --- one graph ----------------------------------------------------------------------------------------

def test_forward_traces_to_one_graph_that_equals_eager() -> None:
    """No numpy and no branch on tensor values in the forward: traced once at a shape, the
    graph (frozen, plain F.linear) reproduces eager logits, and reads the caches' tensors as
    constants rather than recomputing geometry."""
    import warnings

    from swin_model.packed_linear import plain_linear

    model = randomised(SMALL, seed=9)
    x = pixels(70, 50)
    with torch.no_grad(), plain_linear(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = torch.jit.freeze(torch.jit.trace(model, x, check_trace=False))
        expected = model(x)
    kinds = {node.kind() for node in graph.graph.nodes()}
    assert "aten::index_select" in kinds and "aten::scaled_dot_product_attention" in kinds
    assert "aten::roll" not in kinds and "prim::PythonOp" not in kinds
    with torch.no_grad():
        torch.testing.assert_close(graph(x), expected, atol=1e-5, rtol=1e-5)
