"""The same weights give the same logits in this model and in HF transformers' Swin.

A 4-stage Swin-T layout (depths 2-2-6-2, heads 3-6-12-24, window 7) with a narrower
embed_dim for speed; every HF parameter is randomised (HF starts its bias tables at zero,
which would hide a misplaced table). HF mutates its layers' window size during forward, so
each input size gets a fresh HF model read from the saved folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from swin_model import windows
from swin_model.checkpoint import load_checkpoint

transformers = pytest.importorskip("transformers")

EMBED_DIM = 48
DEPTHS = (2, 2, 6, 2)
NUM_HEADS = (3, 6, 12, 24)
WINDOW = 7
NUM_LABELS = 1000
TOLERANCE = {"atol": 1e-4, "rtol": 1e-4}


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An HF Swin-T-shaped classifier saved with save_pretrained (random weights)."""
    config = transformers.SwinConfig(
        image_size=224, patch_size=4, num_channels=3, embed_dim=EMBED_DIM, depths=list(DEPTHS),
        num_heads=list(NUM_HEADS), window_size=WINDOW, mlp_ratio=4.0, qkv_bias=True,
        num_labels=NUM_LABELS, layer_norm_eps=1e-5, drop_path_rate=0.0)
    model = transformers.SwinForImageClassification._from_config(config, attn_implementation="eager")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)
    folder = tmp_path_factory.mktemp("hf-swin")
    model.save_pretrained(folder)
    return folder


def fresh_hf(folder: Path):
    return transformers.SwinForImageClassification.from_pretrained(
        folder, attn_implementation="eager").eval()


def pixels(height: int, width: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(2, 3, height, width, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(("height", "width"), [(224, 224), (230, 230), (250, 198)],
                         ids=["224x224", "230x230", "250x198"])
def test_logits_match_hf(hf_folder: Path, height: int, width: int) -> None:
    ours = load_checkpoint(hf_folder)
    assert ours.config.depths == DEPTHS and ours.config.window_size == WINDOW
    hf = fresh_hf(hf_folder)
    x = pixels(height, width)
    with torch.no_grad():
        expected = hf(pixel_values=x).logits
        found = ours(x)
    assert found.shape == (2, NUM_LABELS)
    torch.testing.assert_close(found, expected, **TOLERANCE)


def test_logits_match_hf_v5_naming(hf_folder: Path, tmp_path: Path) -> None:
    """The same weights under the installed transformers' own parameter names."""
    hf = fresh_hf(hf_folder)
    state = hf.state_dict()
    assert any(".attention.q_proj." in key for key in state)
    (tmp_path / "config.json").write_bytes((hf_folder / "config.json").read_bytes())
    save_file({key: value.contiguous() for key, value in state.items()}, tmp_path / "model.safetensors")
    ours = load_checkpoint(tmp_path)
    x = pixels(224, 224, seed=1)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), hf(pixel_values=x).logits, **TOLERANCE)


def test_runs_where_the_last_window_shrinks(hf_folder: Path) -> None:
    """At 230x190 stage 4 is 8x6, so its window shrinks to 6 below the 7x7 bias table
    (HF 5.24 fails there with a 36 vs 49 shape error); this model reads the table's subset."""
    ours = load_checkpoint(hf_folder)
    last = windows.stage_geometry(ours.config, 230, 190)[-1]
    assert (last.height, last.width, last.window_size, last.window_shrunk) == (8, 6, 6, True)
    with torch.no_grad():
        logits = ours(pixels(230, 190))
    assert logits.shape == (2, NUM_LABELS)
    assert torch.isfinite(logits).all()
