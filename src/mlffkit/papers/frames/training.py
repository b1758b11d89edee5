"""What every FRAMES experiment on molecules shares: one training run from windows of
trajectories, the test errors of its EMA weights on single frames, and sweeps of stored runs.

A run's data are ``sources``: (``Frames``, window rows) pairs, rows ``(n, T + 1)`` of frame
indices (the T input frames and the next frame, from ``Split.windows(frames, T + 1)``), so one
run can mix several trajectories (ISO17's isomers). The model is the ``model`` preset with a
:class:`~mlffkit.papers.frames.heads.DisplacementHead` over T frames when T > 1; it is trained with
:class:`~mlffkit.papers.frames.objective.FramesObjective` (Eq. 2-5, λ_aux decayed linearly to 0),
batch 8 windows for T = 1 and 4 for T = 2, 3 (§A.1), Adam 5e-4 with cosine decay, EMA weights
with warm-up. Inference is from single frames only.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from mlffkit import data
from mlffkit.experiments.config import Config, param
from mlffkit.experiments.registry import (PROFILES, SEED, Param, at_least, between, one_of,
                                          positive, run)
from mlffkit.runtime import default_device
from mlffkit.data.atoms import collate
from mlffkit.training.data import BatchLoader, collate_windows, window_items
from mlffkit.papers.frames.hyperparameters import BATCH_SIZE_BY_WINDOW
from mlffkit.papers.frames.objective import AUX_TARGETS, FramesObjective
from mlffkit.training.losses import LossWeights
from mlffkit.training.normalisation import fit_target_scales
from mlffkit.training.fit import predict
from mlffkit.training.run_log import epoch_history
from mlffkit.training.trainer import Trainer, TrainerConfig

#: the model presets (``mlffkit.models.PRESETS``, named here so that checking a run's
#: parameters does not import the models; a test keeps the two equal)
MODEL_PRESETS = ("equiformer_md17", "equiformer_book", "painn", "painn_book", "schnet",
                 "schnet_book")


@dataclass(frozen=True)
class RunConfig(Config):
    """What every FRAMES training run takes (its data set's config adds the data)."""

    model: str = param(one_of(*MODEL_PRESETS))
    T: int = param(positive())                      # window length (1: no auxiliary loss)
    aux: str = param(one_of(*AUX_TARGETS))          # auxiliary target
    aux_weight: float | None = param(at_least(0, float))  # None: the paper's λ_aux
    lr: float = param(positive())
    batch_size: int | None = param(positive(int))   # None: the paper's, by T
    epochs: int = param(positive())
    ema_decay: float = param(between(0, 1, high_open=True))
    warmup_steps: int = param(at_least(0))
    normalise_displacement: bool = param()
    threads: int = param(positive())
    progress: bool = param()
    lag: int = param(positive())                    # MD steps between training frames
    data_seed: int = param(SEED)
    seed: int = param(SEED)


_VARIANTS_TEXT = "a non-empty list of variants, dicts {'label': ..., run parameters}"


def _variants_problem(variants: list) -> str | None:
    if not variants or not all(isinstance(v, dict) and isinstance(v.get("label"), str)
                               for v in variants):
        return f"expected {_VARIANTS_TEXT}"
    labels = [v["label"] for v in variants]
    if len(set(labels)) != len(labels):
        return f"expected distinct variant labels, got {labels}"
    if any("seed" in v for v in variants):
        return "expected no seed in a variant (the sweep's seeds set it)"
    return None


@dataclass(frozen=True)
class SweepConfig(Config):
    """A sweep: the ``run`` every run starts from, its ``variants`` (dicts of a ``label``
    and run parameters to change) and ``seeds`` seeds each; :meth:`runs` lists the run
    configs explicitly. Run parameters given to :meth:`replace` change ``run``."""

    run: RunConfig = param()
    runs_profile: str = param(one_of(*PROFILES))  # how its runs are stored
    variants: list = param(Param(list, check=_variants_problem, text=_VARIANTS_TEXT))
    seeds: int = param(positive())

    def accepted(self) -> tuple[str, ...]:
        return tuple(sorted({*self.field_names(), *self.run.field_names()} - {"seed"}))

    def replace(self, **changes) -> "SweepConfig":
        own = {k: v for k, v in changes.items() if k in self.field_names()}
        for_run = {k: v for k, v in changes.items() if k not in own}
        if for_run:
            if "seed" in for_run or not set(for_run) <= set(self.run.field_names()):
                return super().replace(**changes)  # the one-line unknown-parameter error
            own["run"] = own.get("run", self.run).replace(**for_run)
        return super().replace(**own)

    def systems(self) -> list[dict]:
        """The systems the variants run on (one, the run's own, unless a subclass has more)."""
        return [{}]

    def run_config(self, system: dict, variant: dict, seed: int) -> RunConfig:
        """The run of ``variant`` (a dict of a label and run parameters) on ``system``."""
        changes = {k: x for k, x in variant.items() if k != "label"}
        return self.run.replace(**system, **changes, seed=seed)

    def runs(self) -> list[tuple[dict, str, int, RunConfig]]:
        """Every run of the sweep: (system, variant label, seed, its run config)."""
        return [(system, v["label"], seed, self.run_config(system, v, seed))
                for system in self.systems() for v in self.variants for seed in range(self.seeds)]

    def stored_runs(self, run_name: str) -> list[tuple[str, str, RunConfig]]:
        """Every run as ``(run experiment, profile, config)``: what ``Experiment.runs``
        hands to a scheduler."""
        return [(run_name, self.runs_profile, config) for *_, config in self.runs()]

    def unit(self, label: str, seed: int = 0, **system) -> RunConfig:
        """The run config of variant ``label``, ``seed`` on ``system``."""
        for sys_, label_, seed_, config in self.runs():
            if label_ == label and seed_ == seed and all(sys_.get(k) == v
                                                         for k, v in system.items()):
                return config
        raise KeyError(f"no variant {label!r} (seed {seed}, {system or 'the run'}); the sweep "
                       f"has {[v['label'] for v in self.variants]}")


@dataclass(frozen=True)
class MoleculeSweepConfig(SweepConfig):
    """A sweep over ``molecules`` too (each run's ``molecule``)."""

    molecules: list = param()

    def systems(self) -> list[dict]:
        return [{"molecule": m} for m in self.molecules]


def run_check(p: dict) -> str | None:
    """What is wrong with a combination of run parameters, or None."""
    if p["batch_size"] is None and p["T"] not in BATCH_SIZE_BY_WINDOW:
        return (f"T={p['T']} has no paper batch size (the paper's are for T = "
                f"{', '.join(map(str, BATCH_SIZE_BY_WINDOW))}); set batch_size")
    return None


def test_errors(model, frames: data.Frames) -> dict[str, float]:
    """Energy MAE (meV per structure) and force MAE (meV/Å per component) on ``frames``,
    predicted in chunks of equal size (one molecule per ``frames``)."""
    e_pred, f_pred = predict(model, frames.to_data_list())
    return {"energy_mae_meV": 1e3 * float(np.mean(np.abs(e_pred - frames.energy))),
            "force_mae_meV_A": 1e3 * float(np.mean(np.abs(f_pred - frames.forces)))}


def train(p: dict, sources: list[tuple[data.Frames, np.ndarray]], val: list,
          weights: LossWeights):
    """Train the ``p["model"]`` potential on the windows of ``sources`` with FRAMES at
    ``p["T"]``; returns ``(model, trainer, summary)``: evaluate inside
    ``trainer.averaged_weights()``; ``summary`` has steps, wall time, validation loss and the
    per-epoch ``history`` DataFrame."""
    from mlffkit.models import build_model  # e3nn: imported when training, not at start-up
    from mlffkit.papers.frames.heads import displacement_head_for

    T = p["T"]
    items, energies, numbers, forces, displacements, inputs = [], [], [], [], [], []
    for frames, rows in sources:
        if rows.ndim != 2 or rows.shape[1] != T + 1 or len(rows) == 0:
            raise ValueError(f"{frames.source}: need window rows of shape (n >= 1, {T + 1}), "
                             f"got {rows.shape}")
        structures = frames.to_data_list()
        items += window_items(structures, rows)
        used = np.unique(rows[:, :T])
        inputs += [structures[k] for k in used]
        energies.append(frames.energy[used])
        numbers += [frames.numbers] * len(used)
        forces += list(frames.forces[used])
        displacements.append(frames.positions[rows[:, -1]] - frames.positions[rows[:, -2]])
    if p["aux_weight"] is not None:
        weights = replace(weights, aux=p["aux_weight"])
    torch.manual_seed(p["seed"])
    model = build_model(p["model"])
    # right after the model, so that a seeded run initialises both the same way; no head for
    # T = 1 or for the no-auxiliary-loss control (λ_aux = 0)
    head = displacement_head_for(model, T) if T > 1 and weights.aux != 0 else None
    # the energy head's statistics, and (Equiformer) the average number of neighbours, from
    # the training frames
    # (a generator: collated only when the backbone has that statistic to fit)
    model.fit_normalisation(np.concatenate(energies), numbers, forces,
                            batches=(collate(inputs[k:k + 64]) for k in range(0, len(inputs), 64)))
    disp = np.concatenate([d.reshape(-1, 3) for d in displacements])
    if head is not None:
        head.fit_normalisation(disp)
    scales = fit_target_scales(np.concatenate(energies),
                               displacements=disp if p["normalise_displacement"] else None)
    objective = FramesObjective(weights, scales, aux=p["aux"], head=head)
    loader = BatchLoader(items, p["batch_size"] or BATCH_SIZE_BY_WINDOW[T],
                         collate=collate_windows, seed=p["seed"])
    val_loader = BatchLoader(val, 16, collate=collate, shuffle=False)
    # EMA with warm-up: a plain 0.999 decay keeps 0.999^n of the random initial weights, far
    # too much for runs of a few thousand steps
    trainer_config = TrainerConfig(max_epochs=p["epochs"], lr=p["lr"], scheduler="cosine",
                                   warmup_steps=p["warmup_steps"], ema_decay=p["ema_decay"],
                                   ema_warmup=True, seed=p["seed"], progress=p["progress"])
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(model, objective, loader, val_loader, trainer_config, run_dir=run_dir,
                          device=default_device())
        start = time.perf_counter()
        fit = trainer.fit()
        history = epoch_history(pd.DataFrame(trainer.log.rows()))
        summary = {"steps": fit.step, "train_s": time.perf_counter() - start,
                   "val_primary": fit.val_metrics.get("primary", np.nan),
                   "n_train_windows": len(items), **aux_columns(p, sources, history),
                   "history": history}
    return model, trainer, summary


def aux_columns(p: dict, sources, history: pd.DataFrame) -> dict[str, float]:
    """What a run's table says about its auxiliary head: ``aux_final`` (the last epoch's mean
    training aux loss) beside :func:`aux_baselines` of its training windows, in the same
    (normalised) units; NaN where they do not apply (T = 1, the next-frame target, or no
    auxiliary loss)."""
    out = dict.fromkeys(("aux_final", "aux_zero_baseline", "aux_extrapolation_baseline"),
                        np.nan)
    if p["T"] < 2 or p["aux"] != "displacement":
        return out
    out.update(aux_baselines(sources, p["normalise_displacement"]))
    train_rows = history[history["kind"] == "train"] if "kind" in history else history
    if "aux" in train_rows and len(train_rows):
        out["aux_final"] = float(train_rows["aux"].iloc[-1])
    return out


def aux_baselines(sources: list[tuple[data.Frames, np.ndarray]], normalise: bool
                  ) -> dict[str, float]:
    """What the auxiliary loss (FRAMES Eq. 5: mean per-atom ``||Δp̂ - Δp||``, divided by the
    displacement scale that :func:`train` uses) scores on the training windows of ``sources``
    for two trivial predictors: ``zero`` (Δp̂ = 0) and ``extrapolation`` (Δp̂ = p_t - p_{t-1},
    the last motion; windows of T >= 2). A head that learned something beats ``zero``; one
    that uses the window's motion comes near or below ``extrapolation``."""
    target, previous = [], []
    for frames, rows in sources:
        pos = frames.positions
        target.append((pos[rows[:, -1]] - pos[rows[:, -2]]).reshape(-1, 3))
        if rows.shape[1] > 2:
            previous.append((pos[rows[:, -2]] - pos[rows[:, -3]]).reshape(-1, 3))
    target = np.concatenate(target)
    scale = float(np.sqrt(np.mean(target ** 2))) if normalise else 1.0
    out = {"aux_zero_baseline": float(np.linalg.norm(target, axis=-1).mean() / scale)}
    if previous:
        motion = np.concatenate(previous)
        out["aux_extrapolation_baseline"] = float(
            np.linalg.norm(target - motion, axis=-1).mean() / scale)
    return out


def aux_check(runs: pd.DataFrame) -> pd.DataFrame:
    """Did the auxiliary head learn? The runs of a sweep's ``runs`` table that trained a
    displacement head (T >= 2, ``aux="displacement"``, λ_aux > 0), with their stored
    ``aux_final`` (the last epoch's mean training aux loss) beside the zero and extrapolation
    baselines of their own training windows (:func:`aux_baselines`), and ``learned``
    (``aux_final`` below the zero baseline)."""
    columns = [c for c in ("dataset", "molecule", "label", "seed", "aux_final",
                           "aux_zero_baseline", "aux_extrapolation_baseline") if c in runs]
    trained = runs["aux_final"].notna() if "aux_final" in runs else np.zeros(len(runs), bool)
    out = runs.loc[trained, columns].reset_index(drop=True)
    out["learned"] = out["aux_final"] < out["aux_zero_baseline"] if len(out) else []
    return out


def sweep(run_name: str, config: SweepConfig) -> pd.DataFrame:
    """Load or train (and store) every run of ``config`` with the run experiment
    ``run_name``; one row per run with its variant's ``label``."""
    from tqdm.auto import tqdm

    rows = []
    for _, label, _, run_config in tqdm(config.runs(), desc=run_name, unit="run",
                                        disable=not config.run.progress):
        unit = run_stored(run_name, config.runs_profile, run_config)
        rows.append({"label": label, **unit.tables["run"].iloc[0].to_dict()})
    return pd.DataFrame(rows)


def run_stored(run_name: str, profile: str, config: RunConfig):
    """One run (loaded, or trained and stored under ``profile``): its ``run`` row and
    ``history``."""
    return run(run_name, profile, **config.as_dict())


def sweep_unit(run_experiment, sweep_params, label: str, seed: int = 0, **system):
    """The stored run of a sweep (its config, or a stored sweep record's ``params``) with
    variant ``label``, ``seed`` and ``system`` (e.g. ``molecule="aspirin"``), e.g. for its
    history."""
    config = sweep_config(run_experiment, sweep_params)
    return run_stored(run_experiment.name, config.runs_profile,
                      config.unit(label, seed, **system))


def sweep_config(run_experiment, params) -> SweepConfig:
    """A sweep's config from a stored record's ``params`` (a dict) or the config itself."""
    if isinstance(params, SweepConfig):
        return params
    kind = MoleculeSweepConfig if "molecules" in params else SweepConfig
    return kind(**{**params, "run": run_experiment.config(**params["run"])})


def parameter_table(params: dict) -> pd.DataFrame:
    """A stored sweep's ``params`` as one table: its own (less the variants, shown with the
    results) and its base run's, one row each."""
    own = {k: v for k, v in params.items() if k not in ("run", "variants")}
    rows = {**own, **{f"run: {k}": v for k, v in params["run"].items()}}
    return pd.Series({k: repr(v) if isinstance(v, (list, dict)) else v
                      for k, v in rows.items()}, name="value", dtype=object).to_frame()


def sweep_check(run_experiment):
    """A sweep's ``check``: every run it would do passes its run experiment's checks."""
    def check(config: SweepConfig) -> str | None:
        try:
            run_experiment.validate(config.run)
        except ValueError as err:  # a bad run parameter given to the sweep
            return str(err).removeprefix(f"{run_experiment.name}: ")
        for system in config.systems():
            for v in config.variants:
                try:  # seed 0 stands for all
                    run_experiment.validate(config.run_config(system, v, seed=0))
                except ValueError as err:
                    where = "".join(f", {k}={x!r}" for k, x in system.items())
                    message = str(err).removeprefix(f"{run_experiment.name}: ")
                    return f"variant {v['label']!r}{where}: {message}"
        return None
    return check


def variant(label: str, **run_params) -> dict:
    return {"label": label, **run_params}


#: the variants of Table 1 and two controls: equal optimiser steps (T = 2, 3 take batches of 4
#: windows, T = 1 of 8 frames, so at equal epochs T > 1 gets twice the updates) and T = 2
#: without the auxiliary loss (the same windows, batches and steps as T = 2, λ_aux = 0)
def table1_variants(epochs: int) -> list[dict]:
    return [variant("T=1", T=1), variant("T=2", T=2), variant("T=3", T=3),
            variant("T=1, 2x epochs", T=1, epochs=2 * epochs),
            variant("T=2, no aux", T=2, aux_weight=0.0)]


#: the variants of Table 2 (auxiliary target)
ABLATION_VARIANTS = [variant("T=1", T=1), variant("T=2, aux dp", T=2),
                     variant("T=2, aux E,F next", T=2, aux="next_frame")]

