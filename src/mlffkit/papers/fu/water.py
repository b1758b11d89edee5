"""Fu et al. Tables 4 and 8-10: water, models trained on SPC/Fw frames and simulated, scored
by RDF stability, RDF error per pair and oxygen diffusivity.

Data: the ``openmm-water`` set (64 SPC/Fw waters, 300 K; :mod:`mlffkit.reference.water`),
5,000 frames 100 fs apart, labels recomputed on load. Fu samples 100,000 frames 10 fs apart
and trains on 1k, 10k or 90k of them (training + validation, 95 / 5 here), testing on 10k;
here ``sizes`` of training + validation frames and ``n_test`` test frames, all disjoint, drawn
at random with the seed.

Simulation, as MDsim's (:data:`mlffkit.papers.fu.protocol.PROTOCOLS` ``["water"]``):
Nosé-Hoover with τ = 20 dt, 300 K, 1 fs, a frame every 100 fs, from random test frames,
all starts of a model in one batched run. Stability (Eq. 8): the run stops at the first 1 ps
window (10 saved frames) whose RDF of any pair (O-O, H-H, H-O) departs from the reference by
more than 3.0 (∫|Δg| dr, Fu's convention: N_a N_b pairs, bins ``linspace(1e-6, 6, 501)``). RDF
errors per pair over each run's frames before the stop; the reference is every frame of the set.

Diffusivity: Fu reads D = MSD/(6t) at a lag of 100 ps from runs stable for 100 ps. Runs here
are ``md_ps`` long, so D is the slope of the oxygen MSD over lags from 1 ps to half the run,
for runs stable to the end, and the reference D is read from the ``openmm-water`` frames over
the same lags (like against like; both differ from the long-time D that Fu quotes, 2.3 × 10⁻⁹
m²/s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from mlffkit import reference
from mlffkit.experiments.config import Config, param
from mlffkit.experiments.registry import (SEED, Experiment, Param, names_from, positive,
                                          register)
from mlffkit.models import PRESETS
from mlffkit.results import Result
from mlffkit.runtime import process_map, torch_threads

from .md17 import check_epochs, positive_ints
from .protocol import PROTOCOLS, simulate_starts, steps_per_second

SET = "openmm-water"
PAIRS = (("O", "O"), ("H", "H"), ("H", "O"))
RDF_EDGES = np.linspace(1e-6, 6.0, 501)
RDF_THRESHOLD = 3.0       # Fu et al., water
RDF_WINDOW_FS = 1000.0
M2_PER_S = 1e-5           # Å²/fs -> m²/s


@dataclass(frozen=True)
class FuWaterConfig(Config):
    models: tuple = param(names_from(PRESETS))
    epochs: tuple = param(Param(list, check=positive_ints))  # one per model
    sizes: tuple = param(Param(list, check=positive_ints))   # training + validation frames
    n_test: int = param(positive())
    lr: float = param(positive())
    batch_size: int = param(positive())
    starts: int = param(positive())
    md_ps: float = param(positive())
    speed_steps: int = param(positive())
    seed: int = param(SEED)
    threads: int = param(positive())
    workers: int = param(positive())
    progress: bool = param()


# one core: an epoch of 950 frames takes about 1 min (schnet_book) and 3 min (painn_book)
BOOK = FuWaterConfig(models=("schnet_book", "painn_book"), epochs=(20, 10), sizes=(1000,),
                     n_test=500, lr=2e-3, batch_size=4, starts=3, md_ps=5.0, speed_steps=50,
                     seed=0, threads=1, workers=2, progress=True)
PROFILES = {
    "smoke": BOOK.replace(models=("schnet_book",), epochs=(1,), sizes=(8,), n_test=4,
                          starts=2, md_ps=0.02, speed_steps=3, workers=1, progress=False),
    "book": BOOK,
    "paper": BOOK.replace(models=("schnet", "painn", "equiformer_md17"),
                          epochs=(1000, 1000, 1000), sizes=(1000, 4000), n_test=1000,
                          starts=5, md_ps=500.0, speed_steps=500),
}


def split(n_frames: int, c: FuWaterConfig, size: int) -> dict[str, np.ndarray]:
    """Seeded disjoint frames: ``n_test`` test frames, then ``size`` training + validation
    frames (95 / 5) from the rest; the test frames are the same for every size."""
    if c.n_test + size > n_frames:
        raise ValueError(f"n_test + size = {c.n_test + size} exceeds the {n_frames} frames")
    order = np.random.default_rng(c.seed).permutation(n_frames)
    n_val = max(1, size // 20)
    pool = order[c.n_test:c.n_test + size]
    return {"test": order[:c.n_test], "train": pool[n_val:], "val": pool[:n_val]}


def rdfs(positions: np.ndarray, numbers, cell: np.ndarray) -> dict[tuple, np.ndarray]:
    """Fu's RDFs (O-O, H-H, H-O; N_a N_b pairs, :data:`RDF_EDGES`) of frames ``(F, N, 3)`` in a
    cubic ``cell``, positions wrapped first."""
    from mlffkit.metrics.structure import radial_distributions

    return radial_distributions(positions % cell[0, 0], RDF_EDGES, pairs=list(PAIRS),
                                species=numbers, cell=cell, pbc=True, convention="fu2023")


def reference_rdfs(frames) -> dict[tuple, np.ndarray]:
    """Fu's RDFs of every reference frame."""
    return rdfs(frames.positions, frames.numbers, frames.cell[0])


