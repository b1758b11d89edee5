"""Dihedral angles, free-energy surfaces and their MAE."""

import numpy as np
import pytest
from ase.build import molecule

from mlffkit.metrics.free_energy import (ANGLE_BIN_EDGES_60, dihedral_angles, free_energy_1d,
                                         free_energy_2d, free_energy_mae, marginal_free_energy,
                                         thermal_energy)


def test_thermal_energy_units():
    assert thermal_energy(300.0, "kJ/mol") == pytest.approx(2.494, abs=1e-3)   # Fu: 2.49
    assert thermal_energy(300.0, "eV") == pytest.approx(0.025852, abs=1e-6)
    assert thermal_energy(300.0, "kcal/mol") == pytest.approx(0.5962, abs=1e-4)


def test_dihedral_angles_match_ase_including_sign():
    atoms = molecule("CH3CH2OH")
    rng = np.random.default_rng(0)
    frames = atoms.positions[None] + rng.normal(scale=0.3, size=(20, len(atoms), 3))
    quads = [[3, 0, 1, 2], [4, 0, 1, 6]]
    ours = dihedral_angles(frames, quads)
    for f, positions in enumerate(frames):
        atoms.positions = positions
        for q, quad in enumerate(quads):
            expected = np.deg2rad(atoms.get_dihedral(*quad))
            assert np.angle(np.exp(1j * (ours[f, q] - expected))) == pytest.approx(0, abs=1e-9)
    assert np.all(np.abs(ours) <= np.pi)


def test_free_energy_of_von_mises_samples_is_minus_kt_kappa_cos():
    """p(phi) ~ exp(kappa cos phi) gives F = kT kappa (1 - cos phi) (bin-averaged cos);
    200k samples leave < 0.05 kT of noise in the highest bins."""
    rng = np.random.default_rng(1)
    kappa, kt = 2.0, thermal_energy(300.0, "kJ/mol")
    phi = rng.vonmises(0.0, kappa, size=200_000)
    edges = np.linspace(-np.pi, np.pi, 37)
    f = free_energy_1d(phi, edges, kt)
    lo, hi = edges[:-1], edges[1:]
    bin_mean_boltzmann = (np.sin(hi) - np.sin(lo)) / (hi - lo)  # not exact: compare -ln mean p
    exact = -kt * np.log([np.mean(np.exp(kappa * np.cos(np.linspace(a, b, 101))))
                          for a, b in zip(lo, hi)])
    exact -= exact.min()
    np.testing.assert_allclose(f, exact, atol=0.05 * kt * kappa)
    assert bin_mean_boltzmann.shape == f.shape


def test_marginal_of_a_separable_surface_recovers_each_profile():
    x = np.linspace(-np.pi, np.pi, 60, endpoint=False)
    kt = 2.49
    fx, fy = 3.0 * (1 - np.cos(x)), 1.5 * (1 + np.sin(x))
    grid = fx[:, None] + fy[None, :]
    np.testing.assert_allclose(marginal_free_energy(grid, kt, keep_axis=0), fx - fx.min(),
                               atol=1e-10)
    np.testing.assert_allclose(marginal_free_energy(grid, kt, keep_axis=1), fy - fy.min(),
                               atol=1e-10)


def test_free_energy_2d_and_its_empty_bins():
    rng = np.random.default_rng(2)
    phi, psi = rng.uniform(-np.pi, 0, size=(2, 5000))      # only one quadrant visited
    surface = free_energy_2d(phi, psi, ANGLE_BIN_EDGES_60, ANGLE_BIN_EDGES_60, kT=1.0)
    assert surface.shape == (60, 60)
    assert np.isinf(surface[45, 45]) and np.isfinite(surface[10, 10])
    assert np.nanmin(surface) == 0.0


def test_free_energy_mae_integrates_over_radians_and_guards_empty_bins():
    edges = np.linspace(-np.pi, np.pi, 61)
    f = np.zeros(60)
    assert free_energy_mae(f + 1.0, f, edges) == pytest.approx(2 * np.pi)
    gappy = f.copy()
    gappy[0] = np.inf
    with pytest.raises(ValueError, match="empty"):
        free_energy_mae(gappy + 1.0, f, edges)
    assert free_energy_mae(gappy + 1.0, f, edges, on_empty="ignore") == \
        pytest.approx(2 * np.pi * 59 / 60)


@pytest.mark.parametrize("call, message", [
    (lambda: free_energy_1d([np.nan, 1.0], [0, 1, 2], 1.0), "NaN"),
    (lambda: free_energy_1d([5.0], [0, 1, 2], 1.0), "no samples"),
    (lambda: free_energy_1d([0.5], [0, 1, 2], -1.0), "kT"),
    (lambda: free_energy_2d([0.5, 0.2], [0.5], [0, 1], [0, 1], 1.0), "x has 2"),
    (lambda: dihedral_angles(np.zeros((2, 3, 3)), [0, 1, 2, 3]), "indices"),
    (lambda: thermal_energy(300.0, "K"), "unit"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
