"""Molecular dynamics with any ASE calculator: NVE or NVT, stop rules, incremental output.

Ensembles (ASE 3.29 integrators):

- ``"nve"``: velocity Verlet (``ase.md.verlet.VelocityVerlet``).
- ``"langevin"``: NVT Langevin (``ase.md.langevin.Langevin``), friction in 1/ps.
- ``"nose_hoover_chain"``: NVT Nosé-Hoover chain (``ase.md.nose_hoover_chain.
  NoseHooverChainNVT``), thermostat damping time in fs (default 100 time steps, as ASE advises)
  and chain length.
- ``"nose_hoover"``: NVT with one Nosé-Hoover thermostat, MDsim's scheme (Fu et al. 2023;
  :class:`~mlffkit.md.nose_hoover.NoseHooverNVT`), thermostat time in fs (default 20 time
  steps, as MDsim).

Units are physical throughout: time step and times in fs, temperature in K, friction in 1/ps,
velocities in Å/fs; :mod:`mlffkit.units` converts them to ASE's units in one place.

Step 0 is the starting structure. After every step the stop rules are checked, a thermo row
is written every ``log_every`` steps and a frame every ``write_every`` steps (the frame at which
a rule fires is written too: it shows why).

Under faults the driver promises:

- Inputs are checked before anything runs or is written: a bad one raises a one-line error
  naming the parameter and the fix (a non-finite or non-positive ``T_K``, ``dt_fs``,
  ``friction_per_ps`` or ``tdamp_fs``, a missing calculator, empty atoms or non-finite
  positions, cell or masses, ...).
- A non-finite energy, force, position or momentum stops the run at that step, with a reason
  naming the quantity (rule ``"non_finite"``); a calculator that raises stops it too
  (``"calculator_error"``). Either way everything written so far stays on disk and
  :class:`SimulationResult` says why.
- A killed process loses at most the trajectory frame being written;
  :func:`~mlffkit.md.read_trajectory` reads the rest.
- Existing output files are not overwritten unless ``overwrite=True``.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.constraints import FixCom
from ase.md.langevin import Langevin
from ase.md.md import MolecularDynamics
from ase.md.nose_hoover_chain import NoseHooverChainNVT
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet
from tqdm.auto import tqdm

from .nose_hoover import FU2023_DAMPING_STEPS, NoseHooverNVT
from .output import ThermoLog, TrajectoryWriter, check_output_path
from .stop_rules import NON_FINITE, StopEvent, StopRule, non_finite_reason
from mlffkit.units import ANGSTROM_PER_FS_TO_ASE_VELOCITY, friction_per_ps_to_ase, fs_to_ase_time

ENSEMBLES = ("nve", "langevin", "nose_hoover_chain", "nose_hoover")
#: the thermostats that take ``tdamp_fs``, and its default in time steps
DAMPING_STEPS = {"nose_hoover_chain": 100, "nose_hoover": FU2023_DAMPING_STEPS}


@dataclass(frozen=True)
class SimulationResult:
    """What a run did.

    steps_completed: the last step whose state was fully computed (0: the start only; -1: the
    calculator failed on the starting structure).
    stop: why the run ended early (None when all requested steps ran).
    atoms: the integrator's Atoms; after a calculator error its positions are the ones the
    calculator failed on, not those of the last completed step (see the trajectory for those).
    steps_per_second: completed steps / wall time of the stepping loop (output included).
    """

    ensemble: str
    dt_fs: float
    steps_requested: int
    steps_completed: int
    stop: StopEvent | None
    frames_written: int
    trajectory_path: Path | None
    log_path: Path | None
    wall_time_s: float
    atoms: Atoms

    @property
    def time_fs(self) -> float:
        """Simulated time reached, fs."""
        return max(self.steps_completed, 0) * self.dt_fs

    @property
    def stopped_early(self) -> bool:
        return self.stop is not None

    @property
    def steps_per_second(self) -> float:
        steps = max(self.steps_completed, 0)
        return steps / self.wall_time_s if self.wall_time_s > 0 else float("nan")

    @property
    def frames_per_second(self) -> float:
        return self.frames_written / self.wall_time_s if self.wall_time_s > 0 else float("nan")


def simulate(atoms: Atoms, calculator: Calculator, *, ensemble: str, dt_fs: float, steps: int,
             T_K: float | None = None, friction_per_ps: float | None = None,
             tdamp_fs: float | None = None, chain_length: int = 3, seed: int = 0,
             velocities=None, fix_com: bool = False, stop_rules: Sequence[StopRule] = (),
             trajectory: str | Path | None = None, log: str | Path | None = None,
             log_every: int = 1, write_every: int | None = None, overwrite: bool = False,
             progress: bool = True) -> SimulationResult:
    """Run ``steps`` MD steps of ``atoms`` (copied, not modified) with ``calculator``.

    calculator: an ASE calculator (e.g. ``EMT()``, ``mlffkit.md.calculator(model)``).
    ensemble: ``"nve"``, ``"langevin"`` (needs ``T_K`` > 0, ``friction_per_ps`` > 0) or
    ``"nose_hoover_chain"`` (needs ``T_K`` > 0; ``tdamp_fs`` defaults to 100 ``dt_fs``) or
    ``"nose_hoover"`` (one thermostat, MDsim's; ``tdamp_fs`` defaults to 20 ``dt_fs``).
    velocities: None draws Maxwell-Boltzmann velocities at ``T_K`` (>= 0; 0 starts at rest)
    from ``seed`` with zero centre-of-mass momentum; ``"from_atoms"`` keeps the momenta
    ``atoms`` carries; an array ``(N, 3)`` gives them in Å/fs.
    fix_com: add ASE's ``FixCom`` constraint (keeps the centre of mass still).
    stop_rules: extra :class:`~mlffkit.md.stop_rules.StopRule` objects (a non-finite energy,
    force, position or momentum always stops the run), e.g.
    ``[mlffkit.metrics.stability.BondLengthRule()]``.
    trajectory, log: output paths (extxyz, or ASE ``.traj``; CSV); None writes nothing. Read
    the trajectory with :func:`~mlffkit.md.read_trajectory`.
    write_every: frame interval in steps (default ``log_every``).
    overwrite: replace existing ``trajectory`` and ``log`` files (otherwise FileExistsError).
    """
    _check_arguments(ensemble, dt_fs, steps, T_K, friction_per_ps, tdamp_fs, chain_length,
                     log_every, write_every)
    _check_system(atoms, calculator)
    rules = _check_rules(stop_rules)
    trajectory, log = _check_outputs(trajectory, log, overwrite)
    atoms = atoms.copy()
    if fix_com:
        atoms.set_constraint(FixCom())
    _set_initial_velocities(atoms, velocities, T_K, seed)
    atoms.calc = calculator
    dynamics = _integrator(atoms, ensemble, dt_fs, T_K, friction_per_ps, tdamp_fs, chain_length,
                           seed)
    for rule in rules:
        rule.start(atoms)
    write_every = log_every if write_every is None else write_every
    writer = TrajectoryWriter(trajectory) if trajectory is not None else None
    thermo = ThermoLog(log) if log is not None else None
    completed, stop = -1, None
    bar = tqdm(total=steps, disable=not progress, unit="step", desc=f"MD {ensemble}")
    started = time.perf_counter()
    states = dynamics.irun(steps)
    try:
        while stop is None:
            try:  # advance one step; the calculator runs here
                next(states)
                energy, forces = atoms.get_potential_energy(), atoms.get_forces()
            except StopIteration:
                break
            except Exception as error:  # the calculator failed: keep what is written, say why
                stop = StopEvent("calculator_error", f"{type(error).__name__}: {error}",
                                 completed + 1, (completed + 1) * dt_fs)
                break
            step = dynamics.nsteps
            time_fs = step * dt_fs
            stop = _first_stop(rules, atoms, step, time_fs, energy, forces)
            if writer is not None and (step % write_every == 0 or stop is not None):
                writer.write(atoms, energy, forces)
            if thermo is not None and (step % log_every == 0 or stop is not None):
                thermo.write(step, time_fs, energy, atoms.get_kinetic_energy(),
                             atoms.get_temperature())
            completed = step
            bar.update(1 if step > 0 else 0)
    finally:
        wall_time = time.perf_counter() - started
        bar.close()
        for output in (writer, thermo):
            if output is not None:
                output.close()
    return SimulationResult(ensemble, dt_fs, steps, completed, stop,
                            writer.frames_written if writer is not None else 0,
                            writer.path if writer is not None else None,
                            thermo.path if thermo is not None else None, wall_time, atoms)


def _first_stop(rules, atoms: Atoms, step: int, time_fs: float, energy: float,
                forces: np.ndarray) -> StopEvent | None:
    reason = non_finite_reason(energy, forces, atoms.positions, atoms.get_momenta())
    if reason is not None:
        return StopEvent(NON_FINITE, reason, step, time_fs)
    for rule in rules:
        reason = rule.check(atoms, step, time_fs)
        if reason is not None:
            return StopEvent(rule.name, reason, step, time_fs)
    return None


def _integrator(atoms: Atoms, ensemble: str, dt_fs: float, T_K, friction_per_ps, tdamp_fs,
                chain_length: int, seed: int) -> MolecularDynamics:
    timestep = fs_to_ase_time(dt_fs)
    if ensemble == "nve":
        return VelocityVerlet(atoms, timestep)
    if ensemble == "langevin":
        return langevin_integrator(atoms, dt_fs, T_K, friction_per_ps,
                                   np.random.default_rng(seed))
    damping_fs = DAMPING_STEPS[ensemble] * dt_fs if tdamp_fs is None else tdamp_fs
    if ensemble == "nose_hoover":
        return NoseHooverNVT(atoms, timestep, temperature_K=T_K,
                             tdamp=fs_to_ase_time(damping_fs))
    return NoseHooverChainNVT(atoms, timestep, temperature_K=T_K,
                              tdamp=fs_to_ase_time(damping_fs), tchain=chain_length)


def langevin_integrator(atoms: Atoms, dt_fs: float, T_K: float, friction_per_ps: float,
                        rng: np.random.Generator) -> Langevin:
    """ASE's Langevin integrator in physical units, the one place it is built (for
    :func:`simulate` and the reference-data generators, :mod:`mlffkit.reference.md`): time
    step in fs, friction in 1/ps (both converted by :mod:`mlffkit.units`), noise from ``rng``,
    and ``fixcm=False`` (ASE's ``fixcm`` is deprecated: hold the centre of mass with a
    ``FixCom`` constraint). Change the friction during a run with ``set_friction`` and
    :func:`mlffkit.units.friction_per_ps_to_ase`."""
    return Langevin(atoms, fs_to_ase_time(dt_fs), temperature_K=T_K,
                    friction=friction_per_ps_to_ase(friction_per_ps), fixcm=False, rng=rng)


def _set_initial_velocities(atoms: Atoms, velocities, T_K, seed: int) -> None:
    if isinstance(velocities, str):
        _require(velocities == "from_atoms",
                 f"velocities must be None, 'from_atoms' or an (N, 3) array in Å/fs, "
                 f"got {velocities!r}")
        _require(np.isfinite(atoms.get_momenta()).all(),
                 "velocities='from_atoms' but atoms carries non-finite momenta: set finite ones "
                 "(atoms.set_momenta) or pass velocities=None")
        return
    if velocities is None:
        if T_K is None:
            raise ValueError("Maxwell-Boltzmann velocities need T_K (or pass velocities=...)")
        thermalize_momenta(atoms, T_K, rng=np.random.default_rng(seed))
        Stationary(atoms)
        return
    velocities = np.asarray(velocities, dtype=float)
    if velocities.shape != (len(atoms), 3) or not np.all(np.isfinite(velocities)):
        raise ValueError(f"velocities must be finite with shape ({len(atoms)}, 3) in Å/fs")
    atoms.set_velocities(velocities * ANGSTROM_PER_FS_TO_ASE_VELOCITY)


def _require(condition: bool, message: str, error: type[Exception] = ValueError) -> None:
    if not condition:
        raise error(message)


def _finite(value) -> bool:
    """A finite real number (not a bool)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value, minimum: int) -> bool:
    """An integer (not a bool) >= ``minimum``."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum


def _check_arguments(ensemble, dt_fs, steps, T_K, friction_per_ps, tdamp_fs, chain_length,
                     log_every, write_every) -> None:
    _require(ensemble in ENSEMBLES, f"ensemble must be one of {ENSEMBLES}, got {ensemble!r}")
    _require(_finite(dt_fs) and dt_fs > 0,
             f"dt_fs must be a finite time step > 0 in fs (e.g. 1.0), got {dt_fs!r}")
    _require(_whole(steps, 0), f"steps must be an integer >= 0, got {steps!r}")
    if T_K is not None:
        _require(_finite(T_K) and T_K >= 0, f"T_K must be a finite temperature >= 0 in K "
                                            f"(e.g. 300), got {T_K!r}")
    if ensemble != "nve":
        _require(T_K is not None and T_K > 0,
                 f"ensemble {ensemble!r} needs a positive T_K in K (e.g. T_K=300), got {T_K!r}")
    if ensemble == "langevin":
        _require(_finite(friction_per_ps) and friction_per_ps > 0,
                 f"the Langevin thermostat needs a finite friction_per_ps > 0 in 1/ps "
                 f"(e.g. 1.0), got {friction_per_ps!r}")
    _require(ensemble == "langevin" or friction_per_ps is None,
             "friction_per_ps applies to the Langevin ensemble only: drop it")
    if tdamp_fs is not None:
        _require(ensemble in DAMPING_STEPS,
                 "tdamp_fs applies to the nose_hoover_chain and nose_hoover ensembles only: "
                 "drop it")
        _require(_finite(tdamp_fs) and tdamp_fs > 0,
                 f"tdamp_fs must be a finite damping time > 0 in fs (or None for "
                 f"{DAMPING_STEPS[ensemble]} dt_fs), "
                 f"got {tdamp_fs!r}")
    _require(_whole(chain_length, 1), f"chain_length must be an integer >= 1, "
                                      f"got {chain_length!r}")
    for name, every in (("log_every", log_every), ("write_every", write_every)):
        _require(every is None or _whole(every, 1), f"{name} must be an integer >= 1 (steps), "
                                                    f"got {every!r}")


def _check_system(atoms, calculator) -> None:
    _require(isinstance(atoms, Atoms), f"atoms must be an ase.Atoms, got {type(atoms).__name__}",
             TypeError)
    _require(len(atoms) > 0, "atoms is empty: give a structure with at least one atom")
    bad = int(np.sum(~np.isfinite(atoms.positions).all(axis=1)))
    _require(bad == 0, f"atoms has {bad} atoms with non-finite positions: fix the structure")
    _require(np.isfinite(atoms.cell.array).all(),
             "atoms.cell has non-finite entries: set a finite cell (atoms.set_cell)")
    masses = atoms.get_masses()
    _require(np.all(np.isfinite(masses) & (masses > 0)),
             "atoms has non-finite or non-positive masses: set them with atoms.set_masses")
    given = (f"the class {calculator.__name__}" if isinstance(calculator, type)
             else type(calculator).__name__)
    _require(not isinstance(calculator, type)
             and (callable(getattr(calculator, "calculate", None))
                  or all(callable(getattr(calculator, method, None))
                         for method in ("get_potential_energy", "get_forces"))),
             f"calculator must be an ASE calculator object (e.g. ase.calculators.emt.EMT() or "
             f"mlffkit.md.calculator(model)), got {given}", TypeError)


def _check_rules(stop_rules) -> list[StopRule]:
    try:
        rules = None if isinstance(stop_rules, StopRule) else list(stop_rules)
    except TypeError:
        rules = None
    _require(rules is not None and all(isinstance(rule, StopRule) for rule in rules),
             "stop_rules must be a list of stop rules (each with name, start(atoms) and "
             "check(atoms, step, time_fs)), e.g. [BondLengthRule()]", TypeError)
    return rules


def _check_outputs(trajectory, log, overwrite: bool) -> tuple[Path | None, Path | None]:
    paths = [None if path is None else check_output_path(name, path, overwrite)
             for name, path in (("trajectory", trajectory), ("log", log))]
    _require(None in paths or paths[0].resolve() != paths[1].resolve(),
             "trajectory and log are the same file: give them different paths")
    return paths[0], paths[1]
