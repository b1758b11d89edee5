"""A cheaper state check for ASE calculators.

ASE's ``Calculator.check_state`` compares the new Atoms with the last ones through
``np.allclose`` on every array, which costs about 0.1-1 ms per call on a small molecule and runs
several times per MD step (the integrator's ``get_forces`` and the driver's energy and force
reads). For calculators whose cost per call is a few milliseconds that is a large share of an MD
step. :class:`ExactStateCheck` answers the same question by exact equality of what
``all_changes`` names (positions, numbers, cell, pbc, initial charges and magnetic moments):
ASE's own tolerance is 1e-15, so the two differ only for changes below that.
"""

from __future__ import annotations

import numpy as np
from ase.calculators.calculator import all_changes


class ExactStateCheck:
    """Mixin placed before ``ase.calculators.calculator.Calculator`` in the bases."""

    def check_state(self, atoms, tol: float = 1e-15) -> list[str]:
        old = self.atoms
        if old is None or len(old) != len(atoms):
            return list(all_changes)
        if not np.array_equal(old.positions, atoms.positions):  # the usual answer in MD
            return ["positions"]
        return [name for name in ("numbers", "initial_charges", "initial_magmoms")
                if not np.array_equal(old.arrays.get(name), atoms.arrays.get(name))] + \
            [name for name, a, b in (("cell", old.cell.array, atoms.cell.array),
                                     ("pbc", old.pbc, atoms.pbc)) if not np.array_equal(a, b)]
