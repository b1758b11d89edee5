r"""EGraFFBench's benchmark: the six force fields trained on a data set, tested on its test
frames (Table 1), timed (Table 4) and run in MD scored against the reference trajectory
(Tables 2-3).

One stored run per (model, system) (``egraff_model``: resumable, one record each), and the
sweep ``egraff_models`` that gathers them. A run:

1. trains ``model`` through :mod:`.forcefields` at its ``training`` profile on EGraFFBench's
   training split (``egraff/<system>/train``, the first ``n_train`` frames) with its
   validation split, in :func:`model_dir` (kept, and reused by a later run with the same
   training inputs, e.g. after a change to the simulations or metrics; ``smoke``: a
   temporary folder);
2. predicts the first ``n_test`` test frames: energy and force MAE (forces per component, as
   every model's own trainer reports them) beside the two trivial predictors (zero forces, the
   training mean energy), and the seconds per ASE call;
3. runs ``n_starts`` forward simulations from reference frames of the test trajectory with
   their reconstructed velocities, and scores each against the reference at the same times
   (:func:`.metrics.forward_runs`: EV, FV, JSD, WF, h(r) MAE, bond stability, RMSD, steps/s).
   The MD settings are the metrics chapter's (:data:`.metrics.BOOK`): the same start frames,
   steps, thermostat and bins, so the models sit beside MMFF94, GFN2-xTB and the time-shifted
   reference of that chapter.

Systems: EGraFFBench's MD17 splits of the four molecules of Table 1 (their test files are MD17
frames 0-999, a trajectory at 0.5 fs, 500 K), and the same layout on our GFN2-xTB trajectories
(``xtb-md17/<molecule>``). There the reference engine is at hand, so each forward run is also
scored against GFN2-xTB's labels of its own frames (:func:`.metrics.self_consistency`):
FV against the reference at the same *time* mostly measures chaos (the metrics chapter's
floor), FV against the engine at the same *configuration* measures the model.

3BPA and acetylacetone (``3bpa``, ``acac``; 500 training frames at 300 K) have test files of
frames *sampled* at one temperature, not trajectories, so step 3 differs
(:data:`ENSEMBLES`, :func:`.metrics.ensemble_runs`): at each temperature of the paper's
Tables 5-6 (300 K and 600 K), runs start from random frames of that temperature's reference
set with Maxwell-Boltzmann velocities, at the paper's time step (App. A.3 Table 10), and are
scored against the whole set: JSD, WF, h(r) MAE and stability. EV and FV, which need the
reference at the same time, are not defined there. acac's EGraFFBench validation file is its
test file (upstream), so its 50 validation frames are test frames, as in the paper. LiPS,
LiPS20 and GeTe are not wired yet (their training splits are not in the mirror).
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlffkit.experiments.config import Config, param
from mlffkit.experiments.registry import (SEED, Experiment, names_from, one_of, positive,
                                          register)
from mlffkit.results import Result

from . import metrics
from .forcefields import FORCEFIELDS

#: EGraFFBench's MD17 splits (DFT), and the same layout on our GFN2-xTB trajectories
#: (``xtb-md17``), where the reference engine can label the models' own trajectories
DFT_SYSTEMS = tuple(f"md17/{m}" for m in metrics.MOLECULES)
XTB_SYSTEMS = tuple(f"xtb-md17/{m}" for m in metrics.MOLECULES)



@dataclass(frozen=True)
class Ensemble:
    """Reference frames sampled at ``T_K`` (a data-registry name) and the MD time step the
    paper ran at that temperature (App. A.3 Table 10)."""

    frames: str
    T_K: float
    dt_fs: float


#: systems whose reference frames are samples, not a trajectory: their forward runs are scored
#: against the ensemble at each temperature of Tables 5-6. acac's 300 K set is EGraFFBench's
#: test file (= BOTNet's test_MD_300K), its 600 K set BOTNet's test_MD_600K; 3BPA's are
#: EGraFFBench's validation (300 K) and test (600 K) files.
ENSEMBLES = {
    "3bpa": (Ensemble("egraff/3bpa/val", 300.0, 1.0), Ensemble("egraff/3bpa/test", 600.0, 1.0)),
    "acac": (Ensemble("egraff/acac/test", 300.0, 1.0),
             Ensemble("botnet/acac/test_MD_600K", 600.0, 0.5)),
}
SAMPLED_SYSTEMS = tuple(ENSEMBLES)
#: frames in each split (train, val, test) where it holds fewer than MD17's 950 + 50 + 1000:
#: the sweep trains and tests on at most these
SPLIT_SIZES = {"3bpa": dict(n_train=500, n_val=1669, n_test=2138),
               "acac": dict(n_train=500, n_val=650, n_test=650)}
SYSTEMS = DFT_SYSTEMS + XTB_SYSTEMS + SAMPLED_SYSTEMS
#: xtb-md17: training and validation frames drawn from its first 4000 steps (2 ps), the test
#: trajectory its last 1000 (0.5 ps), as EGraFFBench's MD17 test file is MD17 frames 0-999
XTB_TEST_FROM = 4000
XTB_NAME = {"salicylic_acid": "salicylic"}
#: every k-th frame of a forward run is labelled by the reference engine (xtb systems)
RELABEL_STRIDE = 4
#: the paper's column order (Table 1)
MODELS = ("nequip", "allegro", "botnet", "mace", "equiformer", "torchmdnet")
#: each model's name in the paper's tables
LABELS = {m: FORCEFIELDS[m].paper_name or FORCEFIELDS[m].label for m in MODELS}


@dataclass(frozen=True)
class ModelRunConfig(Config):
    """One model on one system."""

    model: str = param(one_of(*MODELS))
    system: str = param(one_of(*SYSTEMS))
    training: str = param(one_of("smoke", "book", "paper"))   # the model's settings profile
    n_train: int = param(positive())
    n_val: int = param(positive())
    n_test: int = param(positive())
    n_starts: int = param(positive())
    steps: int = param(positive())
    seed: int = param(SEED)
    threads: int = param(positive())


RUN_BOOK = ModelRunConfig(model="nequip", system="md17/aspirin", training="book", n_train=950,
                          n_val=50, n_test=1000, n_starts=metrics.BOOK.n_starts,
                          steps=metrics.BOOK.steps, seed=0, threads=1)
#: the forward runs of each profile are the metrics chapter's (same starts and steps), so
#: that its time-shifted reference pairs with them
_MD = {p: dict(n_starts=c.n_starts, steps=c.steps)
       for p, c in metrics.EGRAFF_METRICS.profiles.items()}
RUN_PROFILES = {
    "smoke": RUN_BOOK.replace(model="equiformer", system="md17/ethanol", training="smoke",
                              n_train=12, n_val=4, n_test=8, **_MD["smoke"]),
    "book": RUN_BOOK,
    "paper": RUN_BOOK.replace(training="paper", **_MD["paper"]),
}


def _xtb_trajectory(system: str):
    from mlffkit import reference

    molecule = system.split("/", 1)[1]
    return reference.load_frames("xtb-md17", XTB_NAME.get(molecule, molecule))


def _split(c: ModelRunConfig):
    """Training, validation and test frames of ``c.system`` (see :data:`XTB_TEST_FROM`)."""
    from mlffkit import data

    if c.system in XTB_SYSTEMS:
        traj = _xtb_trajectory(c.system)
        pool = np.flatnonzero(traj.time < XTB_TEST_FROM)
        order = np.random.default_rng(0).permutation(pool)
        if c.n_train + c.n_val > len(pool):
            raise ValueError(f"n_train + n_val = {c.n_train + c.n_val} exceeds the {len(pool)} "
                             f"training-pool frames of {c.system}")
        test = traj[np.flatnonzero(traj.time >= XTB_TEST_FROM)]
        train = traj[np.sort(order[:c.n_train])]
        val = traj[np.sort(order[c.n_train:c.n_train + c.n_val])]
        splits = {"train": train, "val": val, "test": test}
    else:
        splits = data.egraff_split(c.system)
    for name, split, n in (("n_train", "train", c.n_train), ("n_val", "val", c.n_val),
                           ("n_test", "test", c.n_test)):
        if n > len(splits[split]):
            raise ValueError(f"{name}={n} exceeds the {len(splits[split])} frames of "
                             f"{splits[split].source or c.system}")
    return splits["train"][:c.n_train], splits["val"][:c.n_val], splits["test"]


def reference_engine(system: str):
    """The engine that made ``system``'s labels, when we have it (GFN2-xTB), else None."""
    if system in XTB_SYSTEMS:
        from mlffkit.calculators import GFN2xTB

        return GFN2xTB()
    return None


