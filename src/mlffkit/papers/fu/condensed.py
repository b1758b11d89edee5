"""What Fu et al.'s two periodic systems, water (Tables 4, 8-10) and LiPS (Table 6), share:
train a model on frames of the system, simulate it from random test frames under MDsim's
protocol with the RDF-window stop rule, and score each run by its RDF error and the
diffusivity of one element.

A :class:`CondensedPhase` names what differs: the protocol, the RDF pairs (``None`` = all atoms
together), the rule's threshold, the diffusing element. Fu's RDF convention throughout: N_a N_b
pairs, positions wrapped into the cell, bins :data:`RDF_EDGES`, the reference box; a 1 ps
window (Eq. 8).

Diffusivity: Fu reads D = MSD/(6t) at a long lag (water 100 ps, LiPS 35 ps) from runs stable
that long. Book runs are shorter, so D is the slope of the MSD over lags from 1 ps to half the
run, for runs stable to the end, beside the reference's over the same lags where the reference
frames are a trajectory.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import torch

from mlffkit.experiments.config import param
from mlffkit.experiments.registry import Param
from mlffkit.results import Result
from mlffkit.runtime import process_map, torch_threads

from .config import FuConfig, check_epochs, positive_ints
from .md17 import held_out_errors
from .protocol import PROTOCOLS, simulate_starts, steps_per_second

RDF_EDGES = np.linspace(1e-6, 6.0, 501)
RDF_WINDOW_FS = 1000.0
M2_PER_S = 1e-5           # Å²/fs -> m²/s


@dataclass(frozen=True)
class CondensedConfig(FuConfig):
    sizes: tuple = param(Param(list, check=positive_ints))   # training + validation frames


@dataclass(frozen=True)
class CondensedPhase:
    """One periodic system of Fu et al.: ``protocol`` (a key of :data:`PROTOCOLS`), RDF
    ``pairs`` (element pairs, or ``(None,)`` for all atoms together), the stop rule's
    ``threshold`` and the ``diffusing`` element."""

    protocol: str
    pairs: tuple
    threshold: float
    diffusing: str

    def rdfs(self, positions: np.ndarray, numbers, cell: np.ndarray) -> dict:
        """Fu's RDFs of frames ``(F, N, 3)`` in ``cell``, positions wrapped into it first."""
        from mlffkit.metrics.structure import radial_distributions

        return radial_distributions(wrap(positions, cell), RDF_EDGES, pairs=list(self.pairs),
                                    species=numbers, cell=cell, pbc=True, convention="fu2023")

    def diffusivity(self, positions: np.ndarray, numbers, interval_fs: float,
                    window_fs: tuple[float, float]) -> float:
        """D of the diffusing element in m²/s: slope of its MSD (unwrapped ``positions``, drift
        removed) over ``window_fs``; NaN when the frames do not reach the window's end."""
        from mlffkit.metrics import diffusivity, mean_squared_displacement

        if (len(positions) - 1) * interval_fs < window_fs[1]:
            return float("nan")
        msd = mean_squared_displacement(positions, atoms=self.diffusing, species=numbers)
        return M2_PER_S * diffusivity(msd, interval_fs, window_fs=window_fs)

    def score_key(self, pair) -> str:
        return "rdf_mae" if pair is None else f"rdf_mae_{''.join(pair)}"


