"""Resumable NVT Langevin MD with ASE, recording energies, forces and velocities.

One trajectory = an equilibration of ``n_equil`` steps (friction ``equil_friction_per_ps``,
by default stronger, to reach the target temperature quickly), then ``n_frames`` frames
``stride`` steps apart (friction ``friction_per_ps``). Frame ``k`` is the state after step
``n_equil + k * stride``; its ``time_fs`` is ``k * stride * timestep_fs``.

The integrator is the MD driver's own Langevin, built by
:func:`mlffkit.md.simulate.langevin_integrator`. Units: friction is given in 1/ps and converted
once, in :func:`mlffkit.units.friction_per_ps_to_ase`; velocities are written in Å/fs
(:data:`ASE_VELOCITY_TO_ANGSTROM_PER_FS`). The centre of mass is held by
:class:`ase.constraints.FixCom` (ASE's ``fixcm`` is deprecated), so a molecule of N atoms has
3N-3 degrees of freedom (:func:`mlffkit.metrics.kinetic_temperature` with ``removed_dof=3``).

Resuming: every ``checkpoint_every`` steps the full float64 state (positions, momenta, the
random generator's state, the frames so far, the elapsed time) is written atomically to a
``.partial.npz`` file. A rerun with the same inputs (checked by a hash) continues from there
and, with a calculator that is a pure function of the positions (:class:`~.xtb.GFN2xTB`),
produces the same frames bit for bit as an uninterrupted run.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator
from ase.constraints import FixCom
from ase.data import atomic_masses
from ase.md.velocitydistribution import Stationary, ZeroRotation, thermalize_momenta

from mlffkit.files import atomic_target
from mlffkit.md.simulate import langevin_integrator
from mlffkit.metrics.stability import find_bonds
from mlffkit.units import (ASE_VELOCITY_TO_ANGSTROM_PER_FS, FS_PER_PS,
                           friction_per_ps_to_ase)

FRAME_KEYS = ("positions", "energy", "forces", "velocities", "time_fs")



@dataclass(frozen=True)
class LangevinSettings:
    """One trajectory's thermostat, time step and sampling; see the module docstring."""

    temperature_K: float
    timestep_fs: float
    n_frames: int
    friction_per_ps: float = 1.0
    equil_friction_per_ps: float | None = None  # None: the production friction
    n_equil: int = 0
    stride: int = 1
    checkpoint_every: int = 500  # steps

    def __post_init__(self):
        if self.n_frames < 1 or self.stride < 1 or self.n_equil < 0:
            raise ValueError(f"need n_frames >= 1, stride >= 1, n_equil >= 0: {self}")

    @property
    def n_steps(self) -> int:
        return self.n_equil + (self.n_frames - 1) * self.stride

    def friction_at(self, step: int) -> float:
        """Friction (1/ps) of the step that ends at ``step`` (1-based)."""
        equil = self.equil_friction_per_ps
        return equil if (step <= self.n_equil and equil is not None) else self.friction_per_ps

    def frame_index(self, step: int) -> int | None:
        offset = step - self.n_equil
        return offset // self.stride if offset >= 0 and offset % self.stride == 0 else None


@dataclass
class Trajectory:
    """A finished run: frame arrays (float64, eV/Å/fs) and what it cost."""

    numbers: np.ndarray
    frames: dict[str, np.ndarray]
    wall_time_s: float
    cpu_time_s: float  # this process's CPU time: the cost on a shared machine
    steps: int


class Interrupted(RuntimeError):
    """Raised by :func:`run_langevin` when ``stop_after_steps`` was reached (for tests)."""


#: The generators' bond rule for :func:`connectivity_changes` (:func:`find_bonds`): a bond is
#: shorter than 1.25 times the sum of the covalent radii.
CONNECTIVITY_BONDS = {"scale": 1.25, "tolerance_A": 0.0}
#: Degrees of freedom the generators remove: the centre of mass is held (``FixCom``).
REMOVED_DOF = 3


