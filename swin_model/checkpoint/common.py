"""What every checkpoint module shares: the error they raise and the shapes of their data."""

from __future__ import annotations

from typing import NamedTuple, TypeAlias

import torch

__all__ = ["CheckpointError", "Converted", "StateDict"]

StateDict: TypeAlias = dict[str, torch.Tensor]
"""Tensors by key, as ``Module.state_dict()`` gives them, in any key layout."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit a Swin V1 model; the message says why."""


class Converted(NamedTuple):
    """A state dict converted to the official layout, and where its renamed keys came from:
    ``sources`` maps an official key to the source key (or ``"q + k + v"`` keys) it was made of."""

    state: StateDict
    sources: dict[str, str]
