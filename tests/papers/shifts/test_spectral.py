"""Spectral distance (Kreiman & Krishnapriyan Eq. 5) against graphs whose normalised
Laplacian spectrum is known in closed form."""

import numpy as np
import pytest
from ase.build import molecule

from mlffkit.papers.shifts import spectral as sp


def test_complete_graph_spectrum_is_zero_and_n_over_n_minus_1():
    n = 5
    positions = np.random.default_rng(0).uniform(0, 1, size=(n, 3))  # all within 2 Å
    np.testing.assert_allclose(sp.laplacian_spectrum(positions, 2.0),
                               [0.0] + [n / (n - 1)] * (n - 1), atol=1e-12)


def test_path_pair_and_isolated_atoms():
    # a path of three atoms (0, 1, 2), a separate pair, and an isolated atom placed *last*
    positions = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [10, 0, 0], [11, 0, 0],
                          [30, 0, 0]], dtype=float)
    spectrum = sp.laplacian_spectrum(positions, 1.5)
    # path P3: 0, 1, 2; pair K2: 0, 2; isolated atom: 1 (kept wherever it sits)
    np.testing.assert_allclose(spectrum, [0, 0, 1, 1, 2, 2], atol=1e-12)


def test_spectrum_is_invariant_to_rotation_translation_and_atom_order():
    atoms = molecule("CH3CH2OH")
    reference = sp.laplacian_spectrum(atoms, 2.0)
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    moved = atoms.get_positions() @ q.T + rng.normal(size=3)
    np.testing.assert_allclose(sp.laplacian_spectrum(moved, 2.0), reference, atol=1e-12)
    perm = rng.permutation(len(atoms))
    np.testing.assert_allclose(sp.laplacian_spectrum(moved[perm], 2.0), reference, atol=1e-12)


def test_mean_spectrum_pads_and_distance_is_zero_on_itself():
    mean = sp.mean_spectrum([np.array([0.0, 2.0]), np.array([0.0, 1.0, 2.0])])
    np.testing.assert_allclose(mean, [0.0, 1.5, 1.0])
    assert sp.spectral_distance(np.array([0.0, 1.5, 1.0]), mean) == pytest.approx(0.0)
    assert sp.spectral_distance(np.array([0.0, 2.0]), np.array([0.0, 1.0, 2.0])) == \
        pytest.approx((2 - 1) ** 2 + (0 - 2) ** 2)


def test_a_stretched_structure_is_farther_than_the_training_frames():
    atoms = molecule("CH3CH2OH")
    rng = np.random.default_rng(2)
    training = [atoms.get_positions() + rng.normal(scale=0.02, size=(len(atoms), 3))
                for _ in range(10)]
    stretched = atoms.get_positions() * 1.6  # bonds broken: a connectivity shift
    test, train = sp.spectral_distances([stretched], training, cutoff=2.0)
    assert test[0] > train.mean() + train.std()


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="cutoff must be positive"):
        sp.laplacian_spectrum(np.zeros((2, 3)), 0.0)
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        sp.laplacian_spectrum(np.zeros((2, 2)), 1.0)
    with pytest.raises(ValueError, match="finite"):
        sp.laplacian_spectrum(np.full((2, 3), np.nan), 1.0)
