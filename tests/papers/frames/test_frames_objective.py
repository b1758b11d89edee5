"""FramesObjective against hand-computed values with a stub model and a stub head of fixed
outputs."""

import pytest
import torch

from mlffkit.training.data import Window
from mlffkit.papers.frames.hyperparameters import (BATCH_SIZE_BY_WINDOW, ISO17_LOSS_WEIGHTS,
                                                     LEARNING_RATE, MD17_LOSS_WEIGHTS,
                                                     frames_loss_weights)
from mlffkit.training.losses import LossWeights
from mlffkit.training.normalisation import TargetScales
from mlffkit.papers.frames.objective import FramesObjective
from mlffkit.training.objectives import EnergyForceObjective


class StubBatch:
    """A labelled batch of one structure of 2 atoms, named by ``tag``."""

    n_structures = 1

    def __init__(self, tag, energy, forces, n_atoms=2):
        self.tag, self.batch = tag, torch.zeros(n_atoms, dtype=torch.long)
        self.energy, self.forces = energy, forces


class StubModel:
    """Predicts energy = tag and zero forces for a frame, features = tag."""

    def __init__(self):
        self.calls = []

    def __call__(self, batch, forces=True):
        self.calls.append(batch.tag)
        return {"energy": torch.tensor([float(batch.tag)]), "forces": torch.zeros(2, 3),
                "features": torch.full((2, 1), float(batch.tag))}


class StubHead(torch.nn.Module):
    """A fixed displacement / next frame, checking it is handed each frame's features."""

    def __init__(self, predicted, next_energy=0.0):
        super().__init__()
        self.predicted, self.next_energy = predicted, next_energy

    def displacement(self, batches, features):
        assert [f[0, 0].item() for f in features] == [b.tag for b in batches]
        return self.predicted

    def predict_next_frame(self, batches, features, model):
        assert isinstance(model, StubModel)
        return {"energy": torch.tensor([self.next_energy]), "forces": torch.ones(2, 3)}


def frame(tag, energy, force_x):
    forces = torch.zeros(2, 3)
    forces[:, 0] = force_x
    return StubBatch(tag, torch.tensor([energy]), forces)


@pytest.fixture
def window():
    # frame 1: |1 - 0| = 1, force norms 3 -> L = 1*1 + 2*3 = 7
    # frame 2: |2 - 5| = 3, force norms 1 -> L = 3 + 2*1 = 5; Eq. 3 average = 6
    frames = [frame(1, 0.0, 3.0), frame(2, 5.0, 1.0)]
    target = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    return Window(frames=frames, displacement=target, next_frame=frame(3, 1.0, 0.0))


def test_primary_loss_is_average_over_window(window):
    objective = FramesObjective(LossWeights(energy=1, forces=2, aux=0.0), total_steps=10,
                                head=StubHead(torch.zeros(2, 3)))
    out = objective(StubModel(), window, step=0)
    assert out.metrics["primary"].item() == pytest.approx(6.0)
    assert out.loss.item() == pytest.approx(6.0)
    assert out.weight == 1


