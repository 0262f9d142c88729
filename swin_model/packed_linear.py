"""Inference fast path for linear layers: oneDNN with a prepacked weight and a fused GELU.

On a CPU with oneDNN, ``torch.ops.mkldnn._linear_pointwise`` on a weight reordered once
applies the GELU in the same pass as fc1 and runs most of Swin's matrix products faster
than a plain ``F.linear``. Measured on the project machine (2-core Xeon with AVX-512,
torch 2.13, benchmarks/bench_forward.py): a whole forward takes 1.09-1.18x longer
without it (Swin-T 224, Swin-B 384, batch 8); fc1 + GELU gains 25-30 %, while the square
C -> C projections alone are 5-17 % slower packed. It is taken only for float32 CPU
inference without autograd; everything else, and any code inside :func:`plain_linear`,
uses ``F.linear``, which operation counters (FlopCounterMode) and ``torch.jit.trace``
understand (the packed weight cannot be a traced constant).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["linear", "plain_linear"]

_PACKED: weakref.WeakKeyDictionary[nn.Linear, tuple[tuple[int, int], torch.Tensor]] = (
    weakref.WeakKeyDictionary())
_PLAIN = threading.local()
_AVAILABLE = (
    torch.backends.mkldnn.is_available()  # type: ignore[no-untyped-call]  # unannotated in torch
    and hasattr(torch.ops.mkldnn, "_linear_pointwise"))
_PACK_ROWS_HINT = 1024


@contextmanager
def plain_linear() -> Iterator[None]:
    """Use plain ``F.linear`` (and ``F.gelu``) in this thread while the context is open."""
    previous = getattr(_PLAIN, "active", False)
    _PLAIN.active = True
    try:
        yield
    finally:
        _PLAIN.active = previous


def _packed_weight(layer: nn.Linear) -> torch.Tensor:
    """The oneDNN-reordered weight of ``layer``, redone whenever the weight changes.

    A weight that is an inference tensor (made inside ``torch.inference_mode``) has no
    version counter, so an in-place change to it cannot be seen: it is packed on every call
    and never cached."""
    weight = layer.weight
    if weight.is_inference():
        _PACKED.pop(layer, None)
        packed: torch.Tensor = torch.ops.mkldnn._reorder_linear_weight(weight.detach(), _PACK_ROWS_HINT)
        return packed
    version = (weight._version, weight.data_ptr())
    cached = _PACKED.get(layer)
    if cached is None or cached[0] != version:
        cached = (version, torch.ops.mkldnn._reorder_linear_weight(weight.detach(), _PACK_ROWS_HINT))
        _PACKED[layer] = cached
    return cached[1]


def _fast_path(layer: nn.Linear, features: torch.Tensor) -> bool:
    return (_AVAILABLE and not getattr(_PLAIN, "active", False)
            and not torch.is_grad_enabled() and features.device.type == "cpu"
            and features.dtype == torch.float32 and layer.weight.dtype == torch.float32)


def linear(layer: nn.Linear, features: torch.Tensor, gelu: bool = False) -> torch.Tensor:
    """``layer(features)``, followed by the exact (erf) GELU when ``gelu``.

    features (..., in_features) -> (..., out_features)."""
    if not _fast_path(layer, features):
        output = F.linear(features, layer.weight, layer.bias)
        return F.gelu(output) if gelu else output
    rows = features.reshape(-1, features.shape[-1])
    fused: torch.Tensor = torch.ops.mkldnn._linear_pointwise(
        rows, _packed_weight(layer), layer.bias, "gelu" if gelu else "none", [],
        "none" if gelu else "")
    return fused.view(*features.shape[:-1], fused.shape[-1])
