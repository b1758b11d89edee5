"""EV/FV, RMSD, MSD, diffusivity and the kinetic temperature."""

import numpy as np
import pytest
from ase import units
from ase.build import molecule
from ase.constraints import FixCom

from mlffkit.metrics.dynamics import (ANGSTROM2_PER_FS_TO_CM2_PER_S, diffusivity,
                                      energy_violation, force_violation, geometric_mean,
                                      kinetic_temperature, mean_squared_displacement, rmsd,
                                      unwrap_positions)


def test_ev_and_fv_are_zero_for_identical_and_within_0_1_otherwise():
    rng = np.random.default_rng(0)
    energies = -rng.uniform(100, 200, size=50)           # total energies share a sign
    forces = rng.normal(size=(50, 9, 3))
    np.testing.assert_array_equal(energy_violation(energies, energies), 0.0)
    np.testing.assert_array_equal(force_violation(forces, forces), 0.0)
    ev = energy_violation(energies * rng.uniform(0.5, 1.5, 50), energies)
    fv = force_violation(rng.normal(size=(50, 9, 3)) * 3, forces)
    assert np.all((ev >= 0) & (ev <= 1)) and np.all((fv >= 0) & (fv <= 1))
    np.testing.assert_allclose(force_violation(-forces, forces), 1.0)   # opposite: worst
    np.testing.assert_allclose(force_violation(np.zeros_like(forces), forces), 1.0)


def test_ev_reaches_two_only_when_energies_change_sign():
    """Eq. 4's [0, 1] bound holds for same-sign energies; E_hat = -E gives 2."""
    assert energy_violation([-1.0], [1.0])[0] == pytest.approx(2.0)
    assert energy_violation([0.0], [0.0])[0] == 0.0


def test_ev_fv_known_values():
    assert energy_violation([-3.0], [-1.0])[0] == pytest.approx(4 / 10)
    f = np.zeros((1, 1, 3))
    f_hat = f.copy()
    f[0, 0, 0], f_hat[0, 0, 0] = 1.0, 3.0
    assert force_violation(f_hat, f)[0] == pytest.approx(2 / 4)


def test_geometric_mean():
    assert geometric_mean([1.0, 4.0, 16.0]) == pytest.approx(4.0)
    assert geometric_mean([0.0, 2.0]) == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        geometric_mean([-1.0, 2.0])


def test_rmsd_with_and_without_kabsch_alignment():
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(12, 3))
    angle = 0.7
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0],
                         [0, 0, 1]])
    moved = reference @ rotation.T + [1.0, -2.0, 0.5]
    frames = np.stack([reference, moved])
    unaligned = rmsd(frames)
    assert unaligned[0] == 0 and unaligned[1] > 1.0
    np.testing.assert_allclose(rmsd(frames, align=True), 0.0, atol=1e-12)
    shifted = np.stack([reference, reference + [0.3, 0.4, 0.0]])
    np.testing.assert_allclose(rmsd(shifted), [0.0, 0.5])
    mirrored = reference * [1, 1, -1]          # a reflection is not a rotation: stays > 0
    assert rmsd(np.stack([mirrored]), reference, align=True)[0] > 0.1


def brownian_walk(rng, n_steps, n_particles, d_a2_per_fs, dt_fs):
    steps = rng.normal(scale=np.sqrt(2 * d_a2_per_fs * dt_fs), size=(n_steps, n_particles, 3))
    return np.cumsum(steps, axis=0)


def test_brownian_particles_recover_their_diffusion_coefficient():
    """Water-like D = 2.3e-9 m^2/s = 2.3e-4 Å^2/fs; 400 particles x 2000 frames of 10 fs.
    The slope over 1-5 ps and MSD/6t at 5 ps both recover D to 10 % (their scatter over seeds
    is about 2 %; a wrong factor, 2 instead of 6 or fs instead of ps, is far outside)."""
    rng = np.random.default_rng(2)
    d_true, dt = 2.3e-4, 10.0
    positions = brownian_walk(rng, 2000, 400, d_true, dt)
    msd = mean_squared_displacement(positions)
    assert msd[0] == 0
    slope = diffusivity(msd, dt, window_fs=(1000, 5000))
    at_end = diffusivity(msd, dt, window_fs=(0, 5000), method="msd_over_6t")
    assert slope == pytest.approx(d_true, rel=0.1)
    assert at_end == pytest.approx(d_true, rel=0.1)
    assert slope * ANGSTROM2_PER_FS_TO_CM2_PER_S == pytest.approx(2.3e-5, rel=0.1)