def _trajectory_runs(c: ModelRunConfig, test, calc, edges) -> tuple[list[dict], dict]:
    """Forward runs from frames of the test trajectory, scored against it at the same times
    (and against the engine's labels of their own frames where we have the engine)."""
    m = metrics.BOOK
    seg = metrics.reference_segment(test)
    # placed as the metrics chapter places its starts (room for its shifted window)
    starts = metrics.start_frames(seg, c.n_starts, c.steps, c.steps)
    velocities = {s: metrics.reference_velocities(test, s, m.dt_fs, m.velocity_method)
                  for s in starts}
    runs, series = metrics.forward_runs(
        test, starts, velocities, calc, steps=c.steps, T_K=m.T_K, tdamp_fs=m.tdamp_fs,
        energy_offset=0.0, scoring=metrics.scoring(test, seg, edges, m.dt_fs, m.bond_threshold_A),
        relabel=reference_engine(c.system), relabel_stride=RELABEL_STRIDE)
    return runs, {**series, "start_frames": np.asarray(starts)}


def ensemble_runs(c: ModelRunConfig, calc, edges, references) -> tuple[list[dict], dict]:
    """For each ``(reference frames, Ensemble)`` of ``references``: runs from ``n_starts``
    random frames of that set (seeded by ``c.seed``) at its temperature and time step, scored
    against the whole set. Series are stored as ``<T>K.<name>`` (e.g. ``600K.hr``)."""
    runs, series = [], {}
    for reference, ensemble in references:
        starts = np.sort(np.random.default_rng(c.seed).choice(len(reference), c.n_starts,
                                                              replace=False))
        scoring = metrics.scoring(reference, np.arange(len(reference)), edges, ensemble.dt_fs,
                                  metrics.BOOK.bond_threshold_A)
        rows, ours = metrics.ensemble_runs(reference, starts, calc, steps=c.steps,
                                           T_K=ensemble.T_K, tdamp_fs=metrics.BOOK.tdamp_fs,
                                           scoring=scoring, seed=c.seed)
        runs += [{"T_K": ensemble.T_K, **row} for row in rows]
        tag = f"{ensemble.T_K:g}K"
        series.update({f"{tag}.{name}": values for name, values in ours.items()})
        series[f"{tag}.start_frames"] = starts
    return runs, series