def oxygen_diffusivity(positions: np.ndarray, numbers, interval_fs: float,
                       window_fs: tuple[float, float]) -> float:
    """D of the oxygens in m²/s: slope of their MSD (unwrapped ``positions``, drift removed)
    over ``window_fs``; NaN when the frames do not reach the window's end."""
    from mlffkit.metrics import diffusivity, mean_squared_displacement

    if (len(positions) - 1) * interval_fs < window_fs[1]:
        return float("nan")
    msd = mean_squared_displacement(positions, atoms="O", species=numbers)
    return M2_PER_S * diffusivity(msd, interval_fs, window_fs=window_fs)


def compute(c: FuWaterConfig) -> Result:
    """Every model at every training-set size; the reference frames (labels recomputed once)
    and their RDFs go to each task."""
    check_epochs(c)
    frames = reference.load_frames(SET, "water")
    ref = reference_rdfs(frames)
    tasks = [(c, frames, ref, size, name, epochs) for size in c.sizes
             for name, epochs in zip(c.models, c.epochs)]
    done = process_map(_model_task, tasks, c.workers, c.progress)
    window = _diffusion_window(c)
    tables = {"training": [], "errors": [], "runs": [],
              "rdf": [_curves("reference", 0, ref)],
              "reference": [{"D_m2_s": oxygen_diffusivity(
                  frames.positions, frames.numbers, frames.metadata["frame_interval_fs"],
                  window), "window_fs": str(window)}]}
    for part in done:
        for name, rows in part.items():
            tables[name] += rows
    return Result(tables={"rdf": pd.concat(tables.pop("rdf"), ignore_index=True),
                          **{name: pd.DataFrame(rows) for name, rows in tables.items()}})


def _diffusion_window(c: FuWaterConfig) -> tuple[float, float]:
    return (1000.0, max(1000.0 + PROTOCOLS["water"].save_fs, 500.0 * c.md_ps))


def _curves(model: str, size: int, rdfs: dict) -> pd.DataFrame:
    centres = 0.5 * (RDF_EDGES[1:] + RDF_EDGES[:-1])
    return pd.concat([pd.DataFrame({"model": model, "size": size, "pair": "-".join(pair),
                                    "r": centres, "g": g}) for pair, g in rdfs.items()],
                     ignore_index=True)


def _model_task(c: FuWaterConfig, frames, ref: dict, size: int, name: str,
                epochs: int) -> dict[str, list]:
    """One model at one training-set size: train, test, simulate ``c.starts`` runs, time one
    replica (``frames``: the labelled reference set, ``ref``: its RDFs)."""
    from ase import Atoms

    from mlffkit.metrics.comparison import integrated_absolute_error
    from mlffkit.metrics.stability import RDFWindowRule
    from mlffkit.models import build_model
    from mlffkit.training import fit_potential

    from .md17 import held_out_errors

    protocol = PROTOCOLS["water"]
    with torch_threads(c.threads):
        parts = split(len(frames), c, size)
        train, val, test = (frames[parts[k]] for k in ("train", "val", "test"))
        cell, box = frames.cell[0], frames.cell[0, 0, 0]
        starts = [parts["test"][np.random.default_rng([c.seed, k]).integers(c.n_test)]
                  for k in range(c.starts)]
        torch.manual_seed(c.seed)
        model = build_model(name)
        fit = fit_potential(model, train.to_data_list(), val.to_data_list(), epochs=epochs,
                            lr=c.lr, batch_size=c.batch_size, seed=c.seed,
                            progress=c.progress and c.workers == 1)
        key = {"model": name, "size": size}
        training = {**key, "epochs": epochs, "steps": fit.steps, "train_s": fit.train_s,
                    "parameters": sum(p.numel() for p in model.parameters())}
        errors = {**key, **held_out_errors(model, train, test)}
        systems = [Atoms(numbers=frames.numbers, positions=frames.positions[k] % box, cell=cell,
                         pbc=True) for k in starts]
        rule = RDFWindowRule(ref, RDF_EDGES, threshold=RDF_THRESHOLD, dt_fs=protocol.dt_fs,
                             window_fs=RDF_WINDOW_FS, sample_every_steps=protocol.save_every,
                             convention="fu2023")
        rows = simulate_starts(model, systems, protocol, [rule], time_ps=c.md_ps, seed=c.seed,
                               progress=c.progress and c.workers == 1)
        window = _diffusion_window(c)
        runs, pooled = [], []
        for row in rows:
            positions = row.pop("positions")
            out = {**key, "start_frame": int(starts[row["run"]]), **row}
            if len(positions):
                pooled.append(positions)
                g = rdfs(positions, frames.numbers, cell)
                for pair in PAIRS:
                    out[f"rdf_mae_{''.join(pair)}"] = integrated_absolute_error(
                        g[pair], ref[pair], RDF_EDGES)
            out["D_m2_s"] = oxygen_diffusivity(positions, frames.numbers, protocol.save_fs,
                                               window) if not row["stopped"] else np.nan
            runs.append(out)
        curves = []
        if pooled:
            curves.append(_curves(name, size, rdfs(np.concatenate(pooled), frames.numbers,
                                                   cell)))
        errors["steps_per_s"] = steps_per_second(model, frames.numbers,
                                                 frames.positions[starts[0]] % box, protocol,
                                                 c.speed_steps, cell=cell)
    return {"training": [training], "errors": [errors], "runs": runs, "rdf": curves}


