"""Fu et al. Table 5: alanine dipeptide, free-energy surfaces in φ and ψ from well-tempered
metadynamics with ML force fields, against a reference on the same potential.

Data and reference: the ``openmm-ala2`` set (Amber ff14SB + GBn2 in OpenMM, OpenMM's own
well-tempered metadynamics at Fu's settings for 5 ns; :mod:`mlffkit.reference.ala2`). Models
train on ``n_train`` frames of it (95 / 5 training / validation; energies and forces, where Fu
used forces only) and are tested on ``n_test`` others, all disjoint, drawn with the seed.

Simulation, as Fu's (ASE Langevin, friction 0.5 in ASE units = 49.1 ps⁻¹, 300 K, 2 fs without
constraints; PLUMED ``METAD`` with height 1.2, σ = 0.35 rad, bias factor 6, a hill every 500
steps, read as kJ/mol) through :class:`mlffkit.md.metadynamics.Metadynamics`, ``starts`` runs
per model of ``md_ps`` each from random test frames (Fu: six runs of 5 ns from the six FES
minima), stopped by Fu's bond rule (mean bond lengths over the training frames).

Scores per run (Fu's ``observable.ipynb``): F(φ) and F(ψ) by marginalising the 60 x 60 surface
(kT = 2.494 kJ/mol at 300 K), min 0, and their MAE against the reference,
``mean|ΔF| · 2π`` (kJ/mol·rad).

Like against like: a metadynamics run of ``md_ps`` is not converged, so its FES MAE has a floor
that is not the model's fault. The same runs with the reference potential itself measure that
floor twice: OpenMM's own metadynamics (``openmm``) and ours on OpenMM as an ASE calculator
(``amber (ASE)``), each from the same starts. Ours matching OpenMM's is the validation of
:class:`~mlffkit.md.metadynamics.Metadynamics` the issue asks for; a model is judged against
that floor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from mlffkit import reference
from mlffkit.experiments.config import param
from mlffkit.experiments.registry import Experiment, positive, register
from mlffkit.results import Result
from mlffkit.runtime import process_map, torch_threads

from .config import FuConfig, check_epochs
from .md17 import held_out_errors
from .protocol import PROTOCOLS

SET = "openmm-ala2"
REFERENCE_POTENTIAL = ("openmm", "amber (ASE)")


@dataclass(frozen=True)
class FuAla2Config(FuConfig):
    n_train: int = param(positive())       # training + validation frames


BOOK = FuAla2Config(models=("schnet_book", "painn_book"), epochs=(60, 40), n_train=1000,
                    n_test=1000, lr=2e-3, batch_size=8, starts=3, md_ps=250.0,
                    speed_steps=200, seed=0, threads=1, workers=2, progress=True)
PROFILES = {
    "smoke": BOOK.replace(models=("schnet_book",), epochs=(1,), n_train=20, n_test=10,
                          starts=1, md_ps=2.0, speed_steps=5, workers=1, progress=False),
    "book": BOOK,
    "paper": BOOK.replace(models=("schnet", "painn", "equiformer_md17"),
                          epochs=(1000, 1000, 1000), n_train=40000, n_test=10000,
                          starts=6, md_ps=5000.0, speed_steps=500),
}


def metad_settings() -> dict:
    """Fu's PLUMED METAD settings, in kJ/mol, as the reference set ran them."""
    c = reference.ala2.Ala2Config()
    return dict(T_K=c.temperature_K, height_kJ_mol=c.height_kJ_mol, sigma_rad=c.sigma_rad,
                biasfactor=c.biasfactor, pace=c.pace)


