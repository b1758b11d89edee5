"""simulate(): integrators in physical units, initial velocities, output, crashes, stop rules."""

import numpy as np
import pandas as pd
import pytest
from ase import Atoms, units
from ase.build import bulk, molecule
from ase.calculators.emt import EMT
from ase.io import read

from mlffkit.md import THERMO_COLUMNS, TemperatureBoundsRule, simulate
from mlffkit.units import friction_per_ps_to_ase
from mlffkit.metrics.stability import BondLengthRule, RDFWindowRule
from mlffkit.metrics.structure import radial_distribution, uniform_bin_edges


def gas(n_atoms, seed=0):
    rng = np.random.default_rng(seed)
    return Atoms(f"Ar{n_atoms}", positions=rng.uniform(0, 30, size=(n_atoms, 3)))


def test_nve_conserves_energy_for_emt_copper(tmp_path):
    """32 Cu atoms at 300 K, 2 fs steps for 300 fs: the total energy stays within 1e-4 eV/atom
    of its start (0.4 % of kT; measured drift is about 3e-5 eV/atom)."""
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    result = simulate(atoms, EMT(), ensemble="nve", T_K=300, dt_fs=2.0, steps=150,
                      log=tmp_path / "thermo.csv", progress=False)
    assert result.stop is None and result.steps_completed == 150
    thermo = pd.read_csv(tmp_path / "thermo.csv")
    assert tuple(thermo.columns) == THERMO_COLUMNS and len(thermo) == 151
    assert thermo.temperature_K.iloc[0] > 200
    drift = np.abs(thermo.etot_eV - thermo.etot_eV.iloc[0]).max() / len(atoms)
    assert drift < 1e-4


def test_harmonic_oscillator_follows_cos_omega_t_in_femtoseconds(tmp_path, calculators):
    """One Ar atom in a 1 eV/Å^2 well, released at 0.5 Å: x(t) = 0.5 cos(omega t) with
    omega = sqrt(k / m) in ASE units, t in fs; velocity Verlet at 1 fs is exact to < 1e-3 Å."""
    atoms = Atoms("Ar", positions=[[0.5, 0.0, 0.0]])
    result = simulate(atoms, calculators["harmonic"](1.0), ensemble="nve", dt_fs=1.0,
                      steps=400, velocities=np.zeros((1, 3)), trajectory=tmp_path / "x.xyz",
                      progress=False)
    frames = read(tmp_path / "x.xyz", ":")
    assert len(frames) == result.frames_written == 401
    omega_per_fs = np.sqrt(1.0 / atoms.get_masses()[0]) * units.fs
    t_fs = np.arange(401) * 1.0
    x = np.array([f.positions[0, 0] for f in frames])
    np.testing.assert_allclose(x, 0.5 * np.cos(omega_per_fs * t_fs), atol=1e-3)
    assert frames[10].get_forces()[0, 0] == pytest.approx(-x[10])
    assert frames[10].get_potential_energy() == pytest.approx(0.5 * x[10] ** 2)


def test_given_velocities_are_in_angstrom_per_fs(calculators):
    atoms = gas(2)
    start = atoms.positions.copy()
    velocities = np.array([[0.01, 0.0, 0.0], [0.0, -0.02, 0.0]])
    result = simulate(atoms, calculators["free"](), ensemble="nve", dt_fs=0.5, steps=100,
                      velocities=velocities, progress=False)
    np.testing.assert_allclose(result.atoms.positions - start, velocities * 50.0, atol=1e-12)
    np.testing.assert_array_equal(atoms.positions, start)      # the input is not modified


def test_maxwell_boltzmann_velocities_are_seeded_with_zero_momentum(calculators):
    runs = [simulate(gas(500), calculators["free"](), ensemble="nve", T_K=300, dt_fs=1.0,
                     steps=0, seed=seed, progress=False) for seed in (7, 7, 8)]
    momenta = [r.atoms.get_momenta() for r in runs]
    np.testing.assert_array_equal(momenta[0], momenta[1])
    assert not np.allclose(momenta[0], momenta[2])
    np.testing.assert_allclose(momenta[0].sum(axis=0), 0.0, atol=1e-10)
    assert runs[0].atoms.get_temperature() == pytest.approx(300, rel=0.1)


def test_langevin_friction_is_per_picosecond(calculators):
    """Free particles from rest under friction gamma heat as T(t) = T (1 - exp(-2 gamma t)):
    gamma = 10/ps gives 190 K after 50 fs (a 1/fs or 1/ASE-time mix-up gives 300 K or 29 K).
    1000 atoms: 2.6 % noise; tolerance 10 %."""
    assert friction_per_ps_to_ase(1.0) == pytest.approx(1 / (1000 * units.fs))
    result = simulate(gas(1000), calculators["free"](), ensemble="langevin", T_K=300,
                      friction_per_ps=10.0, dt_fs=1.0, steps=50,
                      velocities=np.zeros((1000, 3)), seed=3, progress=False)
    expected = 300 * (1 - np.exp(-2 * 0.010 * 50))
    assert result.atoms.get_temperature() == pytest.approx(expected, rel=0.1)


