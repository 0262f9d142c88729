"""explorer.inference: one model run, packed as an InferenceResult (no Qt)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from explorer import inference
from explorer.inference import ModelCache, RunCancelled, capture_bytes, run_inference
from explorer.state import ExplorerState, InferenceRequest, RecordMeta, model_config
from swin_model import SwinConfig, SwinTransformer, preset, windows
from swin_model.checkpoint import save_official
from swin_model.flops import count_macs
from swin_model.preprocess import load_image, prepare

ASSETS = Path(__file__).resolve().parent.parent / "assets"


@pytest.fixture(scope="module")
def cache() -> ModelCache:
    return ModelCache(capacity=4)


def request_for(state: ExplorerState, request_id: int = 1) -> InferenceRequest:
    prepared = prepare(load_image(ASSETS / "coffee.jpg"), state.img_size)
    return InferenceRequest(request_id=request_id, state=state, pixels=prepared.pixels,
                            capture=(state.stage, state.block))


def test_result_matches_an_independently_built_seeded_model(cache: ModelCache) -> None:
    state = ExplorerState(model_name="swin-t", img_size=96, window_size=7, stage=1, block=1)
    request = request_for(state, request_id=7)
    result = run_inference(request, cache)
    assert result.error is None
    assert result.request_id == 7 and result.state == state
    torch.manual_seed(0)
    reference = SwinTransformer(preset("swin-t", img_size=96)).eval()
    with torch.inference_mode():
        probabilities = torch.softmax(reference(torch.from_numpy(request.pixels.copy())[None])[0], -1)
    values, indices = probabilities.topk(5)
    assert [index for index, _ in result.top_classes] == indices.tolist()
    np.testing.assert_allclose([p for _, p in result.top_classes], values.numpy(), rtol=1e-4)
    assert result.trained_head is False
    assert result.elapsed_seconds > 0


def test_attention_mask_and_meta_follow_the_window_geometry(cache: ModelCache) -> None:
    # 100 px: a 25 x 25 grid, M = 7 pads it to 28 x 28 (16 windows), block 2 shifts by 3
    state = ExplorerState(model_name="swin-t", img_size=100, window_size=7, stage=0, block=1)
    result = run_inference(request_for(state), cache)
    assert result.error is None
    geometry = windows.stage_geometry(preset("swin-t"), 100, 100)[0]
    assert geometry.padded_height == 28 and geometry.num_windows == 16
    tokens = geometry.window_size ** 2
    assert result.attention is not None
    assert result.attention.shape == (geometry.num_windows, geometry.num_heads, tokens, tokens)
    assert result.attention.dtype == np.float32
    np.testing.assert_allclose(result.attention.sum(-1), 1.0, atol=1e-4)
    expected_mask = windows.attention_mask(geometry.padded_height, geometry.padded_width,
                                           geometry.window_size, geometry.block_shift(1)).numpy()
    assert result.mask is not None
    np.testing.assert_array_equal(result.mask, expected_mask)
    # masked pairs get (almost) no attention
    masked = np.broadcast_to(expected_mask[:, None] < 0, result.attention.shape)
    assert result.attention[masked].max() < 1e-6
    assert result.record_meta == RecordMeta(stage=0, block=1, window_size=7, shift_size=3,
                                            grid_size=(25, 25), padded_size=(28, 28))


def test_unshifted_block_has_no_mask(cache: ModelCache) -> None:
    state = ExplorerState(model_name="swin-t", img_size=64, stage=0, block=0)
    result = run_inference(request_for(state), cache)
    assert result.error is None and result.mask is None
    assert result.record_meta is not None and result.record_meta.shift_size == 0


def test_size_shift_and_window_changes_never_build_a_new_model(cache: ModelCache) -> None:
    """One model serves every input size, shift and window: toggling the shift and changing
    M reuse its module and weights, and its answers equal a model built for that state."""
    first = run_inference(request_for(ExplorerState(img_size=64, stage=0, block=1)), cache)
    assert first.error is None
    builds = cache.builds
    model = cache.model_for(ExplorerState(img_size=64))
    states = [ExplorerState(img_size=80, stage=0, block=1), ExplorerState(img_size=64, shifted=False),
              ExplorerState(img_size=64, window_size=5, stage=0, block=1),
              ExplorerState(img_size=72, window_size=9, shifted=False), ExplorerState(img_size=64)]
    for state in states:
        result = run_inference(request_for(state), cache)
        assert result.error is None
        assert cache.model_for(state) is model
        fresh = ModelCache()
        expected = run_inference(request_for(state), fresh)
        assert fresh.builds == 1
        assert [index for index, _ in result.top_classes] == [index for index, _ in expected.top_classes]
        probabilities = [p for _, p in expected.top_classes]
        assert [p for _, p in result.top_classes] == pytest.approx(probabilities, rel=1e-5)
        np.testing.assert_allclose(result.attention, expected.attention, atol=1e-6)
    assert cache.builds == builds
    again = run_inference(request_for(ExplorerState(img_size=64, stage=0, block=1)), cache)
    np.testing.assert_allclose(again.attention, first.attention, atol=1e-6)


@pytest.mark.parametrize("img_size", [64, 72])
def test_measured_macs_equal_the_analytic_matrix_products(cache: ModelCache, img_size: int) -> None:
    state = ExplorerState(img_size=img_size, stage=0, block=0)
    result = run_inference(request_for(state), cache)
    assert result.error is None
    assert result.measured_macs == count_macs(model_config(state), img_size, img_size).matmul_macs


def test_measured_macs_skipped_above_the_limit(monkeypatch: pytest.MonkeyPatch, cache: ModelCache) -> None:
    monkeypatch.setattr(inference, "MEASURE_MACS_LIMIT", 0)
    result = run_inference(request_for(ExplorerState(img_size=72, stage=0, block=0)), cache)
    assert result.error is None and result.measured_macs is None


def test_errors_come_back_as_messages(tmp_path: Path, cache: ModelCache) -> None:
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"this is not a checkpoint")
    state = ExplorerState(img_size=64, checkpoint_path=str(broken), model_name="broken.pth")
    result = run_inference(request_for(state), cache)
    assert result.error is not None and "broken.pth could not be loaded" in result.error
    assert result.attention is None and result.top_classes == ()

    no_such_block = ExplorerState(img_size=64, stage=0, block=5)
    result = run_inference(request_for(no_such_block), cache)
    assert result.error is not None and "(0, 5)" in result.error

    bad_pixels = InferenceRequest(request_id=3, state=ExplorerState(img_size=64),
                                  pixels=np.zeros((64, 64), np.float32), capture=(0, 1))
    result = run_inference(bad_pixels, cache)
    assert result.error is not None and "pixels must be" in result.error


def test_cancellation_raises(cache: ModelCache) -> None:
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(RunCancelled):
        run_inference(request_for(ExplorerState(img_size=64)), cache, cancelled=cancelled)
    # the hooks are gone afterwards: the same model runs normally
    assert run_inference(request_for(ExplorerState(img_size=64)), cache).error is None


@pytest.mark.parametrize("num_classes", [1000, 10])
def test_checkpoint_head(tmp_path: Path, num_classes: int) -> None:
    config = SwinConfig(embed_dim=24, depths=(2, 2), num_heads=(2, 4), window_size=4,
                        num_classes=num_classes)
    torch.manual_seed(1)
    model = SwinTransformer(config).eval()
    path = tmp_path / "small.pth"
    save_official(model, path)
    state = ExplorerState(model_name="small.pth", checkpoint_path=str(path), img_size=64,
                          window_size=4, stage=1, block=1)
    request = request_for(state)
    result = run_inference(request, ModelCache())
    assert result.error is None
    assert result.trained_head is (num_classes == 1000)
    with torch.inference_mode():
        logits = model(torch.from_numpy(request.pixels.copy())[None])[0]
    assert result.top_classes[0][0] == int(logits.argmax())
    assert all(index < num_classes for index, _ in result.top_classes)
    assert result.attention is not None and result.attention.shape[1] == 4  # stage 2 heads


def test_a_run_records_every_block_and_its_size_is_estimated(cache: ModelCache) -> None:
    state = ExplorerState(img_size=72, stage=1, block=1)
    result = run_inference(request_for(state), cache)
    assert result.error is None
    config = model_config(state)
    assert sorted(result.captured) == [(s, b) for s, depth in enumerate(config.depths) for b in range(depth)]
    recorded = sum(block.attention.nbytes + (0 if block.mask is None else block.mask.nbytes)
                   for block in result.captured.values())
    assert capture_bytes(config, 72, 72) == recorded
    # the state's own block is the one shown
    assert result.record_meta == result.captured[(1, 1)].meta
    np.testing.assert_array_equal(result.attention, result.captured[(1, 1)].attention)
    # another block of the same run, seen from a state that selects it
    other = result.for_state(state.replace(stage=2, block=3))
    assert other is not None and other.record_meta.stage == 2 and other.record_meta.block == 3
    assert other.top_classes == result.top_classes
    assert result.for_state(state.replace(img_size=64)) is None


def test_over_the_budget_only_the_selected_block_is_recorded(cache: ModelCache) -> None:
    state = ExplorerState(img_size=72, stage=1, block=0)
    request = InferenceRequest(request_id=1, state=state, pixels=request_for(state).pixels, capture=(1, 0),
                               capture_budget=capture_bytes(model_config(state), 72, 72) - 1)
    result = run_inference(request, cache)
    assert result.error is None and list(result.captured) == [(1, 0)]
    assert "budget" in result.capture_note
    assert result.for_state(state.replace(block=1)) is None
