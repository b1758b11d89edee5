"""Test-time training: which parameters move, that it undoes a planted representation shift on
every backbone, and the one-call ASE path."""

import copy

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.calculators.lj import LennardJones

from mlffkit.data.atoms import AtomsData, collate
from mlffkit.models import build_model
from mlffkit.papers.shifts.ttt import (PriorObjective, TTTConfig, adapt, finetune_main,
                                       pretrain_on_prior, prior_labels)
from mlffkit.papers.shifts.ttt import test_time_train as ttt  # not collected as a test
from mlffkit.testing import TINY_CONFIGS, random_molecule, tiny_model
from mlffkit.training.losses import LossWeights
from mlffkit.training.objectives import EnergyForceObjective
from mlffkit.training.trainer import TrainerConfig

NUMBERS = [6, 8, 1, 1, 1, 1]


def structures(n=12, seed=1):
    batch = random_molecule(NUMBERS, seed=seed, n_structures=n, dtype=torch.float64)
    k = len(NUMBERS)
    return [AtomsData.from_arrays(batch.pos[i * k:(i + 1) * k].numpy(), NUMBERS)
            for i in range(n)]


def labelled_by(model, items, prior: bool):
    """``items`` with the energies/forces of ``model``'s prior head (or main head)."""
    out = model(collate(items, dtype=torch.float64), forces=True, prior=prior, main=not prior,
                create_graph=False)
    key = "prior_" if prior else ""
    k = len(NUMBERS)
    forces = out[key + "forces"].detach().numpy()
    return [AtomsData.from_arrays(s.pos.numpy(), NUMBERS, energy=float(out[key + "energy"][i]),
                                  forces=forces[i * k:(i + 1) * k])
            for i, s in enumerate(items)]


def states(module):
    return {name: p.detach().clone() for name, p in module.named_parameters()}


@pytest.mark.parametrize("name", sorted(TINY_CONFIGS))
def test_only_the_representation_moves_and_the_model_passed_in_stays(name):
    model = tiny_model(name)
    before = states(model)
    groups = {g: {id(p) for p in ps} for g, ps in model.parameter_groups().items()}
    result = ttt(model, labelled_by(model, structures(), prior=True),
                             TTTConfig(steps=3, lr=1e-2, patience=None))
    assert all(torch.equal(p, before[n]) for n, p in model.named_parameters())  # untouched
    moved = {n for n, p in result.model.named_parameters() if not torch.equal(p, before[n])}
    original = dict(model.named_parameters())
    rep = {n for n in before if id(original[n]) in groups["representation"]}
    assert moved and moved <= rep, moved - rep  # heads bitwise unchanged
    assert len(result.history) == 3 and result.stopped == "steps"
    # each call starts again from the trained representation (reset between systems)
    again = ttt(model, labelled_by(model, structures(), prior=True),
                            TTTConfig(steps=3, lr=1e-2, patience=None))
    assert all(torch.equal(p, q) for p, q in zip(result.model.parameters(),
                                                 again.model.parameters()))


@pytest.mark.parametrize("backbone", ["equiformer", "painn", "schnet"])
def test_ttt_undoes_a_planted_representation_shift(backbone):
    """A model whose prior head is its main head with the energy scaled by 0.9 (a prior that
    tracks the reference, TTT's premise); its representation is then shifted by noise. Training
    the representation on the prior labels of the test structures must bring back both the
    prior loss and the reference force error."""
    config = copy.deepcopy(TINY_CONFIGS[backbone])
    config["representation_blocks"] = None  # both heads read the final features
    torch.manual_seed(0)
    model = build_model(config).double().eval()
    model.prior_head.load_state_dict(model.energy_head.state_dict())
    model.prior_head.scale.mul_(0.9)
    items = structures()
    reference = labelled_by(model, items, prior=False)
    prior = labelled_by(model, items, prior=True)
    shifted = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in shifted.parameter_groups()["representation"]:
            p.add_(0.05 * p.std().nan_to_num(1.0) * torch.randn(p.shape, generator=generator,
                                                                 dtype=p.dtype))

    def errors(m):
        batch = collate(reference, dtype=torch.float64)
        loss = PriorObjective(LossWeights(1.0, 1.0), energy_loss="l1", force_loss="l2")(
            m, collate(prior, dtype=torch.float64), 0).loss
        forces = m(batch, forces=True, create_graph=False)["forces"]
        return float(loss), float((forces - batch.forces).abs().mean())

    prior_before, ref_before = errors(shifted)
    result = ttt(shifted, prior, TTTConfig(steps=100, lr=1e-3, patience=None,
                                                       weight_decay=0.0,
                                                       weights=LossWeights(1.0, 1.0)))
    prior_after, ref_after = errors(result.model)
    assert ref_before > 0 and prior_after < 0.5 * prior_before, (prior_before, prior_after)
    assert ref_after < 0.5 * ref_before, (ref_before, ref_after)
    # the result's own before/after losses are that objective over all the structures
    assert result.loss_before == pytest.approx(prior_before, rel=1e-9)
    assert result.loss_after == pytest.approx(prior_after, rel=1e-9)


