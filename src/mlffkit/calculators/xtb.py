"""GFN2-xTB (tblite) as an ASE calculator whose every call starts from the same SCF guess.

``tblite.ase.TBLite`` starts each SCF from the previous wavefunction. That is about 20 % faster,
but it makes a trajectory depend on the whole history of SCF guesses, so a run resumed from a
checkpoint drifts apart from an uninterrupted one after a few hundred steps (chaos amplifies
differences at the SCF tolerance). :class:`GFN2xTB` solves every geometry from the
superposition-of-atomic-densities guess, which makes (energy, forces) a pure function of the
positions and a resumed run bitwise identical to an uninterrupted one on the same machine
and thread count.

Units: tblite works in hartree and bohr; the calculator returns eV and eV/Å with the factors
of :mod:`mlffkit.units` (ASE's ``Hartree`` and ``Bohr``, as ``tblite.ase`` uses).
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import numpy as np
from ase import units
from ase.calculators.calculator import Calculator, CalculationFailed, all_changes
from threadpoolctl import threadpool_limits

from mlffkit.units import BOHR_TO_ANGSTROM, HARTREE_TO_EV


def tblite_version() -> str:
    return metadata.version("tblite")


class GFN2xTB(Calculator):
    """Energy and forces of a molecule (no cell) with tblite; see the module docstring."""

    implemented_properties = ["energy", "free_energy", "forces"]
    default_parameters: dict[str, Any] = {
        "method": "GFN2-xTB",
        "accuracy": 1.0,
        "electronic_temperature": 300.0,  # K
        "max_iterations": 250,
        "charge": 0,
        "multiplicity": 1,
        # OpenMP threads for tblite: 1 makes results bitwise repeatable and, for molecules of
        # tens of atoms, is faster than 2 on a loaded machine
        "threads": 1,
    }

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._api = None
        self._api_numbers: np.ndarray | None = None
        self.calls = 0

    def describe(self) -> dict[str, Any]:
        """What goes into a provenance record."""
        return {"engine": "tblite", "version": tblite_version(), **dict(self.parameters),
                "scf_guess": "SAD at every call (no wavefunction restart)"}

    def _interface(self, numbers: np.ndarray, positions_bohr: np.ndarray):
        from tblite.interface import Calculator as TBLiteInterface

        if self._api is None or not np.array_equal(self._api_numbers, numbers):
            p = self.parameters
            api = TBLiteInterface(p["method"], numbers, positions_bohr,
                                  charge=float(p["charge"]), uhf=int(p["multiplicity"]) - 1)
            api.set("verbosity", 0)
            api.set("accuracy", float(p["accuracy"]))
            api.set("temperature", float(p["electronic_temperature"]) * units.kB / HARTREE_TO_EV)
            api.set("max-iter", int(p["max_iterations"]))
            self._api, self._api_numbers = api, numbers.copy()
        else:
            self._api.update(positions=positions_bohr)
        return self._api

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if self.atoms.pbc.any():
            raise NotImplementedError("GFN2xTB here is for molecules (no periodic cell)")
        numbers = self.atoms.numbers
        positions_bohr = self.atoms.positions / BOHR_TO_ANGSTROM
        try:
            with threadpool_limits(self.parameters["threads"]):
                result = self._interface(numbers, positions_bohr).singlepoint()
        except RuntimeError as err:
            self._api = None
            raise CalculationFailed(str(err)) from err
        self.calls += 1
        energy = float(result.get("energy")) * HARTREE_TO_EV
        forces = -np.asarray(result.get("gradient")) * (HARTREE_TO_EV / BOHR_TO_ANGSTROM)
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}
