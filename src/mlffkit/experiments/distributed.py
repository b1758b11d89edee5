"""Many stored runs at once, through Dask distributed.

A sweep (an experiment whose ``runs(config)`` lists its run configs explicitly) can have its
runs computed on Dask workers before the sweep itself gathers them: each worker loads or
computes one run through the results store, so a run is computed once (the store's per-record
lock), every finished run is stored at once (a killed sweep resumes where it stopped), and
the sweep then only loads. ``scheduler``:

- ``"local"`` or ``"local:N"``: a ``LocalCluster`` of N single-threaded worker processes on
  this machine (default: one per core);
- an address (``"tcp://host:8786"``): an existing cluster, e.g. one started by
  ``dask-jobqueue`` on SLURM (``SLURMCluster(...).scheduler_address``). Give its workers
  the Dask config that :func:`client_for` gives local ones (:data:`WORKER_ENVIRON`), a YAML
  file in ``~/.config/dask/`` (or ``$DASK_CONFIG``) reading ``distributed: {nanny:
  {pre-spawn-environ: {MALLOC_TRIM_THRESHOLD_: null}}}``: Dask's default makes torch
  training about 3x slower. (The ``DASK_...`` environment-variable form lowercases the name
  and does not override it.)

Workers read and write the same results store (``MLFFKIT_RESULTS_DIR`` or the checkout's
``data/results``), so on a cluster it must be on a shared file system. Multi-GPU training of
one run stays on torchrun / DDP (``mlffkit.training.distributed``).
"""

from __future__ import annotations

import importlib
import os
from typing import Iterable

__all__ = ["compute_runs", "client_for"]


#: Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its workers (to return memory to
#: the system). That also freezes glibc's mmap threshold, so every freed tensor above 128 kB
#: is unmapped and the next one faults its pages in again: an ``equiformer_book`` training
#: step ran 3x slower in a worker than in a plain process (134k page faults/s, half the
#: time in the kernel). Local workers get glibc's default instead; a variable set in the
#: caller's environment still wins.
WORKER_ENVIRON = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def client_for(scheduler: str):
    """A Dask client for ``scheduler`` (see the module docstring)."""
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler == "local" or scheduler.startswith("local:"):
        workers = int(scheduler.split(":", 1)[1]) if ":" in scheduler else os.cpu_count() or 1
        if workers < 1:
            raise ValueError(f"scheduler {scheduler!r}: need at least one worker")
        with dask.config.set(WORKER_ENVIRON):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        return Client(cluster)
    return Client(scheduler)


def _run_one(module: str, name: str, profile: str, params: dict) -> str:
    importlib.import_module(module)  # registers the experiment in this worker
    from mlffkit.experiments.registry import run

    run(name, profile, **params)
    return name


def compute_runs(units: Iterable[tuple[str, str, str, dict]], scheduler: str,
                 progress: bool = True) -> int:
    """Load or compute and store every ``(module, experiment, profile, params)`` on Dask
    workers (``module`` registers the experiment when imported); the first failure is
    raised once every other run has finished. Returns the number of runs."""
    from dask.distributed import as_completed
    from tqdm.auto import tqdm

    units = list(units)
    with client_for(scheduler) as client:
        futures = [client.submit(_run_one, *unit, pure=False) for unit in units]
        failures = []
        for future in tqdm(as_completed(futures), total=len(futures), unit="run",
                           desc=f"runs on {scheduler}", disable=not progress):
            if future.status == "error":
                failures.append(future)
        if failures:
            failures[0].result()  # raises the worker's exception
    return len(units)