def model_dir(c: ModelRunConfig) -> Path:
    """Where a run of ``c`` keeps its trained model:
    ``<cache>/egraff_models/<model>/<system>/<training>-n<train>-<val>-seed<seed>`` under
    :func:`mlffkit.data.registry.cache_dir` (``$XDG_CACHE_HOME/mlffkit``)."""
    from mlffkit.data.registry import cache_dir

    return (cache_dir() / "egraff_models" / c.model / c.system.replace("/", "-")
            / f"{c.training}-n{c.n_train}-{c.n_val}-seed{c.seed}")


@contextlib.contextmanager
def trained_model(c: ModelRunConfig, train, val):
    """``(trained model, its ASE calculator)`` for ``c``'s training inputs, with ``c.threads``
    threads: the model kept in :func:`model_dir` (trained there unless a run with the same
    inputs left it), or for ``smoke`` training one trained in a temporary folder; the
    calculator is closed afterwards."""
    from threadpoolctl import threadpool_limits

    from mlffkit.runtime import torch_threads

    from . import forcefields

    with torch_threads(c.threads), threadpool_limits(c.threads), contextlib.ExitStack() as stack:
        folder = (Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="egraff_model_")))
                  / c.model if c.training == "smoke" else model_dir(c))
        trained = forcefields.trained(c.model, train, val, folder, profile=c.training,
                                      system=c.system, seed=c.seed)
        calc = forcefields.calculator(trained)
        try:
            yield trained, calc
        finally:
            getattr(calc, "close", lambda: None)()


