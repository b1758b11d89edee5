"""Benchmark: force error after the same CPU time, our presets against NequIP and each other.

The EGraFFBench MD17 aspirin split (``mlffkit.data.egraff_split``: 950 training frames, test
frames 0 to ``--n-test`` - 1). Every config trains with ``mlffkit.training.fit_potential``
(the recipe of the EGraFFBench chapter's Equiformer book settings unless a config overrides
it: Adam, cosine schedule with warm-up, EMA 0.99, batch 8, energy:force weights 1:1) for as
many whole epochs as fit in ``--budget`` CPU-seconds, then predicts the test frames (not
timed). Peers share the loop, the loss and the data order, so the ratios compare
architectures (and recipes) at equal compute.

Time is the process's CPU time (``time.process_time``) with one thread, so background load on
the machine slows the wall clock but not the budget; the epoch count comes from a calibration
of 24 steps on a throw-away model, so the CPU time actually spent is printed beside the
budget (whole epochs: within about half an epoch of it).

Configs: a preset name (``equiformer_book``, ``painn_book``, ``schnet_book``), ``nequip``
(NequIP 0.19 with ``benchmarks/models.py``'s ``NEQUIP_CONFIG``, 87,844 parameters; needs
``benchmarks/requirements-nequip.txt``), each optionally with recipe overrides after a colon,
e.g. ``equiformer_book:lr=5e-3,force_weight=80``.

    .venv/bin/python benchmarks/time_to_accuracy.py --budget 600    # ~35 min of CPU
    .venv/bin/python benchmarks/time_to_accuracy.py --budget 60 --configs painn_book nequip
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass, replace

DEFAULT_CONFIGS = ("equiformer_book", "painn_book", "nequip",
                   "equiformer_book:lr=5e-3", "equiformer_book:force_weight=80")


@dataclass(frozen=True)
class Recipe:
    """The fit_potential knobs a config may override (EGraFFBench's Equiformer book recipe)."""

    lr: float = 2e-3
    batch_size: int = 8
    warmup_steps: int = 100
    energy_weight: float = 1.0
    force_weight: float = 1.0
    ema_decay: float = 0.99

    def override(self, text: str) -> Recipe:
        """``"lr=5e-3,batch_size=4"`` -> this recipe with those values."""
        changes = {}
        for item in filter(None, text.split(",")):
            key, _, value = item.partition("=")
            if key not in self.__dataclass_fields__:
                raise SystemExit(f"unknown recipe key {key!r}; known: "
                                 f"{', '.join(self.__dataclass_fields__)}")
            changes[key] = type(getattr(self, key))(float(value))
        return replace(self, **changes)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=600.0, help="CPU seconds per config")
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--n-test", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def nequip_model(train, seed: int):
    """NequIP (``models.NEQUIP_CONFIG``) behind mlffkit's potential interface:
    ``model(batch, forces=True)`` -> ``{"energy", "forces"}``, on mlffkit's radius graph."""
    import numpy as np
    import torch
    from ase.data import atomic_numbers
    from models import NEQUIP_CONFIG, NEQUIP_TYPES, nequip_kwargs
    from nequip.data import AtomicDataDict as keys
    from nequip.model import NequIPGNNModel
    from nequip.utils.global_state import set_global_state

    from mlffkit.graph import radius_graph

    set_global_state()    # NequIP's seeds and its float64 default, under which it is built
    kwargs = nequip_kwargs([float(s.energy) for s in train],
                           np.concatenate([s.forces.numpy() for s in train]),
                           len(train[0].numbers), train[:8], seed)
    inner = NequIPGNNModel(**kwargs)
    torch.set_default_dtype(torch.float32)   # mlffkit's training runs under float32
    types = {atomic_numbers[symbol]: i for i, symbol in enumerate(NEQUIP_TYPES)}

    class NequIP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = inner

        def fit_normalisation(self, *args, **kwargs):
            """NequIP's shifts and scales were set from the same training labels above."""

        def forward(self, batch, forces: bool = True):
            edge_index, _ = radius_graph(batch, NEQUIP_CONFIG["r_max"])
            data = {keys.POSITIONS_KEY: batch.pos,
                    keys.EDGE_INDEX_KEY: edge_index.flip(0),   # NequIP: [centre, neighbour]
                    keys.ATOM_TYPE_KEY: torch.tensor([types[int(z)] for z in batch.numbers]),
                    keys.BATCH_KEY: batch.batch,
                    keys.NUM_NODES_KEY: torch.bincount(batch.batch)}
            out = self.inner(data)
            return {"energy": out[keys.TOTAL_ENERGY_KEY].reshape(-1),
                    "forces": out[keys.FORCE_KEY]}

    return NequIP()