def split(n_frames: int, c: FuAla2Config) -> dict[str, np.ndarray]:
    if c.n_test + c.n_train > n_frames:
        raise ValueError(f"n_test + n_train = {c.n_test + c.n_train} exceeds the {n_frames} "
                         "frames")
    order = np.random.default_rng(c.seed).permutation(n_frames)
    n_val = max(1, c.n_train // 20)
    pool = order[c.n_test:c.n_test + c.n_train]
    return {"test": order[:c.n_test], "train": pool[n_val:], "val": pool[:n_val]}


def start_frames(test: np.ndarray, c: FuAla2Config) -> list[int]:
    return [int(test[np.random.default_rng([c.seed, k]).integers(len(test))])
            for k in range(c.starts)]


def profiles(free_energy_2d: np.ndarray) -> dict[str, np.ndarray]:
    """F(φ), F(ψ) (kJ/mol, min 0) of a (φ, ψ) surface, Fu's marginalisation at 300 K."""
    from mlffkit.metrics import marginal_free_energy, thermal_energy

    kT = thermal_energy(metad_settings()["T_K"], "kJ/mol")
    return {"phi": marginal_free_energy(free_energy_2d, kT, keep_axis=0),
            "psi": marginal_free_energy(free_energy_2d, kT, keep_axis=1)}


def fes_errors(free_energy_2d: np.ndarray, reference_2d: np.ndarray) -> dict[str, float]:
    """Fu's FES MAE in φ and ψ (kJ/mol·rad)."""
    from mlffkit.metrics import free_energy_mae
    from mlffkit.metrics.free_energy import ANGLE_BIN_EDGES_60

    ours, ref = profiles(free_energy_2d), profiles(reference_2d)
    return {f"fes_mae_{cv}": free_energy_mae(ours[cv], ref[cv], ANGLE_BIN_EDGES_60)
            for cv in ("phi", "psi")}


def compute(c: FuAla2Config) -> Result:
    """The reference potential's runs (OpenMM's metadynamics and ours) and every model's,
    from the same starts; the labelled frames and the reference surface are loaded once and go
    to each task."""
    check_epochs(c)
    frames = reference.load_frames(SET, "ala2")
    parts = split(len(frames), c)
    starts = start_frames(parts["test"], c)
    ref = reference.ala2.reference_free_energy(reference.set_dir(SET))
    tasks = [(c, frames, parts, starts, ref, name, epochs)
             for name, epochs in zip(c.models, c.epochs)]
    tasks += [(c, frames, parts, starts, ref, name, 0) for name in REFERENCE_POTENTIAL]
    done = process_map(_task, tasks, c.workers, c.progress)
    tables = {"training": [], "errors": [], "runs": [], "fes": []}
    for part in done:
        for name, rows in part.items():
            tables[name] += rows
    tables["fes"].append(_fes_rows("reference", -1, ref))
    return Result(tables={"fes": pd.concat(tables.pop("fes"), ignore_index=True),
                          **{name: pd.DataFrame(rows) for name, rows in tables.items()}})


def _fes_rows(model: str, run: int, grid: np.ndarray) -> pd.DataFrame:
    """One surface as tidy rows of its two profiles."""
    from mlffkit.md.metadynamics import angle_grid

    angles = angle_grid(grid.shape[0])
    return pd.concat([pd.DataFrame({"model": model, "run": run, "cv": cv, "angle": angles,
                                    "F_kJ_mol": f}) for cv, f in profiles(grid).items()],
                     ignore_index=True)


def reference_convergence(times_ps=(250, 500, 1000, 2000, 3000, 4000, 5000)
                          ) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Fu's Fig. 8a for our reference potential: has the reference set's 5 ns metadynamics
    converged? Its bias is rebuilt by replaying the stored CVs at its hill steps (the frames
    at multiples of the pace; :meth:`~mlffkit.md.metadynamics.Metadynamics.add_hill`), and
    at each time of ``times_ps`` the surface of the hills laid so far gives F(φ), F(ψ) and
    their MAE (Fu's metric) against the surface at the end. Returns the profiles (tidy rows,
    ``model`` = the time), the errors, and the largest difference between the replayed final
    surface and the one OpenMM stored (kJ/mol): a check that the replay is the run."""
    from mlffkit.calculators.amber import PHI, PSI
    from mlffkit.md.metadynamics import Metadynamics, angle_grid

    arrays = np.load(reference.set_dir(SET) / "ala2.npz")
    config = reference.ala2.Ala2Config()
    time_fs = arrays["time_fs"]
    at_hill = np.flatnonzero(np.isclose(time_fs % (config.pace * config.timestep_fs), 0))
    full = Metadynamics(None, [PHI, PSI], **metad_settings())
    for k in at_hill:
        full.add_hill(arrays["cv"][k], int(round(time_fs[k] / config.timestep_fs)))
    grid = angle_grid(60)
    points = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    hills, hill_ps = full.hills, time_fs[at_hill] / 1000

    def surface(meta) -> np.ndarray:
        return meta.free_energy(points).reshape(60, 60)

    final = surface(full)
    stored = arrays["free_energy_kJ_mol"] - arrays["free_energy_kJ_mol"].min()
    rows, errors = [], []
    for t in times_ps:
        partial = Metadynamics(None, [PHI, PSI], **metad_settings())
        partial.load_hills(hills[hill_ps <= t])
        f = surface(partial)
        rows.append(_fes_rows(f"{t:g} ps", -1, f))
        errors.append({"time_ps": t, "hills": int((hill_ps <= t).sum()), **fes_errors(f, final)})
    return (pd.concat(rows, ignore_index=True), pd.DataFrame(errors),
            float(np.abs(final - stored).max()))


def _task(c: FuAla2Config, frames, parts: dict, starts: list[int], ref: np.ndarray, name: str,
          epochs: int) -> dict[str, list]:
    """One model (trained here) or one reference engine: its metadynamics runs, scored
    against the reference surface ``ref``."""
    from mlffkit.md import calculator

    out = {"training": [], "errors": [], "runs": [], "fes": []}
    with torch_threads(c.threads):
        if name == "openmm":
            results = [_openmm_run(frames.positions[k], c, run) for run, k in enumerate(starts)]
        else:
            train = frames[parts["train"]]
            if name == "amber (ASE)":
                from mlffkit.calculators import AmberGBn2

                calc = AmberGBn2("CPU")
            else:
                model = _train(c, frames, parts, name, epochs, out)
                calc = calculator(model)
            results = [_ase_run(calc, frames.numbers, frames.positions[k], train.positions, c,
                                run) for run, k in enumerate(starts)]
            if name not in REFERENCE_POTENTIAL:
                out["errors"][0]["steps_per_s"] = _steps_per_second(
                    calc, frames.numbers, frames.positions[starts[0]], c)
    for run, (row, grid) in enumerate(results):
        out["runs"].append({"model": name, "run": run, "start_frame": starts[run], **row,
                            **fes_errors(grid, ref)})
        out["fes"].append(_fes_rows(name, run, grid))
    return out


def _train(c: FuAla2Config, frames, parts: dict, name: str, epochs: int, out: dict):
    from mlffkit.models import build_model
    from mlffkit.training import fit_potential

    train, val, test = (frames[parts[k]] for k in ("train", "val", "test"))
    torch.manual_seed(c.seed)
    model = build_model(name)
    fit = fit_potential(model, train.to_data_list(), val.to_data_list(), epochs=epochs,
                        lr=c.lr, batch_size=c.batch_size, seed=c.seed,
                        progress=c.progress and c.workers == 1)
    out["training"].append({"model": name, "epochs": epochs, "steps": fit.steps,
                            "train_s": fit.train_s,
                            "parameters": sum(p.numel() for p in model.parameters())})
    out["errors"].append({"model": name, **held_out_errors(model, train, test)})
    return model


def _ase_run(calc, numbers, start: np.ndarray, reference_positions: np.ndarray,
             c: FuAla2Config, run: int, **outputs) -> tuple[dict, np.ndarray]:
    """Fu's protocol through ASE with our metadynamics: the run's stability and its FES.
    ``outputs`` go to :func:`~mlffkit.md.simulate` (e.g. ``trajectory``, ``write_every``)."""
    from ase import Atoms

    from mlffkit.calculators.amber import PHI, PSI, ala2_masses
    from mlffkit.md import TemperatureBoundsRule, simulate
    from mlffkit.md.metadynamics import Metadynamics, angle_grid
    from mlffkit.metrics.stability import BondLengthRule

    protocol = PROTOCOLS["alanine_dipeptide"]
    biased = Metadynamics(calc, [PHI, PSI], **metad_settings())
    atoms = Atoms(numbers=numbers, positions=start, masses=ala2_masses())
    steps = int(round(c.md_ps * 1000 / protocol.dt_fs))
    result = simulate(atoms, biased, ensemble=protocol.ensemble, T_K=protocol.temperature_K,
                      dt_fs=protocol.dt_fs, friction_per_ps=protocol.friction_per_ps,
                      steps=steps, seed=c.seed + run,
                      stop_rules=[BondLengthRule(reference_frames=reference_positions),
                                  TemperatureBoundsRule()],
                      progress=c.progress and c.workers == 1, **outputs)
    grid = angle_grid(60)
    points = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    row = {"stable_ps": result.time_fs / 1000, "stopped": result.stop is not None,
           "stop_rule": result.stop.rule if result.stop is not None else "",
           "hills": len(biased.hills), "wall_s": result.wall_time_s}
    return row, biased.free_energy(points).reshape(60, 60)


def _openmm_run(start: np.ndarray, c: FuAla2Config, run: int) -> tuple[dict, np.ndarray]:
    """OpenMM's own metadynamics from ``start`` for ``md_ps``: its FES."""
    import time

    from mlffkit.reference.ala2 import Ala2Config, openmm_free_energy, openmm_metadynamics

    mm = reference.ala2.openmm()
    config = replace(Ala2Config(), seed=c.seed + run + 1000)
    simulation, meta = openmm_metadynamics(config)
    simulation.context.setPositions(start / 10)
    simulation.context.setVelocitiesToTemperature(config.temperature_K * mm.unit.kelvin,
                                                  config.seed + 1)
    started = time.perf_counter()
    meta.step(simulation, int(round(c.md_ps * 1000 / config.timestep_fs)))
    row = {"stable_ps": c.md_ps, "stopped": False, "stop_rule": "",
           "hills": simulation.currentStep // config.pace,
           "wall_s": time.perf_counter() - started}
    return row, openmm_free_energy(meta)


def _steps_per_second(calc, numbers, start: np.ndarray, c: FuAla2Config) -> float:
    """Unbiased Langevin steps per second of one run through the ASE calculator."""
    from ase import Atoms

    from mlffkit.calculators.amber import ala2_masses
    from mlffkit.md import simulate

    protocol = PROTOCOLS["alanine_dipeptide"]
    atoms = Atoms(numbers=numbers, positions=start, masses=ala2_masses())
    return simulate(atoms, calc, ensemble=protocol.ensemble, T_K=protocol.temperature_K,
                    dt_fs=protocol.dt_fs, friction_per_ps=protocol.friction_per_ps,
                    steps=c.speed_steps, progress=False).steps_per_second


def table5(result: Result) -> pd.DataFrame:
    """Per model: force MAE, FES MAE in φ and ψ (mean and spread over runs), stability,
    steps/s; the reference potential's runs first."""
    runs = result.tables["runs"]
    agg = runs.groupby("model", sort=False).agg(
        fes_mae_phi=("fes_mae_phi", "mean"), fes_mae_phi_sd=("fes_mae_phi", "std"),
        fes_mae_psi=("fes_mae_psi", "mean"), fes_mae_psi_sd=("fes_mae_psi", "std"),
        stable_ps=("stable_ps", "mean"), collapsed=("stopped", "sum"), runs=("run", "count"))
    errors = result.tables["errors"]
    if len(errors):
        agg = agg.join(errors.set_index("model")[["force_mae", "zero_force_baseline",
                                                 "steps_per_s"]], how="left")
    return agg.reset_index()


def datasets(c: FuAla2Config) -> dict[str, str]:
    return reference.checksums(SET)


FU_ALA2 = register(Experiment(
    name="fu_ala2",
    version="1",
    compute=compute,
    datasets=datasets,
    description="Fu et al. Table 5: alanine dipeptide FES (phi, psi) from well-tempered "
                "metadynamics with ML models against OpenMM's on ff14SB + GBn2; the reference "
                "potential's own runs of the same length as the floor",
    profiles=PROFILES,
))


def summary(table: pd.DataFrame, params) -> str:
    """The chapter's reading of one record's :func:`table5` (Markdown): our metadynamics
    against OpenMM's on the reference potential, then each model against that floor."""
    t = table.set_index("model")
    length = params["md_ps"]
    ours, theirs = t.loc["amber (ASE)"], t.loc["openmm"]
    spread = {cv: float(np.nan_to_num(ours[f"fes_mae_{cv}_sd"]) +
                        np.nan_to_num(theirs[f"fes_mae_{cv}_sd"])) for cv in ("phi", "psi")}
    agree = all(abs(ours[f"fes_mae_{cv}"] - theirs[f"fes_mae_{cv}"]) <= spread[cv]
                for cv in ("phi", "psi"))
    lines = [
        f"- **Metadynamics on the reference potential** ({int(ours['runs'])} runs of "
        f"{length:g} ps each): ours through ASE scores F(φ) {ours['fes_mae_phi']:.1f} and "
        f"F(ψ) {ours['fes_mae_psi']:.1f} kJ/mol·rad against the 5 ns reference, OpenMM's own "
        f"{theirs['fes_mae_phi']:.1f} and {theirs['fes_mae_psi']:.1f}: "
        + ("the two agree within the sum of their run-to-run spreads. This is the floor "
           "that a run of this length reaches with a perfect force field."
           if agree else "they differ by more than the sum of their run-to-run spreads "
           "(read the models against each engine separately).")]
    for name in [m for m in t.index if m not in REFERENCE_POTENTIAL]:
        row = t.loc[name]
        collapsed, runs = int(row["collapsed"]), int(row["runs"])
        ratio = [row[f"fes_mae_{cv}"] / ours[f"fes_mae_{cv}"] for cv in ("phi", "psi")]
        lines.append(
            f"- **{name}** (force MAE {row['force_mae']:.0f} meV/Å, zero-force baseline "
            f"{row['zero_force_baseline']:.0f}): {runs - collapsed} of {runs} runs stable for "
            f"{length:g} ps (mean {row['stable_ps']:.3g} ps); F(φ) {row['fes_mae_phi']:.1f} "
            f"and F(ψ) {row['fes_mae_psi']:.1f} kJ/mol·rad, {ratio[0]:.1f}x and "
            f"{ratio[1]:.1f}x the reference potential's floor"
            + (" (collapsed runs score the surface they built before the stop)."
               if collapsed else "."))
    return "\n".join(lines)
