"""FRAMES Table 1 and 2 on MD17, and a frame-lag study on ``xtb-md17``: static energy and force
MAE of a potential trained with the FRAMES objective for T = 1, 2, 3.

Data, ``dataset="md17"``: training and validation frames come from MD17 frames 0-999 (the
EGraFFBench "test" file, consecutive 0.5 fs steps): ``n_train`` frames taken in time order
(``lag`` MD steps apart, FRAMES §4.1) and ``n_val`` random others. Test frames are rMD17
frames whose MD17 index is at least ``test_min_index`` (far from the training trajectory),
``n_test`` of them drawn once (``data_seed``), with the *original MD17* labels, the same level
of theory as the training frames. The EGraFFBench file was converted upstream with 0.04336
eV/(kcal/mol); we rescale it to ASE's factor so that both sources share one energy scale.

``dataset="xtb-md17"``: our GFN2-xTB trajectory of the molecule (5000 frames, 0.5 fs apart):
training frames ``lag`` frames apart from its start, validation frames at random from the rest
of the frames before ``test_min_index``, test frames drawn from the frames from
``test_min_index`` on.

One training run (molecule, T, seed, ...) is a record of its own (experiment
``frames_md17_run``), so a long sweep resumes where it stopped; the sweep experiments
(``frames_md17``: Table 1 with an equal-step control, ``frames_ablation``: Table 2,
``frames_lag``: the frame-lag study) gather the runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mlffkit import data
from mlffkit import reference as generate
from mlffkit.units import EGRAFF_KCAL_MOL_TO_EV, KCAL_MOL_TO_EV
from mlffkit.papers.frames import training as ft
from mlffkit.experiments.config import param
from mlffkit.experiments.registry import Experiment, missing, one_of, positive, register, run
from mlffkit.results import Result
from mlffkit.runtime import torch_threads
from mlffkit.papers.frames.hyperparameters import LEARNING_RATE, frames_loss_weights

MOLECULES = ("aspirin", "ethanol", "naphthalene", "salicylic_acid")
#: all eight MD17 molecules (Table 5 names), for the xtb-md17 trajectories
ALL_MOLECULES = ("aspirin", "benzene", "ethanol", "malonaldehyde", "naphthalene",
                 "salicylic_acid", "toluene", "uracil")

DATASETS = ("md17", "xtb-md17")
_RMD17_NAME = {"salicylic_acid": "salicylic"}
_XTB_NAME = {"salicylic_acid": "salicylic"}


def _train_source(molecule: str) -> data.Frames:
    frames = data.load(f"egraff/md17/{molecule}/test")
    factor = KCAL_MOL_TO_EV / EGRAFF_KCAL_MOL_TO_EV
    return replace(frames, energy=frames.energy * factor, forces=frames.forces * factor)


def _sample(frames: data.Frames, candidates: np.ndarray, n: int, seed: int) -> data.Frames:
    pick = np.random.default_rng(seed).choice(candidates, size=min(n, len(candidates)),
                                              replace=False)
    return frames[np.sort(pick)]


def _test_frames(molecule: str, min_index: int, n_test: int, seed: int) -> data.Frames:
    traj = data.rmd17_trajectory(_RMD17_NAME.get(molecule, molecule), labels="md17")
    return _sample(traj, np.flatnonzero(traj.time >= min_index), n_test, seed)


def _check(p: dict) -> None:
    if p["dataset"] not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {p['dataset']!r}")


def datasets(params: dict) -> dict[str, str]:
    """sha256 of every file the runs read (results-store key)."""
    _check(params)
    out = {}
    for molecule in params["molecules"]:
        if params["dataset"] == "xtb-md17":
            out.update(generate.checksums("xtb-md17", [_XTB_NAME.get(molecule, molecule)]))
            continue
        out.update(data.checksums(f"egraff/md17/{molecule}/test"))
        rmd = _RMD17_NAME.get(molecule, molecule)
        for split in ("train", "test"):
            for k in range(1, 6):
                out.update(data.checksums(f"rmd17/{rmd}/{split}_{k:02d}"))
    return out


def _data(p: dict) -> tuple[data.Frames, data.Split, data.Frames]:
    """Training trajectory, its split, and the test frames of one run."""
    _check(p)
    if p["dataset"] == "md17":
        frames = _train_source(p["molecule"])
        test = _test_frames(p["molecule"], p["test_min_index"], p["n_test"], p["data_seed"])
    else:
        traj = generate.load_frames("xtb-md17", _XTB_NAME.get(p["molecule"], p["molecule"]))
        frames = traj[np.flatnonzero(traj.time < p["test_min_index"])]
        test = _sample(traj, np.flatnonzero(traj.time >= p["test_min_index"]), p["n_test"],
                       p["data_seed"])
    split = data.frames_split(frames, n_train=p["n_train"], n_val=p["n_val"], lag=p["lag"],
                              seed=p["data_seed"])
    return frames, split, test


def train_run(p: dict) -> Result:
    """One FRAMES training run; test errors of the EMA weights from single frames."""
    with torch_threads(p["threads"]):
        frames, split, test = _data(p)
        rows = split.windows(frames, p["T"] + 1)
        val = frames[split.val].to_data_list()
        model, trainer, summary = ft.train(p, [(frames, rows)], val,
                                           frames_loss_weights("md17", p["molecule"]))
        with trainer.averaged_weights():
            errors = ft.test_errors(model, test)
    history = summary.pop("history")
    row = {"dataset": p["dataset"], "molecule": p["molecule"], "T": p["T"], "seed": p["seed"],
           "aux": p["aux"], "lag": p["lag"], "epochs": p["epochs"], **errors, **summary,
           "n_test": len(test)}
    return Result(tables={"run": pd.DataFrame([row]), "history": history})


def compute(config: ft.MoleculeSweepConfig) -> Result:
    """Every (molecule, variant, seed) run of a sweep, each loaded or trained and stored."""
    return Result(tables={"runs": ft.sweep(RUN.name, config)})


@dataclass(frozen=True)
class MD17RunConfig(ft.RunConfig):
    """One FRAMES run on MD17 (or our xtb-md17 trajectories)."""

    dataset: str = param(one_of(*DATASETS))
    molecule: str = param(one_of(*ALL_MOLECULES))
    n_train: int = param(positive())
    n_val: int = param(positive())
    n_test: int = param(positive())
    test_min_index: int = param(positive())    # test frames from this MD17 index (or frame) on


BOOK_EPOCHS = 5
BOOK_RUN = MD17RunConfig(
    dataset="md17", molecule="aspirin", model="painn_book", T=1, aux="displacement",
    aux_weight=None, lr=LEARNING_RATE, batch_size=None, epochs=BOOK_EPOCHS, n_train=950,
    n_val=50, n_test=500, lag=1, test_min_index=2000, data_seed=0, ema_decay=0.999,
    warmup_steps=0, normalise_displacement=True, threads=1, progress=True, seed=0)
RUN_PROFILES = {
    "smoke": BOOK_RUN.replace(model="schnet_book", n_train=24, n_val=8, n_test=16, epochs=1,
                              progress=False),
    "book": BOOK_RUN,
    "paper": BOOK_RUN.replace(model="equiformer_md17", n_test=1000, epochs=1500,
                              warmup_steps=1000),
}


def _run_check(p) -> str | None:
    if p["dataset"] == "md17" and p["molecule"] not in MOLECULES:
        return (f"molecule {p['molecule']!r} has no MD17 training frames here (dataset "
                f"'md17' has {', '.join(MOLECULES)}); use dataset='xtb-md17'")
    return ft.run_check(p)


RUN = register(Experiment(
    name="frames_md17_run",
    version="4",
    compute=train_run,
    datasets=lambda p: datasets({"molecules": [p["molecule"]], "dataset": p["dataset"]}),
    description="one FRAMES training run (molecule, T, seed) on MD17 frames 0-999 or xtb-md17",
    profiles=RUN_PROFILES,
    check=_run_check,
))


def _sweep(name: str, description: str, **sweeps: ft.MoleculeSweepConfig) -> Experiment:
    return register(Experiment(
        name=name, version="4", compute=compute, description=description,
        runs=lambda c: c.stored_runs(RUN.name),
        datasets=lambda c: datasets({"molecules": c["molecules"], "dataset": c["run"]["dataset"]}),
        profiles=sweeps, check=ft.sweep_check(RUN)))


def _sweep_profiles(smoke: dict, book: dict, paper: dict) -> dict[str, ft.MoleculeSweepConfig]:
    """Each profile's sweep: its runs start from that profile's run, with ``changes`` (sweep
    fields or run parameters)."""
    out = {}
    for profile, changes in (("smoke", smoke), ("book", book), ("paper", paper)):
        base = ft.MoleculeSweepConfig(run=RUN_PROFILES[profile], runs_profile=profile,
                                      variants=[], seeds=1, molecules=[])
        out[profile] = base.replace(**changes)
    return out


_SMOKE = dict(molecules=["ethanol"], seeds=1,
              variants=[ft.variant("T=1", T=1), ft.variant("T=2", T=2)])

TABLE1 = _sweep(
    "frames_md17", "FRAMES Table 1: energy/force MAE on MD17 for T = 1, 2, 3, and the controls "
    "(T = 1 with twice the epochs, T = 2 without the auxiliary loss); runs stored one by one",
    **_sweep_profiles(
        smoke=_SMOKE,
        book=dict(molecules=list(MOLECULES), seeds=3, variants=ft.table1_variants(BOOK_EPOCHS)),
        paper=dict(molecules=list(MOLECULES), seeds=3, variants=ft.table1_variants(1500))))

ABLATION = _sweep(
    "frames_ablation", "FRAMES Table 2: auxiliary target displacement vs next frame's E, F "
    "(T = 2) on MD17",
    **_sweep_profiles(
        smoke={**_SMOKE, "variants": [ft.variant("T=2, aux E,F next", T=2, aux="next_frame")]},
        book=dict(molecules=list(MOLECULES), seeds=3, variants=ft.ABLATION_VARIANTS),
        paper=dict(molecules=list(MOLECULES), seeds=3, variants=ft.ABLATION_VARIANTS)))

_XTB = dict(dataset="xtb-md17", test_min_index=4000)

XTB_TABLE1 = _sweep(
    "frames_xtb_md17", "FRAMES Table 1 on our GFN2-xTB MD of all eight MD17 molecules: "
    "T = 1, 2, 3, consecutive frames (0.5 fs), and the two controls",
    **_sweep_profiles(
        smoke={**_SMOKE, **_XTB},
        book=dict(**_XTB, molecules=list(ALL_MOLECULES), seeds=3,
                  variants=ft.table1_variants(BOOK_EPOCHS)),
        paper=dict(**_XTB, molecules=list(ALL_MOLECULES), seeds=3,
                   variants=ft.table1_variants(1500))))

#: the decisive runs: the book sweep (its variants, seeds and epochs) with our Equiformer,
#: FRAMES' own architecture, on two molecules; stored run by run (hours on one CPU core)
EQUIFORMER_RUNS = dict(model="equiformer_book", molecules=["aspirin", "ethanol"])


def equiformer_sweep(profile: str) -> tuple[Result | None, dict[str, int]]:
    """The decisive Equiformer runs (:data:`EQUIFORMER_RUNS`; ``book`` only, else nothing):
    the sweep over the molecules whose runs are all stored (None if there is none), and the
    number of runs still missing per molecule. Nothing is trained: a chapter shows what is
    stored while the rest runs (``mlffkit run frames_md17 --profile book --set
    model=equiformer_book --set "molecules=['aspirin']"``)."""
    if profile != "book":
        return None, {}
    todo = {m: len(missing(TABLE1.name, profile, model=EQUIFORMER_RUNS["model"], molecules=[m]))
            for m in EQUIFORMER_RUNS["molecules"]}
    ready = [m for m, n in todo.items() if n == 0]
    sweep = run(TABLE1.name, profile, model=EQUIFORMER_RUNS["model"], molecules=ready) if ready \
        else None
    return sweep, todo


def no_aux_runs(sweep_params) -> pd.DataFrame:
    """The "T=2, no aux" runs (the same windows, no auxiliary loss) of a sweep's molecules
    and seeds: the control the Table 2 ablation reads each auxiliary target against."""
    config = ft.sweep_config(RUN, sweep_params).replace(
        variants=[ft.variant("T=2, no aux", T=2, aux_weight=0.0)])
    return ft.sweep(RUN.name, config)


def primary_check(runs: pd.DataFrame, sweep_params) -> pd.DataFrame:
    """Did the runs learn their primary targets? Per molecule: the test energy and force MAE
    of the sweep's runs (best, median, worst) beside two trivial predictors on the same test
    frames: the mean training energy, and zero forces (the mean force of a molecule); how many
    runs beat each (``energy_learned``, ``forces_learned``: "k of n") and whether all beat
    both (``learned``). The test frames do not depend on the variant or seed, only on the
    molecule."""
    config = ft.sweep_config(RUN, sweep_params)
    rows = []
    for molecule, group in runs.groupby("molecule", sort=False):
        p = config.run.replace(molecule=molecule)
        frames, split, test = _data(p)
        mean_energy = float(np.mean(frames.energy[split.train]))
        row = {"molecule": molecule, "runs": len(group),
               "mean_energy_baseline_meV": 1e3 * float(np.mean(np.abs(test.energy - mean_energy))),
               "zero_force_baseline_meV_A": 1e3 * float(np.mean(np.abs(test.forces)))}
        for column, name in (("energy_mae_meV", "energy"), ("force_mae_meV_A", "force")):
            row[f"{name}_mae_best"] = float(group[column].min())
            row[f"{name}_mae_median"] = float(group[column].median())
            row[f"{name}_mae_worst"] = float(group[column].max())
        beat_energy = int((group["energy_mae_meV"] < row["mean_energy_baseline_meV"]).sum())
        beat_forces = int((group["force_mae_meV_A"] < row["zero_force_baseline_meV_A"]).sum())
        row["energy_learned"] = f"{beat_energy} of {len(group)}"
        row["forces_learned"] = f"{beat_forces} of {len(group)}"
        row["learned"] = beat_energy == beat_forces == len(group)
        rows.append(row)
    return pd.DataFrame(rows)


#: frame-lag study (not in the paper): xtb-md17, training frames ``lag`` steps apart
LAGS = (1, 4)


def _lag_variants(lags, epochs: int, control: bool = True) -> list[dict]:
    """T = 1, 2 (and the equal-step and no-aux controls) at each lag, labelled
    ``"<Table 1 label>, lag k"``."""
    keep = {"T=1", "T=2"} | ({"T=1, 2x epochs", "T=2, no aux"} if control else set())
    return [{**v, "label": f"{v['label']}, lag {lag}", "lag": lag}
            for lag in lags for v in ft.table1_variants(epochs) if v["label"] in keep]


LAG = _sweep(
    "frames_lag", "frame-lag study on xtb-md17: T = 1 vs T = 2 (and its controls) with "
    "training frames 1 or 4 MD steps (0.5 or 2 fs) apart",
    **_sweep_profiles(
        smoke={**_SMOKE, **_XTB, "variants": _lag_variants([1, 4], 1, control=False)},
        book=dict(**_XTB, molecules=["aspirin", "ethanol"], seeds=3,
                  variants=_lag_variants(LAGS, BOOK_EPOCHS)),
        paper=dict(**_XTB, molecules=["aspirin", "ethanol"], seeds=3,
                   variants=_lag_variants(LAGS, 1500))))