def test_prior_loss_in_batches_is_the_structure_weighted_mean():
    from mlffkit.papers.shifts.ttt import prior_loss

    model = tiny_model("painn").double()
    items = labelled_by(model, structures(7), prior=False)   # any labels will do
    model.train()
    whole = prior_loss(model, items, TTTConfig(batch_size=32))
    parts = [prior_loss(model, items[:4], TTTConfig(batch_size=32)),
             prior_loss(model, items[4:], TTTConfig(batch_size=32))]
    assert prior_loss(model, items, TTTConfig(batch_size=4)) == pytest.approx(
        (4 * parts[0] + 3 * parts[1]) / 7, rel=1e-9)
    assert whole > 0 and model.training   # the model's mode is left as it was


def test_early_stop_on_patience_and_on_target():
    model = tiny_model("painn")
    items = labelled_by(model, structures(), prior=True)
    stalled = ttt(model, items, TTTConfig(steps=50, lr=1e-12, patience=3))
    assert stalled.stopped == "patience" and len(stalled.history) == 4
    reached = ttt(model, items, TTTConfig(steps=50, target_loss=np.inf))
    assert reached.stopped == "target" and len(reached.history) == 1


@pytest.mark.parametrize("bad", [dict(steps=0), dict(lr=0.0), dict(lr=float("nan")),
                                 dict(batch_size=0), dict(patience=0), dict(momentum=-1.0)])
def test_bad_settings_are_refused_in_one_line(bad):
    with pytest.raises(ValueError, match="TTTConfig"):
        TTTConfig(**bad)


def test_a_model_without_prior_head_is_refused():
    config = copy.deepcopy(TINY_CONFIGS["schnet"])
    config["prior_head"] = None
    with pytest.raises(ValueError, match="prior head"):
        ttt(build_model(config), structures())


def test_adapt_from_ase_atoms_with_a_prior_calculator_returns_a_calculator():
    model = tiny_model("schnet")
    atoms = [Atoms(numbers=NUMBERS, positions=s.pos.numpy()) for s in structures(4)]
    prior = LennardJones(sigma=1.0, epsilon=0.01, rc=4.0)
    labelled = prior_labels(atoms, prior)
    expected = atoms[0].copy()
    expected.calc = LennardJones(sigma=1.0, epsilon=0.01, rc=4.0)
    np.testing.assert_allclose(labelled[0].forces.numpy(), expected.get_forces(), atol=1e-12)
    calc = adapt(model, atoms, prior, TTTConfig(steps=2, patience=None))
    probe = atoms[0].copy()
    probe.calc = calc
    assert np.isfinite(probe.get_potential_energy()) and probe.get_forces().shape == (6, 3)
    assert len(calc.ttt.history) == 2


def test_pretraining_moves_representation_and_prior_head_finetuning_the_main_head():
    model = tiny_model("painn")  # representation = embeddings + first block
    groups = model.parameter_groups()
    ids = {g: {id(p) for p in ps} for g, ps in groups.items()}
    items = structures(16)
    prior = prior_labels(items, LennardJones(sigma=1.0, epsilon=0.01, rc=4.0))
    reference = prior_labels(items, LennardJones(sigma=1.1, epsilon=0.012, rc=4.0))
    config = TrainerConfig(max_steps=30, lr=3e-3, ema_decay=None, progress=False)

    def moved(before):
        return {id(p) for n, p in model.named_parameters() if not torch.equal(p, before[n])}

    def loss(objective, items):
        return float(objective(model.train(), collate(items, dtype=torch.float64), 0).loss)

    prior_loss = PriorObjective(LossWeights(1.0, 1.0), energy_loss="l1", force_loss="l2")
    first, before = loss(prior_loss, prior), states(model)
    pretrain_on_prior(model, prior, config, batch_size=8, weights=LossWeights(1.0, 1.0))
    assert moved(before) <= ids["representation"] | ids["prior_head"]
    assert moved(before) & ids["representation"] and moved(before) & ids["prior_head"]
    assert loss(prior_loss, prior) < 0.5 * first
    main_loss = EnergyForceObjective(LossWeights(1.0, 1.0), energy_loss="l1", force_loss="l2")
    first, before = loss(main_loss, reference), states(model)
    finetune_main(model, reference, config, batch_size=8, weights=LossWeights(1.0, 1.0))
    assert moved(before) and moved(before) <= ids["main_head"]
    assert loss(main_loss, reference) < 0.5 * first


def test_per_frame_force_errors_average_to_the_force_mae():
    from mlffkit.papers.shifts.ttt import force_mae, frame_force_errors

    model = tiny_model("painn")
    items = labelled_by(tiny_model("schnet"), structures(5), prior=False)
    per_frame = frame_force_errors(model, items)
    assert per_frame.shape == (5,) and np.isclose(per_frame.mean(), force_mae(model, items))
    assert np.isclose(per_frame[2], force_mae(model, items[2:3]))
