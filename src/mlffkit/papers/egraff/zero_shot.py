"""EGraFFBench's zero-shot task (App. A.11.1, Tables 18-19): the models trained on one MD17
molecule, tested and simulated on benzene, a molecule none of them saw.

One stored run per (model, training system) (``egraff_zero_shot``) and the sweep
``egraff_zero_shots`` that gathers them. A run takes the model an ``egraff_model`` run with
the same training inputs trained (reused from :func:`.benchmark.model_dir`, else trained
there), then:

1. predicts ``n_test`` random benzene frames: force MAE beside zero forces, and the energy
   MAE with and without its mean offset. A model trained on one composition cannot tell how
   its energy splits over elements, so the energy of another composition is off by an
   arbitrary constant: only the offset-free error says something about the model;
2. runs ``n_starts`` forward simulations from random benzene frames with Maxwell-Boltzmann
   velocities at MD17's 500 K, 0.5 fs, scored against all the frames
   (:func:`.benchmark.ensemble_runs`): JSD, WF, h(r) MAE, stability.

The benzene frames are every distinct frame of rMD17's split files (9,633 of the MD17
trajectory, not consecutive) with their original MD17 labels, in EGraFFBench's unit
convention (kcal/mol x 0.04336, as its MD17 training files). The paper scores its runs
against the benzene trajectory with EV and FV; sampled frames have no reference at the same
time, so EV and FV are not computed here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mlffkit.experiments.config import param
from mlffkit.experiments.registry import Experiment, one_of, register
from mlffkit.results import Result
from mlffkit.units import EGRAFF_KCAL_MOL_TO_EV, KCAL_MOL_TO_EV

from . import benchmark as eb
from . import metrics

#: the unseen molecules (the paper's: benzene)
TARGETS = ("benzene",)
#: MD17's trajectories ran at 500 K; our MD17 forward runs step 0.5 fs
ENSEMBLE = eb.Ensemble("rMD17 benzene, MD17 labels", 500.0, 0.5)


@dataclass(frozen=True)
class ZeroShotConfig(eb.ModelRunConfig):
    """A training run (:class:`.benchmark.ModelRunConfig`: model, system, training, split
    sizes, seed) whose model is tested on ``target``; ``n_test`` counts target frames."""

    target: str = param(one_of(*TARGETS))


def target_frames(target: str):
    """Every distinct rMD17 frame of ``target`` with the original MD17 labels, converted to
    eV with EGraFFBench's factor."""
    from mlffkit import data

    frames = data.rmd17_trajectory(target, labels="md17")
    factor = EGRAFF_KCAL_MOL_TO_EV / KCAL_MOL_TO_EV
    return replace(frames, energy=frames.energy * factor, forces=frames.forces * factor)


def run_zero_shot(c: ZeroShotConfig) -> Result:
    """Train (or reuse) ``c``'s model, test and simulate it on ``c.target``."""
    from mlffkit.metrics import uniform_bin_edges

    train, val, _ = eb._split(c.replace(n_test=1))
    frames = target_frames(c.target)
    if c.n_test > len(frames):
        raise ValueError(f"n_test={c.n_test} exceeds the {len(frames)} frames of {c.target}")
    test = frames[np.sort(np.random.default_rng(c.seed).choice(len(frames), c.n_test,
                                                               replace=False))]
    edges = uniform_bin_edges(metrics.BOOK.hr_max_A, metrics.BOOK.hr_bin_A)
    with eb.trained_model(c, train, val) as (trained, calc):
        energy, forces, seconds = metrics.evaluate(calc, test.numbers, test.positions)
        runs, series = eb.ensemble_runs(c, calc, edges, [(frames, ENSEMBLE)])
    error = energy - test.energy
    errors = {"model": c.model, "system": c.system, "target": c.target, "n_test": c.n_test,
              "force_mae_meV_A": 1e3 * float(np.mean(np.abs(forces - test.forces))),
              "zero_force_baseline_meV_A": 1e3 * float(np.mean(np.abs(test.forces))),
              "energy_mae_meV": 1e3 * float(np.mean(np.abs(error))),
              "energy_offset_meV": 1e3 * float(np.mean(error)),
              "energy_mae_centred_meV": 1e3 * float(np.mean(np.abs(error - error.mean()))),
              "energy_spread_baseline_meV": 1e3 * float(np.mean(np.abs(
                  test.energy - test.energy.mean()))),
              "train_s": trained.seconds, "seconds_per_call": seconds,
              "md_steps_per_s": float(np.mean([r["steps_per_s"] for r in runs]))}
    return Result(
        tables={"errors": pd.DataFrame([errors]),
                "runs": pd.DataFrame([{"model": c.model, "system": c.system,
                                       "target": c.target, **r} for r in runs]),
                "settings": eb.settings_table(trained)},
        arrays={**series, "hr_bin_edges": edges,
                "force_abs_error": np.abs(forces - test.forces).mean(axis=(1, 2))})


def _datasets(c) -> dict[str, str]:
    from mlffkit import data

    out = eb._datasets([c["system"]])
    for split in ("train", "test"):
        for k in range(1, 6):
            out.update(data.checksums(f"rmd17/{c['target']}/{split}_{k:02d}"))
    return out


_RUNS = {p: ZeroShotConfig(**c.as_dict(), target="benzene") for p, c in eb.RUN_PROFILES.items()}
_RUNS["book"] = _RUNS["book"].replace(n_test=1000)

RUN = register(Experiment(
    name="egraff_zero_shot",
    version="1",
    compute=run_zero_shot,
    datasets=_datasets,
    description="one EGraFFBench model trained on one MD17 molecule, tested and simulated on "
                "benzene (zero-shot, Tables 18-19)",
    profiles=_RUNS,
))


def _sweep_profile(profile: str, **changes) -> eb.BenchmarkConfig:
    return eb.BenchmarkConfig(models=list(eb.MODELS), systems=list(eb.DFT_SYSTEMS),
                              run=_RUNS[profile], runs_profile=profile).replace(**changes)


SWEEP = register(Experiment(
    name="egraff_zero_shots",
    version="1",
    compute=lambda c: eb.sweep(c, RUN.name),
    runs=lambda c: [(RUN.name, c.runs_profile, unit) for unit in c.units()],
    datasets=lambda c: {k: v for s in c["systems"]
                        for k, v in _datasets({"system": s, "target": c["run"]["target"]}).items()},
    description="EGraFFBench Tables 18-19: models trained on MD17 molecules, tested and "
                "simulated on benzene; runs stored one by one",
    profiles={"smoke": _sweep_profile("smoke", models=["equiformer"], systems=["md17/ethanol"]),
              # trains each model once (40-85 CPU-min each) unless an egraff_model run with
              # the same training inputs left it in the model cache
              "book": _sweep_profile("book", systems=["md17/aspirin"]),
              "paper": _sweep_profile("paper")},
))
