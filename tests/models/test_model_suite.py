"""The reusable model test-suite (mlffkit.testing), run on every backbone with every head."""

import pytest
import torch

from mlffkit import testing as T
from mlffkit.data.atoms import assemble

from mlffkit.testing import TINY_CONFIGS as TINY
from mlffkit.testing import tiny_model

NUMBERS = [6, 6, 8, 1, 1, 1, 7]


@pytest.fixture
def model(model_name, device):
    return tiny_model(model_name).to(device)


@pytest.fixture
def mol(device):
    return T.random_molecule(NUMBERS, seed=1, dtype=torch.float64, device=device)


@pytest.fixture
def crystal(device):
    return T.random_crystal([3, 3, 16, 15], seed=2, cell_length=3.2, dtype=torch.float64, device=device)


@pytest.mark.parametrize("reflect", [False, True], ids=["rotation", "reflection"])
def test_energy_invariant_forces_equivariant(model, mol, crystal, reflect):
    T.assert_energy_forces_equivariant(model, mol, reflect=reflect)
    T.assert_energy_forces_equivariant(model, crystal, reflect=reflect)


@pytest.mark.parametrize("reflect", [False, True], ids=["rotation", "reflection"])
def test_features_equivariant(model, mol, reflect):
    T.assert_features_equivariant(model, mol, reflect=reflect)


def test_translation_invariant(model, mol, crystal):
    T.assert_translation_invariant(model, mol)
    T.assert_translation_invariant(model, crystal)


def test_permutation_equivariant(model, device):
    batch = T.random_molecule(NUMBERS, seed=4, dtype=torch.float64, device=device, n_structures=2)
    T.assert_permutation_equivariant(model, batch)


def test_forces_are_minus_gradient(model, mol, crystal):
    T.assert_forces_match_finite_differences(model, mol)
    T.assert_forces_match_finite_differences(model, crystal)


def test_stress_is_strain_derivative(model, crystal):
    T.assert_stress_matches_finite_differences(model, crystal)


def test_batch_equals_single(model, device):
    mols = T.random_molecule(NUMBERS, seed=5, dtype=torch.float64, device=device, n_structures=2)
    other = T.random_molecule([8, 1, 1], seed=6, dtype=torch.float64, device=device)
    crystal = T.random_crystal([3, 16], seed=7, cell_length=3.0, dtype=torch.float64, device=device)
    parts = T._split(mols) + [other, crystal]
    mixed = assemble(
        pos=torch.cat([p.pos for p in parts]),
        numbers=torch.cat([p.numbers for p in parts]),
        batch=torch.cat([torch.full_like(p.numbers, i) for i, p in enumerate(parts)]),
        n_structures=len(parts),
        cell=torch.cat([torch.zeros(3, 3, 3, dtype=torch.float64, device=device), crystal.cell]),
        pbc=torch.cat([torch.zeros(3, 3, dtype=torch.bool, device=device), crystal.pbc]),
    )
    T.assert_batch_equals_single(model, mixed)


def test_float32_matches_float64(model_name, device):
    m64 = tiny_model(model_name, torch.float64).to(device)
    m32 = tiny_model(model_name, torch.float32).to(device)
    mol = T.random_molecule(NUMBERS, seed=8, dtype=torch.float64, device=device)
    a = m64(mol, create_graph=False)
    b = m32(mol.to(dtype=torch.float32), create_graph=False)
    assert b["energy"].dtype == torch.float32 and b["forces"].dtype == torch.float32
    T.assert_close(b["energy"].double(), a["energy"], atol=1e-3, rtol=1e-4, what="float32 energy")
    T.assert_close(b["forces"].double(), a["forces"], atol=1e-3, rtol=1e-3, what="float32 forces")


def test_check_potential_runs_whole_suite(device):
    model = tiny_model("painn").to(device)
    mol = T.random_molecule(NUMBERS, seed=9, dtype=torch.float64, device=device, n_structures=2)
    crystal = T.random_crystal([3, 16], seed=10, cell_length=3.0, dtype=torch.float64, device=device)
    T.check_potential(model, mol, crystal)


def test_suite_detects_a_broken_model(device):
    """The assertions must fail on a model that is not equivariant."""

    class Broken(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, batch, **kw):
            return self.inner(batch.replace(pos=batch.pos * torch.tensor([1.0, 1.0, 1.1], dtype=batch.dtype, device=batch.device)), **kw)

    model = Broken(tiny_model("schnet").to(device))
    mol = T.random_molecule(NUMBERS, seed=11, dtype=torch.float64, device=device)
    with pytest.raises(AssertionError, match="rotation"):
        T.assert_energy_forces_equivariant(model, mol)
    with pytest.raises(AssertionError, match="finite difference"):
        T.assert_forces_match_finite_differences(model, mol)
