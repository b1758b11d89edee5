"""Benchmark: a book-profile FRAMES training step, as it runs now against the way it ran when
the architecture issue was filed, paired in one process.

The setting is ``frames_md17_run``'s book profile (``painn_book`` + ``DisplacementHead``,
aspirin, T windows of 4, the FRAMES objective, Adam); only the optimiser steps are timed
(forward, double backward, update), on the same windows in the same order. Two ways of
running a step alternate in rounds, so that a change of machine load hits both:

- ``before``: the backbone once per frame of the window (T forward passes on batches of 4
  structures) and every radius graph rebuilt by vesin (no neighbour cache: the structures
  are copied without theirs), as the code did before;
- ``now``: the window as one stacked batch (one backbone pass per step) and each
  structure's graph built once, then read from its cache.

Both compute the same losses (to float reordering; checked at the first step). Printed: ms
per step of each and the ratio before/now.

    .venv/bin/python benchmarks/frames_step.py --T 2 --steps 30 --rounds 5 --threads 1
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecule", default="aspirin")
    parser.add_argument("--model", default="painn_book")
    parser.add_argument("--T", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30, help="steps per round and variant")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)

    import copy

    import numpy as np
    import torch

    from mlffkit.data.atoms import AtomsData
    from mlffkit.models import build_model
    from mlffkit.papers.frames import md17 as fm
    from mlffkit.papers.frames.heads import displacement_head_for
    from mlffkit.papers.frames.hyperparameters import BATCH_SIZE_BY_WINDOW, frames_loss_weights
    from mlffkit.papers.frames.objective import FramesObjective
    from mlffkit.training.data import Window, collate_windows, window_items
    from mlffkit.training.normalisation import fit_target_scales

    torch.set_num_threads(args.threads)
    p = {**fm.RUN.profiles["book"], "molecule": args.molecule, "T": args.T}
    frames, split, _ = fm._data(p)
    rows = split.windows(frames, args.T + 1)
    structures = frames.to_data_list()
    batch = BATCH_SIZE_BY_WINDOW[args.T]
    items = window_items(structures, rows)
    order = np.random.default_rng(0).permutation(len(items))
    chunks = [[items[i] for i in order[k:k + batch]] for k in range(0, batch * args.steps, batch)]

    def uncached(item):  # the same structures without a neighbour cache
        return tuple(AtomsData.from_arrays(s.pos, s.numbers, energy=s.energy, forces=s.forces,
                                           cache=False) for s in item)

    windows = {"now": [collate_windows(c) for c in chunks],
               "before": [collate_windows([uncached(i) for i in c]) for c in chunks]}
    windows["before"] = [Window(w.frames, w.displacement, w.next_frame) for w in windows["before"]]

    torch.manual_seed(0)
    model = build_model(args.model)
    head = displacement_head_for(model, args.T)
    model.fit_normalisation(frames.energy[split.train], [frames.numbers] * len(split.train),
                            list(frames.forces[split.train]))
    disp = (frames.positions[rows[:, -1]] - frames.positions[rows[:, -2]]).reshape(-1, 3)
    head.fit_normalisation(disp)
    torch.nn.init.normal_(head.lin_disp.weight)  # a head that has started to learn
    scales = fit_target_scales(frames.energy[split.train], displacements=disp)
    weights = frames_loss_weights("md17", args.molecule)
    variants = {}
    for name in ("before", "now"):
        m, h = copy.deepcopy(model), copy.deepcopy(head)
        objective = FramesObjective(weights, scales, head=h, total_steps=10 ** 6)
        optimiser = torch.optim.Adam([*m.parameters(), *h.parameters()], lr=5e-4)
        variants[name] = (m, objective, optimiser)

    def step(name: str, k: int) -> float:
        m, objective, optimiser = variants[name]
        m.train()
        out = objective(m, windows[name][k], step=k)
        optimiser.zero_grad(set_to_none=True)
        out.loss.backward()
        optimiser.step()
        return float(out.loss.detach())

    first = {name: step(name, 0) for name in variants}
    print(f"settings: {vars(args)}; load {os.getloadavg()[0]:.2f}; first-step loss "
          f"before {first['before']:.6f}, now {first['now']:.6f}")
    assert abs(first["before"] - first["now"]) <= 1e-4 * abs(first["now"]), first
    times = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name in variants:
            start = time.perf_counter()
            for k in range(1, args.steps):
                step(name, k)
            times[name].append((time.perf_counter() - start) / (args.steps - 1))
    best = {name: 1e3 * min(t) for name, t in times.items()}
    median = {name: 1e3 * float(np.median(t)) for name, t in times.items()}
    for name in variants:
        print(f"{name:>7}: {best[name]:7.1f} ms/step (best round), {median[name]:7.1f} median")
    print(f"ratio before/now: {best['before'] / best['now']:.2f}x (best), "
          f"{median['before'] / median['now']:.2f}x (median); load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
