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


def process_map(function, tasks: list[tuple], workers: int, progress: bool = False,
                desc: str | None = None) -> list:
    """``[function(*task) for task in tasks]``, in ``workers`` forked processes when more than
    one (results in the order of ``tasks``), else here with a progress bar. Each process should
    set its own thread count (:func:`torch_threads`): two processes with two threads each on
    two cores run many times slower than with one."""
    if workers > 1:
        import gc
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Unreachable objects that own native thread pools (an OpenMM context, say) must die
        # here: a forked child that collects them joins threads it does not have and hangs.
        gc.collect()

        with ProcessPoolExecutor(workers,
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(function, *zip(*tasks)))
    from tqdm.auto import tqdm

    return [function(*task) for task in tqdm(tasks, desc=desc, disable=not progress)]