def test_nose_hoover_chain_drives_the_temperature_to_its_target(tmp_path, calculators):
    """200 free atoms from 100 K, target 300 K, damping 30 fs: after 150 fs the mean
    temperature over the next 150 fs is within 15 % of 300 K."""
    start = simulate(gas(200), calculators["free"](), ensemble="nve", T_K=100, dt_fs=1.0,
                     steps=0, seed=1, progress=False).atoms
    simulate(start, calculators["free"](), ensemble="nose_hoover_chain", T_K=300,
             tdamp_fs=30.0, dt_fs=1.0, steps=300, velocities="from_atoms",
             log=tmp_path / "nhc.csv", progress=False)
    temperature = pd.read_csv(tmp_path / "nhc.csv").temperature_K.to_numpy()
    assert temperature[0] == pytest.approx(100, rel=0.2)
    assert temperature[150:].mean() == pytest.approx(300, rel=0.15)


@pytest.mark.parametrize("suffix", [".xyz", ".traj"])
def test_a_calculator_that_raises_at_step_k_leaves_k_frames(tmp_path, calculators, suffix):
    k = 5
    calculator = calculators["failing"](EMT(), fail_on=k)
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    path = tmp_path / f"md{suffix}"
    result = simulate(atoms, calculator, ensemble="nve", T_K=300, dt_fs=2.0, steps=20,
                      trajectory=path, log=tmp_path / "md.csv", progress=False)
    assert result.stop.rule == "calculator_error"
    assert "RuntimeError: model blew up on call 5" in result.stop.reason
    assert (result.stop.step, result.stop.time_fs) == (k, 2.0 * k)
    assert result.steps_completed == k - 1 and result.stopped_early
    assert len(read(path, ":")) == k == result.frames_written
    assert len(pd.read_csv(tmp_path / "md.csv")) == k


def test_non_finite_forces_stop_the_run_at_that_step(tmp_path, calculators):
    calculator = calculators["failing"](EMT(), fail_on=7, mode="nan")
    result = simulate(bulk("Cu", "fcc", a=3.6, cubic=True), calculator, ensemble="langevin",
                      T_K=300, friction_per_ps=1.0, dt_fs=2.0, steps=20,
                      trajectory=tmp_path / "md.xyz", progress=False)
    assert result.stop.rule == "non_finite" and result.stop.step == 7
    assert "1 atoms have non-finite forces" in result.stop.reason
    assert len(read(tmp_path / "md.xyz", ":")) == 8            # steps 0-7, the bad one shown


def test_bond_length_rule_stops_a_stretching_molecule_at_the_right_step(calculators):
    """Free flight of one H along its O-H bond at 0.012 Å/fs: the bond is 0.504 Å too long,
    past Fu et al.'s 0.5 Å, at step 42 of 1 fs."""
    water = molecule("H2O")
    direction = water.positions[1] - water.positions[0]
    velocities = np.zeros((3, 3))
    velocities[1] = 0.012 * direction / np.linalg.norm(direction)
    result = simulate(water, calculators["free"](), ensemble="nve", dt_fs=1.0, steps=100,
                      velocities=velocities, stop_rules=[BondLengthRule()], progress=False)
    assert result.stop.rule == "bond_length"
    assert (result.stop.step, result.stop.time_fs) == (42, 42.0)
    assert result.steps_completed == 42


def test_rdf_window_rule_fires_once_its_first_window_is_full():
    """Samples every 2 steps of 2 fs into a 20 fs window = 5 samples (steps 0, 2, ..., 8); with
    a threshold of 0 any thermal motion fails, so the run stops at step 8."""
    crystal = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    edges = uniform_bin_edges(3.5, 0.05)
    rule = RDFWindowRule({None: radial_distribution(crystal, edges)}, edges, threshold=0.0,
                         dt_fs=2.0, window_fs=20.0, sample_every_steps=2)
    result = simulate(crystal, EMT(), ensemble="nve", T_K=300, dt_fs=2.0, steps=30,
                      stop_rules=[rule], progress=False)
    assert result.stop.rule == "rdf_window" and result.stop.step == 8
    assert "over the last 5 samples" in result.stop.reason


def test_temperature_bounds_rule(calculators):
    result = simulate(gas(50), calculators["free"](), ensemble="nve", T_K=600, dt_fs=1.0,
                      steps=10, stop_rules=[TemperatureBoundsRule(T_max_K=400)],
                      progress=False)
    assert result.stop.rule == "temperature_bounds" and result.stop.step == 0
    assert "outside" in result.stop.reason


def test_timing_is_measured_and_a_progress_bar_does_not_break_anything(calculators, capsys):
    result = simulate(gas(10), calculators["free"](), ensemble="nve", T_K=300, dt_fs=1.0,
                      steps=30, progress=True)
    assert result.steps_per_second > 0 and result.wall_time_s > 0
    assert result.time_fs == 30.0 and result.frames_written == 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(ensemble="npt", T_K=300), "ensemble must be"),
    (dict(ensemble="langevin", T_K=300), "friction_per_ps"),
    (dict(ensemble="nve", T_K=300, friction_per_ps=1.0), "Langevin ensemble only"),
    (dict(ensemble="nose_hoover_chain"), "positive T_K"),
    (dict(ensemble="nve"), "need T_K"),
    (dict(ensemble="nve", velocities=np.zeros((3, 3))), "shape"),
    (dict(ensemble="nve", T_K=300, dt_fs=-1.0), "dt_fs"),
    (dict(ensemble="nve", T_K=300, log_every=0), "log_every"),
])
def test_bad_arguments_raise_a_clear_value_error(kwargs, message, calculators):
    arguments = dict(dt_fs=1.0, steps=5, progress=False) | kwargs
    with pytest.raises(ValueError, match=message):
        simulate(gas(2), calculators["free"](), **arguments)
