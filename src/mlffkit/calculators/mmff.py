"""MMFF94 (RDKit) as an ASE calculator for a molecule given only as atoms and positions.

MMFF94 needs a topology: bonds, bond orders, formal charges, atom types. Here it is perceived
from a geometry with RDKit's ``rdDetermineBonds.DetermineBonds`` (connectivity from covalent
radii, then bond orders and charges that make the molecule's total ``charge``; van der Lubbe /
xyz2mol), once, on a *reference* structure: the ``reference`` Atoms given to the constructor,
else the first structure the calculator is asked about. The topology is then fixed: a bond
stretched in MD stays a bond (re-perceiving along a trajectory would change the energy surface
under the run). A calculator therefore belongs to one molecule; asking it about another set of
atoms is an error.

The atom order is the order of the ASE ``Atoms`` (RDKit atoms are created in that order and
never reordered), so forces line up with ``atoms.positions`` row by row.

Units: RDKit's MMFF works in kcal/mol and kcal/mol/Å; energies and forces are returned in eV
and eV/Å with :data:`KCAL_MOL_TO_EV` (ASE's ``units.kcal / units.mol``). The energy zero is
MMFF's own (a strain energy of a few eV), unrelated to the total electronic energies of DFT or
xTB: compare energies across methods only after removing a constant offset.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from mlffkit.units import KCAL_MOL_TO_EV

MMFF_VARIANTS = ("MMFF94", "MMFF94s")


class MMFFParameterError(ValueError):
    """MMFF94 has no parameters for the perceived molecule (or its bonds cannot be perceived)."""


def rdkit_version() -> str:
    return metadata.version("rdkit")


def molecule_from_atoms(atoms: Atoms, charge: int = 0):
    """An RDKit ``Mol`` with one conformer, atoms in the order of ``atoms``, and bonds, bond
    orders and formal charges perceived from the geometry (``DetermineBonds``)."""
    from rdkit import Chem
    from rdkit.Chem import rdDetermineBonds

    numbers = np.asarray(atoms.numbers)
    positions = np.asarray(atoms.positions, dtype=float)
    mol = Chem.RWMol()
    for z in numbers:
        mol.AddAtom(Chem.Atom(int(z)))
    conformer = Chem.Conformer(len(numbers))
    for i, xyz in enumerate(positions):
        conformer.SetAtomPosition(i, xyz.tolist())
    mol.AddConformer(conformer, assignId=True)
    mol = mol.GetMol()
    try:
        rdDetermineBonds.DetermineBonds(mol, charge=int(charge))
    except (ValueError, RuntimeError) as err:
        raise MMFFParameterError(
            f"RDKit could not perceive bonds of {atoms.get_chemical_formula()} with total "
            f"charge {charge}: {err}") from err
    return mol


def mmff_energy_forces(force_field, positions: np.ndarray) -> tuple[float, np.ndarray]:
    """Energy (eV) and forces (eV/Å) of an RDKit MMFF force field at ``positions`` (N, 3) Å."""
    flat = np.asarray(positions, dtype=float).ravel().tolist()
    energy = float(force_field.CalcEnergy(flat)) * KCAL_MOL_TO_EV
    forces = -np.reshape(force_field.CalcGrad(flat), (len(flat) // 3, 3)) * KCAL_MOL_TO_EV
    return energy, forces


class MMFF94(Calculator):
    """Energy (eV) and forces (eV/Å) of one molecule with RDKit's MMFF94; see the module
    docstring for how the topology is found and fixed.

    reference: the structure whose geometry defines bonds and atom types (default: the first
    structure calculated). variant: ``"MMFF94"`` or ``"MMFF94s"``. charge: total charge used to
    assign bond orders. nonbonded_cutoff_A: RDKit's ``nonBondedThresh`` (default 100 Å, i.e. all
    pairs of a small molecule).
    """

    implemented_properties = ["energy", "free_energy", "forces"]
    default_parameters: dict[str, Any] = {"variant": "MMFF94", "charge": 0,
                                          "nonbonded_cutoff_A": 100.0}

    def __init__(self, reference: Atoms | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if self.parameters["variant"] not in MMFF_VARIANTS:
            raise ValueError(f"variant must be one of {MMFF_VARIANTS}, "
                             f"got {self.parameters['variant']!r}")
        self.mol = None
        self._ff = None
        self._numbers: np.ndarray | None = None
        if reference is not None:
            self.set_topology(reference)

    # -- topology --------------------------------------------------------------------------
    def set_topology(self, reference: Atoms) -> None:
        """Perceive bonds on ``reference`` and build the force field (replaces any earlier)."""
        from rdkit.Chem import AllChem

        if reference.pbc.any():
            raise NotImplementedError("MMFF94 here is for isolated molecules (no periodic cell)")
        p = self.parameters
        mol = molecule_from_atoms(reference, charge=p["charge"])
        formula = reference.get_chemical_formula()
        props = AllChem.MMFFGetMoleculeProperties(mol, mmffVariant=p["variant"])
        if props is None or not AllChem.MMFFHasAllMoleculeParams(mol):
            from rdkit import Chem
            raise MMFFParameterError(
                f"{p['variant']} has no parameters for {formula} as perceived from its geometry "
                f"({Chem.MolToSmiles(Chem.RemoveHs(mol, sanitize=False))}); MMFF94 covers "
                "common organic chemistry (H, C, N, O, F, Si, P, S, Cl, Br, I and a few ions)")
        self._ff = AllChem.MMFFGetMoleculeForceField(
            mol, props, nonBondedThresh=float(p["nonbonded_cutoff_A"]),
            ignoreInterfragInteractions=False)
        if self._ff is None:
            raise MMFFParameterError(f"RDKit could not set up {p['variant']} for {formula}")
        self.mol = mol
        self._numbers = np.array(reference.numbers)

    @property
    def bonds(self) -> np.ndarray:
        """Perceived bonds ``(B, 2)`` (atom indices, i < j); empty before the first call."""
        if self.mol is None:
            return np.zeros((0, 2), dtype=int)
        pairs = [sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx())) for b in self.mol.GetBonds()]
        return np.array(sorted(pairs), dtype=int).reshape(-1, 2)

    def smiles(self) -> str | None:
        """The perceived molecule as SMILES (hydrogens implicit), or None before any call."""
        if self.mol is None:
            return None
        from rdkit import Chem

        return Chem.MolToSmiles(Chem.RemoveHs(self.mol))

    def describe(self) -> dict[str, Any]:
        """What goes into a provenance record."""
        return {"engine": "rdkit", "version": rdkit_version(), **dict(self.parameters),
                "topology": "rdDetermineBonds.DetermineBonds on the reference geometry",
                "smiles": self.smiles()}

    # -- ASE ---------------------------------------------------------------------------------
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if self.atoms.pbc.any():
            raise NotImplementedError("MMFF94 here is for isolated molecules (no periodic cell)")
        if self._ff is None:
            self.set_topology(self.atoms)
        elif not np.array_equal(self._numbers, self.atoms.numbers):
            raise ValueError(
                f"this MMFF94 calculator was set up for {self._formula()} (atoms in that "
                f"order); got {self.atoms.get_chemical_formula()}: make a new calculator (or "
                "call set_topology) for another molecule")
        energy, forces = mmff_energy_forces(self._ff, self.atoms.positions)
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}

    def _formula(self) -> str:
        return Atoms(numbers=self._numbers).get_chemical_formula()