def settings_table(trained) -> pd.DataFrame:
    """A trained model's settings as a ``setting``/``value`` table (values as ``repr``)."""
    return pd.DataFrame([{"setting": k, "value": repr(v)} for k, v in trained.settings.items()])


def run_model(c: ModelRunConfig) -> Result:
    """Train, test and simulate one model on one system (see the module docstring)."""
    from mlffkit.metrics import uniform_bin_edges

    train, val, test = _split(c)
    m = metrics.BOOK
    edges = uniform_bin_edges(m.hr_max_A, m.hr_bin_A)
    with trained_model(c, train, val) as (trained, calc):
        energy, forces, seconds = metrics.evaluate(calc, test.numbers, test.positions[:c.n_test])
        if c.system in ENSEMBLES:
            from mlffkit import data

            runs, series = ensemble_runs(c, calc, edges, [(data.load(e.frames), e)
                                                          for e in ENSEMBLES[c.system]])
        else:
            runs, series = _trajectory_runs(c, test, calc, edges)
    ref_e, ref_f = test.energy[:c.n_test], test.forces[:c.n_test]
    errors = {"model": c.model, "system": c.system, "n_train": len(train),
              "n_test": c.n_test,
              "energy_mae_meV": 1e3 * float(np.mean(np.abs(energy - ref_e))),
              "force_mae_meV_A": 1e3 * float(np.mean(np.abs(forces - ref_f))),
              "mean_energy_baseline_meV": 1e3 * float(np.mean(np.abs(train.energy.mean()
                                                                     - ref_e))),
              "zero_force_baseline_meV_A": 1e3 * float(np.mean(np.abs(ref_f))),
              "train_s": trained.seconds, "seconds_per_call": seconds,
              "md_steps_per_s": float(np.mean([r["steps_per_s"] for r in runs]))}
    arrays = dict(series)
    # per test frame, for intervals: energy error (eV) and mean |force error| (eV/Å)
    arrays["energy_error"] = energy - ref_e
    arrays["force_abs_error"] = np.abs(forces - ref_f).mean(axis=(1, 2))
    arrays["hr_bin_edges"] = edges
    return Result(tables={"errors": pd.DataFrame([errors]),
                          "runs": pd.DataFrame([{"model": c.model, "system": c.system, **r}
                                                for r in runs]),
                          "settings": settings_table(trained)},
                  arrays=arrays)


def _datasets(systems) -> dict[str, str]:
    from mlffkit import data, reference

    out: dict[str, str] = {}
    for system in systems:
        for ensemble in ENSEMBLES.get(system, ()):
            out.update(data.checksums(ensemble.frames))
        if system in XTB_SYSTEMS:
            molecule = system.split("/", 1)[1]
            out.update(reference.checksums("xtb-md17", [XTB_NAME.get(molecule, molecule)]))
            continue
        for split in ("train", "val", "test"):
            out.update(data.checksums(f"egraff/{system}/{split}"))
    return out


RUN = register(Experiment(
    name="egraff_model",
    version="1",
    compute=run_model,
    datasets=lambda c: _datasets([c["system"]]),
    description="one EGraFFBench model trained on one data set through its own trainer: "
                "test errors, timing, and MD scored against the reference trajectory",
    profiles=RUN_PROFILES,
))


@dataclass(frozen=True)
class BenchmarkConfig(Config):
    """The sweep: every model in ``models`` on every system in ``systems``; the other fields
    are the runs' (:class:`ModelRunConfig`)."""

    models: list = param(names_from(MODELS))
    systems: list = param(names_from(SYSTEMS))
    run: ModelRunConfig = param()
    runs_profile: str = param(one_of(*RUN_PROFILES))

    def units(self) -> list[ModelRunConfig]:
        """One run per (system, model), its split sizes capped at what the system holds
        (:data:`SPLIT_SIZES`)."""
        def sizes(system):
            return {k: min(getattr(self.run, k), n)
                    for k, n in SPLIT_SIZES.get(system, {}).items()}

        return [self.run.replace(model=m, system=s, **sizes(s))
                for s in self.systems for m in self.models]


