"""FRAMES' displacement head beside every backbone (Equiformer, PaiNN, SchNet): equivariant,
translation invariant, fed by the potential's features, and never part of the potential."""

import numpy as np
import pytest
import torch

from mlffkit import testing as T
from mlffkit.models import build_model
from mlffkit.papers.frames.heads import DisplacementHead, displacement_head_for
from mlffkit.testing import TINY_CONFIGS, tiny_model

NUMBERS = [6, 6, 8, 1, 1, 1, 7]
#: a tiny head for the tiny models (T frames per backbone config)
TINY_HEAD = {"num_basis": 8, "radial_hidden": 8}
FRAMES = {"equiformer_split": 3}


def window_and_head(name, device):
    model = tiny_model(name).to(device)
    frames = FRAMES.get(name, 2)
    with torch.random.fork_rng():
        torch.manual_seed(1)
        head = displacement_head_for(model, frames, **TINY_HEAD).to(torch.float64).eval()
        torch.nn.init.normal_(head.lin_disp.weight)  # a trained head, not the zero start
    head.scale.fill_(0.05)
    window = T.random_molecule(NUMBERS, seed=3, dtype=torch.float64, n_structures=frames)
    # T frames of one window: frame t is structure t of the random batch, same atoms
    batches = [b.to(device) for b in T._split(window)[:frames]]
    return model, head.to(device), batches


def predict(model, head, batches):
    return head.displacement(batches, [model.embed(b) for b in batches])


@pytest.fixture(params=sorted(TINY_CONFIGS))
def name(request):
    return request.param


@pytest.mark.parametrize("reflect", [False, True], ids=["rotation", "reflection"])
def test_displacement_equivariant_on_every_backbone(name, reflect):
    device = torch.device("cpu")
    model, head, batches = window_and_head(name, device)
    R = T.random_rotation(reflect, dtype=torch.float64)
    a = predict(model, head, batches).detach()
    assert a.shape == (len(NUMBERS), 3) and a.abs().sum() > 0
    b = predict(model, head, [T.transform(x, R) for x in batches]).detach()
    T.assert_close(b, a @ R.T, 1e-8, what="displacement under rotation")
    shift = torch.tensor([0.7, -1.3, 2.1], dtype=torch.float64)
    c = predict(model, head, [T.transform(x, torch.eye(3, dtype=torch.float64), shift)
                              for x in batches]).detach()
    T.assert_close(c, a, 1e-8, what="displacement under translation")
    features = [model.embed(x) for x in batches]
    nxt = head.predict_next_frame(batches, features, model)
    rot = head.predict_next_frame([T.transform(x, R) for x in batches],
                                  [model.embed(T.transform(x, R)) for x in batches], model)
    T.assert_close(rot["energy"].detach(), nxt["energy"].detach(), 1e-8, what="next energy")
    T.assert_close(rot["forces"].detach(), nxt["forces"].detach() @ R.T, 1e-8,
                   what="next forces under rotation")


def test_head_reads_the_model_and_is_not_part_of_it(name):
    model, head, batches = window_and_head(name, torch.device("cpu"))
    assert head.irreps_frame == model.irreps_features and head.cutoff == model.cutoff
    assert not {id(p) for p in head.parameters()} & {id(p) for p in model.parameters()}
    assert "displacement_head" not in model.config


def test_window_of_other_atoms_or_length_is_refused():
    model, head, batches = window_and_head("painn", torch.device("cpu"))
    features = [model.embed(b) for b in batches]
    with pytest.raises(ValueError, match="same atoms"):
        head.displacement(batches, features[:1])
    with pytest.raises(ValueError, match="built for 2 frames"):
        head.displacement(batches * 2, features * 2)


def test_a_potential_config_with_a_displacement_head_is_refused():
    config = {**TINY_CONFIGS["schnet"], "displacement_head": {"frames": 2}}
    with pytest.raises(ValueError, match="not part of a potential"):
        build_model(config)
    legacy = {**TINY_CONFIGS["schnet"], "displacement_head": None}  # older checkpoints
    assert "displacement_head" not in build_model(legacy).config


def test_fit_normalisation_sets_the_rms_scale():
    head = DisplacementHead("4x0e+2x1o", frames=2, num_basis=4, radial_hidden=4)
    rms = head.fit_normalisation([np.full((4, 3), 0.02), np.full((2, 3), -0.02)])
    assert rms == pytest.approx(0.02) and float(head.scale) == pytest.approx(0.02)