def wrap(positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Positions ``(..., N, 3)`` wrapped into the (possibly triclinic) ``cell``."""
    fractional = np.asarray(positions) @ np.linalg.inv(cell)
    return (fractional - np.floor(fractional)) @ cell


def split(n_frames: int, c: CondensedConfig, size: int) -> dict[str, np.ndarray]:
    """Seeded disjoint frames: ``n_test`` test frames, then ``size`` training + validation
    frames (95 / 5) from the rest; the test frames are the same for every size."""
    if c.n_test + size > n_frames:
        raise ValueError(f"n_test + size = {c.n_test + size} exceeds the {n_frames} frames")
    order = np.random.default_rng(c.seed).permutation(n_frames)
    n_val = max(1, size // 20)
    pool = order[c.n_test:c.n_test + size]
    return {"test": order[:c.n_test], "train": pool[n_val:], "val": pool[:n_val]}


def diffusion_window(c: CondensedConfig, system: CondensedPhase) -> tuple[float, float]:
    """Lags from 1 ps to half the run (at least one saved frame past 1 ps)."""
    return (1000.0, max(1000.0 + PROTOCOLS[system.protocol].save_fs, 500.0 * c.md_ps))


def curves(model: str, size: int, rdfs: dict) -> pd.DataFrame:
    """RDFs as tidy rows (``pair`` "all" for all atoms together)."""
    centres = 0.5 * (RDF_EDGES[1:] + RDF_EDGES[:-1])
    return pd.concat([pd.DataFrame({"model": model, "size": size,
                                    "pair": "all" if pair is None else "-".join(pair),
                                    "r": centres, "g": g}) for pair, g in rdfs.items()],
                     ignore_index=True)


def model_task(system: CondensedPhase, c: CondensedConfig, frames, ref: dict, size: int,
               name: str, epochs: int) -> dict[str, list]:
    """One model at one training-set size: train, test, simulate ``c.starts`` runs (one
    batch), time one replica. ``frames``: the labelled reference frames; ``ref``: their RDFs."""
    from ase import Atoms

    from mlffkit.metrics.comparison import integrated_absolute_error
    from mlffkit.metrics.stability import RDFWindowRule
    from mlffkit.models import build_model
    from mlffkit.training import fit_potential

    protocol = PROTOCOLS[system.protocol]
    with torch_threads(c.threads):
        parts = split(len(frames), c, size)
        train, val, test = (frames[parts[k]] for k in ("train", "val", "test"))
        cell = frames.cell[0]
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
        systems = [Atoms(numbers=frames.numbers, positions=wrap(frames.positions[k], cell),
                         cell=cell, pbc=True) for k in starts]
        rule = RDFWindowRule(ref, RDF_EDGES, threshold=system.threshold, dt_fs=protocol.dt_fs,
                             window_fs=RDF_WINDOW_FS, sample_every_steps=protocol.save_every,
                             convention="fu2023")
        rows = simulate_starts(model, systems, protocol, [rule], time_ps=c.md_ps, seed=c.seed,
                               progress=c.progress and c.workers == 1)
        window = diffusion_window(c, system)
        runs, pooled = [], []
        for row in rows:
            positions = row.pop("positions")
            out = {**key, "start_frame": int(starts[row["run"]]), **row}
            if len(positions):
                pooled.append(positions)
                g = system.rdfs(positions, frames.numbers, cell)
                for pair in system.pairs:
                    out[system.score_key(pair)] = integrated_absolute_error(
                        g[pair], ref[pair], RDF_EDGES)
            out["D_m2_s"] = system.diffusivity(positions, frames.numbers, protocol.save_fs,
                                               window) if not row["stopped"] else np.nan
            runs.append(out)
        rdf_rows = []
        if pooled:
            rdf_rows.append(curves(name, size, system.rdfs(np.concatenate(pooled),
                                                           frames.numbers, cell)))
        errors["steps_per_s"] = steps_per_second(model, frames.numbers,
                                                 wrap(frames.positions[starts[0]], cell),
                                                 protocol, c.speed_steps, cell=cell)
    return {"training": [training], "errors": [errors], "runs": runs, "rdf": rdf_rows}


def compute(system: CondensedPhase, c: CondensedConfig, frames, **extra: list) -> Result:
    """Every model at every training-set size on the labelled reference ``frames`` (their
    RDFs computed once and handed to each task); ``extra`` tables are stored as given."""
    check_epochs(c)
    ref = system.rdfs(frames.positions, frames.numbers, frames.cell[0])
    tasks = [(c, frames, ref, size, name, epochs) for size in c.sizes
             for name, epochs in zip(c.models, c.epochs)]
    done = process_map(partial(model_task, system), tasks, c.workers, c.progress)
    tables = {"training": [], "errors": [], "runs": [], "rdf": [curves("reference", 0, ref)],
              **extra}
    for part in done:
        for name, rows in part.items():
            tables[name] += rows
    return Result(tables={"rdf": pd.concat(tables.pop("rdf"), ignore_index=True),
                          **{name: pd.DataFrame(rows) for name, rows in tables.items()}})


def table(result, system: CondensedPhase, reference_d: float) -> pd.DataFrame:
    """Per model and training-set size, Fu's table columns: force MAE (meV/Å), stability (ps,
    mean and std over runs), RDF MAE per pair (mean over runs with frames), D of the diffusing
    element (10⁻⁹ m²/s, mean over runs stable to the end) beside ``reference_d`` (m²/s),
    steps/s."""
    runs = result.tables["runs"]
    rdf = [system.score_key(pair) for pair in system.pairs]
    agg = runs.groupby(["model", "size"], sort=False).agg(
        stability_ps=("stable_ps", "mean"), stability_sd=("stable_ps", "std"),
        collapsed=("stopped", "sum"), runs=("run", "count"),
        **{name: (name, "mean") for name in rdf if name in runs},
        D_1e9=("D_m2_s", lambda d: 1e9 * d.mean()))
    errors = result.tables["errors"].set_index(["model", "size"])
    agg = agg.join(errors[["force_mae", "zero_force_baseline", "steps_per_s"]], how="left")
    agg["D_reference_1e9"] = 1e9 * reference_d
    return agg.reset_index()


def summary(table: pd.DataFrame, system: CondensedPhase, params, reference: str) -> str:
    """The chapter's reading of :func:`table` of one record (Markdown): per size, which model
    the force error ranks first and whether the simulation metrics agree; ``reference`` says
    where the reference D comes from."""
    rdf = [system.score_key(pair) for pair in system.pairs]
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
                f"stable to the end; {system.diffusing} D "
                + (f"{d:.2f} against {row['D_reference_1e9']:.2f} × 10⁻⁹ m²/s ({reference})"
                   if np.isfinite(d) else "not measured (no run both stable and long enough "
                   "for the lag window)") + ".")
    return "\n".join(lines)
