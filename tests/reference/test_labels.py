"""The labels: GFN2-xTB forces and MMFF94 prior forces are minus the energy gradient, in eV/Å."""

import numpy as np
import pytest
from ase.build import molecule

from mlffkit.reference.molecules import MMFFPrior, build
from mlffkit.units import KCAL_MOL_TO_EV
from mlffkit.calculators.xtb import GFN2xTB


def central_differences(energy, positions, h):
    grad = np.zeros_like(positions)
    for idx in np.ndindex(positions.shape):
        plus, minus = positions.copy(), positions.copy()
        plus[idx] += h
        minus[idx] -= h
        grad[idx] = (energy(plus) - energy(minus)) / (2 * h)
    return grad


def test_xtb_forces_are_minus_energy_gradient():
    atoms = molecule("H2O")
    atoms.positions += np.random.default_rng(0).normal(0, 0.05, atoms.positions.shape)
    atoms.calc = GFN2xTB(accuracy=0.01)
    forces = atoms.get_forces()

    def energy(x):
        atoms.positions = x
        return atoms.get_potential_energy()

    numeric = -central_differences(energy, atoms.positions.copy(), 1e-3)
    np.testing.assert_allclose(forces, numeric, atol=2e-3)
    assert np.abs(forces).max() > 0.1  # a distorted geometry: the test has something to see


def test_xtb_agrees_with_tblites_own_ase_calculator():
    from tblite.ase import TBLite

    atoms = molecule("CH3CH2OH")
    ours = GFN2xTB().get_property("forces", atoms), GFN2xTB().get_property("energy", atoms)
    ref = TBLite(method="GFN2-xTB", verbosity=0)
    np.testing.assert_allclose(ours[0], ref.get_property("forces", atoms), atol=1e-6)
    assert ours[1] == pytest.approx(ref.get_property("energy", atoms), abs=1e-6)


def test_xtb_is_a_pure_function_of_positions():
    atoms = molecule("H2O")
    calc = GFN2xTB()
    first = calc.get_property("energy", atoms)
    other = atoms.copy()
    other.positions[1] += 0.2
    calc.get_property("energy", other)
    assert calc.get_property("energy", atoms.copy()) == first


def test_kcal_per_mol_factor_from_codata():
    avogadro, elementary_charge = 6.02214076e23, 1.602176634e-19
    assert KCAL_MOL_TO_EV == pytest.approx(4184.0 / (avogadro * elementary_charge), rel=1e-5)


@pytest.mark.parametrize("smiles", ["CCCl", "COP(=O)(OC)OC", "c1ccncc1"])
def test_mmff_forces_are_minus_energy_gradient(smiles):
    mol = build(smiles, seed=3)
    prior = MMFFPrior(mol)
    x = mol.positions + np.random.default_rng(1).normal(0, 0.05, mol.positions.shape)
    energy, forces = prior(x)
    assert energy.shape == (1,) and forces.shape == (1, *x.shape)
    numeric = -central_differences(lambda p: prior(p)[0][0], x, 1e-4)
    np.testing.assert_allclose(forces[0], numeric, atol=1e-4 * max(1, np.abs(numeric).max()))


def test_mmff_prior_is_minimal_at_its_relaxed_geometry():
    mol = build("CCO", seed=1)
    prior = MMFFPrior(mol)
    e0, f0 = prior(mol.positions)
    assert np.abs(f0).max() < 0.01
    shaken = mol.positions + np.random.default_rng(2).normal(0, 0.05, mol.positions.shape)
    assert prior(shaken)[0][0] > e0[0]