class _Harmonic(Calculator):
    """Independent isotropic harmonic wells at the origin, ``E = k |x|^2 / 2`` per atom."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, k: float):
        super().__init__()
        self.k = k

    def calculate(self, atoms=None, properties=("energy",), system_changes=()):
        super().calculate(atoms, properties, system_changes)
        x = self.atoms.positions
        self.results = {"energy": 0.5 * self.k * float((x * x).sum()), "forces": -self.k * x}


def harmonic_thermostat_check(period_fs: float, timestep_fs: float,
                              temperature_K: float = 500.0, friction_per_ps: float = 10.0,
                              n_atoms: int = 64, n_steps: int = 2000,
                              seed: int = 0) -> dict[str, float]:
    """Kinetic and configurational temperature of hydrogen atoms in harmonic wells of the
    given period, under the Langevin integrator the generators use: how far a time step
    biases the sampled temperature of fast X-H vibrations (periods of 9-11 fs)."""
    mass = atomic_masses[1]
    omega = 2 * np.pi / (period_fs * units.fs)
    atoms = Atoms(numbers=[1] * n_atoms, positions=np.zeros((n_atoms, 3)))
    atoms.calc = _Harmonic(mass * omega**2)
    dyn = langevin_integrator(atoms, timestep_fs, temperature_K, friction_per_ps,
                              np.random.default_rng(seed))
    forces = None
    for _ in range(int(5 * FS_PER_PS / friction_per_ps / timestep_fs)):  # 5 relaxation times
        forces = dyn.step(forces)
    kinetic, potential = [], []
    for _ in range(n_steps):
        forces = dyn.step(forces)
        kinetic.append(atoms.get_kinetic_energy())
        potential.append(atoms.get_potential_energy())
    scale = 2.0 / (3 * n_atoms * units.kB)  # equipartition: <K> = <V> = 3n kT / 2
    return {"kinetic_K": scale * float(np.mean(kinetic)),
            "configurational_K": scale * float(np.mean(potential))}


def connectivity_changes(numbers: np.ndarray, reference: np.ndarray,
                         positions: np.ndarray) -> int:
    """How many frames have another bond graph than the reference geometry (reactions,
    proton transfers, dissociation), bonds by :data:`CONNECTIVITY_BONDS`."""
    def bonds(x: np.ndarray) -> np.ndarray:
        return find_bonds(np.asarray(x, dtype=float), species=numbers, **CONNECTIVITY_BONDS)

    ref = bonds(reference)
    return int(sum(not np.array_equal(bonds(p), ref) for p in positions))


def _atomic_savez(path: Path, arrays: dict[str, Any]) -> None:
    with atomic_target(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)


def _checkpoint_arrays(atoms: Atoms, rng: np.random.Generator, step: int,
                       elapsed: tuple[float, float], frames: dict[str, list],
                       run_hash: str) -> dict[str, Any]:
    arrays = {k: np.asarray(v, dtype=float) for k, v in frames.items()}
    return {**arrays, "step": np.int64(step), "elapsed_s": np.asarray(elapsed),
            "state_positions": atoms.positions.copy(), "state_momenta": atoms.get_momenta(),
            "rng_state": np.str_(json.dumps(rng.bit_generator.state)),
            "run_hash": np.str_(run_hash)}


def _restore(path: Path, run_hash: str, atoms: Atoms, rng: np.random.Generator,
             frames: dict[str, list]) -> tuple[int, tuple[float, float]]:
    with np.load(path, allow_pickle=False) as ckpt:
        if str(ckpt["run_hash"]) != run_hash:
            raise ValueError(f"checkpoint {path} belongs to other settings or inputs; delete it "
                             "or rerun with resume=False")
        atoms.positions = ckpt["state_positions"]
        atoms.set_momenta(ckpt["state_momenta"], apply_constraint=False)
        rng.bit_generator.state = json.loads(str(ckpt["rng_state"]))
        for key in FRAME_KEYS:
            frames[key] = list(ckpt[key])
        wall, cpu = ckpt["elapsed_s"]
        return int(ckpt["step"]), (float(wall), float(cpu))


def checkpoint_run_hash(path: Path) -> str:
    """The inputs hash a checkpoint was written under."""
    with np.load(path, allow_pickle=False) as ckpt:
        return str(ckpt["run_hash"])


def run_hash(numbers: np.ndarray, positions: np.ndarray, settings: LangevinSettings,
             seed: Any, calculator: dict[str, Any]) -> str:
    """What makes a trajectory: a checkpoint is only resumed under the same hash."""
    import hashlib

    payload = json.dumps({"settings": asdict(settings), "seed": seed, "calc": calculator,
                          "numbers": np.asarray(numbers).tolist()}, sort_keys=True, default=str)
    digest = hashlib.sha256(payload.encode())
    digest.update(np.ascontiguousarray(positions, dtype=float).tobytes())
    return digest.hexdigest()[:20]


def run_langevin(numbers: np.ndarray, positions: np.ndarray, settings: LangevinSettings, *,
                 seed: Any, calculator: Calculator, checkpoint: Path | None = None,
                 resume: bool = True, progress: str | bool = False,
                 stop_after_steps: int | None = None) -> Trajectory:
    """Run one trajectory (see the module docstring); ``seed`` is anything
    :func:`numpy.random.default_rng` takes. ``progress``: a tqdm label, or False."""
    from tqdm.auto import tqdm

    describe = getattr(calculator, "describe", lambda: {"calculator": type(calculator).__name__})
    key = run_hash(numbers, positions, settings, seed, describe())
    atoms = Atoms(numbers=numbers, positions=np.asarray(positions, dtype=float))
    atoms.set_constraint(FixCom())
    atoms.calc = calculator
    rng = np.random.default_rng(seed)
    frames: dict[str, list] = {k: [] for k in FRAME_KEYS}
    step, elapsed = 0, (0.0, 0.0)  # wall and CPU seconds before this process
    if checkpoint is not None and checkpoint.exists() and resume:
        step, elapsed = _restore(checkpoint, key, atoms, rng, frames)
    else:
        thermalize_momenta(atoms, temperature_K=settings.temperature_K, rng=rng)
        Stationary(atoms)
        ZeroRotation(atoms)

    dyn = langevin_integrator(atoms, settings.timestep_fs, settings.temperature_K,
                              settings.friction_at(step + 1), rng)

    def record(at_step: int) -> None:
        k = settings.frame_index(at_step)
        if k is None or k < len(frames["time_fs"]):
            return
        frames["positions"].append(atoms.positions.copy())
        frames["energy"].append(atoms.get_potential_energy())
        frames["forces"].append(atoms.get_forces(apply_constraint=False).copy())
        frames["velocities"].append(atoms.get_velocities() * ASE_VELOCITY_TO_ANGSTROM_PER_FS)
        frames["time_fs"].append(k * settings.stride * settings.timestep_fs)

    def save() -> None:
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            _atomic_savez(checkpoint, _checkpoint_arrays(atoms, rng, step, elapsed, frames, key))

    start = time.perf_counter() - elapsed[0], time.process_time() - elapsed[1]

    def spent() -> tuple[float, float]:
        return time.perf_counter() - start[0], time.process_time() - start[1]

    forces = None
    if step == 0:
        record(0)
    bar = tqdm(total=settings.n_steps, initial=step, desc=progress or None,
               disable=progress is False, mininterval=5.0, unit="step")
    with bar:
        while step < settings.n_steps:
            friction = friction_per_ps_to_ase(settings.friction_at(step + 1))
            if friction != dyn.fr:
                dyn.set_friction(friction)
            forces = dyn.step(forces)
            step += 1
            record(step)
            bar.update(1)
            elapsed = spent()
            if step % settings.checkpoint_every == 0 or step == stop_after_steps:
                save()
            if stop_after_steps is not None and step >= stop_after_steps:
                raise Interrupted(f"stopped after step {step} (checkpoint written)")
    arrays = {k: np.asarray(v, dtype=float) for k, v in frames.items()}
    wall, cpu = spent()
    return Trajectory(numbers=np.asarray(numbers), frames=arrays, wall_time_s=wall,
                      cpu_time_s=cpu, steps=settings.n_steps)
