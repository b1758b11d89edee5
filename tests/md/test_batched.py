"""simulate_batched(): the same trajectories as simulate, independent replicas, energy
conservation, Langevin temperature, per-replica stops, and simulate's fault promises."""

import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from ase import Atoms
from ase.build import molecule as build_molecule
from ase.calculators.emt import EMT
from ase.constraints import FixAtoms
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from mlffkit.md import (THERMO_COLUMNS, TemperatureBoundsRule, calculator, read_trajectory,
                        simulate, simulate_batched)
from mlffkit.metrics.stability import BondLengthRule
from mlffkit.models import save_checkpoint
from mlffkit.testing import random_molecule, tiny_model
from mlffkit.units import ASE_VELOCITY_TO_ANGSTROM_PER_FS

ETHANOL_LIKE = [6, 6, 8, 1, 1, 1, 1, 1]


def molecule(numbers, seed=0):
    """A random molecule (atoms 0.9 Å or more apart in a small box) as ase.Atoms."""
    batch = random_molecule(numbers, seed=seed, dtype=torch.float64)
    return Atoms(numbers=batch.numbers.numpy(), positions=batch.pos.numpy())


@pytest.fixture(scope="module")
def model():
    return tiny_model("painn")  # float64, eval mode


ENSEMBLES = {"nve": {}, "langevin": dict(friction_per_ps=5.0),
             "nose_hoover_chain": dict(tdamp_fs=20.0), "nose_hoover": dict(tdamp_fs=10.0)}