def sweep(c: BenchmarkConfig, run_name: str = RUN.name) -> Result:
    """Every run of ``c`` (loaded, or computed and stored one by one by the experiment
    ``run_name``), gathered."""
    return _gather(c.units(), c.runs_profile, run_name)


def stored_runs(c: BenchmarkConfig, run_name: str = RUN.name
                ) -> tuple[Result | None, list[ModelRunConfig]]:
    """The runs of ``c`` already stored, gathered as :func:`sweep` gathers them (None if there
    is none; nothing is computed), and the runs still missing: a chapter shows what is stored
    while the rest trains."""
    from mlffkit.experiments.registry import missing

    have, pending = [], []
    for unit in c.units():
        (pending if missing(run_name, c.runs_profile, **unit.as_dict()) else have).append(unit)
    return (_gather(have, c.runs_profile, run_name) if have else None), pending


def _gather(units, profile: str, run_name: str) -> Result:
    from tqdm.auto import tqdm

    from mlffkit.experiments.registry import run

    errors, runs, settings, arrays = [], [], [], {}
    for unit in tqdm(units, desc=run_name, unit="run"):
        result = run(run_name, profile, **unit.as_dict())
        errors.append(result.tables["errors"])
        runs.append(result.tables["runs"])
        settings.append(result.tables["settings"].assign(model=unit.model, system=unit.system))
        for name, values in result.arrays.items():
            arrays[f"{unit.system}.{unit.model}.{name}"] = values
    return Result(tables={"errors": pd.concat(errors, ignore_index=True),
                          "runs": pd.concat(runs, ignore_index=True),
                          "settings": pd.concat(settings, ignore_index=True)}, arrays=arrays)


def _sweep_profile(profile: str, **changes) -> BenchmarkConfig:
    return BenchmarkConfig(models=list(MODELS), systems=list(SYSTEMS),
                           run=RUN_PROFILES[profile], runs_profile=profile).replace(**changes)


SWEEP = register(Experiment(
    name="egraff_models",
    version="2",   # 2: the runs' settings gathered (Table 4 reads their epochs)
    compute=sweep,
    runs=lambda c: [(RUN.name, c.runs_profile, unit) for unit in c.units()],
    datasets=lambda c: _datasets(c["systems"]),
    description="EGraFFBench Tables 1-4 on MD17: the six force fields, each trained through "
                "its own trainer; runs stored one by one",
    # smoke: one system of each kind (a DFT trajectory, an xtb-md17 trajectory whose runs the
    # engine relabels, sampled frames), so the chapter's every branch runs in the tests
    profiles={"smoke": _sweep_profile("smoke", models=["equiformer"],
                                      systems=["md17/ethanol", "xtb-md17/ethanol", "acac"]),
              # every system the mirror can train on: aspirin (40-85 min of training per model
              # on one shared core, Equiformer 3.6 h, in Dask workers slowed by their malloc
              # setting), acetylacetone, 3BPA, MD17 ethanol, naphthalene and salicylic acid and
              # xtb-md17 ethanol (4-55 min per model in plain processes), six models each;
              # coverage() gives the reason for each other cell of Table 1
              "book": _sweep_profile("book", systems=["md17/aspirin", "md17/ethanol",
                                                      "md17/naphthalene", "md17/salicylic_acid",
                                                      "xtb-md17/ethanol", "acac", "3bpa"]),
              "paper": _sweep_profile("paper")},
))


# -- analysis (cheap; used by the chapter) --------------------------------------------------
def table1(errors: pd.DataFrame) -> pd.DataFrame:
    """Energy and force MAE per system (rows) and model (columns), the paper's layout."""
    out = errors.assign(model=errors["model"].map(LABELS)).pivot_table(
        index="system", columns="model", values=["energy_mae_meV", "force_mae_meV_A"],
        sort=False)
    return out


