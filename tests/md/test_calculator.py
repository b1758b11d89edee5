"""The ASE calculator for mlffkit potentials."""

import numpy as np
import pytest
import torch
from ase import Atoms, units
from ase.calculators.calculator import PropertyNotImplementedError
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress
from ase.md.velocitydistribution import thermalize_momenta
from ase.md.verlet import VelocityVerlet

from mlffkit.data.atoms import batch_from_arrays, batch_from_atoms
from mlffkit.md.calculator import MLFFCalculator, calculator
from mlffkit.models import save_checkpoint
from mlffkit.testing import TINY_CONFIGS, tiny_model




def _molecule():
    pos = [[0.0, 0.0, 0.0], [1.2, 0.1, 0.0], [-0.4, 1.0, 0.2], [-0.5, -0.8, 0.6], [1.9, 0.9, -0.4], [0.3, 0.2, 1.4]]
    return Atoms("CCHHOH", positions=pos)


def _crystal():
    rng = np.random.default_rng(0)
    cell = 3.4 * (np.eye(3) + 0.15 * rng.uniform(-1, 1, (3, 3)))
    return Atoms("LiPSLi", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0], [0.3, 0.1, 0.6], [0.8, 0.7, 0.4]], cell=cell, pbc=True)


@pytest.mark.parametrize("name", sorted(TINY_CONFIGS))
def test_energy_and_forces_equal_the_model(name):
    model = tiny_model(name)
    for atoms in (_molecule(), _crystal()):
        atoms.calc = calculator(model)
        out = model(batch_from_atoms(atoms, dtype=torch.float64), create_graph=False)
        assert atoms.get_potential_energy() == pytest.approx(out["energy"].item(), abs=1e-12)
        assert atoms.get_potential_energy(force_consistent=True) == atoms.get_potential_energy()
        np.testing.assert_allclose(atoms.get_forces(), out["forces"].numpy(), atol=1e-12)
    assert atoms.calc.cutoff == model.cutoff


@pytest.mark.parametrize("name", ["equiformer", "painn"])
def test_forces_and_stress_are_ase_finite_differences(name):
    atoms = _crystal()
    atoms.calc = calculator(tiny_model(name))
    np.testing.assert_allclose(atoms.get_forces(), calculate_numerical_forces(atoms, eps=1e-5), atol=1e-7)
    np.testing.assert_allclose(atoms.get_stress(), calculate_numerical_stress(atoms, eps=1e-6), atol=1e-7)
    mol = _molecule()
    mol.calc = calculator(tiny_model(name))
    np.testing.assert_allclose(mol.get_forces(), calculate_numerical_forces(mol, eps=1e-5), atol=1e-7)


def test_stress_only_for_periodic_structures():
    mol = _molecule()
    mol.calc = calculator(tiny_model("schnet"))
    with pytest.raises(PropertyNotImplementedError):
        mol.get_stress()
    crystal = _crystal()
    crystal.calc = calculator(tiny_model("schnet"))
    assert crystal.get_stress().shape == (6,)


def test_float32_model_and_checkpoint_path(tmp_path):
    model = tiny_model("schnet", torch.float32)
    path = save_checkpoint(model, tmp_path / "m.pt")
    mol = _molecule()
    mol.calc = calculator(path)
    assert isinstance(mol.calc, MLFFCalculator) and mol.calc.dtype == torch.float32
    forces = mol.get_forces()
    assert forces.dtype == np.float64 and forces.shape == (6, 3)
    expected = model(batch_from_atoms(mol, dtype=torch.float32), create_graph=False)["forces"]
    np.testing.assert_allclose(forces, expected.numpy(), atol=1e-6)


def test_nve_md_conserves_energy():
    atoms = _molecule()
    atoms.calc = calculator(tiny_model("equiformer"))
    thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(0))
    total = []
    dyn = VelocityVerlet(atoms, timestep=0.1 * units.fs)
    dyn.attach(lambda: total.append(atoms.get_total_energy()), interval=1)
    dyn.run(40)
    kinetic = 1.5 * len(atoms) * units.kB * 300
    assert np.ptp(total) < 0.01 * kinetic
    assert np.isfinite(atoms.positions).all()


@pytest.mark.parametrize("name", sorted(TINY_CONFIGS))
def test_atoms_far_outside_the_cell_give_the_same_energy_and_forces(name):
    """Fu et al.'s pitfall (FAIR-Chem PR #783): in long periodic runs unwrapped positions
    drift far from the cell and a graph built on them loses neighbours. Atoms moved by whole
    lattice vectors (up to 13 cells away) leave energy and forces unchanged."""
    model = tiny_model(name)
    atoms = _crystal()
    atoms.calc = calculator(model)
    energy, forces = atoms.get_potential_energy(), atoms.get_forces().copy()
    far = atoms.copy()
    far.positions[0] += 7 * atoms.cell[0] - 5 * atoms.cell[2]
    far.positions[2] += 13 * atoms.cell[1]
    far.calc = calculator(model)
    assert far.get_potential_energy() == pytest.approx(energy, abs=1e-9)
    np.testing.assert_allclose(far.get_forces(), forces, atol=1e-9)
