"""Fu et al.'s simulation protocol (MDsim ``simulate.py``, ``configs/simulate/*.yml``) and
the per-run scores of its MD17 evaluation (``observable.ipynb``).

Settings per system (:data:`PROTOCOLS`): MDsim's Nosé-Hoover (``Q = 3N kT τ²``, τ = 20 dt;
:class:`mlffkit.md.nose_hoover.NoseHooverNVT`) for MD17, water and LiPS, Maxwell-Boltzmann
velocities, a random test frame as the start of each run, a frame saved every ``save_fs``.

Scores of one run (MD17, alanine dipeptide):

- **stability** (Eq. 9): bonds of the first simulated frame (ASE natural cutoffs, with the
  NeighborList skin: ``d < r_i + r_j + 0.6 Å``), each against its mean length over *all*
  reference frames; the run is unstable once a bond deviates by more than 0.5 Å. MDsim tests
  the saved frames; here the rule is checked every step (it also stops the run), so a
  collapse is dated to the step, not to the next saved frame;
- **h(r) MAE**: ``numpy.histogram`` of all pair distances of the frames before the collapse,
  bins ``linspace(1e-6, 10, 501)``, ``density=True``, against the same of the reference
  frames, ``mean|Δh| · 10`` (= ∫|Δh| dr, in [0, 2]);
- **steps/s**: one replica's MD steps per second of wall time (MDsim's FPS, measured there on
  a V100 with I/O; here on this CPU).

Departures, stated where used: MDsim seeds one random start per config seed; here start
``k`` of a run set is drawn from ``numpy.random.default_rng([seed, k])``. MDsim removes no
centre-of-mass motion; :func:`mlffkit.md.simulate` draws Maxwell-Boltzmann velocities with zero
total momentum (3 of 3N degrees of freedom, which the thermostat then heats by
``3N/(3N - 3)``: 1.5 % for aspirin). MD17 runs in MDsim sit in a 30 Å periodic box; here they are
not periodic (a molecule never meets its image at 30 Å).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms

from mlffkit.md import TemperatureBoundsRule, read_trajectory, simulate, simulate_batched
from mlffkit.md.nose_hoover import FU2023_DAMPING_STEPS
from mlffkit.metrics import integrated_absolute_error, interatomic_distance_distribution
from mlffkit.metrics.stability import BondLengthRule

#: Fu's h(r) bins (``observable.ipynb``): self-pairs (0 Å) fall below the first edge
HR_EDGES = np.linspace(1e-6, 10.0, 501)


@dataclass(frozen=True)
class SimulationProtocol:
    """One system's MDsim settings: ``ensemble`` (an :func:`mlffkit.md.simulate` ensemble),
    temperature, time step, simulated time, save interval, runs per model, and for Langevin
    the friction (1/ps)."""

    ensemble: str
    temperature_K: float
    dt_fs: float
    time_ps: float
    save_fs: float
    runs: int
    friction_per_ps: float | None = None

    @property
    def steps(self) -> int:
        return int(round(self.time_ps * 1000 / self.dt_fs))

    @property
    def save_every(self) -> int:
        return max(1, int(round(self.save_fs / self.dt_fs)))

    @property
    def tdamp_fs(self) -> float | None:
        return FU2023_DAMPING_STEPS * self.dt_fs if self.ensemble == "nose_hoover" else None


#: Fu et al. Table 1 / App. D as MDsim's configs set them (protocols_fu_kreiman.md §1.1).
#: Alanine dipeptide: ASE Langevin with friction 0.5 in ASE units = 49 ps⁻¹.
PROTOCOLS = {
    "md17": SimulationProtocol("nose_hoover", 500.0, 0.5, 300.0, 50.0, 5),
    "water": SimulationProtocol("nose_hoover", 300.0, 1.0, 500.0, 100.0, 5),
    "lips": SimulationProtocol("nose_hoover", 520.0, 0.25, 50.0, 12.5, 5),
    "alanine_dipeptide": SimulationProtocol("langevin", 300.0, 2.0, 5000.0, 1000.0, 6,
                                            friction_per_ps=49.1),
}


def hr_of(positions: np.ndarray) -> np.ndarray:
    """Fu's h(r) of frames ``(F, N, 3)`` on :data:`HR_EDGES` (``density=True``)."""
    return interatomic_distance_distribution(positions, HR_EDGES, normalisation="in_range")


