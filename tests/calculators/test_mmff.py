"""MMFF94 as an ASE calculator: forces are -dE/dr, ASE conventions, atom order, units, errors."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule
from ase.calculators.fd import calculate_numerical_forces

from mlffkit.calculators import MMFF94, MMFFParameterError, molecule_from_atoms
from mlffkit.units import KCAL_MOL_TO_EV


def _ethanol(seed=0, noise=0.05):
    atoms = molecule("CH3CH2OH")
    atoms.positions += np.random.default_rng(seed).normal(0.0, noise, atoms.positions.shape)
    return atoms


def test_forces_are_minus_gradient_of_energy():
    atoms = _ethanol()
    atoms.calc = MMFF94()
    analytic = atoms.get_forces()
    numeric = calculate_numerical_forces(atoms, eps=1e-4)
    assert np.abs(analytic).max() > 0.1  # a distorted geometry has real forces
    np.testing.assert_allclose(analytic, numeric, atol=2e-5)


def test_ase_conventions():
    atoms = _ethanol()
    atoms.calc = MMFF94()
    energy = atoms.get_potential_energy()
    assert isinstance(energy, float)
    assert atoms.get_potential_energy(force_consistent=True) == energy  # free_energy
    forces = atoms.get_forces()
    assert forces.shape == (len(atoms), 3)
    np.testing.assert_allclose(forces.sum(axis=0), 0.0, atol=1e-9)  # no net force
    # translation invariance, rotation equivariance
    moved = atoms.copy()
    moved.calc = atoms.calc
    moved.translate([1.0, -2.0, 0.5])
    moved.rotate(37.0, "z", center="COM")
    assert moved.get_potential_energy() == pytest.approx(energy, abs=1e-9)
    rotation = moved.calc  # same calculator, topology kept
    assert rotation.smiles() == "CCO"
    c, s = np.cos(np.radians(37.0)), np.sin(np.radians(37.0))
    R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(moved.get_forces(), forces @ R.T, atol=1e-8)


def test_units_match_rdkit_kcal_per_mol():
    from rdkit.Chem import AllChem

    atoms = _ethanol(seed=3)
    calc = MMFF94(reference=atoms)
    atoms.calc = calc
    props = AllChem.MMFFGetMoleculeProperties(calc.mol)
    ff = AllChem.MMFFGetMoleculeForceField(calc.mol, props)
    flat = atoms.positions.ravel().tolist()
    assert atoms.get_potential_energy() == pytest.approx(ff.CalcEnergy(flat) * KCAL_MOL_TO_EV)
    np.testing.assert_allclose(atoms.get_forces(),
                               -np.reshape(ff.CalcGrad(flat), (-1, 3)) * KCAL_MOL_TO_EV)
    assert KCAL_MOL_TO_EV == pytest.approx(0.0433641, rel=1e-6)


def test_same_energy_as_the_smiles_built_prior():
    """Bonds perceived from the geometry give the force field that the SMILES gives."""
    from mlffkit.reference.molecules import MMFFPrior, build

    mol = build("OC(=O)c1ccccc1O", seed=0)  # salicylic acid
    atoms = Atoms(numbers=mol.numbers, positions=mol.positions)
    atoms.positions += np.random.default_rng(1).normal(0.0, 0.03, atoms.positions.shape)
    atoms.calc = MMFF94()
    energy, forces = MMFFPrior(mol)(atoms.positions)
    assert atoms.get_potential_energy() == pytest.approx(energy[0], rel=1e-10, abs=1e-10)
    np.testing.assert_allclose(atoms.get_forces(), forces[0], atol=1e-10)


def test_atom_order_is_preserved():
    atoms = _ethanol(seed=2)
    atoms.calc = MMFF94()
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    assert [a.GetAtomicNum() for a in atoms.calc.mol.GetAtoms()] == list(atoms.numbers)
    perm = np.random.default_rng(0).permutation(len(atoms))
    shuffled = atoms[perm]
    shuffled.calc = MMFF94()
    assert shuffled.get_potential_energy() == pytest.approx(energy, abs=1e-9)
    assert [a.GetAtomicNum() for a in shuffled.calc.mol.GetAtoms()] == list(shuffled.numbers)
    np.testing.assert_allclose(shuffled.get_forces(), forces[perm], atol=1e-9)


def test_topology_is_fixed_on_the_reference():
    reference = molecule("CH3CH2OH")  # atom 3 is the hydroxyl H, bonded to O (atom 2)
    calc = MMFF94(reference=reference)
    bonds = calc.bonds
    assert [2, 3] in bonds.tolist()
    reference.calc = calc
    e0 = reference.get_potential_energy()
    stretched = reference.copy()
    oh = stretched.positions[3] - stretched.positions[2]
    stretched.positions[3] += 1.5 * oh / np.linalg.norm(oh)
    stretched.calc = calc
    assert stretched.get_potential_energy() > e0 + 5.0  # the O-H bond is kept and stretched
    np.testing.assert_array_equal(calc.bonds, bonds)
    # perceived afresh, the stretched geometry is another molecule (or none MMFF knows)
    try:
        fresh = MMFF94(reference=stretched)
    except MMFFParameterError:
        return
    assert fresh.bonds.tolist() != bonds.tolist()


def test_clear_errors():
    with pytest.raises(MMFFParameterError, match="no parameters for BF3"):
        MMFF94(reference=molecule("BF3"))
    with pytest.raises(MMFFParameterError, match="could not perceive bonds"):
        MMFF94(reference=Atoms("Li2", positions=[[0, 0, 0], [0, 0, 2.7]]))
    calc = MMFF94(reference=molecule("CH3CH2OH"))
    water = molecule("H2O")
    water.calc = calc
    with pytest.raises(ValueError, match="set up for C2H6O"):
        water.get_potential_energy()
    periodic = molecule("CH3CH2OH", cell=[10, 10, 10], pbc=True)
    with pytest.raises(NotImplementedError, match="isolated molecules"):
        MMFF94(reference=periodic)
    with pytest.raises(ValueError, match="variant"):
        MMFF94(variant="UFF")


def test_molecule_from_atoms_keeps_order_and_positions():
    atoms = _ethanol(seed=4)
    mol = molecule_from_atoms(atoms)
    assert [a.GetAtomicNum() for a in mol.GetAtoms()] == list(atoms.numbers)
    np.testing.assert_allclose(mol.GetConformer().GetPositions(), atoms.positions)


def test_nve_conserves_energy():
    from mlffkit.md import simulate

    atoms = molecule("CH3CH2OH")
    calc = MMFF94(reference=atoms)
    out = []

    class Record:
        name = "record"

        def start(self, a):
            return None

        def check(self, a, step, time_fs):
            out.append(a.get_potential_energy() + a.get_kinetic_energy())

    simulate(atoms, calc, ensemble="nve", dt_fs=0.25, steps=400, T_K=300.0, seed=1,
             stop_rules=[Record()], progress=False)
    total = np.array(out)
    assert np.ptp(total) < 2e-3  # eV, over 100 fs of a 9-atom molecule at 300 K
