"""Process-level settings that experiments, benchmarks and tests pin explicitly."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` intra-op torch threads, restoring the previous count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def default_device() -> torch.device:
    """Where experiments train: ``MLFFKIT_DEVICE`` if set (``cpu``, ``cuda``, ``cuda:1``...),
    else the first CUDA device when one is available, else the CPU. An execution detail, not a
    result parameter: the results store records the machine (and its GPU) with every result."""
    name = os.environ.get("MLFFKIT_DEVICE", "").strip()
    if name:
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"MLFFKIT_DEVICE={name!r} but torch sees no CUDA device")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