def build(name: str, train, seed: int):
    import torch

    from mlffkit.models import build_model

    if name == "nequip":
        return nequip_model(train, seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build_model(name)


def fit(model, train, recipe: Recipe, epochs: int, seed: int):
    from mlffkit.training import fit_potential
    from mlffkit.training.losses import LossWeights

    return fit_potential(model, train, epochs=epochs, lr=recipe.lr,
                         batch_size=recipe.batch_size, seed=seed,
                         weights=LossWeights(recipe.energy_weight, recipe.force_weight),
                         warmup_steps=recipe.warmup_steps, ema_decay=recipe.ema_decay or None,
                         progress=False)


def seconds_per_step(name: str, train, recipe: Recipe, seed: int) -> float:
    """CPU seconds per optimiser step over 24 steps of a throw-away model (one short epoch,
    its normalisation fit included: an overestimate of a few %)."""
    subset = train[:24 * recipe.batch_size]
    model = build(name, train, seed)
    start = time.process_time()
    fit(model, subset, replace(recipe, warmup_steps=0), epochs=1, seed=seed)
    return (time.process_time() - start) / 24


def run_config(spec: str, train, test, budget: float, seed: int) -> dict:
    import numpy as np

    from mlffkit.training.fit import predict

    name, _, overrides = spec.partition(":")
    recipe = Recipe().override(overrides)
    steps_per_epoch = -(-len(train) // recipe.batch_size)
    per_step = seconds_per_step(name, train, recipe, seed)
    model = build(name, train, seed)
    epochs = max(1, round(budget / (per_step * steps_per_epoch)))
    recipe = replace(recipe, warmup_steps=min(recipe.warmup_steps,
                                              epochs * steps_per_epoch // 2))
    start = time.process_time()
    summary = fit(model, train, recipe, epochs, seed)
    cpu_s = time.process_time() - start
    energy, forces = predict(model, test, batch_size=32)
    reference_e = np.array([float(s.energy) for s in test])
    reference_f = np.stack([s.forces.numpy() for s in test])
    return {"config": spec, "params": sum(p.numel() for p in model.parameters()),
            "epochs": epochs, "steps": summary.steps, "cpu_s": cpu_s,
            "ms_per_step": 1e3 * cpu_s / summary.steps,
            "force_mae": 1e3 * float(np.abs(forces - reference_f).mean()),
            "energy_mae": 1e3 * float(np.abs(energy - reference_e).mean())}


def main(args) -> None:
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    sys.path.insert(0, os.path.dirname(__file__))
    import torch

    from mlffkit import data
    from mlffkit.runtime import torch_threads

    torch_threads(args.threads)
    torch.set_default_dtype(torch.float32)
    split = data.egraff_split("md17/aspirin")
    train = split["train"].to_data_list()
    test = split["test"][:args.n_test].to_data_list()
    print(f"time_to_accuracy: budget {args.budget:.0f} CPU-s per config, {len(train)} training "
          f"frames, {len(test)} test frames, {args.threads} thread(s), torch "
          f"{torch.__version__}, {platform.processor() or platform.machine()}, "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    for spec in args.configs:
        try:
            row = run_config(spec, train, test, args.budget, args.seed)
        except ImportError as error:
            print(f"{spec}: skipped ({error})", flush=True)
            continue
        rows.append(row)
        print(f"  {spec}: {row['epochs']} epochs, {row['cpu_s']:.0f} CPU-s, force MAE "
              f"{row['force_mae']:.1f} meV/Å (load {os.getloadavg()[0]:.2f})", flush=True)
    best = min(r["force_mae"] for r in rows)
    print(f"\n{'config':36s} {'params':>8s} {'epochs':>6s} {'steps':>6s} {'CPU s':>6s} "
          f"{'ms/step':>8s} {'E MAE meV':>10s} {'F MAE meV/Å':>12s} {'F/best':>7s}")
    for r in rows:
        print(f"{r['config']:36s} {r['params']:8,d} {r['epochs']:6d} {r['steps']:6d} "
              f"{r['cpu_s']:6.0f} {r['ms_per_step']:8.1f} {r['energy_mae']:10.1f} "
              f"{r['force_mae']:12.1f} {r['force_mae'] / best:6.2f}x")
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(parse_args())