def test_total_is_primary_plus_decayed_aux(window):
    # predicted displacement norms 2 and 0 -> L_aux = 1
    predicted = torch.tensor([[0.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
    objective = FramesObjective(LossWeights(energy=1, forces=2, aux=0.5), total_steps=10,
                                head=StubHead(predicted))
    model = StubModel()
    for step, weight in [(0, 0.5), (4, 0.3), (10, 0.0)]:
        out = objective(model, window, step)
        assert out.metrics["aux"].item() == pytest.approx(1.0)
        assert out.metrics["aux_weight"].item() == pytest.approx(weight)
        assert out.loss.item() == pytest.approx(6.0 + weight * 1.0)
    assert model.calls[:2] == [1, 2]  # one forward per frame, oldest first


def test_scales_normalise_every_term(window):
    predicted = torch.tensor([[0.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
    objective = FramesObjective(LossWeights(energy=1, forces=2, aux=1.0),
                                TargetScales(energy=2.0, forces=4.0, displacement=0.5),
                                total_steps=10, head=StubHead(predicted))
    out = objective(StubModel(), window, step=0)
    primary = ((1 / 2 + 2 * 3 / 4) + (3 / 2 + 2 * 1 / 4)) / 2
    assert out.metrics["primary"].item() == pytest.approx(primary)
    assert out.loss.item() == pytest.approx(primary + 1.0 * 2.0)
    # physical-unit errors are not scaled
    assert out.metrics["energy_mae"].item() == pytest.approx(2.0)


def test_ablation_aux_on_next_frame(window):
    objective = FramesObjective(LossWeights(energy=1, forces=2, aux=1.0), aux="next_frame",
                                total_steps=10, head=StubHead(None, next_energy=4.0))
    out = objective(StubModel(), window, step=0)
    # |4 - 1| + 2 * mean ||(1,1,1)|| = 3 + 2 sqrt(3)
    assert out.metrics["aux"].item() == pytest.approx(3 + 2 * 3 ** 0.5)


def test_single_frame_window_is_the_baseline(window):
    objective = FramesObjective(LossWeights(energy=1, forces=2, aux=1.0), total_steps=10,
                                head=StubHead(torch.full((2, 3), 9.0)))
    short = Window(frames=window.frames[-1:], displacement=window.displacement)
    out = objective(StubModel(), short, step=0)
    assert out.loss.item() == pytest.approx(5.0)
    assert "aux" not in out.metrics


def test_labelled_batch_scored_as_static_frame(window):
    objective = FramesObjective(LossWeights(energy=1, forces=2, aux=1.0), total_steps=10)
    plain = EnergyForceObjective(LossWeights(energy=1, forces=2))
    model = StubModel()
    assert objective(model, window.frames[0], 3).loss.item() == pytest.approx(7.0)
    assert plain(model, window.frames[0], 3).loss.item() == pytest.approx(7.0)


def test_aux_weight_needs_total_steps_and_trainer_can_set_it():
    objective = FramesObjective(LossWeights(aux=1.0))
    with pytest.raises(RuntimeError):
        objective.aux_weight(0)
    objective.set_total_steps(4)
    assert objective.aux_weight(1) == pytest.approx(0.75)
    objective.set_total_steps(100)  # an explicit or earlier value is kept
    assert objective.total_steps == 4


def test_unknown_aux_target():
    with pytest.raises(ValueError, match="aux must be one of"):
        FramesObjective(LossWeights(), aux="velocity")


def test_table5_and_iso17_coefficients():
    assert MD17_LOSS_WEIGHTS["aspirin"] == LossWeights(energy=1, forces=80, aux=1)
    assert MD17_LOSS_WEIGHTS["malonaldehyde"] == LossWeights(energy=1, forces=100, aux=0.25)
    assert MD17_LOSS_WEIGHTS["naphthalene"] == LossWeights(energy=2, forces=20, aux=1)
    assert MD17_LOSS_WEIGHTS["uracil"] == LossWeights(energy=1, forces=20, aux=0.25)
    assert len(MD17_LOSS_WEIGHTS) == 8
    assert frames_loss_weights("MD17", "Salicylic acid") == MD17_LOSS_WEIGHTS["salicylic_acid"]
    assert frames_loss_weights("iso17") == ISO17_LOSS_WEIGHTS == LossWeights(1, 80, 0.25)
    assert BATCH_SIZE_BY_WINDOW == {1: 8, 2: 4, 3: 4} and LEARNING_RATE == 5e-4
    with pytest.raises(ValueError, match="known: aspirin"):
        frames_loss_weights("md17", "caffeine")


def test_a_window_without_a_head_is_an_error(window):
    objective = FramesObjective(LossWeights(aux=1.0), total_steps=10)
    with pytest.raises(ValueError, match="need an auxiliary head"):
        objective(StubModel(), window, step=0)


def test_the_head_is_trained_and_checkpointed_with_the_objective():
    head = torch.nn.Linear(2, 2)
    objective = FramesObjective(LossWeights(aux=1.0), head=head)
    assert [id(p) for p in objective.parameters()] == [id(p) for p in head.parameters()]
    assert set(objective.state_dict()) == {"head.weight", "head.bias"}