# -- the same dynamics as simulate -----------------------------------------------------------
@pytest.mark.parametrize("ensemble", list(ENSEMBLES))
def test_one_replica_follows_simulate_with_the_model_calculator(ensemble, model, tmp_path):
    """float64, 50 steps of 0.5 fs from the same start, Maxwell-Boltzmann velocities (and
    Langevin noise) from the same seed: positions within 1e-10 Å of simulate's at every frame,
    and the same thermo log."""
    atoms, kwargs = molecule(ETHANOL_LIKE, seed=1), ENSEMBLES[ensemble]
    common = dict(ensemble=ensemble, T_K=300, dt_fs=0.5, steps=50, seed=3, write_every=5,
                  progress=False, **kwargs)
    reference = simulate(atoms, calculator(model), trajectory=tmp_path / "ref.traj",
                         log=tmp_path / "ref.csv", **common)
    run = simulate_batched([atoms], model, trajectory=tmp_path / "batched.traj",
                           log=tmp_path / "batched.csv", **common)
    assert run.batched and run.model_calls == 51
    assert run[0].stop is None and run[0].steps_completed == 50
    expected = read_trajectory(tmp_path / "ref.traj")  # ASE .traj: full precision
    got = read_trajectory(tmp_path / "batched.traj")
    assert len(got) == len(expected) == 11 == run[0].frames_written
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a.positions, b.positions, rtol=0, atol=1e-10)
        np.testing.assert_allclose(a.get_momenta(), b.get_momenta(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(a.get_forces(), b.get_forces(), rtol=0, atol=1e-8)
    moved = np.abs(expected[-1].positions - expected[0].positions).max()
    assert moved > 0.05                                        # the comparison is not vacuous
    np.testing.assert_allclose(run[0].atoms.positions, reference.atoms.positions, atol=1e-10)
    thermo, thermo_ref = pd.read_csv(tmp_path / "batched.csv"), pd.read_csv(tmp_path / "ref.csv")
    assert tuple(thermo.columns) == THERMO_COLUMNS and len(thermo) == 51
    np.testing.assert_allclose(thermo.to_numpy(), thermo_ref.to_numpy(), rtol=1e-9, atol=1e-9)


def test_given_velocities_are_in_angstrom_per_fs_as_in_simulate(model):
    atoms = molecule(ETHANOL_LIKE, seed=2)
    velocities = np.random.default_rng(0).normal(0, 0.01, size=(len(atoms), 3))
    reference = simulate(atoms, calculator(model), ensemble="nve", dt_fs=0.5, steps=20,
                         velocities=velocities, progress=False)
    run = simulate_batched([atoms], model, ensemble="nve", dt_fs=0.5, steps=20,
                           velocities=[velocities], progress=False)
    np.testing.assert_allclose(run[0].atoms.positions, reference.atoms.positions, atol=1e-10)


# -- replicas are independent ----------------------------------------------------------------
@pytest.mark.parametrize("ensemble", ["langevin", "nose_hoover_chain"])
def test_a_batch_of_three_molecules_equals_three_single_runs(ensemble, model):
    """Three different molecules (8, 5 and 3 atoms) in one batch, seeds 4, 9, 2: each follows
    the trajectory it has alone (its own noise stream, its own thermostat chain)."""
    systems = [molecule(ETHANOL_LIKE, 1), molecule([6, 1, 1, 1, 1], 2), molecule([8, 1, 1], 3)]
    common = dict(ensemble=ensemble, T_K=400, dt_fs=0.5, steps=40, progress=False,
                  **ENSEMBLES[ensemble])
    batch = simulate_batched(systems, model, seed=[4, 9, 2], **common)
    assert batch.model_calls == 41
    for atoms, seed, replica in zip(systems, [4, 9, 2], batch):
        alone = simulate_batched([atoms], model, seed=seed, **common)[0]
        assert replica.stop is None and replica.steps_completed == 40
        np.testing.assert_allclose(replica.atoms.positions, alone.atoms.positions, atol=1e-10)
        np.testing.assert_allclose(replica.atoms.get_momenta(), alone.atoms.get_momenta(),
                                   atol=1e-10)
    starts = [a.positions for a in systems]
    assert all(np.abs(r.atoms.positions - s).max() > 0.05 for r, s in zip(batch, starts))


def test_an_int_seed_gives_replica_i_seed_plus_i(model):
    atoms = molecule(ETHANOL_LIKE, seed=1)
    run = simulate_batched([atoms, atoms], model, ensemble="nve", T_K=300, dt_fs=0.5, steps=5,
                           seed=10, progress=False)
    alone = simulate_batched([atoms], model, ensemble="nve", T_K=300, dt_fs=0.5, steps=5,
                             seed=11, progress=False)
    np.testing.assert_allclose(run[1].atoms.positions, alone[0].atoms.positions, atol=1e-10)
    assert np.abs(run[0].atoms.positions - run[1].atoms.positions).max() > 1e-3


def test_a_checkpoint_path_or_a_calculator_runs_batched(model, tmp_path):
    atoms = molecule(ETHANOL_LIKE, seed=1)
    common = dict(ensemble="nve", T_K=300, dt_fs=0.5, steps=5, progress=False)
    reference = simulate_batched([atoms, atoms], model, **common)
    path = save_checkpoint(model, tmp_path / "model.pt")
    for given in (path, str(path), calculator(model)):
        run = simulate_batched([atoms, atoms], given, **common)
        assert run.batched and run.model_calls == 6
        np.testing.assert_allclose(run[1].atoms.positions, reference[1].atoms.positions,
                                   atol=1e-10)


def test_the_calculator_loop_gives_the_batched_trajectories(model):
    """Any ASE calculator runs replica by replica (here mlffkit's own calculator, one per
    replica, which forces the loop): the same dynamics as one batched call per step."""
    systems = [molecule(ETHANOL_LIKE, 1), molecule([6, 1, 1, 1, 1], 2)]
    common = dict(ensemble="langevin", T_K=300, friction_per_ps=2.0, dt_fs=0.5, steps=30,
                  seed=5, progress=False)
    looped = simulate_batched(systems, [calculator(model), calculator(model)], **common)
    batched = simulate_batched(systems, model, **common)
    assert not looped.batched and looped.model_calls == 2 * 31
    for a, b in zip(looped, batched):
        np.testing.assert_allclose(a.atoms.positions, b.atoms.positions, atol=1e-10)


# -- physics ---------------------------------------------------------------------------------
def test_nve_conserves_energy_at_a_small_time_step(model, tmp_path):
    """4 replicas at 300 K, 0.25 fs steps for 200 steps: the total energy of each stays
    within 1e-4 eV of its start while its potential energy swings by more than 1e-2 eV
    (measured drift ~5e-6 eV; a wrong force sign or scale gives ~1e-2 eV)."""
    systems = [molecule(ETHANOL_LIKE, seed) for seed in range(4)]
    run = simulate_batched(systems, model, ensemble="nve", T_K=300, dt_fs=0.25, steps=200,
                           log=tmp_path / "nve_{replica}.csv", progress=False)
    assert all(stop is None for stop in run.stops)
    for i in range(4):
        thermo = pd.read_csv(tmp_path / f"nve_{i}.csv")
        assert len(thermo) == 201
        assert thermo.epot_eV.max() - thermo.epot_eV.min() > 1e-2
        assert np.abs(thermo.etot_eV - thermo.etot_eV.iloc[0]).max() < 1e-4


def test_langevin_reaches_the_target_temperature_on_average(model, tmp_path):
    """16 replicas of 8 atoms from rest, T = 300 K, friction 50/ps (the kinetic temperature
    relaxes in 1/(2 gamma) = 10 fs), 1 fs steps: averaged over steps 60-200 and all replicas
    it is 300 K within 5 % (seeded; over seeds the average spreads by about 2 %). The first
    steps, far below 300 K, show the heating from rest."""
    systems = [molecule(ETHANOL_LIKE, seed) for seed in range(16)]
    run = simulate_batched(systems, model, ensemble="langevin", T_K=300, friction_per_ps=50.0,
                           dt_fs=1.0, steps=200, seed=0,
                           velocities=np.zeros((16, len(ETHANOL_LIKE), 3)),
                           log=tmp_path / "T_{replica}.csv", progress=False)
    assert all(stop is None for stop in run.stops)
    T = np.array([pd.read_csv(tmp_path / f"T_{i}.csv").temperature_K for i in range(16)])
    assert T[:, :3].mean() < 100
    assert T[:, 60:].mean() == pytest.approx(300, rel=0.05)


def test_nose_hoover_chain_pulls_the_temperature_to_its_target(model, tmp_path):
    """6 replicas started at 600 K, target 300 K, tdamp 10 fs, 200 steps of 0.5 fs: the
    kinetic temperature averaged over steps 60-200 is 300 K within 10 % (measured 287-296 K
    over three sets of molecules; without the thermostat it stays near 550 K)."""
    systems = [molecule(ETHANOL_LIKE, seed) for seed in range(6)]
    simulate_batched(systems, model, ensemble="nose_hoover_chain", T_K=300, tdamp_fs=10.0,
                     dt_fs=0.5, steps=200, log=tmp_path / "T_{replica}.csv", progress=False,
                     velocities=[_maxwell(a, 600, seed) for seed, a in enumerate(systems)])
    T = np.array([pd.read_csv(tmp_path / f"T_{i}.csv").temperature_K for i in range(6)])
    assert T[:, :5].mean() > 450
    assert T[:, 60:].mean() == pytest.approx(300, rel=0.10)


def _maxwell(atoms, T_K, seed):
    """Maxwell-Boltzmann velocities (Å/fs) at ``T_K``, zero total momentum."""
    atoms = atoms.copy()
    thermalize_momenta(atoms, T_K, rng=np.random.default_rng(seed))
    Stationary(atoms)
    return atoms.get_velocities() * ASE_VELOCITY_TO_ANGSTROM_PER_FS


# -- per-replica stops -----------------------------------------------------------------------
class FailsOnFluorine(torch.nn.Module):
    """The tiny model, but a structure holding fluorine gets NaN forces (``mode="nan"``) or
    makes the call raise (``mode="raise"``) from model call ``after`` on."""

    def __init__(self, inner, mode, after=0):
        super().__init__()
        self.inner, self.mode, self.after, self.calls = inner, mode, after, 0

    @property
    def cutoff(self):
        return self.inner.cutoff

    def forward(self, batch, **kwargs):
        out, self.calls = dict(self.inner(batch, **kwargs)), self.calls + 1
        marked = batch.numbers == 9
        if self.calls > self.after and bool(marked.any()):
            if self.mode == "raise":
                raise RuntimeError("fluorine blew up")
            out["forces"] = torch.where(marked[:, None], torch.nan, out["forces"])
        return out


@pytest.mark.parametrize("mode, rule, reason", [
    ("nan", "non_finite", "1 atoms have non-finite forces"),
    ("raise", "calculator_error", "RuntimeError: fluorine blew up"),
])
def test_a_replica_that_blows_up_stops_while_the_others_finish(mode, rule, reason, model,
                                                               tmp_path):
    systems = [molecule(ETHANOL_LIKE, 1), molecule([6, 9, 1, 1, 1], 2), molecule([8, 1, 1], 3)]
    faulty = FailsOnFluorine(model, mode, after=5)
    run = simulate_batched(systems, faulty, ensemble="langevin", T_K=300, friction_per_ps=1.0,
                           dt_fs=0.5, steps=20, trajectory=tmp_path / "md_{replica}.extxyz",
                           progress=False)
    assert run.batched
    stop = run[1].stop
    assert stop is not None and stop.rule == rule and reason in stop.reason
    assert stop.step == 5 and stop.time_fs == 2.5                 # model call 6 is step 5
    assert run[1].steps_completed == (5 if mode == "nan" else 4)
    for i in (0, 2):
        assert run[i].stop is None and run[i].steps_completed == 20
        assert len(read_trajectory(tmp_path / f"md_{i}.extxyz")) == 21
    frames = read_trajectory(tmp_path / "md_1.extxyz")
    assert len(frames) == (6 if mode == "nan" else 5) == run[1].frames_written
    if mode == "nan":  # the stopped replica keeps the state it stopped in, NaN force and all
        np.testing.assert_allclose(run[1].atoms.get_forces(), frames[-1].get_forces(),
                                   atol=1e-8)
        assert np.isnan(run[1].atoms.get_forces()).sum() == 3
    # one batched call per step, plus (raise) the one-by-one retry that found the culprit
    assert run.model_calls == (21 if mode == "nan" else 21 + 3)
    # the others follow the trajectories they have without the faulty replica
    alone = simulate_batched([systems[0], systems[2]], model, ensemble="langevin", T_K=300,
                             friction_per_ps=1.0, dt_fs=0.5, steps=20, seed=[0, 2],
                             progress=False)
    for i, single in zip((0, 2), alone):
        np.testing.assert_allclose(run[i].atoms.positions, single.atoms.positions, atol=1e-10)


def test_a_calculator_returning_nan_for_one_replica_stops_only_that_one(calculators):
    """The loop fallback: replica 1's calculator returns a NaN force on its 4th call."""
    harmonic = calculators["harmonic"]
    systems = [Atoms("Ar2", positions=[[0, 0, 0], [1.0, 0, 0]]) for _ in range(3)]
    faulty = calculators["failing"](harmonic(1.0), fail_on=3, mode="nan")
    run = simulate_batched(systems, [harmonic(1.0), faulty, harmonic(1.0)], ensemble="nve",
                           T_K=300, dt_fs=1.0, steps=10, progress=False)
    assert not run.batched
    assert run[1].stop.rule == "non_finite" and run[1].stop.step == 3
    assert "non-finite forces" in run[1].stop.reason
    assert [r.stop for r in (run[0], run[2])] == [None, None]
    assert run[0].steps_completed == run[2].steps_completed == 10


def test_a_huge_kick_trips_the_bond_rule_of_that_replica_only(model):
    """Per-replica stop rules: each replica checks its own copy of BondLengthRule; replica 1
    has one atom thrown at 1 Å/fs and stops within a few steps, the others run on."""
    systems = [molecule(ETHANOL_LIKE, seed) for seed in range(3)]
    velocities = np.zeros((3, len(ETHANOL_LIKE), 3))
    velocities[1, 0] = [1.0, 0.0, 0.0]
    rule = BondLengthRule()
    run = simulate_batched(systems, model, ensemble="nve", dt_fs=0.5, steps=20,
                           velocities=velocities, stop_rules=[rule], progress=False)
    assert rule.bonds is None                         # the given rule is a prototype, copied
    assert run[1].stop.rule == "bond_length" and run[1].stop.step <= 3
    assert run.stops[0] is None and run.stops[2] is None
    assert run[0].steps_completed == run[2].steps_completed == 20


def test_temperature_bounds_rule_and_a_non_finite_start(model):
    """A replica with a NaN force at the start stops at step 0 (nothing computed after it);
    TemperatureBoundsRule stops a hot replica at its first step."""
    systems = [molecule(ETHANOL_LIKE, 1), molecule([6, 9, 1, 1, 1], 2)]
    run = simulate_batched(systems, FailsOnFluorine(model, "nan"), ensemble="nve", T_K=300,
                           dt_fs=0.5, steps=3, progress=False)
    assert run[1].stop.step == 0 and run[1].steps_completed == 0 and run[0].stop is None
    hot = simulate_batched(systems[:1], model, ensemble="nve", T_K=5000, dt_fs=0.5, steps=3,
                           stop_rules=[TemperatureBoundsRule(T_max_K=1000)], progress=False)
    assert hot[0].stop.rule == "temperature_bounds" and hot[0].stop.step == 0


# -- fault promises --------------------------------------------------------------------------
NAN, INF = float("nan"), float("inf")


def one_line_error(error_type, match, tmp_path, **kwargs):
    """simulate_batched(**kwargs) on two small molecules raises in one line, writing nothing."""
    arguments = dict(systems=[molecule([6, 1, 1, 1, 1], 1), molecule([8, 1, 1], 2)],
                     model=tiny_model("painn"), ensemble="nve", T_K=300, dt_fs=1.0, steps=3,
                     trajectory=tmp_path / "md_{replica}.extxyz",
                     log=tmp_path / "md_{replica}.csv", progress=False) | kwargs
    before = sorted(tmp_path.iterdir())
    with pytest.raises(error_type, match=match) as raised:
        simulate_batched(arguments.pop("systems"), arguments.pop("model"), **arguments)
    assert "\n" not in str(raised.value)
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize("kwargs, match", [
    (dict(dt_fs=NAN), "dt_fs must be a finite time step > 0"),
    (dict(T_K=-5), "T_K must be a finite temperature >= 0"),
    (dict(ensemble="langevin", friction_per_ps=-1.0), "finite friction_per_ps > 0"),
    (dict(ensemble="nose_hoover_chain", tdamp_fs=INF), "tdamp_fs must be a finite"),
    (dict(ensemble="npt"), "ensemble must be one of"),
    (dict(steps=2.5), "steps must be an integer >= 0"),
    (dict(seed=[1, 2, 3]), "seed must be an int .* or a list of 2 ints"),
    (dict(seed=-1), "seeds must be integers >= 0"),
    (dict(velocities=[np.zeros((5, 3))]), r"one \(N, 3\) array in Å/fs per replica \(2 of"),
    (dict(velocities=[np.zeros((5, 3)), np.zeros((2, 3))]),
     r"replica 1 \(systems\[1\]\): velocities must be finite with shape \(3, 3\)"),
    (dict(velocities=np.zeros((5, 3))), r"shape \(replicas, N, 3\)"),
    (dict(systems=[]), "systems is empty"),
    (dict(systems=[Atoms("H2", positions=[[0, 0, 0], [NAN, 0, 0]])]),
     r"replica 0 \(systems\[0\]\): atoms has 1 atoms with non-finite positions"),
    (dict(trajectory="md.extxyz"), "one path for 2 replicas: put {replica} in it"),
    (dict(log=["a.csv"]), "a list of 1 paths for 2 replicas"),
    (dict(log=None, trajectory=["same.xyz", "same.xyz"]), "are the same file"),
    (dict(log="{replica}.xyz", trajectory="{replica}.xyz"), "are the same file"),
    (dict(model=[EMT()]), "list of 1 calculators for 2 replicas"),
    (dict(model=EMT(), device="cpu"), "device applies to mlffkit potentials only"),
])
def test_bad_inputs_are_refused_in_one_line_before_anything_is_written(kwargs, match,
                                                                       tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_line_error(ValueError, match, tmp_path, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(systems="water"), "systems must be a list of ase.Atoms"),
    (dict(systems=[molecule([8, 1, 1]), "water"]), r"systems\[1\] must be an ase.Atoms"),
    (dict(model=EMT), r"replica 0 .*calculator must be an ASE calculator object"),
    (dict(model=torch.nn.Linear(3, 1)), "model must be an mlffkit potential"),
    (dict(stop_rules=[object()]), "stop_rules must be a list of stop rules"),
])
def test_wrong_types_are_refused_in_one_line(kwargs, match, tmp_path):
    one_line_error(TypeError, match, tmp_path, **kwargs)


def test_constraints_are_refused_rather_than_ignored(tmp_path):
    constrained = molecule([8, 1, 1])
    constrained.set_constraint(FixAtoms(indices=[0]))
    one_line_error(ValueError, r"systems\[0\] carries constraints", tmp_path,
                   systems=[constrained])


def test_a_rule_that_cannot_start_names_the_replica(tmp_path):
    """BondLengthRule needs bonds; an atom far from the rest has none."""
    lonely = Atoms("H2", positions=[[0, 0, 0], [9.0, 0, 0]])
    one_line_error(ValueError, r"replica 1 .*found no bonds", tmp_path,
                   systems=[build_molecule("H2O"), lonely], stop_rules=[BondLengthRule()])


@pytest.mark.parametrize("parameter", ["trajectory", "log"])
def test_existing_outputs_are_kept_unless_overwrite(parameter, model, tmp_path):
    systems = [molecule([8, 1, 1], 1), molecule([8, 1, 1], 2)]
    suffix = ".extxyz" if parameter == "trajectory" else ".csv"
    (tmp_path / f"out_1{suffix}").write_text("keep me\n")
    outputs = {parameter: tmp_path / f"out_{{replica}}{suffix}"}
    with pytest.raises(FileExistsError, match=r"out_1.* exists: pass overwrite=True"):
        simulate_batched(systems, model, ensemble="nve", T_K=300, dt_fs=0.5, steps=2,
                         progress=False, **outputs)
    assert (tmp_path / f"out_1{suffix}").read_text() == "keep me\n"
    assert not (tmp_path / f"out_0{suffix}").exists()           # nothing written before
    simulate_batched(systems, model, ensemble="nve", T_K=300, dt_fs=0.5, steps=2,
                     progress=False, overwrite=True, **outputs)
    assert (tmp_path / f"out_1{suffix}").read_text() != "keep me\n"


def test_outputs_read_back_with_read_trajectory(model, tmp_path):
    """Frames every write_every steps (and the last one), positions, momenta, energies and
    forces as the result says; a list of paths works like a pattern."""
    systems = [molecule(ETHANOL_LIKE, 1), molecule([8, 1, 1], 2)]
    paths = [tmp_path / "a.extxyz", tmp_path / "b.traj"]
    run = simulate_batched(systems, model, ensemble="langevin", T_K=300, friction_per_ps=1.0,
                           dt_fs=0.5, steps=12, write_every=4, log_every=3,
                           trajectory=paths, log=tmp_path / "thermo_{replica}.csv",
                           progress=False)
    for i, path in enumerate(paths):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            frames = read_trajectory(path)
        assert len(frames) == 4 == run[i].frames_written and run[i].trajectory_path == path
        last = frames[-1]
        # extxyz keeps 8 decimals of positions, momenta and forces
        np.testing.assert_allclose(last.positions, run[i].atoms.positions, atol=1e-8)
        np.testing.assert_allclose(last.get_momenta(), run[i].atoms.get_momenta(), atol=1e-8)
        np.testing.assert_allclose(last.get_forces(), run[i].atoms.get_forces(), atol=1e-8)
        assert last.get_potential_energy() == pytest.approx(run[i].atoms.get_potential_energy())
        thermo = pd.read_csv(tmp_path / f"thermo_{i}.csv")
        assert list(thermo.step) == [0, 3, 6, 9, 12] and tuple(thermo.columns) == THERMO_COLUMNS
        assert thermo.time_fs.iloc[-1] == 6.0


KILLED = textwrap.dedent("""
    import sys
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from mlffkit.md import simulate_batched

    copper = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)
    simulate_batched([copper, copper], EMT(), ensemble="nve", T_K=300, dt_fs=2.0, steps=100000,
                     trajectory=sys.argv[1], progress=False)
""")


def test_a_run_killed_with_sigkill_leaves_readable_trajectories(tmp_path, kill_when_written):
    """Two replicas of 108 Cu atoms (about 17 kB a frame): SIGKILL once 3 frames of replica 1
    are on disk; every complete frame of both replicas reads back."""
    kill_when_written(KILLED, str(tmp_path / "killed_{replica}.xyz"),
                      tmp_path / "killed_1.xyz", 50_000)
    for i in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                  # the cut may fall between frames
            frames = read_trajectory(tmp_path / f"killed_{i}.xyz")
        assert len(frames) >= 3 and all(len(frame) == 108 for frame in frames)
        assert all(np.isfinite(frame.positions).all() for frame in frames)
