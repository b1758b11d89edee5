"""The Langevin driver: unit conversions, what a frame holds, and bitwise resume."""

import numpy as np
import pytest
from ase import Atoms, units
from ase.build import molecule
from ase.calculators.calculator import Calculator, all_changes
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import thermalize_momenta

from mlffkit.units import ASE_VELOCITY_TO_ANGSTROM_PER_FS, friction_per_ps_to_ase
from mlffkit.metrics import kinetic_temperature
from mlffkit.reference.md import (REMOVED_DOF, Interrupted, LangevinSettings,
                                  connectivity_changes, run_langevin)
from mlffkit.calculators.xtb import GFN2xTB


class ZeroForce(Calculator):
    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results = {"energy": 0.0, "forces": np.zeros((len(self.atoms), 3))}


def test_friction_conversion_matches_ase_docs():
    # ASE's Langevin docstring: 0.01 / units.fs is 0.01 1/fs, i.e. 10 1/ps
    assert friction_per_ps_to_ase(10.0) == pytest.approx(0.01 / units.fs, rel=1e-12)
    assert friction_per_ps_to_ase(1.0) * 1000.0 * units.fs == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("gamma_per_ps", [2.0, 20.0])
def test_friction_damps_velocities_at_the_rate_given_in_inverse_ps(gamma_per_ps):
    # No forces and no noise (T = 0): Langevin is v' = -γ v, so v(t) = v(0) exp(-γ t).
    atoms = Atoms("H2", positions=[[0, 0, 0], [5, 0, 0]])
    atoms.set_velocities([[0.01, 0, 0], [-0.01, 0, 0]])
    atoms.calc = ZeroForce()
    dt_fs, steps = 1.0, 200
    dyn = Langevin(atoms, timestep=dt_fs * units.fs, temperature_K=0.0,
                   friction=friction_per_ps_to_ase(gamma_per_ps), fixcm=False)
    dyn.run(steps)
    t_ps = steps * dt_fs / 1000.0
    ratio = atoms.get_velocities()[0, 0] / 0.01
    assert ratio == pytest.approx(np.exp(-gamma_per_ps * t_ps), rel=1e-2)


def test_velocity_factor_and_temperature_with_fixed_centre_of_mass():
    atoms = Atoms("Ar2000", positions=np.zeros((2000, 3)))
    thermalize_momenta(atoms, temperature_K=300.0, rng=np.random.default_rng(0))
    v = atoms.get_velocities() * ASE_VELOCITY_TO_ANGSTROM_PER_FS
    # 300 K argon: sqrt(kT/m) = 2.5e-3 Å/fs per component
    assert v.std() == pytest.approx(np.sqrt(units.kB * 300 / 39.948) * units.fs, rel=0.05)
    both = kinetic_temperature(atoms.numbers, v, removed_dof=0)
    assert both == pytest.approx(atoms.get_temperature(), rel=1e-10)
    assert kinetic_temperature(atoms.numbers, v, removed_dof=REMOVED_DOF) == \
        pytest.approx(both * 6000 / 5997)


def _water_run(**kwargs):
    water = molecule("H2O")
    settings = LangevinSettings(temperature_K=500.0, timestep_fs=0.5, n_frames=8, n_equil=3,
                                stride=2, equil_friction_per_ps=10.0, checkpoint_every=4)
    return water, settings, run_langevin(water.numbers, water.positions, settings,
                                         seed=[7, 1], calculator=GFN2xTB(), **kwargs)


def test_frames_hold_energy_and_forces_of_their_own_positions():
    water, settings, traj = _water_run()
    f = traj.frames
    assert f["positions"].shape == f["forces"].shape == f["velocities"].shape == (8, 3, 3)
    assert f["energy"].shape == f["time_fs"].shape == (8,)
    np.testing.assert_allclose(f["time_fs"], np.arange(8) * 2 * 0.5)
    assert traj.steps == settings.n_steps == 3 + 7 * 2
    calc = GFN2xTB()
    for k in (0, 5):
        atoms = Atoms(water.numbers, positions=f["positions"][k], calculator=calc)
        assert atoms.get_potential_energy() == f["energy"][k]
        np.testing.assert_array_equal(atoms.get_forces(), f["forces"][k])
    # frames are 1 fs apart: the mean velocity over a gap matches the displacement
    mean_v = (f["positions"][1:] - f["positions"][:-1]) / 1.0
    assert np.abs(mean_v - 0.5 * (f["velocities"][1:] + f["velocities"][:-1])).max() < 5e-3


def test_resumed_run_is_bitwise_identical(tmp_path):
    _, _, whole = _water_run()
    checkpoint = tmp_path / "w.partial.npz"
    with pytest.raises(Interrupted):
        _water_run(checkpoint=checkpoint, stop_after_steps=9)
    assert checkpoint.exists()
    _, _, resumed = _water_run(checkpoint=checkpoint)
    for key, value in whole.frames.items():
        np.testing.assert_array_equal(resumed.frames[key], value, err_msg=key)


def test_checkpoint_of_other_inputs_is_refused(tmp_path):
    checkpoint = tmp_path / "w.partial.npz"
    with pytest.raises(Interrupted):
        _water_run(checkpoint=checkpoint, stop_after_steps=5)
    water = molecule("H2O")
    settings = LangevinSettings(temperature_K=500.0, timestep_fs=0.5, n_frames=8)
    with pytest.raises(ValueError, match="other settings"):
        run_langevin(water.numbers, water.positions, settings, seed=[7, 1],
                     calculator=GFN2xTB(), checkpoint=checkpoint)


def test_connectivity_changes_counts_broken_bonds():
    water = molecule("H2O")
    frames = np.stack([water.positions] * 3)
    frames[2, 1] += [2.0, 0, 0]  # pull one H off
    assert connectivity_changes(water.numbers, water.positions, frames) == 1


def test_harmonic_check_recovers_the_target_temperature_at_a_small_step():
    from mlffkit.reference.md import harmonic_thermostat_check

    quick = dict(friction_per_ps=50.0, n_atoms=256, n_steps=800)
    fine = harmonic_thermostat_check(period_fs=30.0, timestep_fs=0.25, **quick)
    assert fine["kinetic_K"] == pytest.approx(500.0, rel=0.06)
    assert fine["configurational_K"] == pytest.approx(500.0, rel=0.06)
    coarse = harmonic_thermostat_check(period_fs=9.0, timestep_fs=1.0, **quick)
    assert coarse["kinetic_K"] < 0.95 * 500.0  # the known low bias of a coarse step
