"""One run, every block (issue 9): capture_all keeps what every block's attention view
needs, within a byte budget, and block_record recomputes one block from its input."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from swin_model import (
    SwinConfig,
    SwinTransformer,
    block_attention,
    block_record,
    capture_all,
    capture_attention,
    choose_capture_mode,
    estimate_capture_bytes,
    preset,
)
from swin_model.rollout import block_order

SMALL = SwinConfig(img_size=64, embed_dim=24, depths=(2, 2, 2), num_heads=(2, 3, 4),
                   window_size=4, num_classes=10)


@pytest.fixture(scope="module")
def model() -> SwinTransformer:
    torch.manual_seed(0)
    return SwinTransformer(SMALL).eval()


def pixels(height: int, width: int, batch: int = 1) -> torch.Tensor:
    return torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(height + width))


def alone(model: SwinTransformer, x: torch.Tensor, key: tuple[int, int]):
    """The record of one block from a fresh run capturing only that block."""
    with torch.no_grad(), capture_attention(model, [key]) as records:
        model(x)
    (record,) = records
    return record


def assert_same_record(found, expected) -> None:
    assert (found.stage, found.block, found.window_size, found.shift_size) == (
        expected.stage, expected.block, expected.window_size, expected.shift_size)
    assert (found.grid_size, found.padded_size) == (expected.grid_size, expected.padded_size)
    assert found.attn.shape == expected.attn.shape
    torch.testing.assert_close(found.attn, expected.attn, atol=1e-6, rtol=0)
    if expected.mask is None:
        assert found.mask is None
    else:
        assert found.mask is not None and torch.equal(found.mask, expected.mask)


@pytest.mark.parametrize(("height", "width", "batch"), [(64, 64, 1), (70, 50, 2)])
def test_every_block_equals_a_fresh_capture_of_that_block(model: SwinTransformer, height: int,
                                                           width: int, batch: int) -> None:
    x = pixels(height, width, batch)
    run = capture_all(model, x)
    assert run.mode == "attention"
    assert sorted(run.records) == block_order(SMALL) == sorted(run.inputs)
    with torch.no_grad():
        assert torch.equal(run.logits, model(x))  # recording beside the fused path changes nothing
    for key in block_order(SMALL):
        assert run.has(*key)
        assert_same_record(run.record(*key), alone(model, x, key))


@pytest.mark.parametrize(("height", "width"), [(64, 64), (70, 50)])
def test_inputs_mode_recomputes_every_block_from_its_input(model: SwinTransformer, height: int,
                                                          width: int) -> None:
    x = pixels(height, width)
    run = capture_all(model, x, mode="inputs")
    assert run.mode == "inputs" and not run.records
    assert sorted(run.inputs) == block_order(SMALL)
    with torch.no_grad():
        assert torch.equal(run.logits, model(x))  # the plain forward: nothing recorded on the way
    for key in block_order(SMALL):
        expected = alone(model, x, key)
        assert_same_record(run.record(*key), expected)
        assert torch.equal(run.inputs[key], expected.input)


def test_block_attention_takes_a_flat_input_with_its_grid(model: SwinTransformer) -> None:
    x = pixels(70, 50)
    expected = alone(model, x, (1, 1))
    grid = expected.input  # 1, H, W, C
    flat = grid.reshape(1, -1, grid.shape[-1])
    probs = block_attention(model, 1, 1, flat, grid_size=tuple(grid.shape[1:3]))
    torch.testing.assert_close(probs, expected.attn, atol=1e-6, rtol=0)
    assert torch.equal(block_record(model, 1, 1, grid).attn, probs)
    with pytest.raises(ValueError, match="grid_size"):
        block_attention(model, 1, 1, flat)
    with pytest.raises(ValueError, match="no block"):
        block_attention(model, 5, 0, grid)


def test_estimates_equal_what_a_run_keeps(model: SwinTransformer) -> None:
    x = pixels(70, 50, batch=2)
    run = capture_all(model, x)
    kept_attention = sum(record.attn.numel() * record.attn.element_size() for record in run.records.values())
    kept_inputs = sum(tensor.numel() * tensor.element_size() for tensor in run.inputs.values())
    assert run.estimated_bytes == kept_attention + kept_inputs
    assert estimate_capture_bytes(SMALL, 70, 50, "inputs", batch=2) == kept_inputs
    record = run.records[(0, 1)]
    assert estimate_capture_bytes(SMALL, 70, 50, "block", batch=2, shown=(0, 1)) == (
        record.attn.numel() * 4 + record.input.numel() * 4)


def test_budget_falls_back_to_the_smaller_mode(model: SwinTransformer) -> None:
    x = pixels(64, 64)
    sizes = {mode: estimate_capture_bytes(SMALL, 64, 64, mode, shown=(1, 0))
             for mode in ("attention", "inputs", "block")}
    assert sizes["attention"] > sizes["inputs"]
    assert choose_capture_mode(SMALL, 64, 64, budget=sizes["attention"]) == "attention"
    assert choose_capture_mode(SMALL, 64, 64, budget=sizes["attention"] - 1) == "inputs"
    assert choose_capture_mode(SMALL, 64, 64, budget=1) == "block"

    between = capture_all(model, x, shown=(1, 0), budget=sizes["attention"] - 1)
    assert between.mode == "inputs" and between.estimated_bytes == sizes["inputs"]
    tiny = capture_all(model, x, shown=(1, 0), budget=1)
    assert tiny.mode == "block" and tiny.budget == 1 and tiny.estimated_bytes == sizes["block"]
    assert list(tiny.records) == [(1, 0)] and not tiny.inputs
    assert_same_record(tiny.record(1, 0), alone(model, x, (1, 0)))
    assert not tiny.has(0, 0)
    with pytest.raises(LookupError, match="run the model again"):
        tiny.record(0, 0)
    with pytest.raises(ValueError, match="shown"):
        capture_all(model, x, budget=1)


def test_the_largest_case_keeps_inputs_only_under_the_default_budget() -> None:
    """Swin-L at 1536 px (window 12): every block's attention is gigabytes, the inputs fit."""
    large = preset("swin-l", img_size=384, window_size=12)
    assert estimate_capture_bytes(large, 1536, 1536, "attention") > 4 * 2**30
    assert estimate_capture_bytes(large, 1536, 1536, "inputs") < 2**30
    assert choose_capture_mode(large, 1536, 1536) == "inputs"
    assert choose_capture_mode(preset("swin-t"), 224, 224) == "attention"


def test_a_changed_model_refuses_to_recompute(model: SwinTransformer) -> None:
    torch.manual_seed(0)
    changing = SwinTransformer(SMALL).eval()
    run = capture_all(changing, pixels(64, 64), mode="inputs")
    changing.set_shifted(False)
    with pytest.raises(RuntimeError, match="changed"):
        run.record(0, 1)
    changing.set_shifted(True)
    assert run.record(0, 1).shift_size == 2


def test_capture_all_leaves_no_hook_or_recorder_behind(model: SwinTransformer) -> None:
    capture_all(model, pixels(64, 64))
    capture_all(model, pixels(64, 64), mode="inputs")
    assert all(block.recorder is None and not block._forward_pre_hooks for block in model.blocks())


def test_estimates_load_without_torch() -> None:
    code = ("import sys; from swin_model.capture import estimate_capture_bytes, choose_capture_mode; "
            "from swin_model import preset; c = preset('swin-b', window_size=12); "
            "estimate_capture_bytes(c, 384, 384, 'attention'); choose_capture_mode(c, 384, 384); "
            "print('torch' in sys.modules)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.returncode == 0, output.stderr
    assert output.stdout.strip() == "False"
