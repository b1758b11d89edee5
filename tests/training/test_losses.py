import math

import pytest
import torch

from mlffkit.training import losses
from mlffkit.training.losses import LossWeights

E_PRED = torch.tensor([1.0, 2.0], dtype=torch.float64)
E_TRUE = torch.tensor([0.5, 4.0], dtype=torch.float64)
F_PRED = torch.tensor([[3.0, 4.0, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
F_TRUE = torch.zeros(2, 3, dtype=torch.float64)


def test_energy_l1_divides_residuals_by_scale():
    # (|0.5| + |-2|) / 2 / scale 2
    assert losses.energy_l1(E_PRED, E_TRUE, scale=2.0).item() == pytest.approx(0.625)


def test_energy_l1_per_atom():
    n_atoms = torch.tensor([1.0, 4.0], dtype=torch.float64)
    assert losses.energy_l1(E_PRED, E_TRUE, n_atoms=n_atoms).item() == pytest.approx(0.5)


def test_energy_mse():
    assert losses.energy_mse(E_PRED, E_TRUE, scale=0.5).item() == pytest.approx(
        (1.0 + 16.0) / 2)


def test_force_l2_is_mean_of_per_atom_norms():
    # norms 5 and 1 -> 3, divided by 5
    assert losses.force_l2(F_PRED, F_TRUE, scale=5.0).item() == pytest.approx(0.6)


def test_force_l2_is_not_the_frobenius_norm():
    assert losses.force_l2(F_PRED, F_TRUE).item() != pytest.approx(math.sqrt(26.0))


def test_force_mse_averages_components():
    assert losses.force_mse(F_PRED, F_TRUE).item() == pytest.approx(26.0 / 6)


def test_displacement_l2_matches_eq5():
    pred = torch.tensor([[0.0, 0.0, 2.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    true = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    assert losses.displacement_l2(pred, true).item() == pytest.approx(1.0)


def test_weighted_energy_force_loss_and_parts():
    prediction = {"energy": E_PRED, "forces": F_PRED}
    total, parts = losses.energy_force_loss(prediction, E_TRUE, F_TRUE,
                                            LossWeights(energy=2, forces=10),
                                            energy_scale=2.0, force_scale=5.0)
    assert parts["energy_loss"].item() == pytest.approx(0.625)
    assert parts["force_loss"].item() == pytest.approx(0.6)
    assert total.item() == pytest.approx(2 * 0.625 + 10 * 0.6)


def test_mse_variants_by_name():
    prediction = {"energy": E_PRED, "forces": F_PRED}
    total, _ = losses.energy_force_loss(prediction, E_TRUE, F_TRUE, LossWeights(1, 1),
                                        energy_kind="mse", force_kind="mse")
    assert total.item() == pytest.approx((0.25 + 4.0) / 2 + 26.0 / 6)


def test_window_average():
    assert losses.window_average([torch.tensor(1.0), torch.tensor(4.0)]).item() == 2.5
    with pytest.raises(ValueError):
        losses.window_average([])


@pytest.mark.parametrize("call", [lambda: losses.energy_loss("l2", E_PRED, E_TRUE),
                                  lambda: losses.force_loss("l1", F_PRED, F_TRUE)])
def test_unknown_loss_names_raise(call):
    with pytest.raises(ValueError, match="must be one of"):
        call()


def test_force_l2_gradient_flows():
    pred = F_PRED.clone().requires_grad_(True)
    losses.force_l2(pred, F_TRUE).backward()
    expected = torch.tensor([[0.6, 0.8, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64) / 2
    torch.testing.assert_close(pred.grad, expected)