def learned(errors: pd.DataFrame, arrays: dict | None = None) -> pd.DataFrame:
    """Did each run learn? Its test errors beside the trivial predictors. With the sweep's
    ``arrays`` (per-frame energy errors), also the mean signed energy error
    (``energy_offset_meV``) and the energy MAE once that constant is removed
    (``energy_mae_offset_removed_meV``): what is left when only the energy zero is wrong."""
    out = errors[["system", "model", "energy_mae_meV", "mean_energy_baseline_meV",
                  "force_mae_meV_A", "zero_force_baseline_meV_A"]].copy()
    out["beats both"] = ((out["energy_mae_meV"] < out["mean_energy_baseline_meV"])
                         & (out["force_mae_meV_A"] < out["zero_force_baseline_meV_A"]))
    if arrays is not None:
        error = [1e3 * arrays[f"{r.system}.{r.model}.energy_error"] for r in out.itertuples()]
        out["energy_offset_meV"] = [e.mean() for e in error]
        out["energy_mae_offset_removed_meV"] = [np.abs(e - e.mean()).mean() for e in error]
    return out


#: the paper's Table 1 data sets that this package cannot run yet: a cell label, and why
NOT_WIRED = {
    "lips": ("no training data", "the mirror has LiPS's validation split only"),
    "lips20": ("not wired", "20 periodic Li-P-S systems at 3000 K (deepmd sets): the mirror "
               "holds 16 (the four glasses have no coordinates), and training mixes five "
               "compositions and cells, which our TorchMD-Net trainer (one fixed box) and the "
               "one-system training of the others do not take yet"),
    "gete": ("no training data", "the mirror has GeTe's test and validation splits only"),
}
#: every row of the paper's Table 1, as our system names
TABLE1_SYSTEMS = ("acac", "3bpa") + DFT_SYSTEMS + tuple(NOT_WIRED)


def coverage(errors: pd.DataFrame) -> pd.DataFrame:
    """Table 1's cells (the paper's data sets x the six models): "stored" where a run is in
    ``errors``, "to run" where the system is wired but not run yet (CPU time), else the
    :data:`NOT_WIRED` label."""
    stored = set(zip(errors["system"], errors["model"]))
    return pd.DataFrame(
        [[("stored" if (system, model) in stored else
           NOT_WIRED[system][0] if system in NOT_WIRED else "to run") for model in MODELS]
         for system in TABLE1_SYSTEMS],
        index=pd.Index(TABLE1_SYSTEMS, name="system"),
        columns=[LABELS[m] for m in MODELS])


