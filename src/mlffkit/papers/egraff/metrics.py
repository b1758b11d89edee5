r"""EGraFFBench's simulation metrics (§4.2, Eq. 2-4; Tables 2-3) on MD17, with cheap potentials.

The reference ("ground truth") is the MD17 DFT trajectory itself: EGraFFBench's MD17 test files
are MD17 frames 0-999, consecutive at 0.5 fs (500 K). From a reference frame ``s`` a potential
is run forward from the *same* configuration and velocities (EGraFFBench §4.3.2), deterministic
NVT (Nosé-Hoover chain, 500 K, 0.5 fs: their App. A.3 Table 10), and its trajectory is scored
against the reference frames ``s, s+1, ...`` at the same times:

- EV(t), FV(t) (Eq. 4) and their geometric means over the run;
- JSD (Eq. 3, nats) and Wright's factor (Eq. 2, ×100 as their code prints it) between the
  simulated and reference distributions. For these isolated molecules we use Fu et al.'s
  interatomic distance distribution h(r) (all pairs, 0.02 Å bins to 10 Å), not a periodic
  g(r): MD17 has no cell;
- Fu et al.'s h(r) MAE and bond-length stability time (0.5 Å), RMSD to the reference at the same
  time (Kabsch-aligned), and steps per second.

Velocities of reference frame ``t`` (not stored in MD17) are reconstructed from positions:
``"central"``: ``v_t = (x_{t+1} - x_{t-1}) / (2 Δt)``; ``"verlet"``: ``v_t = (x_{t+1} - x_t)/Δt -
Δt F_t / (2 m)`` with the DFT forces. Both are exact if the reference was integrated with
velocity Verlet at Δt (a thermostat or SCF noise makes them differ slightly; the ``reference``
table reports by how much).

Potentials: ``"mmff94"`` (RDKit, topology perceived on the first reference frame) and
``"gfn2-xtb"`` (tblite). Their energies sit on other absolute scales than DFT (MMFF: a strain
energy of a few eV; xTB: a valence-electron total energy), and EV (Eq. 4) depends on absolute
energies. So EV is reported twice: ``ev_raw`` with each potential's own energies, and
``ev_aligned`` after adding one constant per molecule and potential, ``mean(E_DFT - E_pot)``
over reference frames (every ``offset_stride``-th frame of the reference).

Baseline ``"reference_shifted"``: the reference compared with itself ``shift_steps`` later:
frames ``s + shift, ...`` play the simulation. It is a *perfect* potential whose trajectory has
simply decorrelated from the reference; whatever EV/FV/JSD/WF read for it is the floor that no
potential can beat once its trajectory has decorrelated. ``shift_steps >= steps`` makes the two
windows disjoint (independent samples of the same ensemble).

All runs of one molecule share ``steps``; the ``n_starts`` start frames are spread evenly over
the reference so that every run and its shifted window fit in it. Because a fixed shift can
fall on a vibrational recurrence, FV and EV of the reference against itself are also stored for
every lag (``<molecule>.fv_by_lag``, ``.ev_by_lag``, lags in ``.lag_steps``).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from ase import Atoms, units
from tqdm import tqdm

from mlffkit.experiments.config import Config, param
from mlffkit.experiments.registry import (Experiment, at_least, names_from, one_of, positive,
                                          register)
from mlffkit.results import Result

MOLECULES = ("aspirin", "ethanol", "naphthalene", "salicylic_acid")
POTENTIALS = ("mmff94", "gfn2-xtb")
SHIFTED = "reference_shifted"
LABELS = {"mmff94": "MMFF94", "gfn2-xtb": "GFN2-xTB", SHIFTED: "reference, time-shifted"}
VELOCITY_METHODS = ("central", "verlet")
METRICS = ("ev_raw_gm", "ev_aligned_gm", "fv_gm", "jsd", "wf_percent", "hr_mae",
           "stable_time_fs", "rmsd_mean_A")
#: per-run time series stored as arrays ``<molecule>.<potential>.<name>`` (runs, steps + 1);
#: ``energy`` is the potential's energy plus its offset, ``temperature`` only for simulations
SERIES = ("ev_raw", "ev_aligned", "fv", "rmsd", "energy", "energy_reference", "temperature")
MD17_TIMESTEP_FS = 0.5
MD17_TEMPERATURE_K = 500.0
#: a.m.u. and eV/Å give an acceleration in ASE units (Å / t_ASE^2); times this, in Å/fs^2
ASE_ACCELERATION_TO_A_PER_FS2 = units.fs ** 2
#: Temperatures here count 3N degrees of freedom, as ASE's ``Atoms.get_temperature()`` without
#: constraints (the forward runs' own temperatures): ``removed_dof`` of
#: :func:`mlffkit.metrics.kinetic_temperature`.
TEMPERATURE_DOF = 0


def dataset_name(molecule: str) -> str:
    return f"egraff/md17/{molecule}/test"


def datasets(params: dict) -> dict[str, str]:
    """sha256 of every file the experiment reads (for the results-store key)."""
    from mlffkit import data

    out: dict[str, str] = {}
    for molecule in params["molecules"]:
        out.update(data.checksums(dataset_name(molecule)))
    return out


# -- reference ------------------------------------------------------------------------------
def reference_segment(frames) -> np.ndarray:
    """The longest unbroken run of consecutive frames (naphthalene's file breaks after frame
    3), as frame indices in time order."""
    from mlffkit import data

    return max(data.segments(frames), key=len)


def start_frames(segment: np.ndarray, n_starts: int, steps: int, shift_steps: int = 0
                 ) -> np.ndarray:
    """``n_starts`` start frames spread evenly over ``segment`` such that the frame before each
    start (for its velocity), the ``steps`` frames after it and the shifted window
    ``start + shift_steps + [0, steps]`` all lie in the segment."""
    segment = np.asarray(segment)
    first, last = int(segment[1]), int(segment[-1]) - steps - shift_steps
    if n_starts < 1 or last < first:
        raise ValueError(f"{n_starts} starts with {steps} steps and a shift of {shift_steps} "
                         f"do not fit in reference frames {segment[0]}..{segment[-1]}")
    starts = np.unique(np.round(np.linspace(first, last, n_starts)).astype(int))
    if starts.size != n_starts:
        raise ValueError(f"only {starts.size} distinct start frames fit, {n_starts} asked")
    return starts


def reference_velocities(frames, index: int, dt_fs: float, method: str = "central"
                         ) -> np.ndarray:
    """Velocities (N, 3) in Å/fs of reference frame ``index`` from its neighbours (see the
    module docstring); frames ``index - 1`` (central) and ``index + 1`` must be consecutive."""
    x = frames.positions
    if method == "central":
        return (x[index + 1] - x[index - 1]) / (2.0 * dt_fs)
    if method == "verlet":
        masses = Atoms(numbers=frames.numbers).get_masses()
        accel = frames.forces[index] / masses[:, None] * ASE_ACCELERATION_TO_A_PER_FS2
        return (x[index + 1] - x[index]) / dt_fs - 0.5 * dt_fs * accel
    raise ValueError(f"velocity method must be one of {VELOCITY_METHODS}, got {method!r}")


def molecule_atoms(frames, index: int) -> Atoms:
    """Frame ``index`` as isolated-molecule Atoms (MD17's nominal cell dropped, no pbc)."""
    return Atoms(numbers=frames.numbers, positions=frames.positions[index])


# -- potentials ------------------------------------------------------------------------------
def make_calculator(name: str, reference: Atoms):
    """A fresh ASE calculator for potential ``name`` (MMFF topology from ``reference``)."""
    from mlffkit.calculators import MMFF94, GFN2xTB

    if name == "mmff94":
        return MMFF94(reference=reference)
    if name == "gfn2-xtb":
        return GFN2xTB()
    raise ValueError(f"unknown potential {name!r}; valid: {', '.join(POTENTIALS)}")


def evaluate(calculator, numbers, positions) -> tuple[np.ndarray, np.ndarray, float]:
    """Energies (n,), forces (n, N, 3) of ``calculator`` on frames ``positions`` (n, N, 3) and
    the seconds per call."""
    atoms = Atoms(numbers=numbers, positions=positions[0])
    atoms.calc = calculator
    energy, forces = np.empty(len(positions)), np.empty_like(positions)
    start = time.perf_counter()
    for k, x in enumerate(positions):
        atoms.positions = x
        energy[k], forces[k] = atoms.get_potential_energy(), atoms.get_forces()
    return energy, forces, (time.perf_counter() - start) / len(positions)


@dataclass
class ForwardRun:
    """A forward simulation: frames 0..steps_completed (positions Å, energy eV, forces eV/Å,
    temperature K), why it stopped (None if it ran every step) and its speed."""

    positions: np.ndarray
    energy: np.ndarray
    forces: np.ndarray
    temperature: np.ndarray
    steps_completed: int
    stop: str | None
    steps_per_s: float
    wall_s: float


def run_forward(atoms: Atoms, velocities, calculator, *, steps: int,
                dt_fs: float = MD17_TIMESTEP_FS, T_K: float = MD17_TEMPERATURE_K,
                tdamp_fs: float | None = None, seed: int = 0) -> ForwardRun:
    """Deterministic NVT (Nosé-Hoover chain) from ``atoms`` with ``velocities`` (Å/fs; None:
    Maxwell-Boltzmann at ``T_K`` from ``seed``, no net momentum)."""
    from ase.io import read

    from mlffkit.md import simulate

    with tempfile.TemporaryDirectory(prefix="egraff_metrics_") as tmp:
        path = Path(tmp) / "run.traj"
        result = simulate(atoms, calculator, ensemble="nose_hoover_chain", dt_fs=dt_fs,
                          steps=steps, T_K=T_K, tdamp_fs=tdamp_fs, velocities=velocities,
                          seed=seed, trajectory=path, write_every=1, progress=False)
        frames = read(path, index=":") if result.frames_written else []
    n = max(result.steps_completed, -1) + 1
    frames = frames[:n]
    return ForwardRun(
        positions=np.array([f.positions for f in frames]).reshape(n, len(atoms), 3),
        energy=np.array([f.get_potential_energy() for f in frames]),
        forces=np.array([f.get_forces() for f in frames]).reshape(n, len(atoms), 3),
        temperature=np.array([f.get_temperature() for f in frames]),
        steps_completed=result.steps_completed,
        stop=None if result.stop is None else f"{result.stop.rule}: {result.stop.reason}",
        steps_per_s=result.steps_per_second, wall_s=result.wall_time_s)


# -- scores ---------------------------------------------------------------------------------
@dataclass
class Comparison:
    """A trajectory scored against the reference at the same times (``n`` frames).

    Series ``(n,)``: ``ev_raw``, ``ev_aligned`` (energies shifted by ``energy_offset``),
    ``fv``, ``rmsd`` (Å, Kabsch-aligned per frame). ``hr``, ``hr_reference``: h(r) per Å on
    the bins. ``scalars``: geometric means, JSD, WF (%), h(r) MAE, stability, RMSD summaries.
    """

    ev_raw: np.ndarray
    ev_aligned: np.ndarray
    fv: np.ndarray
    rmsd: np.ndarray
    hr: np.ndarray
    hr_reference: np.ndarray
    scalars: dict = field(default_factory=dict)


def reference_lag_scores(frames, segment: np.ndarray, lag_stride: int = 2,
                         min_pairs: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FV and EV of a perfect potential whose trajectory lags the reference by a fixed time:
    for each lag L (steps, 0, ``lag_stride``, ...; at least ``min_pairs`` frame pairs), the
    geometric means over t of FV(F(t + L), F(t)) and EV(E(t + L), E(t)) along ``segment``."""
    from mlffkit.metrics import energy_violation, force_violation, geometric_mean

    forces, energy = frames.forces[segment], frames.energy[segment]
    lags = np.arange(0, len(segment) - min_pairs + 1, lag_stride)
    fv = np.empty(lags.size)
    ev = np.empty(lags.size)
    for k, lag in enumerate(lags):
        n = len(segment) - lag
        fv[k] = geometric_mean(force_violation(forces[lag:], forces[:n]))
        ev[k] = geometric_mean(energy_violation(energy[lag:], energy[:n]))
    return lags, fv, ev


def paired_rmsd(positions, reference_positions) -> np.ndarray:
    """RMSD (Å) of frame t of ``positions`` from frame t of ``reference_positions``, after the
    optimal rotation and translation (Kabsch) of each frame onto its partner."""
    from mlffkit.metrics import rmsd

    return np.array([rmsd(p[None], reference=r, align=True)[0]
                     for p, r in zip(positions, reference_positions)])


def structure_scores(positions, ref_positions, *, bin_edges, bonds, reference_lengths,
                     dt_fs: float = MD17_TIMESTEP_FS, bond_threshold_A: float = 0.5
                     ) -> tuple[np.ndarray, np.ndarray, dict]:
    """The scores of a run that need no pairing in time: h(r) of ``positions`` and of
    ``ref_positions`` (per Å on ``bin_edges``), and JSD, WF (%), h(r) MAE and the bond
    stability (``bonds`` against ``reference_lengths``)."""
    from mlffkit.metrics import (bond_stability, integrated_absolute_error,
                                 interatomic_distance_distribution, jensen_shannon_divergence,
                                 wright_factor)

    hr = interatomic_distance_distribution(positions, bin_edges)
    hr_ref = interatomic_distance_distribution(ref_positions, bin_edges)
    stability = bond_stability(positions, dt_fs, threshold_A=bond_threshold_A, bonds=bonds,
                               reference_lengths=reference_lengths)
    return hr, hr_ref, {
        "jsd": jensen_shannon_divergence(hr, hr_ref),
        "wf_percent": wright_factor(hr, hr_ref, convention="percent"),
        "hr_mae": integrated_absolute_error(hr, hr_ref, bin_edges),
        "stable_time_fs": stability.stable_time_fs, "stable": stability.stable}


def compare_trajectories(positions, energy, forces, ref_positions, ref_energy, ref_forces, *,
                         bin_edges, bonds, reference_lengths, dt_fs: float = MD17_TIMESTEP_FS,
                         energy_offset: float = 0.0, bond_threshold_A: float = 0.5
                         ) -> Comparison:
    """Score a trajectory (frames at times 0, dt, ...) against reference frames at the same
    times; the first ``len(positions)`` reference frames are used (a run that stopped early is
    scored over the frames it has)."""
    from mlffkit.metrics import energy_violation, force_violation, geometric_mean

    n = len(positions)
    if n < 1 or n > len(ref_positions):
        raise ValueError(f"{n} frames to score against {len(ref_positions)} reference frames")
    ref_positions, ref_energy, ref_forces = (np.asarray(a)[:n] for a in
                                             (ref_positions, ref_energy, ref_forces))
    energy = np.asarray(energy, dtype=float)
    ev_raw = energy_violation(energy, ref_energy)
    ev_aligned = energy_violation(energy + energy_offset, ref_energy)
    fv = force_violation(forces, ref_forces)
    rmsd = paired_rmsd(positions, ref_positions)
    hr, hr_ref, structure = structure_scores(
        positions, ref_positions, bin_edges=bin_edges, bonds=bonds,
        reference_lengths=reference_lengths, dt_fs=dt_fs, bond_threshold_A=bond_threshold_A)
    scalars = {
        "n_frames": n,
        "ev_raw_gm": geometric_mean(ev_raw), "ev_aligned_gm": geometric_mean(ev_aligned),
        "fv_gm": geometric_mean(fv), **structure,
        "rmsd_mean_A": float(rmsd.mean()), "rmsd_final_A": float(rmsd[-1]),
    }
    return Comparison(ev_raw, ev_aligned, fv, rmsd, hr, hr_ref, scalars)


def scoring(frames, segment: np.ndarray, bin_edges: np.ndarray, dt_fs: float,
            bond_threshold_A: float) -> dict:
    """What :func:`compare_trajectories` scores a run of ``frames``' molecule with: the h(r)
    bins, the bonds of the segment's first frame and their mean lengths over the segment."""
    from mlffkit.metrics import find_bonds
    from mlffkit.metrics.stability import bond_lengths

    reference = frames.positions[segment]
    bonds = find_bonds(reference[0], species=frames.numbers)
    return dict(bin_edges=bin_edges, bonds=bonds,
                reference_lengths=bond_lengths(reference, bonds).mean(axis=0), dt_fs=dt_fs,
                bond_threshold_A=bond_threshold_A)


def forward_runs(frames, starts, velocities: dict, calculator, *, steps: int, T_K: float,
                 tdamp_fs: float | None, energy_offset: float, scoring: dict,
                 relabel=None, relabel_stride: int = 1,
                 after_run=None) -> tuple[list[dict], dict[str, np.ndarray]]:
    """A forward run of ``calculator`` from each reference frame in ``starts`` (with
    ``velocities[start]``), scored against the reference frames at the same times
    (:func:`compare_trajectories` with ``scoring``: bin_edges, bonds, reference_lengths,
    dt_fs, bond_threshold_A). Returns one row per run and the runs' series ``(runs, steps +
    1)``, NaN after a run stopped; ``after_run(start)`` is called after each run.

    ``relabel``: the reference engine (an ASE calculator), when there is one. Every
    ``relabel_stride``-th frame of the run's *own* trajectory is labelled by it, and the run
    is also scored against those labels (:func:`self_consistency`): the well-posed question
    "does the model give the reference's forces where it goes?", which chaos cannot blur."""
    dt = scoring["dt_fs"]
    rows, series = [], {}
    for s in starts:
        run = run_forward(molecule_atoms(frames, s), velocities[s], calculator, steps=steps,
                          dt_fs=dt, T_K=T_K, tdamp_fs=tdamp_fs)
        window = slice(s, s + steps + 1)
        cmp = compare_trajectories(run.positions, run.energy, run.forces,
                                   frames.positions[window], frames.energy[window],
                                   frames.forces[window], energy_offset=energy_offset,
                                   **scoring)
        more, extra = {}, {}
        if relabel is not None:
            more, fv_self = self_consistency(run, frames.numbers, relabel, relabel_stride,
                                             energy_offset)
            extra["fv_self"] = fv_self
        rows.append({"start_frame": int(s), "partner_frame": -1,
                     "steps_completed": run.steps_completed, "stop": run.stop or "",
                     **cmp.scalars, **more, "T_mean_K": float(np.mean(run.temperature)),
                     "steps_per_s": run.steps_per_s, "wall_s": run.wall_s,
                     "energy_offset_eV": energy_offset})
        _collect(series, cmp, steps + 1, energy=run.energy + energy_offset,
                 energy_reference=frames.energy[window], temperature=run.temperature)
        for name, values in extra.items():
            series.setdefault(name, []).append(
                _padded(values, steps // relabel_stride + 1))
        if after_run is not None:
            after_run(s)
    return rows, {name: np.array(values) for name, values in series.items()}


def ensemble_runs(reference, starts, calculator, *, steps: int, T_K: float,
                  tdamp_fs: float | None, scoring: dict, seed: int
                  ) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Forward runs of ``calculator`` from the frames ``starts`` of ``reference``, frames
    *sampled* at ``T_K`` rather than one trajectory (3BPA's and acetylacetone's test files),
    with Maxwell-Boltzmann velocities at ``T_K`` (seed ``seed + start``, no net momentum).
    Each run is scored against the whole ensemble (:func:`structure_scores` with ``scoring``,
    as :func:`scoring` gives it over all the frames): JSD, WF, h(r) MAE and stability. EV, FV
    and RMSD compare a run with the reference *at the same time*, which sampled frames do not
    have, so they are not computed. Returns one row per run and the series ``hr``, ``hr_ref``
    (runs, bins) and ``temperature`` (runs, steps + 1; NaN after a run stopped)."""
    options = {k: v for k, v in scoring.items() if k != "dt_fs"}
    rows, series = [], {}
    for s in starts:
        run = run_forward(molecule_atoms(reference, s), None, calculator, steps=steps,
                          dt_fs=scoring["dt_fs"], T_K=T_K, tdamp_fs=tdamp_fs,
                          seed=seed + int(s))
        hr, hr_ref, scores = structure_scores(run.positions, reference.positions,
                                              dt_fs=scoring["dt_fs"], **options)
        rows.append({"start_frame": int(s), "steps_completed": run.steps_completed,
                     "stop": run.stop or "", "n_frames": len(run.positions), **scores,
                     "T_mean_K": float(np.mean(run.temperature)),
                     "steps_per_s": run.steps_per_s, "wall_s": run.wall_s})
        series.setdefault("hr", []).append(hr)
        series.setdefault("hr_ref", []).append(hr_ref)
        series.setdefault("temperature", []).append(_padded(run.temperature, steps + 1))
    return rows, {name: np.array(values) for name, values in series.items()}


def self_consistency(run: ForwardRun, numbers, engine, stride: int = 1,
                     energy_offset: float = 0.0) -> tuple[dict, np.ndarray]:
    """A run scored against the reference ``engine``'s labels of its own frames (every
    ``stride``-th): FV and EV per frame (geometric means ``fv_self_gm``, ``ev_self_gm``),
    the force and energy MAE there (``force_mae_self_meV_A``, ``energy_mae_self_meV``), and
    the FV series."""
    from mlffkit.metrics import energy_violation, force_violation, geometric_mean

    index = np.arange(0, len(run.positions), stride)
    energy, forces, _ = evaluate(engine, numbers, run.positions[index])
    model_energy = run.energy[index] + energy_offset
    fv = force_violation(run.forces[index], forces)
    ev = energy_violation(model_energy, energy)
    return {"fv_self_gm": geometric_mean(fv), "ev_self_gm": geometric_mean(ev),
            "force_mae_self_meV_A": 1e3 * float(np.mean(np.abs(run.forces[index] - forces))),
            "energy_mae_self_meV": 1e3 * float(np.mean(np.abs(model_energy - energy))),
            "n_relabelled": len(index)}, fv


def _padded(series: np.ndarray, length: int) -> np.ndarray:
    out = np.full(length, np.nan)
    out[:len(series)] = series
    return out


def _collect(series: dict, cmp: Comparison, length: int, **more: np.ndarray) -> None:
    """Append one run's series (NaN-padded to ``length``) and h(r) curves to ``series``."""
    values = {"ev_raw": cmp.ev_raw, "ev_aligned": cmp.ev_aligned, "fv": cmp.fv,
              "rmsd": cmp.rmsd, **more}
    for name, v in values.items():
        series.setdefault(name, []).append(_padded(np.asarray(v, dtype=float), length))
    series.setdefault("hr", []).append(cmp.hr)
    series.setdefault("hr_ref", []).append(cmp.hr_reference)


# -- the experiment -------------------------------------------------------------------------
def compute(params: dict) -> Result:
    """Every (molecule, potential, start) forward run and every shifted-reference pair."""
    from threadpoolctl import threadpool_limits

    from mlffkit import data
    from mlffkit.metrics import (energy_violation, force_violation, geometric_mean,
                                 interatomic_distance_distribution, kinetic_temperature,
                                 uniform_bin_edges)

    unknown = sorted(set(params["potentials"]) - set(POTENTIALS))
    if unknown:
        raise ValueError(f"unknown potential {unknown[0]!r}; valid: {', '.join(POTENTIALS)}")
    steps, shift, dt = params["steps"], params["shift_steps"], params["dt_fs"]
    edges = uniform_bin_edges(params["hr_max_A"], params["hr_bin_A"])
    rows, static_rows, ref_rows, mol_rows = [], [], [], []
    arrays: dict[str, np.ndarray] = {"hr_bin_edges": edges,
                                     "time_fs": np.arange(steps + 1) * dt}
    n_runs = len(params["molecules"]) * params["n_starts"] * (
        len(params["potentials"]) + (1 if shift else 0))
    bar = tqdm(total=n_runs, desc="egraff_metrics", unit="run", mininterval=10)
    with threadpool_limits(params["threads"]):
        for molecule in params["molecules"]:
            frames = data.load(dataset_name(molecule))
            seg = reference_segment(frames)
            starts = start_frames(seg, params["n_starts"], steps, shift)
            ref_all = frames.positions[seg]
            common = scoring(frames, seg, edges, dt, params["bond_threshold_A"])
            bonds = common["bonds"]
            hr_full = interatomic_distance_distribution(ref_all, edges)
            arrays[f"{molecule}.hr_reference_all"] = hr_full
            lags, fv_lag, ev_lag = reference_lag_scores(frames, seg, params["lag_stride"])
            arrays[f"{molecule}.lag_steps"] = lags
            arrays[f"{molecule}.fv_by_lag"] = fv_lag
            arrays[f"{molecule}.ev_by_lag"] = ev_lag
            arrays[f"{molecule}.start_frames"] = starts
            v_seg = np.array([reference_velocities(frames, i, dt, "central")
                              for i in seg[1:-1]])
            mol_rows.append({
                "molecule": molecule, "formula": molecule_atoms(frames, 0).get_chemical_formula(),
                "n_atoms": len(frames.numbers), "segment_first": int(seg[0]),
                "segment_last": int(seg[-1]), "n_bonds": len(bonds),
                "energy_mean_eV": float(frames.energy[seg].mean()),
                "energy_std_eV": float(frames.energy[seg].std()),
                "T_mean_K": float(np.mean([kinetic_temperature(frames.numbers, v,
                                                               removed_dof=TEMPERATURE_DOF)
                                           for v in v_seg]))})
            velocities = {}
            for s in starts:
                v = reference_velocities(frames, s, dt, params["velocity_method"])
                other = reference_velocities(frames, s, dt, "verlet" if
                                             params["velocity_method"] == "central" else "central")
                velocities[s] = v
                ref_rows.append({
                    "molecule": molecule, "start_frame": int(s),
                    "partner_frame": int(s + shift) if shift else -1,
                    "T_start_K": kinetic_temperature(frames.numbers, v,
                                                     removed_dof=TEMPERATURE_DOF),
                    "velocity_methods_rel_diff": float(np.linalg.norm(v - other)
                                                       / np.linalg.norm(v))})
            for potential in params["potentials"]:
                calc = make_calculator(potential, molecule_atoms(frames, int(seg[0])))
                static_idx = seg[::params["offset_stride"]]
                e_pot, f_pot, sec = evaluate(calc, frames.numbers, frames.positions[static_idx])
                e_ref, f_ref = frames.energy[static_idx], frames.forces[static_idx]
                offset = float(np.mean(e_ref - e_pot))
                static_rows.append({
                    "molecule": molecule, "potential": potential, "n_frames": len(static_idx),
                    "energy_offset_eV": offset,
                    "energy_mae_meV": 1e3 * float(np.mean(np.abs(e_pot + offset - e_ref))),
                    "force_mae_meV_A": 1e3 * float(np.mean(np.abs(f_pot - f_ref))),
                    "fv_static_gm": geometric_mean(force_violation(f_pot, f_ref)),
                    "ev_raw_static_gm": geometric_mean(energy_violation(e_pot, e_ref)),
                    "ev_aligned_static_gm": geometric_mean(energy_violation(e_pot + offset,
                                                                            e_ref)),
                    "seconds_per_call": sec})
                def advance(s, molecule=molecule, potential=potential):
                    bar.update(1)
                    bar.set_postfix(molecule=molecule, potential=potential, start=int(s))

                runs, series = forward_runs(frames, starts, velocities, calc, steps=steps,
                                            T_K=params["T_K"], tdamp_fs=params["tdamp_fs"],
                                            energy_offset=offset, scoring=common,
                                            after_run=advance)
                rows += [{"molecule": molecule, "potential": potential, **r} for r in runs]
                for name, values in series.items():
                    arrays[f"{molecule}.{potential}.{name}"] = values
            if shift:
                series = {}
                for s in starts:
                    window, moved = slice(s, s + steps + 1), slice(s + shift, s + shift + steps + 1)
                    cmp = compare_trajectories(frames.positions[moved], frames.energy[moved],
                                               frames.forces[moved], frames.positions[window],
                                               frames.energy[window], frames.forces[window],
                                               **common)
                    temperature = [kinetic_temperature(frames.numbers,
                                                       reference_velocities(frames, i, dt),
                                                       removed_dof=TEMPERATURE_DOF)
                                   for i in range(s + shift, s + shift + steps)]
                    rows.append({"molecule": molecule, "potential": SHIFTED,
                                 "start_frame": int(s), "partner_frame": int(s + shift),
                                 "steps_completed": steps, "stop": "", **cmp.scalars,
                                 "T_mean_K": float(np.mean(temperature)),
                                 "steps_per_s": np.nan, "wall_s": 0.0,
                                 "energy_offset_eV": 0.0})
                    _collect(series, cmp, steps + 1, energy=frames.energy[moved],
                             energy_reference=frames.energy[window])
                    bar.update(1)
                for name, values in series.items():
                    arrays[f"{molecule}.{SHIFTED}.{name}"] = np.array(values)
    bar.close()
    return Result(tables={"runs": pd.DataFrame(rows), "static": pd.DataFrame(static_rows),
                          "reference": pd.DataFrame(ref_rows),
                          "molecules": pd.DataFrame(mol_rows)},
                  arrays=arrays)


def _check(p: dict) -> str | None:
    if p["hr_bin_A"] > p["hr_max_A"]:
        return (f"hr_bin_A={p['hr_bin_A']!r} is wider than the h(r) range "
                f"hr_max_A={p['hr_max_A']!r}")
    return None


@dataclass(frozen=True)
class EgraffMetricsConfig(Config):
    """The EGraFFBench-metrics experiment's parameters."""

    molecules: list = param(names_from(MOLECULES))
    potentials: list = param(names_from(POTENTIALS))
    n_starts: int = param(positive())               # MD runs per molecule and potential
    steps: int = param(positive())                  # MD steps per run
    shift_steps: int = param(at_least(0))           # length of the time-shifted DFT window
    dt_fs: float = param(positive())
    T_K: float = param(positive())
    tdamp_fs: float = param(positive())
    velocity_method: str = param(one_of(*VELOCITY_METHODS))
    offset_stride: int = param(positive())
    hr_bin_A: float = param(positive())
    hr_max_A: float = param(positive())
    bond_threshold_A: float = param(positive())
    lag_stride: int = param(positive())
    threads: int = param(positive())


BOOK = EgraffMetricsConfig(
    molecules=list(MOLECULES), potentials=list(POTENTIALS), n_starts=5, steps=400,
    shift_steps=400, dt_fs=MD17_TIMESTEP_FS, T_K=MD17_TEMPERATURE_K, tdamp_fs=50.0,
    velocity_method="central", offset_stride=10, hr_bin_A=0.02, hr_max_A=10.0,
    bond_threshold_A=0.5, lag_stride=2, threads=1)

EGRAFF_METRICS = register(Experiment(
    name="egraff_metrics",
    version="2",
    compute=compute,
    datasets=datasets,
    description="EGraFFBench Tables 2-3 metrics (EV, FV, JSD, WF) on MD17 with MMFF94, "
                "GFN2-xTB and a time-shifted DFT reference",
    profiles={
        "smoke": BOOK.replace(molecules=["ethanol"], potentials=["mmff94"], n_starts=2,
                              steps=20, shift_steps=20, offset_stride=100),
        "book": BOOK,
        # the paper runs 5 x 1000 steps; against a 1000-frame reference, five starts and a
        # disjoint shifted window allow at most 450 steps each
        "paper": BOOK.replace(steps=450, shift_steps=450),
    },
    check=_check,
))


# -- analysis (cheap; used by the chapter) --------------------------------------------------
def summary(runs: pd.DataFrame, metrics=METRICS) -> pd.DataFrame:
    """Mean and standard deviation (ddof=1) over start frames per molecule and potential."""
    grouped = runs.groupby(["molecule", "potential"], sort=False)[list(metrics)]
    mean = grouped.mean().add_suffix("_mean")
    std = grouped.std(ddof=1).add_suffix("_std")
    n = grouped.size().rename("n_starts")
    return pd.concat([mean, std, n], axis=1).reset_index()


def mean_ci(values: np.ndarray, level: float = 0.95, *, log: bool = False
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over axis 0 (runs) with a Student-t confidence interval, ignoring NaN. With
    ``log=True`` the mean and interval are those of log(values), exponentiated (a geometric
    mean with a multiplicative interval, for positive series such as EV(t))."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if log:
        mean, low, high = mean_ci(np.log(values), level)
        return np.exp(mean), np.exp(low), np.exp(high)
    n = np.sum(np.isfinite(values), axis=0)
    mean = np.nanmean(values, axis=0)
    sem = np.nanstd(values, axis=0, ddof=1) / np.sqrt(np.maximum(n, 1))
    half = stats.t.ppf(0.5 + level / 2.0, np.maximum(n - 1, 1)) * sem
    half = np.where(n > 1, half, np.nan)
    return mean, mean - half, mean + half


def versus(runs: pd.DataFrame, metric: str, baseline: str = SHIFTED, *,
           n_boot: int = 10_000) -> pd.DataFrame:
    """For each molecule and each potential other than ``baseline``: the geometric-mean ratio
    ``metric(potential) / metric(baseline)`` over start frames (paired: the same reference
    window) with a bootstrap 95% interval, and a verdict: ``"higher"``/``"lower"`` when the
    interval excludes 1, else ``"indistinguishable"``. With the default baseline, "higher"
    means the metric tells the potential apart from a perfect potential that has decorrelated."""
    from mlffkit.metrics.statistics import paired_bootstrap_ci

    rows = []
    for molecule, r in runs.groupby("molecule", sort=False):
        wide = r.pivot(index="start_frame", columns="potential", values=metric)
        if baseline not in wide:
            continue
        for potential in [p for p in r["potential"].unique() if p != baseline]:
            a, b = wide[potential].to_numpy(float), wide[baseline].to_numpy(float)
            ok = len(a) >= 2 and np.all(np.isfinite(a) & np.isfinite(b)) and \
                np.all(a > 0) and np.all(b > 0)
            est, low, high = paired_bootstrap_ci(a, b, n_boot=n_boot) if ok else (np.nan,) * 3
            verdict = ("higher" if low > 0 else "lower" if high < 0 else "indistinguishable")
            rows.append({"molecule": molecule, "potential": potential, "baseline": baseline,
                         "metric": metric, "ratio": np.exp(est), "ci_low": np.exp(low),
                         "ci_high": np.exp(high), "verdict": verdict})
    return pd.DataFrame(rows)


def first_crossing(time_fs: np.ndarray, curve: np.ndarray, level: float) -> float:
    """The first time (fs) at which ``curve`` reaches ``level``; NaN if it never does."""
    hits = np.flatnonzero(np.asarray(curve) >= level)
    return float(np.asarray(time_fs)[hits[0]]) if hits.size else float("nan")


def implied_energy_error(ev: float, energy_eV: float) -> float:
    """|Ê - E| (eV) that gives EV = ``ev`` at a reference energy ``energy_eV`` when Ê and E
    have the same sign: inverts Eq. 4, ``EV = d^2 / (E^2 + (E + d)^2)``, for the smaller
    root |d|."""
    if not 0 <= ev < 0.5:
        raise ValueError("EV must lie in [0, 0.5) for a same-sign root")
    # ev (E^2 + (E + d)^2) = d^2  <=>  (1 - ev) d^2 - 2 ev E d - 2 ev E^2 = 0  (E = |E| > 0)
    e = abs(energy_eV)
    a, b, c = 1.0 - ev, -2.0 * ev * e, -2.0 * ev * e ** 2
    roots = np.roots([a, b, c])
    return float(np.min(np.abs(roots)))


def paper_tables(path, tables) -> pd.DataFrame:
    """EGraFFBench's transcribed numbers (``book/egraff/paper_tables.csv``), the rows of
    ``tables`` only (e.g. ``["Table 1", "Table 2"]``, or ``"all"``).

    The tables share molecules, models and metric names (Table 2's JSD on MD17 and Table 19's
    on benzene-from-MD17 alike), so a reader names the tables it compares with: reading every
    row and filtering by molecule mixes them."""
    frame = pd.read_csv(path)
    if isinstance(tables, str) and tables == "all":
        return frame
    tables = [tables] if isinstance(tables, str) else list(tables)
    unknown = sorted(set(tables) - set(frame["table"]))
    if unknown:
        raise ValueError(f"no rows for {unknown} in {path}; transcribed: {sorted(set(frame['table']))}")
    return frame[frame["table"].isin(tables)].reset_index(drop=True)
