"""Batched molecular dynamics: many replicas (several starts of one molecule, or several
molecules) stepped together in torch, with one model call per step for all live replicas.

>>> from mlffkit.md import simulate_batched
>>> run = simulate_batched([atoms] * 16, model, ensemble="langevin", T_K=300, dt_fs=0.5,
...                        friction_per_ps=1.0, steps=2000, seed=0,
...                        trajectory="runs/md_{replica}.extxyz", log="runs/md_{replica}.csv")
>>> [r.stop for r in run.replicas]

The integrators are those :func:`~mlffkit.md.simulate` uses (ASE 3.29), written again over
torch tensors on any device so that one replica follows the same trajectory as ``simulate``
from the same start, velocities and seed (to rounding):

- ``"nve"``: velocity Verlet (``ase.md.verlet.VelocityVerlet``).
- ``"langevin"``: ASE's Langevin scheme (``ase.md.langevin.Langevin``, ``fixcm=False``), with
  each replica's noise drawn from its own ``numpy.random.default_rng(seed)`` in ASE's order.
- ``"nose_hoover_chain"``: ASE's ``NoseHooverChainNVT`` (fourth-order Suzuki-Yoshida,
  one thermostat loop), one chain per replica.
- ``"nose_hoover"``: MDsim's single thermostat (:class:`~mlffkit.md.nose_hoover.NoseHooverNVT`),
  one per replica.

The model: an mlffkit :class:`~mlffkit.models.Potential` (or an
:class:`~mlffkit.md.MLFFCalculator` wrapping one) is evaluated once per step on a
:class:`~mlffkit.data.atoms.AtomsBatch` of all live replicas, in eval mode, forces by autograd with
``create_graph=False``, in the model's dtype (if that call raises, the live replicas are
evaluated one by one, and only those that fail alone stop); positions and momenta are float64
on the model's device (float32 on Apple's MPS, which has no float64), the Nosé-Hoover chain
variables float64 numpy arrays on the host. Any other ASE calculator (one shared by all replicas, or a list of one per replica) is
called replica by replica: the same integrators, stop rules and output, but no faster than
``simulate`` in a loop.

Units as in ``simulate``: fs, K, 1/ps, velocities in Å/fs, converted by :mod:`mlffkit.units`.

Stop rules are per replica: a replica that stops (non-finite energy, force, position or
momentum, always; a calculator error; or one of ``stop_rules``, each replica checking its own
deep copy) is frozen and dropped from the model's batch, and the others go on. Output is per
replica (``trajectory`` and ``log`` as a list of paths or a pattern with ``{replica}``), with
``simulate``'s format and promises: inputs are checked before anything runs or is written
(one-line errors), existing files are kept unless ``overwrite=True``, each frame is appended
in one flushed write (a killed run loses at most the frame being written;
:func:`~mlffkit.md.read_trajectory` reads the rest), and a stopping replica writes the frame
at which it stopped.

Not (yet) supported here: ``fix_com`` (ASE's ``FixCom`` constraint) and stress.
"""

from __future__ import annotations

import copy
import numbers
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from ase import Atoms, units
from ase.calculators.singlepoint import SinglePointCalculator
from ase.md.nose_hoover_chain import FOURTH_ORDER_COEFFS
from tqdm.auto import tqdm

from .calculator import MLFFCalculator
from .output import ThermoLog, TrajectoryWriter, check_output_path
from .simulate import (DAMPING_STEPS, SimulationResult, _check_arguments,
                       _check_rules, _check_system, _first_stop, _require,
                       _set_initial_velocities, _whole)
from .stop_rules import StopEvent
from ..data.atoms import assemble
from mlffkit.units import friction_per_ps_to_ase, fs_to_ase_time

__all__ = ["simulate_batched", "BatchedSimulationResult", "REPLICA_FIELD"]

#: The placeholder an output path pattern holds, e.g. ``"runs/md_{replica}.extxyz"``.
REPLICA_FIELD = "{replica}"
CALCULATOR_ERROR = "calculator_error"


