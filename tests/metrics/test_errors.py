"""Energy and force errors, both force conventions."""

import numpy as np
import pytest

from mlffkit.metrics.errors import (energy_force_errors, energy_mae, energy_rmse, force_mae,
                                    force_rmse)


def test_force_error_conventions_on_a_3_4_5_error():
    reference = np.zeros((1, 2, 3))
    predicted = reference.copy()
    predicted[0, 0] = [3.0, 4.0, 0.0]           # one atom off by a 5 eV/Å vector
    assert force_mae(predicted, reference) == pytest.approx(7 / 6)
    assert force_rmse(predicted, reference) == pytest.approx(np.sqrt(25 / 6))
    assert force_mae(predicted, reference, convention="atom_norm") == pytest.approx(2.5)
    assert force_rmse(predicted, reference, convention="atom_norm") == \
        pytest.approx(np.sqrt(25 / 2))


def test_atom_norm_rmse_is_sqrt3_times_component_rmse():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 7, 5, 3))
    assert force_rmse(a, b, convention="atom_norm") == \
        pytest.approx(np.sqrt(3) * force_rmse(a, b))


def test_energy_errors_total_and_per_atom():
    predicted, reference = np.array([1.0, -2.0]), np.array([0.0, 0.0])
    assert energy_mae(predicted, reference) == pytest.approx(1.5)
    assert energy_rmse(predicted, reference) == pytest.approx(np.sqrt(2.5))
    assert energy_mae(predicted, reference, n_atoms=[2, 4]) == pytest.approx(0.5)
    summary = energy_force_errors(predicted, reference, np.ones((2, 3, 3)), np.zeros((2, 3, 3)),
                                  n_atoms=3)
    assert summary["force_mae_component_eV_per_A"] == pytest.approx(1.0)
    assert summary["force_mae_atom_norm_eV_per_A"] == pytest.approx(np.sqrt(3))
    assert summary["energy_mae_eV_per_atom"] == pytest.approx(0.5)


@pytest.mark.parametrize("call, message", [
    (lambda: force_mae(np.zeros((2, 3, 3)), np.zeros((2, 4, 3))), "shape"),
    (lambda: force_mae(np.zeros((2, 3, 2)), np.zeros((2, 3, 2))), "Cartesian"),
    (lambda: force_mae(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), convention="x"), "convention"),
    (lambda: energy_mae([np.nan], [1.0]), "NaN"),
    (lambda: energy_mae([], []), "empty"),
    (lambda: energy_mae([1.0], [1.0], n_atoms=0), "positive"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
