"""OpenMM behind ASE: the one place mlffkit imports OpenMM, builds contexts and converts its
units (nm, kJ/mol) to ASE's (Å, eV).

:class:`OpenMMCalculator` evaluates any OpenMM ``System`` whose particles are the Atoms' atoms
in order; :class:`~mlffkit.calculators.SPCFw` and :class:`~mlffkit.calculators.AmberGBn2`
build their systems on it. OpenMM is an optional dependency (the ``fu`` extra).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from mlffkit.ase_state import ExactStateCheck

KJ_PER_MOL_TO_EV = 1.0 / 96.48533212331002
KCAL_TO_KJ = 4.184


def openmm():
    """The ``openmm`` module, or an ImportError that names the extra to install."""
    try:
        import openmm as mm
    except ImportError as error:
        raise ImportError("this calculator needs OpenMM: pip install 'mlffkit[fu]' (openmm 8.4)"
                          ) from error
    return mm


def openmm_version() -> str:
    return openmm().__version__


def make_context(system, integrator, platform: str):
    """An OpenMM context on ``platform`` (``"Reference"``: double precision, deterministic;
    ``"CPU"``: faster, mixed precision, on one thread)."""
    mm = openmm()
    return mm.Context(system, integrator, mm.Platform.getPlatformByName(platform),
                      {"Threads": "1"} if platform == "CPU" else {})


def md_units():
    return openmm().unit.md_unit_system


def energy_and_forces(context, positions_A: np.ndarray) -> tuple[float, np.ndarray]:
    """Energy (eV) and forces (eV/Å) of ``context``'s system at ``positions_A`` (Å)."""
    context.setPositions(np.asarray(positions_A, dtype=np.float64) / 10)
    state = context.getState(getEnergy=True, getForces=True)
    energy = state.getPotentialEnergy().value_in_unit_system(md_units()) * KJ_PER_MOL_TO_EV
    forces = np.asarray(state.getForces(asNumpy=True).value_in_unit_system(md_units()))
    return float(energy), forces * KJ_PER_MOL_TO_EV / 10


class OpenMMCalculator(ExactStateCheck, Calculator):
    """ASE calculator of a fixed OpenMM ``System`` (non-periodic or with the system's own box):
    the Atoms' atoms are the system's particles, in order. Energies in eV, forces in eV/Å.

    platform: ``"Reference"`` (double precision, deterministic) or ``"CPU"`` (faster, mixed
    precision, one thread)."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, system=None, platform: str = "Reference", **kwargs):
        super().__init__(**kwargs)
        self.system, self.platform = system, platform
        self._context = None

    def describe(self) -> dict[str, Any]:
        return {"engine": "openmm", "version": openmm_version(), "platform": self.platform}

    def context_for(self, numbers: np.ndarray, cell: np.ndarray):
        """The OpenMM context that evaluates these atoms (built on first use; subclasses whose
        system depends on the atoms rebuild it here). Raises ValueError for atoms that are not
        this calculator's system."""
        n = self.system.getNumParticles()
        if len(numbers) != n:
            raise ValueError(f"{type(self).__name__} evaluates {n} atoms, got {len(numbers)}")
        if self._context is None:
            self._context = make_context(self.system, openmm().VerletIntegrator(0.001),
                                         self.platform)
        return self._context

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        energy, forces = self.evaluate(self.atoms.positions, self.atoms.numbers,
                                       self.atoms.cell.array)
        self.results = {"energy": energy, "forces": forces}

    def evaluate(self, positions: np.ndarray, numbers: np.ndarray, cell: np.ndarray
                 ) -> tuple[float, np.ndarray]:
        """Energy (eV) and forces (eV/Å) of one frame."""
        return energy_and_forces(self.context_for(np.asarray(numbers), np.asarray(cell)),
                                 positions)

    def close(self) -> None:
        """Destroy the OpenMM context now (it owns a thread pool; destroying one inherited
        through ``fork`` deadlocks the child). It is rebuilt on the next evaluation."""
        self._context = None

    def evaluate_frames(self, positions: np.ndarray, numbers: np.ndarray, cell: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Energies ``(F,)`` (eV) and forces ``(F, N, 3)`` (eV/Å) of frames ``(F, N, 3)``."""
        labels = [self.evaluate(np.asarray(p, dtype=np.float64), numbers, cell)
                  for p in positions]
        return np.array([e for e, _ in labels]), np.stack([f for _, f in labels])