@dataclass(frozen=True)
class BatchedSimulationResult:
    """What a batched run did.

    replicas: one :class:`~mlffkit.md.SimulationResult` per replica, in input order (its
    ``wall_time_s`` is the whole run's, so its ``steps_per_second`` is per replica).
    batched: True when the model ran once per step on all live replicas, False for the
    replica-by-replica loop over ASE calculators.
    model_calls: calls of the model (batched) or of the calculators (loop).
    """

    replicas: tuple[SimulationResult, ...]
    wall_time_s: float
    batched: bool
    model_calls: int

    def __len__(self) -> int:
        return len(self.replicas)

    def __getitem__(self, index: int) -> SimulationResult:
        return self.replicas[index]

    def __iter__(self):
        return iter(self.replicas)

    @property
    def stops(self) -> list[StopEvent | None]:
        return [replica.stop for replica in self.replicas]

    @property
    def steps_per_second(self) -> float:
        """Mean completed steps per replica / wall time: each replica's speed."""
        steps = np.mean([max(replica.steps_completed, 0) for replica in self.replicas])
        return float(steps / self.wall_time_s) if self.wall_time_s > 0 else float("nan")


def simulate_batched(systems: Atoms | Sequence[Atoms], model, *, ensemble: str, dt_fs: float,
                     steps: int, T_K: float | None = None, friction_per_ps: float | None = None,
                     tdamp_fs: float | None = None, chain_length: int = 3,
                     seed: int | Sequence[int] = 0, velocities=None,
                     stop_rules: Sequence = (), trajectory=None, log=None, log_every: int = 1,
                     write_every: int | None = None, overwrite: bool = False,
                     progress: bool = True, device=None) -> BatchedSimulationResult:
    """Run ``steps`` MD steps of every replica in ``systems`` (copied, not modified) together.

    systems: the replicas, a list of ``ase.Atoms`` (the same molecule several times, different
    molecules, or both; one ``Atoms`` is one replica).
    model: an mlffkit potential, its checkpoint path, or ``mlffkit.md.calculator(potential)``
    (one batched call per step); or any ASE calculator, shared by all replicas, or a list of
    one per replica (called in turn: not faster than ``simulate``).
    ensemble, dt_fs, steps, T_K, friction_per_ps, tdamp_fs, chain_length, log_every,
    write_every, overwrite, progress: as in :func:`~mlffkit.md.simulate`, for every replica.
    seed: an int (replica ``i`` uses ``seed + i``) or one int per replica; it draws the
    Maxwell-Boltzmann velocities and the Langevin noise exactly as ``simulate(seed=...)`` does.
    velocities: None (Maxwell-Boltzmann at ``T_K``), ``"from_atoms"``, or one ``(N, 3)`` array
    in Å/fs per replica (a list, or an array ``(replicas, N, 3)``).
    stop_rules: :class:`~mlffkit.md.stop_rules.StopRule` objects; each replica gets its own
    deep copy (``start`` and ``check`` see that replica's positions, momenta, masses and cell).
    trajectory, log: None, a list of one path per replica, or a pattern holding ``{replica}``
    (e.g. ``"md_{replica}.extxyz"``; a plain path is accepted for a single replica).
    device: where a potential runs (default: the model's device); not for ASE calculators.
    """
    _check_arguments(ensemble, dt_fs, steps, T_K, friction_per_ps, tdamp_fs, chain_length,
                     log_every, write_every)
    systems = _check_systems(systems)
    forces = _force_field(model, systems, device)
    seeds = _check_seeds(seed, len(systems))
    velocities = _per_replica_velocities(velocities, len(systems))
    rules = _check_rules(stop_rules)
    trajectories = _output_paths("trajectory", trajectory, len(systems), overwrite)
    logs = _output_paths("log", log, len(systems), overwrite)
    _require_distinct(trajectories + logs)

    views = []  # one Atoms per replica: velocities set here, then the state it is read from
    for i, (atoms, v, s) in enumerate(zip(systems, velocities, seeds)):
        atoms = atoms.copy()
        atoms.calc = None
        _replica_errors(i, _set_initial_velocities, atoms, v, T_K, s)
        views.append(atoms)
    replica_rules = [copy.deepcopy(rules) for _ in views]
    for i, (atoms, own) in enumerate(zip(views, replica_rules)):
        for rule in own:
            _replica_errors(i, rule.start, atoms)

    state = _State(views, forces.device)
    integrator = _integrator(ensemble, state, dt_fs, T_K, friction_per_ps, tdamp_fs,
                             chain_length, seeds)
    write_every = log_every if write_every is None else write_every
    writers = [None if p is None else TrajectoryWriter(p) for p in trajectories]
    thermos = [None if p is None else ThermoLog(p) for p in logs]
    completed = [-1] * len(views)
    stops: list[StopEvent | None] = [None] * len(views)
    bar = tqdm(total=steps, disable=not progress, unit="step",
               desc=f"MD {ensemble} x{len(views)}")
    started = time.perf_counter()
    try:
        errors = state.evaluate(forces, state.q)
        for step in range(steps + 1):
            if step > 0:
                if not state.any_live:
                    break
                errors = integrator.step(forces)
            _after_step(state, step, dt_fs, errors, replica_rules, views, writers, thermos,
                        completed, stops, write_every, log_every)
            bar.update(1 if step > 0 else 0)
    finally:
        wall_time = time.perf_counter() - started
        bar.close()
        for output in writers + thermos:
            if output is not None:
                output.close()
    results, host = [], state.to_host()
    for i, atoms in enumerate(views):
        final = state.replica_atoms(i, atoms, host)
        results.append(SimulationResult(
            ensemble, dt_fs, steps, completed[i], stops[i],
            writers[i].frames_written if writers[i] is not None else 0,
            trajectories[i], logs[i], wall_time, final))
    return BatchedSimulationResult(tuple(results), wall_time, forces.batched, forces.calls)


