"""Fill the results store with every run of the FRAMES book sweeps, in priority order
(seed 0 of every table first), shared by worker processes that claim runs in order.

    python scripts/run_frames_sweeps.py &   # one worker per core
    python scripts/run_frames_sweeps.py &

Each run is the same record ``mlffkit run frames_md17 --profile book`` (etc.) would load or
train; a worker skips runs another worker has started (lock files under the store folder).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys

from mlffkit import experiments, papers  # noqa: F401  (registers the experiments)
from mlffkit.papers.frames import iso17 as frames_iso17, md17 as frames_md17
from mlffkit.paths import REPO_ROOT

SWEEPS = [(frames_md17.TABLE1, frames_md17.RUN), (frames_iso17.TABLE3, frames_iso17.RUN),
          (frames_md17.ABLATION, frames_md17.RUN), (frames_md17.LAG, frames_md17.RUN),
          (frames_md17.XTB_TABLE1, frames_md17.RUN)]


def jobs(profile: str) -> list[tuple[str, dict]]:
    out, seen = [], set()
    max_seeds = max(sweep.profiles[profile]["seeds"] for sweep, _ in SWEEPS)
    for seed in range(max_seeds):
        for sweep, run in SWEEPS:
            params = sweep.profiles[profile]
            if seed >= params["seeds"]:
                continue
            shared = {k: v for k, v in params.items() if k in run.parameters}
            systems = [{"molecule": m} for m in params.get("molecules", [None])]
            for system in systems:
                system = {k: v for k, v in system.items() if v is not None}
                for variant in params["variants"]:
                    over = {k: v for k, v in {**shared, **system, **variant}.items()
                            if k != "label"}
                    over["seed"] = seed
                    key = (run.name, tuple(sorted(over.items())))
                    if key not in seen:
                        seen.add(key)
                        out.append((run.name, over))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="book")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    todo = jobs(args.profile)
    if args.list:
        for name, over in todo:
            print(name, over)
        return
    locks = REPO_ROOT / "data" / "results" / ".locks"  # delete it after a killed worker
    locks.mkdir(parents=True, exist_ok=True)
    for k, (name, over) in enumerate(todo):
        digest = hashlib.sha256(repr(sorted(over.items())).encode()).hexdigest()[:16]
        lock = locks / f"{name}-{digest}"
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL)
            os.close(fd)
        except FileExistsError:
            continue
        print(f"[{k + 1}/{len(todo)}] {name} {over}", flush=True)
        experiments.run(name, args.profile, **over)
    print("done", flush=True)



if __name__ == "__main__":
    sys.exit(main())
