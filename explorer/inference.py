"""One model run for the explorer: build or reuse the model, run it with attention capture,
and pack the answer as an :class:`~explorer.state.InferenceResult`.

Pure (no Qt). torch is imported inside the functions, so importing this module is cheap and
the window can appear before torch has loaded. The Qt worker and the CLI both call
:func:`run_inference`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from .state import (
    CapturedBlock,
    ExplorerState,
    InferenceRequest,
    InferenceResult,
    RecordMeta,
    input_shape,
    model_config,
)

if TYPE_CHECKING:
    from swin_model import SwinConfig, SwinTransformer
    from swin_model.capture import AttentionRecord

__all__ = [
    "MEASURE_MACS_LIMIT",
    "PRESET_SEED",
    "ModelCache",
    "RunCancelled",
    "capture_bytes",
    "run_inference",
]

PRESET_SEED = 0
"""Presets have no trained weights here: they are initialised under torch.manual_seed(0)."""

MEASURE_MACS_LIMIT = 5_000_000_000
"""Measured MACs need a second, fully captured forward pass; it is only run (once per
model and input size) when the analytic count is at most this many MACs."""


class RunCancelled(Exception):
    """Raised by :func:`run_inference` when its ``cancelled`` callback turns true mid-run."""


class ModelCache:
    """The most recently used models, so that moving a control does not rebuild the model.

    Preset models are keyed by their layout, checkpoint models by their path: the input
    size, the window and the shift are not part of the key, because one model takes any
    size, toggles its shift (``set_shifted``) and changes its window (``set_window_size``:
    new index and masks, the bias tables redrawn for a preset, resized bicubically for a
    checkpoint) without being built again. ``capacity`` models are kept. Also remembers
    measured MACs per model configuration and input size. Use from one thread at a time.
    """

    def __init__(self, capacity: int = 2) -> None:
        self.capacity = capacity
        self._models: OrderedDict[Any, SwinTransformer] = OrderedDict()
        self._measured: dict[tuple[Any, int, bool, tuple[int, int]], int] = {}
        self.builds = 0

    @staticmethod
    def key(state: ExplorerState) -> tuple[Any, ...]:
        if state.checkpoint_path:
            return ("checkpoint", state.checkpoint_path)
        return ("preset", state.model_name)

    def model_for(self, state: ExplorerState) -> SwinTransformer:
        """The model for ``state``: built with seeded random weights for a preset, or read
        with :func:`swin_model.load_checkpoint` (window and shift as the state says)."""
        key = self.key(state)
        model = self._models.get(key)
        if model is None:
            model = self._build(state)
            self._models[key] = model
            self.builds += 1
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
        self._models.move_to_end(key)
        if model.config.shifted != state.shifted:
            model.set_shifted(state.shifted)
        if model.config.window_size != state.window_size:
            model.set_window_size(state.window_size)
        return model

    def add_checkpoint(self, path: str, model: SwinTransformer) -> None:
        """Keep an already loaded checkpoint model."""
        self._models[self.key(ExplorerState(checkpoint_path=path))] = model
        while len(self._models) > self.capacity:
            self._models.popitem(last=False)

    @staticmethod
    def _build(state: ExplorerState) -> SwinTransformer:
        import torch

        if state.checkpoint_path:
            from swin_model.checkpoint import load_checkpoint
            from swin_model.weights import verify_if_cached

            verify_if_cached(state.checkpoint_path)
            model = load_checkpoint(state.checkpoint_path)
        else:
            from swin_model import SwinTransformer

            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(PRESET_SEED)
                model = SwinTransformer(model_config(state))
        return model.eval()

    def measured(self, state: ExplorerState, compute: Callable[[], int]) -> int:
        """Measured MACs for this model at this input size, computed once."""
        key = (self.key(state), state.window_size, state.shifted, input_shape(state))
        if key not in self._measured:
            self._measured[key] = compute()
        return self._measured[key]


def is_trained_head(state: ExplorerState, model: SwinTransformer) -> bool:
    """Only a loaded checkpoint with a 1000-class head predicts ImageNet classes."""
    return bool(state.checkpoint_path) and model.config.num_classes == 1000


@contextmanager
def _cancellation(model: SwinTransformer, cancelled: Callable[[], bool] | None) -> Iterator[None]:
    """Check ``cancelled`` before every module's forward; raise RunCancelled when true."""
    if cancelled is None:
        yield
        return

    def check(_module: Any, _inputs: Any) -> None:
        if cancelled():
            raise RunCancelled

    handles = [module.register_forward_pre_hook(check) for module in model.modules()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def run_inference(request: InferenceRequest, cache: ModelCache | None = None,
                  cancelled: Callable[[], bool] | None = None) -> InferenceResult:
    """Run the model of ``request.state`` on ``request.pixels`` ((3, H, W) float32) and
    record the attention of block ``request.capture`` = (stage, block).

    The result holds the top-5 (class index, softmax probability), the captured attention
    (num_windows, heads, N, N) and mask (num_windows, N, N) or None as float32 numpy, the
    record's sizes in ``record_meta``, measured MACs when cheap (see MEASURE_MACS_LIMIT)
    and the elapsed seconds. Every exception becomes ``error``; only a cancellation asked
    for through ``cancelled`` raises (RunCancelled).
    """
    start = time.perf_counter()
    state = request.state
    phase = "The model could not be built"
    try:
        import torch

        from swin_model import capture_attention

        cache = ModelCache() if cache is None else cache
        if state.checkpoint_path:
            phase = f"The checkpoint {state.checkpoint_path} could not be loaded"
        model = cache.model_for(state)
        phase = "The model run failed"
        pixels = np.asarray(request.pixels, dtype=np.float32)
        if pixels.ndim != 3 or pixels.shape[0] != model.config.in_chans:
            raise ValueError(f"pixels must be ({model.config.in_chans}, H, W), got {pixels.shape}")
        batch = torch.from_numpy(pixels.copy()).unsqueeze(0)  # 1, 3, H, W
        blocks, capture_note = _blocks_to_capture(request, model.config)
        with (torch.inference_mode(), _cancellation(model, cancelled),
              capture_attention(model, blocks=blocks) as records):
            logits = model(batch)  # 1, num_classes
        finite = bool(torch.isfinite(logits).all())
        non_finite = None if finite else _first_non_finite(model, batch, cancelled)
        captured = {(record.stage, record.block): _captured_block(record) for record in records}
        selected = captured.get(request.capture)
        if selected is None:
            raise RuntimeError(f"block {request.capture} recorded no attention")
        top_classes: tuple[tuple[int, float], ...] = ()
        if logits.shape[-1] > 0:
            probabilities = torch.softmax(logits[0].float(), dim=-1)
            values, indices = probabilities.topk(min(5, probabilities.numel()))
            top_classes = tuple((int(i), float(v)) for i, v in zip(indices, values, strict=True))
        measured = None
        phase = "Counting the measured MACs failed"
        if _cheap_to_measure(model.config, input_shape(state)):
            measured = cache.measured(state, lambda: _measure(model, batch, cancelled))
        return InferenceResult(
            request_id=request.request_id,
            state=state,
            top_classes=top_classes,
            trained_head=is_trained_head(state, model),
            attention=selected.attention,
            mask=selected.mask,
            record_meta=selected.meta,
            measured_macs=measured,
            elapsed_seconds=time.perf_counter() - start,
            captured=captured,
            capture_note=capture_note,
            bias_tables={(block.stage, block.block): _as_array(block.attn.trained_table())
                         for block in model.blocks()},
            trained_window=model.bias_tables_resized_from,
            non_finite=non_finite,
        )
    except RunCancelled:
        raise
    except Exception as error:  # every failure, MemoryError included, becomes a message
        return InferenceResult(request_id=request.request_id, state=state,
                               error=f"{phase}. {_describe(error)}",
                               elapsed_seconds=time.perf_counter() - start)


def capture_bytes(config: SwinConfig, height: int, width: int) -> int:
    """Bytes that recording every block's attention (float32 probabilities, and the mask of
    each shifted block) of one ``height`` × ``width`` image takes."""
    from swin_model.windows import stage_geometry

    total = 0
    for geometry in stage_geometry(config, height, width):
        pairs = geometry.num_windows * geometry.tokens_per_window**2
        for block in range(geometry.depth):
            total += 4 * pairs * geometry.num_heads + (4 * pairs if geometry.block_shift(block) else 0)
    return total


def _blocks_to_capture(request: InferenceRequest, config: SwinConfig) -> tuple[list[tuple[int, int]], str]:
    """The blocks a run records, and a note saying which and why."""
    if not request.capture_all:
        return [request.capture], "the selected block only"
    size = capture_bytes(config, *input_shape(request.state))
    if size > request.capture_budget:
        return [request.capture], (f"the selected block only: every block's attention would take "
                                   f"{size / 2**20:,.0f} MB, over the {request.capture_budget / 2**20:,.0f} "
                                   f"MB budget, so each stage or block change runs the model again")
    blocks = [(stage, block) for stage, depth in enumerate(config.depths) for block in range(depth)]
    return blocks, f"every block ({size / 2**20:,.1f} MB)"


def _as_array(tensor: Any) -> np.ndarray:
    """A float32 numpy copy of ``tensor``, detached from the model."""
    return np.array(tensor.detach().float().numpy(), dtype=np.float32)


def _captured_block(record: AttentionRecord) -> CapturedBlock:
    """One record as float32 numpy arrays (batch 1)."""
    return CapturedBlock(
        attention=record.attn.float().numpy(),  # nW, heads, N, N
        mask=None if record.mask is None else record.mask.float().numpy(),  # nW, N, N
        meta=RecordMeta(stage=record.stage, block=record.block, window_size=record.window_size,
                        shift_size=record.shift_size,
                        grid_size=(int(record.grid_size[0]), int(record.grid_size[1])),
                        padded_size=(int(record.padded_size[0]), int(record.padded_size[1]))))


def _cheap_to_measure(config: SwinConfig, shape: tuple[int, int]) -> bool:
    from swin_model.flops import count_macs

    return count_macs(config, *shape).total <= MEASURE_MACS_LIMIT


def _measure(model: SwinTransformer, batch: Any, cancelled: Callable[[], bool] | None) -> int:
    from swin_model.flops import measured_macs

    with _cancellation(model, cancelled):
        return measured_macs(model, batch).per_image


_BLOCK_PARTS = {"norm1": "first LayerNorm", "attn": "attention", "norm2": "second LayerNorm", "mlp": "MLP"}


def _place(module_name: str) -> str:
    """Where the module ``module_name`` (a name from ``model.named_modules()``) sits, in the
    explorer's 1-based words: "stage 2, block 1 (attention)", "stage 1, patch merging"..."""
    parts = module_name.split(".")
    if parts[0] == "layers" and len(parts) >= 2:
        stage = f"stage {int(parts[1]) + 1}"
        if len(parts) >= 4 and parts[2] == "blocks":
            block = f"{stage}, block {int(parts[3]) + 1}"
            return f"{block} ({_BLOCK_PARTS[parts[4]]})" if len(parts) >= 5 and parts[4] in _BLOCK_PARTS \
                else block
        return f"{stage}, patch merging" if len(parts) >= 3 and parts[2] == "downsample" else stage
    return {"patch_embed": "the patch embedding", "norm": "the final LayerNorm",
            "head": "the classifier head"}.get(parts[0], module_name or "the model")


def _first_non_finite(model: SwinTransformer, batch: Any, cancelled: Callable[[], bool] | None) -> str:
    """Where a forward pass of ``batch`` (1, 3, H, W) first produces a NaN or an infinity,
    found with forward hooks in a second pass (modules report in the order they finish, so
    the innermost module comes first). Only called when the logits are not finite."""
    import torch

    if not bool(torch.isfinite(batch).all()):
        return "the input image"

    class Found(Exception):
        pass

    def check(name: str) -> Callable[[Any, Any, Any], None]:
        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            outputs = output if isinstance(output, tuple) else (output,)
            if any(isinstance(tensor, torch.Tensor) and tensor.is_floating_point()
                   and not bool(torch.isfinite(tensor).all()) for tensor in outputs):
                raise Found(name)
        return hook

    handles = [module.register_forward_hook(check(name)) for name, module in model.named_modules() if name]
    try:
        with torch.inference_mode(), _cancellation(model, cancelled):
            model(batch)
    except Found as found:
        return _place(str(found.args[0]))
    finally:
        for handle in handles:
            handle.remove()
    return "an operation between the modules"