def hr_mae(positions: np.ndarray, reference_hr: np.ndarray) -> float:
    """∫|h - h_ref| dr of frames ``(F, N, 3)`` against ``reference_hr`` (NaN for no frames)."""
    if len(positions) == 0:
        return float("nan")
    return float(integrated_absolute_error(hr_of(positions), reference_hr, HR_EDGES))


def simulate_starts(model, systems: list[Atoms], protocol: SimulationProtocol, rules: list, *,
                    time_ps: float | None = None, seed: int = 0,
                    progress: bool = False) -> list[dict]:
    """Simulate every start (``systems``, ASE Atoms) with ``model`` under ``protocol`` as one
    batched simulation (one model call per step), each run stopped by its copy of ``rules``
    or MDsim's temperature bounds; ``time_ps`` overrides the protocol's length. Returns one
    row per run: ``stable_ps``, ``stopped`` and by which rule, ``frames``, and the positions
    of its saved frames before the stop (``"positions"``; unwrapped for periodic runs)."""
    from mlffkit.metrics.dynamics import unwrap_positions

    steps = protocol.steps if time_ps is None else int(round(time_ps * 1000 / protocol.dt_fs))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        pattern = str(Path(folder) / "run_{replica}.traj")
        run = simulate_batched(systems, model, ensemble=protocol.ensemble,
                               T_K=protocol.temperature_K, dt_fs=protocol.dt_fs, steps=steps,
                               tdamp_fs=protocol.tdamp_fs,
                               friction_per_ps=protocol.friction_per_ps, seed=seed,
                               stop_rules=[*rules, TemperatureBoundsRule()], trajectory=pattern,
                               write_every=protocol.save_every, progress=progress)
        for k, replica in enumerate(run):
            frames = read_trajectory(pattern.format(replica=k))
            if replica.stop is not None:  # the frame at which the rule fired is written too
                frames = frames[:-1]
            positions = np.stack([a.positions for a in frames]) if frames else \
                np.zeros((0, len(systems[k]), 3))
            if len(frames) > 1 and systems[k].pbc.any():
                positions = unwrap_positions(frames)
            stable_fs = replica.stop.time_fs if replica.stop is not None else steps * protocol.dt_fs
            rows.append({"run": k, "stable_ps": stable_fs / 1000,
                         "stopped": replica.stop is not None,
                         "stop_rule": replica.stop.rule if replica.stop is not None else "",
                         "frames": len(positions), "positions": positions})
    return rows


def simulate_molecule(model, numbers, starts: np.ndarray, reference_positions: np.ndarray,
                      protocol: SimulationProtocol, **kwargs) -> list[dict]:
    """:func:`simulate_starts` for a molecule (MD17, alanine dipeptide): starts ``(S, N, 3)``,
    Fu's bond rule against the mean bond lengths over ``reference_positions``, and each run's
    ``hr_mae`` against the h(r) of those reference frames."""
    reference_hr = hr_of(reference_positions)
    systems = [Atoms(numbers=numbers, positions=p) for p in starts]
    rows = simulate_starts(model, systems, protocol,
                           [BondLengthRule(reference_frames=reference_positions)], **kwargs)
    for row in rows:
        row["hr_mae"] = hr_mae(row["positions"], reference_hr)
    return rows


def steps_per_second(model, numbers, start: np.ndarray, protocol: SimulationProtocol,
                     steps: int, cell: np.ndarray | None = None) -> float:
    """One replica's MD steps per second (MDsim's FPS) over ``steps`` steps from ``start``
    (periodic when ``cell`` is given), through the ASE calculator as a user would run it."""
    from mlffkit.md import calculator

    atoms = Atoms(numbers=numbers, positions=start, cell=cell, pbc=cell is not None)
    run = simulate(atoms, calculator(model), ensemble=protocol.ensemble,
                   T_K=protocol.temperature_K, dt_fs=protocol.dt_fs, steps=steps,
                   tdamp_fs=protocol.tdamp_fs, friction_per_ps=protocol.friction_per_ps,
                   progress=False)
    return run.steps_per_second