def paper_table1(paper: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 1 rows (``paper_tables.csv``) as model, system, energy and force
    MAE columns."""
    t = paper[paper["table"] == "Table 1"].pivot_table(index=["molecule", "model"],
                                                     columns="metric", values="value")
    t = t.reset_index().rename(columns={"energy_mae": "energy_mae_meV",
                                        "force_mae": "force_mae_meV_A"})
    t["system"] = _paper_system(t.pop("molecule"))
    return t


def _paper_system(molecule: pd.Series) -> pd.Series:
    """The paper's data-set names (``aspirin``, ``acac``, ``lips``) as our system names."""
    md17 = molecule.isin(metrics.MOLECULES)
    return molecule.where(~md17, "md17/" + molecule)


def paper_table4(paper: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 4 as system, model (its label) and the two columns of
    :func:`timing`: ``train_min_per_epoch`` (on an A100 GPU) and ``md_min_per_1000_steps``
    (on a CPU)."""
    t = paper[paper["table"] == "Table 4"].pivot_table(index=["molecule", "model"],
                                                     columns="metric", values="value",
                                                     sort=False).reset_index()
    t.columns.name = None
    t.insert(0, "system", _paper_system(t.pop("molecule")))
    return t


def literature_table(paper: pd.DataFrame) -> pd.DataFrame:
    """Table 17: for every (molecule, model, metric) the paper quotes a literature value for,
    EGraFFBench's own value (Table 1), each quoted source's value and ``vs_best_quoted``, the
    ratio of EGraFFBench's value to the lowest quoted one (above 1: the paper's model is worse
    than the literature's)."""
    quoted = paper[paper["table"] == "Table 17"].assign(
        source=lambda t: t["source"].str.split("quoting ").str[-1])
    wide = quoted.pivot_table(index=["molecule", "model", "metric"], columns="source",
                              values="value", sort=False)
    own = paper[paper["table"] == "Table 1"].set_index(["molecule", "model", "metric"])["value"]
    wide.insert(0, "EGraFFBench", own.reindex(wide.index))
    literature = wide.drop(columns="EGraFFBench")
    wide["vs_best_quoted"] = wide["EGraFFBench"] / literature.min(axis=1)
    return wide.reset_index()


def rank_agreement(errors: pd.DataFrame, arrays: dict, paper: pd.DataFrame, *,
                   n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per system and target (energy, force): Spearman's ρ between our models' test MAEs and
    the paper's Table 1 values for the same models (ρ = 1: the same order), with a 95%
    percentile interval from resampling our test frames (it holds the test sample's noise,
    not that of training: one seed per model), and ``p_agree``, the chance that independent
    rankings of as many models agree at least this well (exact permutation test). NaN with
    fewer than three models."""
    rng = np.random.default_rng(seed)
    theirs_all = paper_table1(paper)
    rows = []
    for system, ours in errors.groupby("system", sort=False):
        theirs = theirs_all[theirs_all["system"] == system].set_index("model")
        models = [m for m in ours["model"] if LABELS[m] in theirs.index]
        for target, key, column in (("energy", "energy_error", "energy_mae_meV"),
                                    ("force", "force_abs_error", "force_mae_meV_A")):
            rho = low = high = np.nan
            if len(models) >= 3:   # a rank correlation of fewer models says nothing
                per_frame = np.abs(np.array([arrays[f"{system}.{m}.{key}"] for m in models]))
                paper_values = theirs.loc[[LABELS[m] for m in models], column].to_numpy()
                rho, low, high = _spearman_interval(per_frame, paper_values, rng, n_boot)
            rows.append({"system": system, "target": target, "models": len(models),
                         "spearman": rho, "low": float(low), "high": float(high),
                         "p_agree": _permutation_p(rho, len(models))})
    return pd.DataFrame(rows)


#: our forward-run metric -> the paper's (Tables 2-3)
SIMULATION_METRICS = {"jsd": "jsd", "wf_percent": "wf", "ev_raw_gm": "ev", "fv_gm": "fv"}


def simulation_rank_agreement(runs: pd.DataFrame, paper: pd.DataFrame, *, n_boot: int = 2000,
                              seed: int = 0) -> pd.DataFrame:
    """Tables 2-3's counterpart of :func:`rank_agreement`: per MD17 system and metric of
    :data:`SIMULATION_METRICS`, Spearman's ρ between our models' mean over their forward runs
    and the paper's value, with a 95% interval from resampling the start frames (shared by
    every model, so resampled together) and ``p_agree``. The paper's JSD and WF are on RDFs,
    ours on h(r): only the orders are compared."""
    rng = np.random.default_rng(seed)
    theirs = paper[paper["table"].isin(["Table 2", "Table 3"])]
    rows = []
    for system, ours in runs.groupby("system", sort=False):
        molecule = system.split("/", 1)[1] if system.startswith("md17/") else None
        for column, metric in SIMULATION_METRICS.items():
            quoted = theirs[(theirs["molecule"] == molecule) & (theirs["metric"] == metric)]
            quoted = quoted.set_index("model")["value"]
            per_start = ours.pivot_table(index="model", columns="start_frame", values=column)
            models = [m for m in per_start.index if LABELS[m] in quoted.index]
            rho = low = high = np.nan
            if len(models) >= 3:
                per_start = per_start.loc[models].dropna(axis=1)
                rho, low, high = _spearman_interval(
                    per_start.to_numpy(), quoted.loc[[LABELS[m] for m in models]].to_numpy(),
                    rng, n_boot)
            rows.append({"system": system, "metric": metric, "models": len(models),
                         "spearman": rho, "low": float(low), "high": float(high),
                         "p_agree": _permutation_p(rho, len(models))})
    return pd.DataFrame(rows)


def _spearman_interval(per_unit: np.ndarray, paper_values: np.ndarray, rng, n_boot: int
                       ) -> tuple[float, float, float]:
    """Spearman's ρ between the row means of ``per_unit`` (models x units: test frames or
    start frames, shared by the models) and ``paper_values``, and a 95% percentile interval
    from resampling the units."""
    from scipy.stats import spearmanr

    rho = float(spearmanr(per_unit.mean(axis=1), paper_values).statistic)
    n = per_unit.shape[1]
    boot = [spearmanr(per_unit[:, i].mean(axis=1), paper_values).statistic
            for i in rng.integers(n, size=(n_boot, n))]
    low, high = np.nanpercentile(boot, [2.5, 97.5])
    return rho, float(low), float(high)


def _permutation_p(rho: float, n: int) -> float:
    """P(ρ >= ``rho``) for two independent rankings of ``n`` models (exact, over all n!
    orders): the chance that rankings agree this well by luck."""
    import itertools

    from scipy.stats import spearmanr

    if not np.isfinite(rho) or n < 3:
        return np.nan
    base = np.arange(n)
    values = [spearmanr(base, order).statistic for order in itertools.permutations(base)]
    return float(np.mean(np.asarray(values) >= rho - 1e-12))


def timing(errors: pd.DataFrame, settings: pd.DataFrame, steps: int = 1000) -> pd.DataFrame:
    """Table 4's layout on this CPU: training minutes per epoch (wall time of the model's own
    trainer, validation included, over the epochs each run was set to train: no book setting
    stops early) and minutes for ``steps`` MD steps (from the forward runs' steps/s), per
    system and model. ``settings``: the sweep's settings table (model, system, setting,
    value)."""
    epochs = settings[settings["setting"] == "epochs"].assign(
        epochs=lambda d: d["value"].astype(int))[["model", "system", "epochs"]]
    out = errors[["system", "model", "train_s", "md_steps_per_s"]].merge(
        epochs, on=["model", "system"], how="left", validate="one_to_one")
    out["train_min_per_epoch"] = out["train_s"] / out["epochs"] / 60
    out[f"md_min_per_{steps}_steps"] = steps / out["md_steps_per_s"] / 60
    return out


def timing_rank_agreement(cost: pd.DataFrame, runs: pd.DataFrame, paper: pd.DataFrame, *,
                          n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Table 4's counterpart of :func:`rank_agreement`: per system the paper times and per
    measure of :func:`timing`, Spearman's ρ between our models' cost and the paper's, and
    ``p_agree``. MD cost has a 95% interval from resampling the forward runs (start frame and
    temperature, shared by the models); training cost is one run per model (no interval)."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(seed)
    theirs_all = paper_table4(paper)
    runs = runs.assign(md_min=1000 / runs["steps_per_s"] / 60)
    rows = []
    for system, ours in cost.groupby("system", sort=False):
        theirs = theirs_all[theirs_all["system"] == system].set_index("model")
        models = [m for m in ours["model"] if LABELS[m] in theirs.index]
        labels = [LABELS[m] for m in models]
        for measure in ("train_min_per_epoch", "md_min_per_1000_steps"):
            rho = low = high = np.nan
            if len(models) >= 3:
                if measure == "train_min_per_epoch":
                    ours_values = ours.set_index("model").loc[models, measure]
                    rho = float(spearmanr(ours_values, theirs.loc[labels, measure]).statistic)
                else:
                    mine = runs[runs["system"] == system]
                    # a run: its start frame, and its temperature where a system has several
                    units = [c for c in ("start_frame", "T_K")
                             if c in mine and mine[c].notna().all()]
                    per_run = mine.pivot_table(index="model", columns=units,
                                               values="md_min").loc[models].dropna(axis=1)
                    rho, low, high = _spearman_interval(
                        per_run.to_numpy(), theirs.loc[labels, measure].to_numpy(), rng, n_boot)
            rows.append({"system": system, "measure": measure, "models": len(models),
                         "spearman": rho, "low": float(low), "high": float(high),
                         "p_agree": _permutation_p(rho, len(models))})
    return pd.DataFrame(rows)
