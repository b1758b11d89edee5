"""Potential: presets, config errors, parameter groups, heads, normalisation, smoothness."""

import numpy as np
import pytest
import torch
from ase.build import molecule

from mlffkit.data.atoms import batch_from_arrays, batch_from_atoms
from mlffkit.models import PRESETS, build_model, preset
from mlffkit.testing import TINY_CONFIGS, random_crystal, random_molecule, tiny_model


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_builds_and_runs(name):
    """Presets cannot go stale: each builds, round-trips its config and evaluates a molecule."""
    torch.manual_seed(0)
    model = build_model(name)
    assert build_model(model.config).config == model.config
    out = model(batch_from_atoms(molecule("CH3OH")), create_graph=False)
    assert out["energy"].shape == (1,) and out["forces"].shape == (6, 3)
    assert torch.isfinite(out["forces"]).all()
    assert out["features"].shape == (6, model.irreps_features.dim)


def test_equiformer_md17_preset_has_paper_sizes():
    cfg = build_model("equiformer_md17").config["backbone"]
    assert cfg["num_blocks"] == 6 and cfg["lmax"] == 2 and cfg["cutoff"] == 5.0
    assert cfg["irreps_node"] == "128x0e+64x1o+32x2e" and cfg["num_heads"] == 4
    assert cfg["irreps_ffn"] == "384x0e+192x1o+96x2e" and cfg["num_basis"] == 32
    assert cfg["radial_hidden"] == 64 and cfg["radial_layers"] == 2


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match="unknown backbone"):
        build_model({"backbone": {"name": "nequip"}})
    with pytest.raises(ValueError, match="unknown config keys"):
        build_model({"backbone": {"name": "schnet"}, "head": {}})
    with pytest.raises(ValueError, match="bad hyperparameters"):
        build_model({"backbone": {"name": "schnet", "widht": 3}})
    with pytest.raises(ValueError, match="unknown preset"):
        build_model("equiformer_huge")


def test_preset_overrides_merge():
    cfg = preset("equiformer_book", backbone={"num_blocks": 1})
    assert cfg["backbone"]["num_blocks"] == 1 and cfg["backbone"]["irreps_node"] == "32x0e+16x1o+8x2e"
    model = build_model({"preset": "schnet_book", "prior_head": {}})
    assert model.prior_head is not None and model.config["backbone"]["features"] == 32


@pytest.mark.parametrize("name", sorted(TINY_CONFIGS))
def test_parameter_groups_partition_the_parameters(name):
    model = tiny_model(name)
    groups = model.parameter_groups()
    assert set(groups) == {"representation", "main_head", "prior_head"}
    ids = [id(p) for ps in groups.values() for p in ps]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    assert {id(p) for p in groups["prior_head"]} == {id(p) for p in model.prior_head.parameters()}
    head = {id(p) for p in model.energy_head.parameters()}
    assert head <= {id(p) for p in groups["main_head"]}
    k = model.representation_blocks
    if k is not None:  # the later blocks belong to the main head
        later = {id(p) for p in model.backbone.blocks[k:].parameters()}
        assert later and later <= {id(p) for p in groups["main_head"]}
    else:
        assert {id(p) for p in groups["main_head"]} == head


