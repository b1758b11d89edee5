"""Training checkpoints and the random-number state that makes a resume exact.

A training checkpoint holds only tensors and plain Python types (the RNG states included); it
is written atomically by :func:`mlffkit.files.save_torch` and read by :func:`load_file` with
``torch.load(weights_only=True)``: a planted file cannot run code."""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch

from mlffkit.files import load_torch


def load_file(path: str | os.PathLike, map_location: Any = "cpu") -> dict:
    """Load a training checkpoint (written with :func:`mlffkit.files.save_torch`) with
    ``weights_only=True``; an unreadable one raises :class:`mlffkit.files.UnreadableFileError`
    saying how to go on."""
    return load_torch(path, map_location, what="training checkpoint",
                      fix="delete it to start afresh, or resume from a checkpoint this code "
                          "wrote")


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng_state() -> dict:
    """Every global random state a training step may draw from, as tensors and plain types
    (numpy's Mersenne Twister key as an int64 tensor)."""
    numpy_state = np.random.get_state(legacy=False)
    numpy_state["state"]["key"] = torch.from_numpy(numpy_state["state"]["key"].astype(np.int64))
    state = {"python": random.getstate(), "numpy": numpy_state,
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy_state = {**state["numpy"], "state": dict(state["numpy"]["state"])}
    numpy_state["state"]["key"] = np.asarray(numpy_state["state"]["key"], dtype=np.uint32)
    np.random.set_state(numpy_state)
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
