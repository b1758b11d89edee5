"""fit_potential: a real backbone learns spring forces well below the zero-force baseline,
snapshots are the weights at the end of their epoch, and bad input is a one-line error."""

import numpy as np
import pytest
import torch

from mlffkit.testing import tiny_model
from mlffkit.training import fit_potential
from mlffkit.training.fit import predict
from mlffkit.training.toy import toy_trajectory


@pytest.fixture(scope="module")
def frames():
    return toy_trajectory(60, n_atoms=5, seed=1, numbers=np.array([6, 6, 8, 1, 1]))


def _force_mae(model, items):
    _, forces = predict(model, items)
    return float(np.abs(forces - np.stack([s.forces.numpy() for s in items])).mean())


def test_a_backbone_learns_forces_and_keeps_snapshots(frames):
    torch.manual_seed(0)
    model = tiny_model("painn")
    zero = float(np.mean([s.forces.abs().mean() for s in frames[40:]]))
    fit = fit_potential(model, frames[:40], frames[40:], epochs=30, lr=5e-3, batch_size=8,
                        snapshot_epochs=(1, 30), progress=False)
    assert fit.steps == 30 * 5 and sorted(fit.snapshots) == [1, 30]
    assert _force_mae(model, frames[40:]) < 0.5 * zero
    for name, value in model.state_dict().items():  # the last snapshot is the final model
        assert torch.equal(fit.snapshots[30][name], value)
    early = tiny_model("painn")
    early.load_state_dict(fit.snapshots[1])
    assert _force_mae(early, frames[40:]) > _force_mae(model, frames[40:])
    assert {"kind", "epoch", "force_mae"} <= set(fit.history.columns)


def test_bad_input_is_a_one_line_error(frames):
    model = tiny_model("painn")
    with pytest.raises(ValueError, match="at least one training structure"):
        fit_potential(model, [], epochs=1, lr=1e-3)
    with pytest.raises(ValueError, match=r"snapshot_epochs \[5\] lie outside 1..2"):
        fit_potential(model, frames[:4], epochs=2, lr=1e-3, snapshot_epochs=(5,),
                      progress=False)
    unlabelled = frames[0].clone()
    unlabelled.forces = None
    with pytest.raises(ValueError, match="lack energy or forces"):
        fit_potential(model, [unlabelled], epochs=1, lr=1e-3)