def table4(result: Result) -> pd.DataFrame:
    """Per model and training-set size, Fu's Table 4 columns: force MAE (meV/Å), stability (ps,
    mean and std over runs), RDF MAE per pair (mean over runs with frames), oxygen D
    (10⁻⁹ m²/s, mean over runs stable to the end; the reference's beside it), steps/s."""
    runs = result.tables["runs"]
    rdf = [f"rdf_mae_{''.join(pair)}" for pair in PAIRS]
    agg = runs.groupby(["model", "size"], sort=False).agg(
        stability_ps=("stable_ps", "mean"), stability_sd=("stable_ps", "std"),
        collapsed=("stopped", "sum"), runs=("run", "count"),
        **{name: (name, "mean") for name in rdf if name in runs},
        D_1e9=("D_m2_s", lambda d: 1e9 * d.mean()))
    errors = result.tables["errors"].set_index(["model", "size"])
    agg = agg.join(errors[["force_mae", "zero_force_baseline", "steps_per_s"]], how="left")
    agg["D_reference_1e9"] = 1e9 * float(result.tables["reference"]["D_m2_s"].iloc[0])
    return agg.reset_index()


def summary(table: pd.DataFrame, params) -> str:
    """The chapter's reading of :func:`table4` of one record (Markdown): per size, which model
    the force error ranks first and whether the simulation metrics agree."""
    rdf = [f"rdf_mae_{''.join(pair)}" for pair in PAIRS]
    lines = []
    for size, t in table.groupby("size", sort=False):
        t = t.set_index("model")
        mean_rdf = t[[c for c in rdf if c in t]].mean(axis=1)
        best = t["force_mae"].idxmin()
        stable = t.index[t["stability_ps"] == t["stability_ps"].max()].tolist()
        closest = mean_rdf.idxmin() if mean_rdf.notna().any() else None
        agrees = best in stable and best == closest
        lines.append(
            f"- **{size} training frames**: the lowest force error is {best} "
            f"({t.loc[best, 'force_mae']:.1f} meV/Å; zero-force baseline "
            f"{t.loc[best, 'zero_force_baseline']:.0f}); the most stable: {', '.join(stable)} "
            f"({t['stability_ps'].max():.2g} of {params['md_ps']:g} ps on average); the lowest "
            f"mean RDF error: {closest or 'none (no frames)'}. "
            + ("Here the force ranking picks the best simulation."
               if agrees else "Here the force ranking does **not** pick the best simulation."))
        for name, row in t.iterrows():
            d = row["D_1e9"]
            lines.append(
                f"  - {name}: {int(row['runs'] - row['collapsed'])} of {int(row['runs'])} runs "
                f"stable to the end; oxygen D "
                + (f"{d:.2f} against the reference's {row['D_reference_1e9']:.2f} × 10⁻⁹ m²/s "
                   "over the same lags" if np.isfinite(d) else "not measured (no run both stable and long enough for the lag window)")
                + ".")
    return "\n".join(lines)


def datasets(c: FuWaterConfig) -> dict[str, str]:
    return reference.checksums(SET)


FU_WATER = register(Experiment(
    name="fu_water",
    version="1",
    compute=compute,
    datasets=datasets,
    description="Fu et al. Tables 4, 8-10: models trained on SPC/Fw water, RDF stability, "
                "RDF error per pair, oxygen diffusivity and steps/s",
    profiles=PROFILES,
))
