"""ASE calculators for cheap reference potentials on molecules.

- :class:`MMFF94`: RDKit's MMFF94 with the topology perceived from a geometry (``mmff``).
- :class:`GFN2xTB`: GFN2-xTB through tblite, every SCF from the same guess, on one thread by
  default (``xtb``; the reference-data generators use it).

Both return energies in eV and forces in eV/Å, for isolated molecules only.

- :class:`SPCFw`: flexible SPC/Fw water in OpenMM (``spcfw``; periodic; the ``fu`` extra).
- :class:`AmberGBn2`: alanine dipeptide with Amber ff14SB + GBn2 implicit solvent in OpenMM
  (``amber``; the ``fu`` extra).
- :class:`OpenMMCalculator`: any OpenMM ``System`` as an ASE calculator (``openmm_engine``).
"""

from .amber import AmberGBn2
from .mmff import MMFF94, MMFFParameterError, molecule_from_atoms
from .openmm_engine import OpenMMCalculator
from .spcfw import SPCFw
from .xtb import GFN2xTB

__all__ = ["AmberGBn2", "OpenMMCalculator", "MMFF94", "MMFFParameterError", "GFN2xTB", "SPCFw", "molecule_from_atoms"]