def test_fft_msd_equals_the_direct_average_over_time_origins():
    rng = np.random.default_rng(3)
    positions = rng.normal(size=(40, 5, 3)).cumsum(axis=0)
    direct = np.array([np.mean(np.sum((positions[lag:] - positions[:-lag or None]) ** 2, -1))
                       for lag in range(40)])
    fast = mean_squared_displacement(positions, remove_drift=False)
    np.testing.assert_allclose(fast, direct, rtol=1e-10, atol=1e-12)
    first = mean_squared_displacement(positions, remove_drift=False, time_origins="first")
    np.testing.assert_allclose(first, np.mean(np.sum((positions - positions[0]) ** 2, -1), -1))


def test_msd_selects_atoms_by_element_and_removes_drift():
    positions = np.zeros((5, 3, 3))
    positions[:, :2, 0] = np.arange(5)[:, None] * 1.0       # two O drift together
    positions[:, 2, 1] = np.arange(5) * 2.0                  # the H moves on its own
    np.testing.assert_allclose(mean_squared_displacement(
        positions, atoms="O", species=["O", "O", "H"]), 0.0, atol=1e-12)
    np.testing.assert_allclose(mean_squared_displacement(
        positions, atoms=[0], remove_drift=False), np.arange(5) ** 2)


def test_unwrap_restores_a_trajectory_wrapped_into_the_box():
    rng = np.random.default_rng(4)
    box = 5.0
    positions = brownian_walk(rng, 300, 10, 0.01, 5.0)
    unwrapped = unwrap_positions(positions % box, cell=[box] * 3)
    np.testing.assert_allclose(unwrapped - unwrapped[0], positions - positions[0], atol=1e-9)


@pytest.mark.parametrize("call, message", [
    (lambda: energy_violation([1.0, 2.0], [1.0]), "shape"),
    (lambda: force_violation(np.zeros((2, 3)), np.zeros((2, 3))), "dimensions"),
    (lambda: diffusivity([0, 1, 2], 1.0, window_fs=(10, 20)), "fewer than two"),
    (lambda: diffusivity([0, 1, 2], 1.0, window_fs=(0, 2), method="x"), "method"),
    (lambda: diffusivity([0, 1, 2], 0.0, window_fs=(0, 2)), "positive"),
    (lambda: unwrap_positions(np.zeros((3, 2, 3))), "needs a simulation cell"),
    (lambda: mean_squared_displacement(np.zeros((3, 2, 3)), atoms="O"), "species"),
    (lambda: mean_squared_displacement(np.zeros((3, 2, 3)), time_origins="x"), "time_origins"),
    (lambda: rmsd(np.zeros((3, 2, 3)), np.zeros((3, 3))), "atoms"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_kinetic_temperature_counts_the_degrees_of_freedom_it_is_told():
    atoms = molecule("CH3CH2OH")
    v = np.random.default_rng(1).normal(0, 0.01, (len(atoms), 3))  # Å/fs
    atoms.set_velocities(v / units.fs)
    free = kinetic_temperature(atoms.numbers, v, removed_dof=0)
    assert isinstance(free, float) and free == pytest.approx(atoms.get_temperature(), rel=1e-12)
    atoms.set_constraint(FixCom())  # ASE then counts 3N - 3
    assert kinetic_temperature(atoms.numbers, v, removed_dof=3) == \
        pytest.approx(atoms.get_temperature(), rel=1e-12)
    stack = kinetic_temperature(atoms.numbers, np.stack([v, 2 * v]), removed_dof=0)
    np.testing.assert_allclose(stack, [free, 4 * free], rtol=1e-12)
    with pytest.raises(TypeError):
        kinetic_temperature(atoms.numbers, v)  # the convention is never implied
