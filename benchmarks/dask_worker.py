"""Benchmark: a training step in a Dask worker (as ``--scheduler local:N`` runs a sweep) against
the same step in a plain process, paired.

The step is a smoke-sized ``frames_md17_run`` (``equiformer_book`` on MD17 aspirin, 80
training frames, batch 8, T=1, one epoch of 10 steps); its ``train_s / steps`` is printed for:

- ``plain``: this process;
- ``worker``: a worker of :func:`mlffkit.experiments.distributed.client_for` (glibc's malloc
  defaults kept);
- ``dask default``: a worker of a plain ``LocalCluster``, whose nanny sets
  ``MALLOC_TRIM_THRESHOLD_=65536`` (every stored run before 56cf7b9 trained in one).

Each worker kind starts in a fresh subprocess, because a nanny also writes its variables into
the environment of the process that starts it. Rounds alternate the order; the median ratio to
``plain`` within a round is printed.

    .venv/bin/python benchmarks/dask_worker.py --rounds 2 --threads 1   # ~2 min
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = """
import json, os, sys
kind = sys.argv[1]

def step_time():
    import mlffkit.papers  # noqa: F401
    from mlffkit import experiments
    from mlffkit.runtime import torch_threads
    torch_threads(int(os.environ["OMP_NUM_THREADS"]))
    r = experiments.run("frames_md17_run", "smoke", model="equiformer_book",
                        molecule="aspirin", n_train=80, n_val=8, n_test=16, epochs=1, T=1,
                        progress=False, threads=int(os.environ["OMP_NUM_THREADS"]))
    row = r.tables["run"].iloc[0]
    return float(row["train_s"] / row["steps"])

if __name__ == "__main__":
    if kind == "plain":
        seconds = step_time()
    else:
        from dask.distributed import Client, LocalCluster
        from mlffkit.experiments.distributed import client_for
        client = (client_for("local:1") if kind == "worker" else
                  Client(LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                      dashboard_address=None)))
        with client:
            seconds = client.submit(step_time, pure=False).result()
    print("RESULT", json.dumps(seconds))
"""

KINDS = ("plain", "worker", "dask default")


def measure(kind: str, threads: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    out = subprocess.run([sys.executable, "-c", CHILD, kind], env=env, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(next(line for line in out.splitlines()
                           if line.startswith("RESULT")).split(" ", 1)[1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {args.threads} thread(s)")
    ratios = {k: [] for k in KINDS[1:]}
    for r in range(args.rounds):
        order = KINDS if r % 2 == 0 else KINDS[::-1]
        seconds = {kind: measure(kind, args.threads) for kind in order}
        for kind in KINDS[1:]:
            ratios[kind].append(seconds[kind] / seconds["plain"])
        print(f"round {r}: " + ", ".join(f"{k} {seconds[k]:.3f} s/step" for k in KINDS))
    for kind, values in ratios.items():
        print(f"{kind} / plain: median {statistics.median(values):.2f}x "
              f"(rounds: {', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
