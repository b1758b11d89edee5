"""Benchmark: batched MD (``mlffkit.md.simulate_batched``, one model call per step for all
replicas) against the same replicas run one after the other with ``mlffkit.md.simulate`` and
``mlffkit.md.calculator(model)``, side by side in one process.

Replicas: ``--replicas`` starting structures of MD17 aspirin (21 atoms) spread over
``egraff/md17/aspirin/test`` (through :mod:`mlffkit.data`; an ASE molecule if the data cannot be
resolved, said in the output), each with Maxwell-Boltzmann velocities at 300 K from seed ``i``
(the same in both drivers). Models: the presets ``--models`` with untrained weights (speed
only), float32, eval mode. Both drivers run ``--steps`` NVE steps of 0.5 fs (ensemble
``--ensemble``), no output files, no progress bar.

Reported per model: replica-steps per second (steps of all replicas / wall time, setup
included) of the sequential runs and of the batched run, their ratio (median over
``--rounds`` rounds; the order of the two alternates per round), and the largest position
difference between the two final states (float32: rounding grows along the trajectory, so
this is a sanity check only). ``--threads`` sets OMP_NUM_THREADS (before torch is imported)
and ``torch.set_num_threads``; the machine's load average is printed before and after.

    .venv/bin/python benchmarks/batched_md.py --threads 2            # ~4 min on 2 cores
    .venv/bin/python benchmarks/batched_md.py --models painn_book --threads 1
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--replicas", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", default="painn_book,equiformer_book",
                        help="comma-separated mlffkit presets")
    parser.add_argument("--ensemble", default="nve",
                        choices=("nve", "langevin", "nose_hoover_chain"))
    parser.add_argument("--device", default="cpu")
    return parser.parse_args(argv)


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:  # before torch / numpy load their thread pools
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from ase import Atoms  # noqa: E402

import mlffkit.data  # noqa: E402
from mlffkit.md import calculator, simulate, simulate_batched  # noqa: E402
from mlffkit.models import build_model  # noqa: E402

DATASET = "egraff/md17/aspirin/test"
DT_FS, T_K = 0.5, 300.0
THERMOSTAT = {"nve": {}, "langevin": {"friction_per_ps": 1.0},
              "nose_hoover_chain": {"tdamp_fs": 50.0}}


def starting_structures(n: int) -> tuple[list[Atoms], str]:
    """n aspirin frames spread over the MD17 test frames (or copies of an ASE molecule)."""
    try:
        frames = mlffkit.data.load(DATASET)
    except Exception as error:  # no data here: any molecule of about the same size
        from ase.build import molecule
        print(f"# {DATASET} not reachable ({type(error).__name__}: {error}); "
              f"using ASE's molecule('C6H6') instead")
        return [molecule("C6H6") for _ in range(n)], "C6H6 (ASE), 12 atoms"
    idx = np.linspace(0, len(frames.positions) - 1, n).astype(int)
    starts = [Atoms(numbers=frames.numbers, positions=frames.positions[k]) for k in idx]
    return starts, f"MD17 aspirin ({DATASET}, frames {idx[0]}..{idx[-1]}), 21 atoms"


def sequential(starts, model, args) -> tuple[float, list[np.ndarray]]:
    calc = calculator(model, device=args.device)
    started = time.perf_counter()
    finals = []
    for i, atoms in enumerate(starts):
        run = simulate(atoms, calc, ensemble=args.ensemble, dt_fs=DT_FS, steps=args.steps,
                       T_K=T_K, seed=i, progress=False, **THERMOSTAT[args.ensemble])
        assert run.stop is None, run.stop
        finals.append(run.atoms.positions)
    return time.perf_counter() - started, finals


def batched(starts, model, args) -> tuple[float, list[np.ndarray]]:
    started = time.perf_counter()
    run = simulate_batched(starts, model, ensemble=args.ensemble, dt_fs=DT_FS,
                           steps=args.steps, T_K=T_K, seed=list(range(len(starts))),
                           progress=False, device=args.device, **THERMOSTAT[args.ensemble])
    assert all(stop is None for stop in run.stops), run.stops
    assert run.batched and run.model_calls == args.steps + 1
    return time.perf_counter() - started, [replica.atoms.positions for replica in run]


def main(args) -> None:
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    starts, what = starting_structures(args.replicas)
    print(f"# {what}; {args.replicas} replicas x {args.steps} {args.ensemble} steps of "
          f"{DT_FS} fs at {T_K} K; float32 untrained presets on {args.device}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}); "
          f"load average at start {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")
    header = (f"{'model':<16} {'seq rs/s':>9} {'batch rs/s':>10} {'ratio':>6} "
              f"{'ratios per round':<24} {'max |dx| A':>10}")
    print(header)
    started = time.perf_counter()
    for name in args.models.split(","):
        torch.manual_seed(0)
        model = build_model(name).float().eval().to(args.device)
        sequential(starts[:2], model, argparse.Namespace(**{**vars(args), "steps": 2}))
        batched(starts[:2], model, argparse.Namespace(**{**vars(args), "steps": 2}))  # warm-up
        seq, bat, ratios, dx = [], [], [], 0.0
        for r in range(args.rounds):
            order = (sequential, batched) if r % 2 == 0 else (batched, sequential)
            times = {}
            for driver in order:
                times[driver.__name__], finals = driver(starts, model, args)
                times[driver.__name__ + "_finals"] = finals
            seq.append(times["sequential"])
            bat.append(times["batched"])
            ratios.append(times["sequential"] / times["batched"])
            dx = max(dx, max(np.abs(a - b).max() for a, b in
                             zip(times["sequential_finals"], times["batched_finals"])))
        replica_steps = args.replicas * args.steps
        print(f"{name:<16} {replica_steps / statistics.median(seq):9.1f} "
              f"{replica_steps / statistics.median(bat):10.1f} "
              f"{statistics.median(ratios):5.2f}x "
              f"{' '.join(f'{x:.2f}' for x in ratios):<24} {dx:10.2e}", flush=True)
    load_end = os.getloadavg()
    print(f"# {time.perf_counter() - started:.0f} s; load average at end {load_end[0]:.2f} "
          f"{load_end[1]:.2f} {load_end[2]:.2f}")


if __name__ == "__main__":
    main(ARGS)
