"""Alanine dipeptide (Ace-Ala-Nme, 22 atoms) with Amber ff14SB and GBn2 implicit solvent in
OpenMM: Fu et al.'s alanine-dipeptide system with its explicit water replaced by a
deterministic continuum, as an OpenMM ``System`` and as an ASE calculator.

The topology and atom order are those of Fu et al.'s ``ala2.pdb`` (registry dataset
``mdsim/alanine/pdb``; its element column calls the alpha carbon ``CA``, calcium, so elements
are taken from the atom names). Force field: OpenMM's ``amber14-all.xml`` (ff14SB) with
``implicit/gbn2.xml`` (GBn2, Nguyen et al. 2013), no cut-off, no constraints (Fu's ML runs use
2 fs without constraints; so does everything here), no centre-of-mass motion remover.

Fu et al.'s dihedrals (1-based atoms 5-7-9-15 and 7-9-15-17 of ``ala2.pdb``) are
:data:`PHI` and :data:`PSI` (0-based).
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Any

import numpy as np

from .openmm_engine import OpenMMCalculator, openmm

#: backbone dihedrals, 0-based atom indices of ``ala2.pdb`` (C-N-CA-C and N-CA-C-N)
PHI = (4, 6, 8, 14)
PSI = (6, 8, 14, 16)
FORCE_FIELD = ("amber14-all.xml", "implicit/gbn2.xml")
PDB_DATASET = "mdsim/alanine/pdb"


@lru_cache(maxsize=1)
def ala2_pdb():
    """Fu et al.'s ``ala2.pdb`` as an OpenMM ``PDBFile``, elements from the atom names."""
    from openmm import app

    from mlffkit.data import registry
    from mlffkit.data.readers import read_pdb

    path = registry.resolve(PDB_DATASET)
    frames = read_pdb(path, elements_from_names=True)
    from ase.data import chemical_symbols

    lines, atom = [], 0
    for line in path.read_text().splitlines():
        if line.startswith(("ATOM", "HETATM")):
            symbol = chemical_symbols[int(frames.numbers[atom])]
            line = f"{line[:76].ljust(76)}{symbol.rjust(2)}{line[78:]}"
            atom += 1
        lines.append(line)
    openmm()
    return app.PDBFile(io.StringIO("\n".join(lines) + "\n"))


def ala2_numbers() -> np.ndarray:
    return np.array([a.element.atomic_number for a in ala2_pdb().topology.atoms()])


def ala2_positions() -> np.ndarray:
    """The pdb's coordinates (Å)."""
    unit = openmm().unit
    return np.asarray(ala2_pdb().getPositions(asNumpy=True).value_in_unit(unit.angstrom))


def ala2_masses() -> np.ndarray:
    """The system's masses (amu), as OpenMM has them."""
    system = ala2_system()
    unit = openmm().unit
    return np.array([system.getParticleMass(i).value_in_unit(unit.dalton)
                     for i in range(system.getNumParticles())])


def ala2_system():
    """The OpenMM ``System`` of alanine dipeptide, ff14SB + GBn2, no cut-off, unconstrained."""
    from openmm import app

    pdb = ala2_pdb()
    system = app.ForceField(*FORCE_FIELD).createSystem(
        pdb.topology, nonbondedMethod=app.NoCutoff, constraints=None, rigidWater=False,
        removeCMMotion=False)
    return system


class AmberGBn2(OpenMMCalculator):
    """ASE calculator of alanine dipeptide (ff14SB + GBn2; atoms in ``ala2.pdb``'s order).

    platform: ``"Reference"`` (double precision, deterministic, about 200 calls/s) or ``"CPU"``
    (mixed precision, about 5x faster)."""

    def __init__(self, platform: str = "Reference", **kwargs):
        super().__init__(ala2_system(), platform, **kwargs)
        self._numbers = ala2_numbers()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "model": "alanine dipeptide, Amber ff14SB + GBn2",
                "force_field": list(FORCE_FIELD), "constraints": None, "cutoff": None}

    def context_for(self, numbers: np.ndarray, cell: np.ndarray):
        if not np.array_equal(numbers, self._numbers):
            raise ValueError("AmberGBn2 evaluates alanine dipeptide with ala2.pdb's 22 atoms in "
                             "its order (mlffkit.calculators.amber.ala2_numbers())")
        return super().context_for(numbers, cell)
