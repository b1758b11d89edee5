"""Atomic checkpoint files and the random-number state that makes a resume exact.

A training checkpoint holds only tensors and plain Python types (the RNG states included), so
it is read with ``torch.load(weights_only=True)``: a planted file cannot run code."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mlffkit.files import atomic_target


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file in the same folder, fsync, then ``os.replace``.

    A crash or an exception at any point leaves the previous ``path`` (if any) untouched; the
    temporary file is removed on error."""
    path = Path(path)
    with atomic_target(path) as tmp:
        with open(tmp, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
    return path


class UnreadableCheckpointError(RuntimeError):
    """A checkpoint file that is corrupt, truncated, or holds more than tensors and plain
    types (which could run code when unpickled)."""


def load_file(path: str | os.PathLike, map_location: Any = "cpu") -> dict:
    """Load a checkpoint written by :func:`atomic_save`, with ``weights_only=True``."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # corrupt, truncated, or unsafe content refused by torch
        raise UnreadableCheckpointError(
            f"{path} is not a readable training checkpoint (tensors and plain types only): "
            f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}. Fix: "
            "delete it to start afresh, or resume from a checkpoint this code wrote") from err


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
