"""Molecules from SMILES with RDKit (ETKDG embedding + MMFF94 relaxation) and the MMFF94
prior's energies and forces on any geometry of the same molecule.

RDKit's MMFF works in kcal/mol and kcal/mol/Å; :func:`mlffkit.calculators.mmff.mmff_energy_forces`
converts, once.
Atom order is RDKit's (heavy atoms in SMILES order, then the added hydrogens), and the
generated trajectories keep it, so an MMFF force field built from the same SMILES labels
them directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

import numpy as np

from mlffkit.calculators.mmff import mmff_energy_forces


def rdkit_version() -> str:
    return metadata.version("rdkit")


def formula(smiles: str) -> str:
    from rdkit.Chem.rdMolDescriptors import CalcMolFormula

    return CalcMolFormula(_parse(smiles))


def canonical(smiles: str) -> str:
    from rdkit import Chem

    return Chem.MolToSmiles(_parse(smiles))


def ring_count(smiles: str) -> int:
    from rdkit.Chem.rdMolDescriptors import CalcNumRings

    return CalcNumRings(_parse(smiles))


def elements(smiles: str) -> set[str]:
    from rdkit import Chem

    return {a.GetSymbol() for a in Chem.AddHs(_parse(smiles)).GetAtoms()}


def _parse(smiles: str):
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse SMILES {smiles!r}")
    return mol


@dataclass
class Molecule:
    """An RDKit molecule with hydrogens and one embedded, MMFF-relaxed conformer."""

    smiles: str
    mol: object  # rdkit.Chem.Mol

    @property
    def numbers(self) -> np.ndarray:
        return np.array([a.GetAtomicNum() for a in self.mol.GetAtoms()])

    @property
    def positions(self) -> np.ndarray:
        return np.array(self.mol.GetConformer().GetPositions(), dtype=float)


def build(smiles: str, seed: int, mmff_steps: int = 2000) -> Molecule:
    """Embed with ETKDGv3 (``seed``) and relax with MMFF94; deterministic for one RDKit."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(_parse(smiles))
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    if AllChem.EmbedMolecule(mol, params) != 0:
        raise RuntimeError(f"ETKDG could not embed {smiles!r}")
    if not AllChem.MMFFHasAllMoleculeParams(mol):
        raise ValueError(f"MMFF94 has no parameters for {smiles!r}")
    if AllChem.MMFFOptimizeMolecule(mol, maxIters=mmff_steps) != 0:
        raise RuntimeError(f"MMFF94 relaxation of {smiles!r} did not converge")
    return Molecule(smiles=smiles, mol=mol)


class MMFFPrior:
    """MMFF94 energy (eV) and forces (eV/Å) of frames of one molecule (RDKit atom order)."""

    def __init__(self, molecule: Molecule, variant: str = "MMFF94"):
        from rdkit.Chem import AllChem

        props = AllChem.MMFFGetMoleculeProperties(molecule.mol, mmffVariant=variant)
        if props is None:
            raise ValueError(f"MMFF94 has no parameters for {molecule.smiles!r}")
        self._ff = AllChem.MMFFGetMoleculeForceField(molecule.mol, props)
        self.n_atoms = molecule.mol.GetNumAtoms()

    def __call__(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``positions`` (n, N, 3) or (N, 3) in Å -> energies (n,) and forces (n, N, 3)."""
        frames = np.asarray(positions, dtype=float).reshape(-1, self.n_atoms, 3)
        energy = np.empty(len(frames))
        forces = np.empty_like(frames)
        for i, frame in enumerate(frames):
            energy[i], forces[i] = mmff_energy_forces(self._ff, frame)
        return energy, forces
