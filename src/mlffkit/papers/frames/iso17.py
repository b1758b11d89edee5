"""FRAMES Table 3 on ``xtb-iso17``: energy and force MAE within distribution (unseen
conformations of training isomers) and outside distribution (unseen isomers) for T = 1, 2, 3.

Data: the set's ``split.json``. Each of the 30 training isomers gives ``n_train_per_isomer``
consecutive frames (``lag`` MD steps = ``lag`` fs apart) from the start of its training block
and ``n_val_per_isomer`` random other frames of that block for validation; windows never cross
isomers. Test: ``n_within_per_isomer`` frames of each training isomer's ``test_within`` block
(frames 400-499, 20 fs after the training block) and ``n_other_per_isomer`` frames of each of
the 7 held-out isomers, drawn once (``data_seed``). ISO17 hyperparameters (§A.3): λ_E = 1,
λ_F = 80, λ_aux = 0.25.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlffkit import data
from mlffkit import reference as generate
from mlffkit.files import sha256_of
from mlffkit.papers.frames import training as ft
from mlffkit.experiments.config import param
from mlffkit.experiments.registry import Experiment, positive, register
from mlffkit.results import Result
from mlffkit.runtime import torch_threads
from mlffkit.papers.frames.hyperparameters import LEARNING_RATE, frames_loss_weights

SET = "xtb-iso17"


def scenarios() -> dict:
    """``split.json``: {scenario: {"isomers": [...], "frames": [start, stop)}}."""
    return json.loads((generate.set_dir(SET) / "split.json").read_text())["scenarios"]


def datasets(params: dict) -> dict[str, str]:
    return {**generate.checksums(SET),
            f"{SET}/split.json": sha256_of(generate.set_dir(SET) / "split.json")}


def _block(frames: data.Frames, bounds) -> np.ndarray:
    return np.flatnonzero((frames.time >= bounds[0]) & (frames.time < bounds[1]))


def _sample(frames: data.Frames, candidates: np.ndarray, n: int, rng) -> data.Frames:
    return frames[np.sort(rng.choice(candidates, size=min(n, len(candidates)), replace=False))]


def training_sources(p: dict, rng: np.random.Generator | None = None,
                     split: dict | None = None):
    """The training windows of a run, ``[(frames, window rows)]`` per training isomer, and
    the validation frames. ``rng`` (default: seeded by ``data_seed``) draws each isomer's
    split seed, then goes on to draw the test frames in :func:`train_run`; ``split``:
    :func:`scenarios` (read when not given)."""
    split = scenarios() if split is None else split
    rng = np.random.default_rng(p["data_seed"]) if rng is None else rng
    sources, val = [], []
    for isomer in split["train"]["isomers"]:
        frames = generate.load_frames(SET, isomer)
        block = frames[_block(frames, split["train"]["frames"])]
        cut = data.frames_split(block, n_train=p["n_train_per_isomer"],
                                n_val=p["n_val_per_isomer"], lag=p["lag"],
                                seed=int(rng.integers(2**31)))
        sources.append((block, cut.windows(block, p["T"] + 1)))
        val += block[cut.val].to_data_list()
    return sources, val


def train_run(p: dict) -> Result:
    """One FRAMES run on the training isomers; MAE on both test scenarios."""
    with torch_threads(p["threads"]):
        split = scenarios()
        rng = np.random.default_rng(p["data_seed"])
        sources, val = training_sources(p, rng, split)
        tests = {"within": [], "outside": []}
        for scenario, key, n in (("test_within", "within", p["n_within_per_isomer"]),
                                 ("test_other", "outside", p["n_other_per_isomer"])):
            for isomer in split[scenario]["isomers"]:
                frames = generate.load_frames(SET, isomer)
                tests[key].append(_sample(frames, _block(frames, split[scenario]["frames"]), n,
                                          rng))
        model, trainer, summary = ft.train(p, sources, val, frames_loss_weights("iso17"))
        row = {"T": p["T"], "seed": p["seed"], "aux": p["aux"], "lag": p["lag"],
               "epochs": p["epochs"]}
        with trainer.averaged_weights():
            for key, parts in tests.items():
                errors = [ft.test_errors(model, frames) for frames in parts]
                sizes = np.array([len(f) for f in parts], float)
                for metric in ("energy_mae_meV", "force_mae_meV_A"):
                    values = np.array([e[metric] for e in errors])
                    row[f"{key}_{metric}"] = float(values @ sizes / sizes.sum())
                row[f"n_{key}"] = int(sizes.sum())
    history = summary.pop("history")
    row.update(summary)
    return Result(tables={"run": pd.DataFrame([row]), "history": history})


def compute(config: ft.SweepConfig) -> Result:
    return Result(tables={"runs": ft.sweep(RUN.name, config)})


@dataclass(frozen=True)
class ISO17RunConfig(ft.RunConfig):
    """One FRAMES run on xtb-iso17 (per training isomer: frames for training and validation;
    per test isomer: frames for the two test scenarios)."""

    n_train_per_isomer: int = param(positive())
    n_val_per_isomer: int = param(positive())
    n_within_per_isomer: int = param(positive())
    n_other_per_isomer: int = param(positive())


BOOK_EPOCHS = 5
BOOK_RUN = ISO17RunConfig(
    model="painn_book", T=1, aux="displacement", aux_weight=None, lr=LEARNING_RATE,
    batch_size=None, epochs=BOOK_EPOCHS, n_train_per_isomer=32, n_val_per_isomer=2, lag=1,
    n_within_per_isomer=10, n_other_per_isomer=40, data_seed=0, ema_decay=0.999,
    warmup_steps=0, normalise_displacement=True, threads=1, progress=True, seed=0)
RUN_PROFILES = {
    "smoke": BOOK_RUN.replace(model="schnet_book", n_train_per_isomer=3, n_val_per_isomer=1,
                              n_within_per_isomer=1, n_other_per_isomer=2, epochs=1,
                              progress=False),
    "book": BOOK_RUN,
    "paper": BOOK_RUN.replace(model="equiformer_md17", n_train_per_isomer=350,
                              n_val_per_isomer=10, n_within_per_isomer=100,
                              n_other_per_isomer=500, epochs=1500, warmup_steps=1000),
}

RUN = register(Experiment(
    name="frames_iso17_run",
    version="2",
    compute=train_run,
    datasets=datasets,
    description="one FRAMES training run (T, seed) on xtb-iso17",
    profiles=RUN_PROFILES,
    check=ft.run_check,
))


#: T = 1, 2, 3 and the two controls (T = 1 with twice the epochs, T = 2 without aux)
_VARIANTS = ft.table1_variants(BOOK_EPOCHS)


def _sweep(profile: str, **changes) -> ft.SweepConfig:
    return ft.SweepConfig(run=RUN_PROFILES[profile], runs_profile=profile, variants=[],
                          seeds=1).replace(**changes)


TABLE3 = register(Experiment(
    name="frames_iso17",
    version="3",
    compute=compute,
    datasets=lambda c: datasets(c["run"]),
    description="FRAMES Table 3 on xtb-iso17: within / outside distribution MAE, T = 1, 2, 3",
    profiles={
        "smoke": _sweep("smoke", seeds=1, variants=_VARIANTS[:2]),
        "book": _sweep("book", seeds=3, variants=_VARIANTS),
        "paper": _sweep("paper", seeds=3, variants=ft.table1_variants(1500)),
    },
    check=ft.sweep_check(RUN),
    runs=lambda c: c.stored_runs(RUN.name),
))