@pytest.mark.parametrize("name", ["painn", "equiformer"])
def test_ttt_step_on_prior_changes_only_the_representation(name):
    """Test-time training: gradients of the prior loss w.r.t. the representation leave the
    prior head alone and change the main prediction."""
    model = tiny_model(name)
    mol = random_molecule([6, 8, 1, 1], seed=0, dtype=torch.float64)
    before = model(mol, create_graph=False)["energy"].detach()
    groups = model.parameter_groups()
    out = model(mol, prior=True, main=False, create_graph=True)
    assert set(out) >= {"prior_energy", "prior_forces"} and "energy" not in out
    loss = out["prior_energy"].pow(2).sum() + out["prior_forces"].pow(2).sum()
    grads = torch.autograd.grad(loss, groups["representation"], allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    with torch.no_grad():
        for p, g in zip(groups["representation"], grads):
            if g is not None:
                p -= 1e-2 * g
    after = model(mol, create_graph=False)["energy"].detach()
    assert not torch.allclose(before, after)


def test_forces_keep_graph_in_training_mode():
    model = tiny_model("schnet").train()
    out = model(random_molecule([6, 1, 1, 1], dtype=torch.float64))
    assert out["forces"].requires_grad
    out["forces"].pow(2).sum().backward()
    assert model.energy_head.mlp.layers[0].weight.grad is not None  # (the last bias has no force)
    model.eval()
    assert not model(random_molecule([6, 1, 1, 1], dtype=torch.float64))["forces"].requires_grad


def test_inference_under_no_grad_still_gives_forces():
    model = tiny_model("painn")
    with torch.no_grad():
        out = model(random_molecule([6, 1, 1, 1], dtype=torch.float64))
    assert out["forces"].shape == (4, 3) and not out["forces"].requires_grad


def test_stress_and_atomic_number_errors():
    model = tiny_model("schnet")
    with pytest.raises(ValueError, match="periodic"):
        model(random_molecule([6, 1], dtype=torch.float64), stress=True)
    with pytest.raises(ValueError, match="max_z"):
        model(batch_from_arrays(np.zeros((1, 3)), [120], dtype=torch.float64))
    out = model(random_crystal([3, 16], dtype=torch.float64), stress=True, forces=False)
    assert out["stress"].shape == (1, 3, 3) and "forces" not in out
    assert torch.allclose(out["stress"], out["stress"].transpose(1, 2))


def test_prior_without_prior_head_is_an_error():
    model = build_model({"backbone": TINY_CONFIGS["schnet"]["backbone"]})
    with pytest.raises(ValueError, match="no prior head"):
        model(random_molecule([6, 1]), prior=True)


def test_fit_normalisation_recovers_reference_energies():
    model = build_model({"backbone": TINY_CONFIGS["schnet"]["backbone"]})
    rng = np.random.default_rng(0)
    refs = {1: -13.6, 6: -1030.0, 8: -2040.0}
    numbers = [rng.choice([1, 6, 8], size=rng.integers(3, 9)) for _ in range(40)]
    energies = [sum(refs[z] for z in zs) + rng.normal(0, 0.01) for zs in numbers]
    forces = [rng.normal(0, 0.5, size=(len(zs), 3)) for zs in numbers]
    stats = model.fit_normalisation(energies, numbers, forces)
    for z, e in refs.items():
        assert abs(stats["element_energy"][z] - e) < 0.05
    assert abs(stats["scale"] - 0.5) < 0.05 and abs(stats["shift"]) < 0.01
    assert model.energy_head.element_energy[6].item() == pytest.approx(stats["element_energy"][6])
    # the average number of neighbours of the Equiformer is a fitted buffer too
    eq = tiny_model("equiformer")
    batches = [random_molecule([6, 1, 1, 1, 8], seed=s) for s in range(3)]
    stats = eq.fit_normalisation([0.0] * 3, [b.numbers for b in batches], batches=batches)
    assert stats["avg_num_neighbors"] == pytest.approx(4.0)  # all 5 atoms within the cutoff
    assert eq.backbone.avg_num_neighbors.item() == pytest.approx(4.0)


@pytest.mark.parametrize("name", sorted(TINY_CONFIGS))
def test_energy_is_continuous_when_an_atom_crosses_the_cutoff(name):
    """The far atom still sees the others, so E(d) has a slope there: what must vanish is the
    step across the cutoff, i.e. E on the far side must follow the near side's tangent."""
    model = tiny_model(name)
    cutoff, eps = model.cutoff, 1e-5
    energies = []
    for d in (cutoff - 3 * eps, cutoff - eps, cutoff + eps):
        pos = torch.tensor([[0.0, 0.0, 0.0], [0.9, 0.3, 0.0], [-0.2, 0.8, 0.4], [d, 0.0, 0.0]], dtype=torch.float64)
        energies.append(model(batch_from_arrays(pos, [6, 1, 1, 8], dtype=torch.float64), forces=False)["energy"].item())
    tangent = energies[1] + (energies[1] - energies[0])  # the near side, extrapolated by 2 eps
    assert abs(energies[2] - tangent) < 1e-9


def test_se3_variant_is_rotation_equivariant_only():
    """parity=False builds the paper's SE(3) Equiformer (all irreps even): rotations are
    symmetries, reflections in general are not."""
    from mlffkit.testing import assert_energy_forces_equivariant

    cfg = {
        "backbone": {**TINY_CONFIGS["equiformer"]["backbone"], "parity": False, "irreps_node": "8x0e+4x1e+2x2e",
                     "irreps_head": "4x0e+2x1e+1x2e", "irreps_ffn": "8x0e+4x1e+2x2e"},
    }
    torch.manual_seed(0)
    model = build_model(cfg).double()
    mol = random_molecule([6, 6, 8, 1, 1, 7], seed=3, dtype=torch.float64)
    assert_energy_forces_equivariant(model, mol)
    with pytest.raises(AssertionError):
        assert_energy_forces_equivariant(model, mol, reflect=True)


def test_dtype_mismatch_is_a_clear_error():
    model = tiny_model("schnet", torch.float64)
    with pytest.raises(TypeError, match="float32 but the model is torch.float64"):
        model(random_molecule([6, 1], dtype=torch.float32))