# ---------------------------------------------------------------------- the stepping loop

def _after_step(state: _State, step: int, dt_fs: float, errors: dict[int, str], rules, views,
                writers, thermos, completed, stops, write_every: int, log_every: int) -> None:
    """Stop rules, frames and thermo rows of every replica live at ``step``."""
    time_fs = step * dt_fs
    live = state.live_replicas()
    for i, message in errors.items():  # the calculator failed: the step was not completed
        stops[i] = StopEvent(CALCULATOR_ERROR, message, step, time_fs)
        state.stop(i)
    live = [i for i in live if i not in errors]
    if not live:
        return
    flagged = set(state.non_finite_replicas(live))
    output_due = ((any(writers) and step % write_every == 0)
                  or (any(thermos) and step % log_every == 0))
    need_host = bool(flagged) or any(rules[i] for i in live) or output_due
    host = state.to_host() if need_host else None
    for i in live:
        if host is not None:
            state.update_view(i, views[i], host)
        if i in flagged or rules[i]:
            stops[i] = _first_stop(rules[i], views[i], step, time_fs, host.energy[i],
                                   host.forces_of(i))
        stopped = stops[i] is not None
        if writers[i] is not None and (step % write_every == 0 or stopped):
            writers[i].write(views[i], host.energy[i], host.forces_of(i))
        if thermos[i] is not None and (step % log_every == 0 or stopped):
            thermos[i].write(step, time_fs, host.energy[i], views[i].get_kinetic_energy(),
                             views[i].get_temperature())
        completed[i] = step
        if stopped:
            state.stop(i)


@dataclass
class _Host:
    """The state of every replica on the CPU (numpy, float64)."""

    energy: np.ndarray
    positions: np.ndarray
    momenta: np.ndarray
    forces: np.ndarray
    offsets: np.ndarray

    def forces_of(self, i: int) -> np.ndarray:
        return self.forces[self.offsets[i]:self.offsets[i + 1]]


