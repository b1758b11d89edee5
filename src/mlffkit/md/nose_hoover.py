"""A single Nosé-Hoover thermostat, the scheme of MDsim (Fu et al. 2023, taken from mdgrad).

Fu et al. run every NVT simulation of MD17, water and LiPS with this integrator, so its
damping, not ASE's Nosé-Hoover chain, is what their stability times were measured under:

- thermostat mass ``Q = 3 N kT τ²`` (MDsim: ``τ = ttime · dt`` with ``ttime = 20``);
- target kinetic energy ``K* = 3 N kT / 2`` (3N degrees of freedom: the centre of mass is not
  removed);
- per step, with ``a = F/m`` and ``K`` the kinetic energy::

      x    += v dt + (a - ζ v) dt²/2
      v½    = v + (a - ζ v) dt/2
      (new forces, a')
      ζ    += dt/(2Q) (K(v) - K*) + dt/(2Q) (K(v½) - K*)
      v     = (v½ + a' dt/2) / (1 + ζ dt/2)

ASE's ``NoseHooverChainNVT`` with one thermostat is the same equations of motion integrated
differently (a Suzuki-Yoshida splitting), and its ``tdamp`` enters ``Q`` as ``3 N kT tdamp²`` with
the friction ``p_η/Q`` where this scheme has ``ζ``: the two agree in the ensemble they sample
(``tests/md/test_nose_hoover.py`` checks the kinetic-energy distribution of both), not step by
step. Its one deterministic thermostat on a harmonic system is not ergodic in one dimension;
on many coupled degrees of freedom it samples the canonical kinetic-energy distribution.
"""

from __future__ import annotations

from ase import Atoms, units
from ase.md.md import MolecularDynamics

#: MDsim's ``ttime``: the thermostat time in time steps in every Fu et al. NVT config
FU2023_DAMPING_STEPS = 20


class NoseHooverNVT(MolecularDynamics):
    """MDsim's Nosé-Hoover integrator as an ASE dynamics object (ASE units).

    timestep: in ASE time units (``fs * ase.units.fs``); temperature_K: target temperature;
    tdamp: the thermostat time ``τ`` in ASE time units (MDsim: ``20 * timestep``).
    ``zeta`` (1/ASE time) is the thermostat variable; it starts at 0, as MDsim's."""

    def __init__(self, atoms: Atoms, timestep: float, *, temperature_K: float, tdamp: float,
                 **kwargs):
        super().__init__(atoms, timestep, **kwargs)
        n_atoms = len(atoms)
        kT = units.kB * temperature_K
        self.target_kinetic = 1.5 * n_atoms * kT
        self.Q = 3.0 * n_atoms * kT * tdamp ** 2
        self.zeta = 0.0

    def step(self, forces=None):
        atoms, dt, zeta = self.atoms, self.dt, self.zeta
        if forces is None:
            forces = atoms.get_forces(md=True)
        masses = atoms.get_masses()[:, None]
        velocities = atoms.get_velocities()
        kinetic = atoms.get_kinetic_energy()
        drift = forces / masses - zeta * velocities
        atoms.set_positions(atoms.positions + velocities * dt + drift * (0.5 * dt * dt))
        half = velocities + 0.5 * dt * drift
        atoms.set_velocities(half)
        kinetic_half = atoms.get_kinetic_energy()
        forces = atoms.get_forces(md=True)
        self.zeta = zeta + 0.5 * dt / self.Q * (kinetic - self.target_kinetic) \
            + 0.5 * dt / self.Q * (kinetic_half - self.target_kinetic)
        atoms.set_velocities((half + 0.5 * dt * forces / masses) / (1.0 + 0.5 * dt * self.zeta))
        return forces
