"""Benchmark: a book-profile FRAMES run, this checkout against another commit's code, paired.

Each round runs the same ``frames_md17_run`` (book profile, with the overrides below) once
with each source tree, in fresh subprocesses (``PYTHONPATH=<tree>/src``, the project venv,
a temporary empty results store so that nothing is loaded), the order alternating per round;
the child times ``mlffkit.experiments.run`` itself (data loading, training, evaluation; not
the interpreter start). Printed per round: the wall time of each and the ratio, then the
median ratio and the test force MAE of each (a sanity check: both trained the same way).

``--before`` is a git revision, checked out with ``git worktree`` into a temporary folder
(removed afterwards); the architecture issue was filed at 4a68459, whose code ran the
backbone once per frame of a window and rebuilt every radius graph.

    .venv/bin/python benchmarks/frames_run.py --before 4a68459 --rounds 3 --threads 1  # ~6 min
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, os, sys, time
import torch
torch.set_num_threads({threads})
from mlffkit import experiments
import importlib.util
if importlib.util.find_spec("mlffkit.papers"):  # registers the experiments (older code: none)
    import mlffkit.papers
overrides = json.loads(sys.argv[1])
start = time.perf_counter()
result = experiments.run("frames_md17_run", "book", **overrides)
wall = time.perf_counter() - start
row = result.tables["run"].iloc[0]
print(json.dumps({{"wall": wall, "force_mae": float(row["force_mae_meV_A"])}}))
"""


def run_child(src: Path, overrides: dict, threads: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads)}
    # the worktree of --before has no ../shared beside it: point it at this checkout's mirror
    env.setdefault("MLFFKIT_DATA", str(ROOT.parent / "shared" / "data"))
    with tempfile.TemporaryDirectory() as results:
        env["MLFFKIT_RESULTS_DIR"] = results
        out = subprocess.run([sys.executable, "-c", CHILD.format(threads=threads),
                              json.dumps(overrides)], env=env, cwd=ROOT, text=True,
                             capture_output=True)
    if out.returncode:
        raise RuntimeError(f"run with {src} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="4a68459", help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--molecule", default="aspirin")
    parser.add_argument("--T", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--n-test", type=int, default=100)
    args = parser.parse_args()
    overrides = {"molecule": args.molecule, "T": args.T, "epochs": args.epochs,
                 "n_test": args.n_test, "seed": 0}
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.before],
                       cwd=ROOT, check=True, capture_output=True)
        try:
            trees = {"before": tree / "src", "now": ROOT / "src"}
            print(f"settings: {vars(args)}; before = {args.before}; load "
                  f"{os.getloadavg()[0]:.2f}")
            results = {name: [] for name in trees}
            for r in range(args.rounds):
                order = list(trees) if r % 2 == 0 else list(reversed(trees))
                for name in order:
                    results[name].append(run_child(trees[name], overrides, args.threads))
                b, n = results["before"][-1]["wall"], results["now"][-1]["wall"]
                print(f"round {r}: before {b:6.1f} s, now {n:6.1f} s, ratio {b / n:.2f}x; "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           capture_output=True)
    ratios = [b["wall"] / n["wall"] for b, n in zip(results["before"], results["now"])]
    print(f"median ratio before/now: {statistics.median(ratios):.2f}x "
          f"({', '.join(f'{x:.2f}' for x in ratios)})")
    for name, rows in results.items():
        print(f"{name:>7}: test force MAE {rows[-1]['force_mae']:.1f} meV/Å")


if __name__ == "__main__":
    main()