class _State:
    """Positions, momenta, forces and energies of all replicas as flat float64 tensors, and
    which replicas are live. Updates reach live replicas only (:meth:`commit`)."""

    def __init__(self, views: list[Atoms], device: torch.device):
        self.device = device
        self.dtype = torch.float32 if device.type == "mps" else torch.float64
        sizes = [len(atoms) for atoms in views]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.n_replicas = len(views)
        tensor = lambda a: torch.as_tensor(np.asarray(a), dtype=self.dtype, device=device)
        self.q = tensor(np.concatenate([a.positions for a in views]))
        self.p = tensor(np.concatenate([a.get_momenta() for a in views]))
        self.masses = tensor(np.concatenate([a.get_masses() for a in views]))[:, None]
        self.masses_np = np.concatenate([a.get_masses() for a in views])[:, None]
        self.replica_of_atom = torch.repeat_interleave(
            torch.arange(len(views), device=device), torch.tensor(sizes, device=device))
        self.forces = torch.zeros_like(self.q)
        self.energy = torch.zeros(len(views), dtype=self.dtype, device=device)
        self._live = [True] * len(views)
        self._live_atoms = torch.ones(self.q.shape[0], 1, dtype=torch.bool, device=device)

    # -- which replicas run
    @property
    def any_live(self) -> bool:
        return any(self._live)

    def live_replicas(self) -> list[int]:
        return [i for i, live in enumerate(self._live) if live]

    def live_flags(self) -> np.ndarray:
        return np.array(self._live)

    def stop(self, i: int) -> None:
        if self._live[i]:
            self._live[i] = False
            self._live_atoms[self.offsets[i]:self.offsets[i + 1]] = False

    def commit(self, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
        """``new`` for the atoms of live replicas, ``old`` for the others."""
        return torch.where(self._live_atoms, new, old)

    # -- forces
    def evaluate(self, forces: _ForceField, q: torch.Tensor) -> dict[int, str]:
        """Energies and forces of the live replicas at positions ``q`` into ``self.energy``
        and ``self.forces`` (zero forces for a replica whose calculator failed); returns
        ``{replica: error message}`` for those."""
        live = self.live_replicas()
        energy, force, errors = forces(q, live)
        self.energy[torch.as_tensor(live, device=self.device)] = energy.to(self.dtype)
        self.forces = self.commit(self.forces, force.to(self.dtype))
        return errors

    # -- checks and output
    def non_finite_replicas(self, live: list[int]) -> list[int]:
        """Live replicas with a non-finite energy, force, position or momentum (one small
        device-to-host copy)."""
        bad_atom = ~(torch.isfinite(self.forces) & torch.isfinite(self.q)
                     & torch.isfinite(self.p)).all(dim=1)
        bad = torch.zeros(self.n_replicas, dtype=torch.long, device=self.device)
        bad.index_add_(0, self.replica_of_atom, bad_atom.long())
        bad = (bad > 0) | ~torch.isfinite(self.energy)
        flags = bad.cpu().numpy()
        return [i for i in live if flags[i]]

    def to_host(self) -> _Host:
        return _Host(*(t.detach().cpu().double().numpy()
                       for t in (self.energy, self.q, self.p, self.forces)), self.offsets)

    def update_view(self, i: int, atoms: Atoms, host: _Host) -> None:
        rows = slice(self.offsets[i], self.offsets[i + 1])
        atoms.positions[:] = host.positions[rows]
        atoms.set_momenta(host.momenta[rows], apply_constraint=False)

    def replica_atoms(self, i: int, atoms: Atoms, host: _Host) -> Atoms:
        """Replica ``i``'s final state, its last energy and forces attached."""
        final = atoms.copy()
        self.update_view(i, final, host)
        final.calc = SinglePointCalculator(final, energy=float(host.energy[i]),
                                           forces=host.forces_of(i).copy())
        return final


# ---------------------------------------------------------------------- integrators

class _VelocityVerlet:
    """``ase.md.verlet.VelocityVerlet.step`` (no constraints), for all live replicas."""

    def __init__(self, state: _State, dt: float):
        self.state, self.dt = state, dt

    def step(self, forces: _ForceField) -> dict[int, str]:
        s, dt = self.state, self.dt
        p = s.p + 0.5 * dt * s.forces
        q = s.commit(s.q, s.q + dt * p / s.masses)
        errors = s.evaluate(forces, q)
        s.q, s.p = q, s.commit(s.p, p + 0.5 * dt * s.forces)
        return errors


class _Langevin:
    """``ase.md.langevin.Langevin.step`` with ``fixcm=False`` (no constraints), its
    coefficients computed as ASE does, and each replica's noise (``xi`` then ``eta``) drawn
    from its own generator in ASE's order."""

    def __init__(self, state: _State, dt: float, T_K: float, friction: float, seeds):
        self.state, self.dt = state, dt
        self.rngs = [np.random.default_rng(seed) for seed in seeds]
        temperature = units.kB * T_K
        sigma = np.sqrt(2 * temperature * friction / state.masses_np)
        c5 = dt**1.5 * sigma / (2 * np.sqrt(3))
        tensor = lambda a: torch.as_tensor(a, dtype=state.dtype, device=state.device)
        self.c1 = dt / 2.0 - dt * dt * friction / 8.0
        self.c2 = dt * friction / 2 - dt * dt * friction * friction / 8.0
        self.c3 = tensor(np.sqrt(dt) * sigma / 2.0 - dt**1.5 * friction * sigma / 8.0)
        self.c4 = tensor(friction / 2.0 * c5)
        self.c5 = tensor(c5)

    def _noise(self) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.state
        xi, eta = np.zeros((2, s.q.shape[0], 3))
        for i in s.live_replicas():
            rows = slice(s.offsets[i], s.offsets[i + 1])
            xi[rows] = self.rngs[i].standard_normal(size=(rows.stop - rows.start, 3))
            eta[rows] = self.rngs[i].standard_normal(size=(rows.stop - rows.start, 3))
        noise = torch.as_tensor(np.stack([xi, eta]), dtype=s.dtype).to(s.device)
        return noise[0], noise[1]

    def step(self, forces: _ForceField) -> dict[int, str]:
        s, dt, m = self.state, self.dt, self.state.masses
        xi, eta = self._noise()
        rnd_pos = self.c5 * eta
        rnd_vel = self.c3 * xi - self.c4 * eta
        v = s.p / m
        v = v + (self.c1 * s.forces / m - self.c2 * v + rnd_vel)
        x = s.q
        q = s.commit(x, x + dt * v + rnd_pos)
        v = (q - x - rnd_pos) / dt
        errors = s.evaluate(forces, q)
        v = v + (self.c1 * s.forces / m - self.c2 * v + rnd_vel)
        s.q, s.p = q, s.commit(s.p, v * m)
        return errors


class _NoseHooverChain:
    """``ase.md.nose_hoover_chain.NoseHooverChainNVT.step`` (``tloop=1``), one chain per
    replica. The chain variables, ``(replicas, chain_length)``, live in numpy on the host: within
    one thermostat half-step the momenta of a replica only scale by a factor, so its kinetic
    term is summed once on the device and rescaled, and the momenta are scaled once at the end
    (the same arithmetic as ASE up to rounding, with one device-to-host copy per half-step)."""

    def __init__(self, state: _State, dt: float, T_K: float, tdamp: float, chain_length: int):
        self.state, self.dt, self.chain = state, dt, chain_length
        self.kT = units.kB * T_K
        n_atoms = np.diff(state.offsets).astype(float)
        self.Q = np.full((state.n_replicas, chain_length), self.kT * tdamp**2)
        self.Q[:, 0] = 3 * n_atoms * self.kT * tdamp**2
        self.n_kT = 3 * n_atoms * self.kT
        self.eta = np.zeros_like(self.Q)
        self.p_eta = np.zeros_like(self.Q)

    def step(self, forces: _ForceField) -> dict[int, str]:
        s, dt = self.state, self.dt
        p = self._integrate_nhc(s.p, dt / 2)
        p = p + dt / 2 * s.forces
        q = s.commit(s.q, s.q + dt * p / s.masses)
        errors = s.evaluate(forces, q)
        p = self._integrate_nhc(p + dt / 2 * s.forces, dt / 2)
        s.q, s.p = q, s.commit(s.p, p)
        return errors

    def _integrate_nhc(self, p: torch.Tensor, delta: float) -> torch.Tensor:
        s = self.state
        live = s.live_flags()
        twice_kinetic = torch.zeros(s.n_replicas, dtype=s.dtype, device=s.device).index_add_(
            0, s.replica_of_atom, (p**2 / s.masses).sum(dim=1)).cpu().double().numpy()
        twice_kinetic = np.where(live, twice_kinetic, 0.0)  # a stopped replica may be NaN
        eta, p_eta, scale = self.eta.copy(), self.p_eta.copy(), np.ones(s.n_replicas)
        for coeff in FOURTH_ORDER_COEFFS:
            d = coeff * delta
            for j in reversed(range(self.chain)):
                self._integrate_p_eta_j(p_eta, j, d / 2, d / 4, twice_kinetic * scale**2)
            eta += d * p_eta / self.Q
            scale *= np.exp(-d * p_eta[:, 0] / self.Q[:, 0])
            for j in range(self.chain):
                self._integrate_p_eta_j(p_eta, j, d / 2, d / 4, twice_kinetic * scale**2)
        self.eta[live], self.p_eta[live] = eta[live], p_eta[live]
        factor = torch.as_tensor(scale, dtype=s.dtype).to(s.device)
        return p * factor[s.replica_of_atom, None]

    def _integrate_p_eta_j(self, p_eta, j: int, delta2: float, delta4: float,
                           twice_kinetic: np.ndarray) -> None:
        Q = self.Q
        if j < self.chain - 1:
            p_eta[:, j] *= np.exp(-delta4 * p_eta[:, j + 1] / Q[:, j + 1])
        if j == 0:
            g = twice_kinetic - self.n_kT
        else:
            g = p_eta[:, j - 1] ** 2 / Q[:, j - 1] - self.kT
        p_eta[:, j] += delta2 * g
        if j < self.chain - 1:
            p_eta[:, j] *= np.exp(-delta4 * p_eta[:, j + 1] / Q[:, j + 1])


class _NoseHoover:
    """:class:`~mlffkit.md.nose_hoover.NoseHooverNVT.step` (MDsim's single thermostat), one
    ``ζ`` per replica, kept on the device."""

    def __init__(self, state: _State, dt: float, T_K: float, tdamp: float):
        self.state, self.dt = state, dt
        n_atoms = torch.as_tensor(np.diff(state.offsets), dtype=state.dtype, device=state.device)
        kT = units.kB * T_K
        self.target_kinetic = 1.5 * n_atoms * kT
        self.Q = 3.0 * n_atoms * kT * tdamp ** 2
        self.zeta = torch.zeros(state.n_replicas, dtype=state.dtype, device=state.device)

    def _kinetic(self, p: torch.Tensor) -> torch.Tensor:
        s = self.state
        return 0.5 * torch.zeros(s.n_replicas, dtype=s.dtype, device=s.device).index_add_(
            0, s.replica_of_atom, (p ** 2 / s.masses).sum(dim=1))

    def step(self, forces: _ForceField) -> dict[int, str]:
        s, dt = self.state, self.dt
        zeta = self.zeta[s.replica_of_atom, None]
        v = s.p / s.masses
        kinetic = self._kinetic(s.p)
        drift = s.forces / s.masses - zeta * v
        q = s.commit(s.q, s.q + v * dt + drift * (0.5 * dt * dt))
        half = v + 0.5 * dt * drift
        errors = s.evaluate(forces, q)
        new = self.zeta + 0.5 * dt / self.Q * (kinetic - self.target_kinetic) \
            + 0.5 * dt / self.Q * (self._kinetic(half * s.masses) - self.target_kinetic)
        live = torch.as_tensor(s.live_flags(), device=s.device)
        self.zeta = torch.where(live, new, self.zeta)
        v = (half + 0.5 * dt * s.forces / s.masses) / (1.0 + 0.5 * dt * self.zeta[
            s.replica_of_atom, None])
        s.q, s.p = q, s.commit(s.p, v * s.masses)
        return errors


def _integrator(ensemble: str, state: _State, dt_fs: float, T_K, friction_per_ps, tdamp_fs,
                chain_length: int, seeds):
    dt = fs_to_ase_time(dt_fs)
    if ensemble == "nve":
        return _VelocityVerlet(state, dt)
    if ensemble == "langevin":
        return _Langevin(state, dt, T_K, friction_per_ps_to_ase(friction_per_ps), seeds)
    damping_fs = DAMPING_STEPS[ensemble] * dt_fs if tdamp_fs is None else tdamp_fs
    if ensemble == "nose_hoover":
        return _NoseHoover(state, dt, T_K, fs_to_ase_time(damping_fs))
    return _NoseHooverChain(state, dt, T_K, fs_to_ase_time(damping_fs), chain_length)


# ---------------------------------------------------------------------- the model side

class _ForceField:
    """Energies (live replicas,) and forces (all atoms, 3) of the live replicas at ``q``,
    plus ``{replica: message}`` for replicas whose evaluation raised."""

    batched: bool
    device: torch.device
    calls: int = 0

    def __call__(self, q: torch.Tensor, live: list[int]):
        raise NotImplementedError


class _BatchedPotential(_ForceField):
    """An mlffkit potential evaluated once per call on an ``AtomsBatch`` of the live replicas.
    If that call raises, each live replica is evaluated alone, so that only the ones that fail
    on their own stop (with the error), and the others go on."""

    batched = True

    def __init__(self, calc: MLFFCalculator, systems: list[Atoms]):
        self.potential, self.dtype = calc.potential, calc.dtype
        self.device = calc.device if calc.device is not None else torch.device("cpu")
        self.numbers = torch.as_tensor(np.concatenate([a.numbers for a in systems]),
                                       dtype=torch.long, device=self.device)
        sizes = [len(a) for a in systems]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.cell = self.pbc = None
        if any(a.pbc.any() for a in systems):
            self.cell = torch.as_tensor(np.stack([a.cell.array for a in systems]),
                                        dtype=self.dtype, device=self.device)
            self.pbc = torch.as_tensor(np.stack([a.pbc for a in systems]), dtype=torch.bool,
                                       device=self.device)
        self._layouts: dict[tuple[int, ...], tuple] = {}

    def _layout(self, live: tuple[int, ...]):
        """Atom indices (None: all atoms) and the batch index of the replicas ``live``."""
        if live not in self._layouts:
            rows = [np.arange(self.offsets[i], self.offsets[i + 1]) for i in live]
            sizes = torch.as_tensor([len(r) for r in rows], device=self.device)
            everyone = len(live) == len(self.offsets) - 1
            index = None if everyone else torch.as_tensor(np.concatenate(rows),
                                                          device=self.device)
            batch = torch.repeat_interleave(torch.arange(len(live), device=self.device), sizes)
            self._layouts = {live: (index, batch)}  # the live set only ever shrinks
        return self._layouts[live]

    def _evaluate(self, q: torch.Tensor, live: tuple[int, ...]):
        index, batch_index = self._layout(live)
        pos = q if index is None else q[index]
        replicas = torch.as_tensor(live, device=self.device)
        cell = None if self.cell is None else self.cell[replicas]
        pbc = None if self.pbc is None else self.pbc[replicas]
        numbers = self.numbers if index is None else self.numbers[index]
        batch = assemble(pos.detach().to(self.dtype), numbers, batch_index, len(live), cell, pbc)
        self.calls += 1
        out = self.potential(batch, forces=True, stress=False, create_graph=False)
        return index, out["energy"].detach(), out["forces"].detach()

    def __call__(self, q: torch.Tensor, live: list[int]):
        forces = torch.zeros_like(q)
        try:
            index, energy, force = self._evaluate(q, tuple(live))
        except Exception:  # find the replicas that fail alone
            return self._one_by_one(q, live, forces)
        if index is None:
            return energy, force, {}
        return energy, forces.index_copy(0, index, force.to(q.dtype)), {}

    def _one_by_one(self, q, live, forces):
        energies, errors = torch.zeros(len(live), dtype=q.dtype, device=q.device), {}
        for k, i in enumerate(live):
            try:
                index, energy, force = self._evaluate(q, (i,))
            except Exception as error:
                errors[i] = f"{type(error).__name__}: {error}"
                continue
            energies[k] = energy[0]
            forces = forces.index_copy(0, index, force.to(q.dtype))
        return energies, forces, errors


class _CalculatorLoop(_ForceField):
    """ASE calculators called replica by replica (the fallback for any ASE calculator)."""

    batched = False
    device = torch.device("cpu")

    def __init__(self, calculators: list, systems: list[Atoms]):
        self.atoms = [atoms.copy() for atoms in systems]
        for atoms, calc in zip(self.atoms, calculators):
            atoms.calc = calc
        self.offsets = np.concatenate([[0], np.cumsum([len(a) for a in systems])])

    def __call__(self, q: torch.Tensor, live: list[int]):
        positions = q.detach().cpu().double().numpy()
        forces = np.zeros_like(positions)
        energies, errors = np.zeros(len(live)), {}
        for k, i in enumerate(live):
            rows = slice(self.offsets[i], self.offsets[i + 1])
            atoms = self.atoms[i]
            atoms.positions[:] = positions[rows]
            self.calls += 1
            try:
                energies[k] = atoms.get_potential_energy()
                forces[rows] = atoms.get_forces()
            except Exception as error:
                errors[i] = f"{type(error).__name__}: {error}"
        return (torch.as_tensor(energies, dtype=q.dtype, device=q.device),
                torch.as_tensor(forces, dtype=q.dtype, device=q.device), errors)


def _force_field(model, systems: list[Atoms], device) -> _ForceField:
    """The batched potential or the calculator loop for ``model``, after checking every
    replica against it as ``simulate`` checks its atoms and calculator."""
    if isinstance(model, (str, os.PathLike)):  # a checkpoint
        model = MLFFCalculator(model, device=device)
    elif isinstance(model, torch.nn.Module):
        _require(callable(getattr(model, "forward", None)) and hasattr(model, "cutoff"),
                 f"model must be an mlffkit potential (with a cutoff) or an ASE calculator, "
                 f"got the module {type(model).__name__}", TypeError)
        model = MLFFCalculator(model, device=device)
    elif device is not None and isinstance(model, MLFFCalculator):
        model = MLFFCalculator(model.potential, device=device, dtype=model.dtype)
    else:
        _require(device is None, "device applies to mlffkit potentials only (an ASE "
                                 "calculator runs where it runs): drop it")
    if isinstance(model, Sequence) and not isinstance(model, (str, bytes)):
        calculators = list(model)
        _require(len(calculators) == len(systems),
                 f"model is a list of {len(calculators)} calculators for {len(systems)} "
                 f"replicas: give one per replica, or a single calculator")
    else:
        calculators = [model] * len(systems)
    for i, (atoms, calc) in enumerate(zip(systems, calculators)):
        _replica_errors(i, _check_system, atoms, calc)
    if isinstance(model, MLFFCalculator):
        return _BatchedPotential(model, systems)
    return _CalculatorLoop(calculators, systems)


# ---------------------------------------------------------------------- inputs

def _replica_errors(i: int, check, *args) -> None:
    """``check(*args)``, its one-line ValueError or TypeError naming replica ``i``."""
    try:
        check(*args)
    except (ValueError, TypeError) as error:
        raise type(error)(f"replica {i} (systems[{i}]): {error}") from None


def _check_systems(systems) -> list[Atoms]:
    if isinstance(systems, Atoms):
        return [systems]
    _require(isinstance(systems, Sequence) and not isinstance(systems, (str, bytes)),
             f"systems must be a list of ase.Atoms (one per replica), "
             f"got {type(systems).__name__}", TypeError)
    _require(len(systems) > 0, "systems is empty: give at least one ase.Atoms")
    for i, atoms in enumerate(systems):
        _require(isinstance(atoms, Atoms), f"systems[{i}] must be an ase.Atoms, "
                                           f"got {type(atoms).__name__}", TypeError)
        _require(not atoms.constraints,
                 f"systems[{i}] carries constraints ({atoms.constraints!r}), which "
                 f"simulate_batched does not apply: remove them (del atoms.constraints) or "
                 f"use simulate")
    return list(systems)


def _check_seeds(seed, n_replicas: int) -> list[int]:
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        seeds = [int(seed) + i for i in range(n_replicas)]
    else:
        _require(isinstance(seed, Sequence) and len(seed) == n_replicas,
                 f"seed must be an int (replica i uses seed + i) or a list of {n_replicas} "
                 f"ints, got {seed!r}")
        seeds = list(seed)
    _require(all(_whole(s, 0) for s in seeds), f"seeds must be integers >= 0, got {seed!r}")
    return seeds


def _per_replica_velocities(velocities, n_replicas: int) -> list:
    if velocities is None or isinstance(velocities, str):
        return [velocities] * n_replicas
    if isinstance(velocities, np.ndarray) or torch.is_tensor(velocities):
        velocities = np.asarray(velocities)
        _require(velocities.ndim == 3,
                 f"velocities must be None, 'from_atoms' or one (N, 3) array in Å/fs per "
                 f"replica (shape (replicas, N, 3)), got shape {velocities.shape}")
    _require(isinstance(velocities, (Sequence, np.ndarray)) and len(velocities) == n_replicas,
             f"velocities must be None, 'from_atoms' or one (N, 3) array in Å/fs per replica "
             f"({n_replicas} of them)")
    return list(velocities)


def _output_paths(parameter: str, paths, n_replicas: int, overwrite: bool) -> list[Path | None]:
    """One checked path (or None) per replica from None, a list, or a ``{replica}`` pattern."""
    if paths is None:
        return [None] * n_replicas
    if isinstance(paths, (str, Path)):
        if REPLICA_FIELD in str(paths):
            paths = [str(paths).replace(REPLICA_FIELD, str(i)) for i in range(n_replicas)]
        else:
            _require(n_replicas == 1,
                     f"{parameter}={str(paths)!r} is one path for {n_replicas} replicas: put "
                     f"{REPLICA_FIELD} in it (e.g. 'md_{REPLICA_FIELD}.extxyz') or give a list")
            paths = [paths]
    elif isinstance(paths, Sequence):
        _require(len(paths) == n_replicas, f"{parameter} is a list of {len(paths)} paths for "
                                           f"{n_replicas} replicas: give one per replica")
    else:
        raise TypeError(f"{parameter} must be None, a path pattern with {REPLICA_FIELD} or a "
                        f"list of paths, got {type(paths).__name__}")
    return [None if path is None else check_output_path(f"{parameter}[{i}]", path, overwrite)
            for i, path in enumerate(paths)]


def _require_distinct(paths: list[Path | None]) -> None:
    resolved = [path.resolve() for path in paths if path is not None]
    _require(len(set(resolved)) == len(resolved),
             "two outputs (trajectories or logs) are the same file: give every replica its "
             "own trajectory and log paths")
