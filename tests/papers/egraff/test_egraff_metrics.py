"""EGraFFBench metrics experiment: analytic checks of the scoring, the reference velocities,
start frames, and a smoke-size run (real MD17 data, skipped without the data mirror)."""

import numpy as np
import pandas as pd
import pytest
from ase import Atoms, units
from ase.build import molecule
from ase.md.verlet import VelocityVerlet

from mlffkit import experiments
from mlffkit.data import Frames, registry
from mlffkit.papers.egraff import metrics as em
from mlffkit.metrics import energy_violation, find_bonds, kinetic_temperature, uniform_bin_edges

EDGES = uniform_bin_edges(10.0, 0.02)


@pytest.fixture
def mirror():
    if not registry.mirror_dir().is_dir():
        pytest.skip("the data mirror ../shared/data is absent; MD17 tests skipped")


def _verlet_trajectory(n=40, dt_fs=0.5):
    """Frames of ethanol under MMFF94 integrated by velocity Verlet, with exact velocities."""
    from mlffkit.calculators import MMFF94

    atoms = molecule("CH3CH2OH")
    atoms.calc = MMFF94(reference=atoms)
    rng = np.random.default_rng(0)
    atoms.set_velocities(rng.normal(0, 0.01, (len(atoms), 3)) / units.fs)  # Å/fs -> ASE
    dyn = VelocityVerlet(atoms, dt_fs * units.fs)
    pos, vel, energy, forces = [], [], [], []
    for _ in range(n):
        pos.append(atoms.positions.copy())
        vel.append(atoms.get_velocities() * units.fs)
        energy.append(atoms.get_potential_energy())
        forces.append(atoms.get_forces())
        dyn.run(1)
    frames = Frames(positions=np.array(pos), numbers=atoms.numbers, energy=np.array(energy),
                    forces=np.array(forces))
    return frames, np.array(vel)


def test_reference_velocities_are_exact_for_velocity_verlet():
    frames, vel = _verlet_trajectory()
    for method in em.VELOCITY_METHODS:
        v = em.reference_velocities(frames, 10, 0.5, method)
        np.testing.assert_allclose(v, vel[10], atol=1e-10, err_msg=method)
    with pytest.raises(ValueError, match="velocity method"):
        em.reference_velocities(frames, 10, 0.5, "backward")


def test_reference_against_itself_scores_zero():
    frames, _ = _verlet_trajectory(30)
    bonds = find_bonds(frames.positions[0], species=frames.numbers)
    args = (frames.positions, frames.energy, frames.forces)
    cmp = em.compare_trajectories(*args, *args, bin_edges=EDGES, bonds=bonds,
                                  reference_lengths=None)
    for series in (cmp.ev_raw, cmp.ev_aligned, cmp.fv):
        np.testing.assert_array_equal(series, 0.0)
    np.testing.assert_allclose(cmp.rmsd, 0.0, atol=1e-7)
    s = cmp.scalars
    assert s["ev_raw_gm"] == s["ev_aligned_gm"] == s["fv_gm"] == 0.0
    assert s["jsd"] == 0.0 and s["wf_percent"] == 0.0 and s["hr_mae"] == 0.0
    assert s["stable"] and s["stable_time_fs"] == pytest.approx(29 * 0.5)
    assert s["n_frames"] == 30


def test_offset_alignment_and_opposite_signs():
    frames, _ = _verlet_trajectory(10)
    bonds = find_bonds(frames.positions[0], species=frames.numbers)
    e_ref = frames.energy - 4000.0  # a DFT-like absolute scale
    e_pot = frames.energy           # the same surface on another zero
    cmp = em.compare_trajectories(frames.positions, e_pot, frames.forces, frames.positions,
                                  e_ref, frames.forces, bin_edges=EDGES, bonds=bonds,
                                  reference_lengths=None, energy_offset=-4000.0)
    np.testing.assert_allclose(cmp.ev_aligned, 0.0, atol=1e-24)
    np.testing.assert_allclose(cmp.ev_raw, energy_violation(e_pot, e_ref))
    assert cmp.ev_raw.min() > 0.9  # MMFF energies are small positive numbers: EV near 1


def test_lag_scores_start_at_zero_and_decorrelate():
    frames, _ = _verlet_trajectory(160)
    lags, fv, ev = em.reference_lag_scores(frames, np.arange(160), lag_stride=3, min_pairs=20)
    assert lags[0] == 0 and fv[0] == 0.0 and ev[0] == 0.0
    assert lags[-1] <= 140 and np.all(np.diff(lags) == 3)
    assert np.all((fv >= 0) & (fv <= 1)) and fv[1:].max() > 0.3


def test_paired_rmsd_ignores_rigid_motion():
    frames, _ = _verlet_trajectory(5)
    moved = []
    for x in frames.positions:
        a = Atoms(numbers=frames.numbers, positions=x)
        a.rotate(40.0, "x", center="COM")
        a.translate([3.0, 0.0, -1.0])
        moved.append(a.positions)
    np.testing.assert_allclose(em.paired_rmsd(np.array(moved), frames.positions), 0.0,
                               atol=1e-7)


def test_start_frames_fit_the_segment():
    segment = np.arange(4, 1000)
    starts = em.start_frames(segment, 5, steps=400, shift_steps=400)
    assert len(starts) == 5 and starts[0] == 5 and starts[-1] == 999 - 800
    assert np.all(np.diff(starts) > 0)
    with pytest.raises(ValueError, match="do not fit"):
        em.start_frames(segment, 5, steps=500, shift_steps=500)
    with pytest.raises(ValueError, match="distinct start frames"):
        em.start_frames(np.arange(0, 12), 5, steps=4, shift_steps=4)


def test_implied_energy_error_inverts_eq4():
    for e, d in [(-17637.0, -3.0), (-4214.0, 25.0), (-4214.0, -0.2)]:
        ev = float(energy_violation(np.array([e + d]), np.array([e]))[0])
        # exact when |E_hat| < |E| (the smaller root), within sqrt(2 EV) otherwise
        assert em.implied_energy_error(ev, e) == pytest.approx(abs(d), rel=1e-2)
    ev = float(energy_violation(np.array([-4214.0 + 0.5]), np.array([-4214.0]))[0])
    assert em.implied_energy_error(ev, -4214.0) == pytest.approx(0.5, rel=1e-3)


def test_mean_ci_and_versus_shifted():
    mean, low, high = em.mean_ci(np.array([[1.0, 2.0], [1.0, 4.0], [1.0, np.nan]]))
    np.testing.assert_allclose(mean, [1.0, 3.0])
    assert low[0] == high[0] == 1.0 and low[1] < 3.0 < high[1]
    gmean, glow, ghigh = em.mean_ci(np.array([[1e-10], [1e-8]]), log=True)
    assert gmean[0] == pytest.approx(1e-9) and 0 < glow[0] < 1e-9 < ghigh[0]
    runs = pd.DataFrame({
        "molecule": ["m"] * 12, "start_frame": list(range(4)) * 3,
        "potential": ["a"] * 4 + ["b"] * 4 + [em.SHIFTED] * 4,
        "fv_gm": [0.9, 0.91, 0.92, 0.93, 0.6, 0.7, 0.62, 0.68, 0.6, 0.69, 0.63, 0.7]})
    out = em.versus(runs, "fv_gm", n_boot=2000).set_index("potential")
    assert out.loc["a", "verdict"] == "higher"
    assert out.loc["b", "verdict"] == "indistinguishable"
    assert em.versus(runs, "fv_gm", baseline="a", n_boot=2000).set_index(
        "potential").loc["b", "verdict"] == "lower"
    assert em.first_crossing(np.arange(4.0), np.array([0.1, 0.4, 0.8, 0.2]), 0.5) == 2.0
    assert np.isnan(em.first_crossing(np.arange(2.0), np.array([0.1, 0.2]), 0.5))


def test_profiles_and_registration():
    exp = experiments.get("egraff_metrics")
    assert exp.profiles["book"]["n_starts"] == 5
    assert exp.profiles["book"]["dt_fs"] == 0.5 and exp.profiles["book"]["T_K"] == 500.0
    for profile in experiments.PROFILES:
        p = exp.profiles[profile]
        assert p["steps"] <= 1000 and p["shift_steps"] >= p["steps"]  # disjoint windows
    with pytest.raises(ValueError, match="unknown potential"):
        em.make_calculator("uff", molecule("H2O"))


def test_smoke_run(mirror, compute_allowed):
    result = experiments.run("egraff_metrics", "smoke")
    p = result.record["params"]
    runs = result.tables["runs"]
    n_starts, steps = p["n_starts"], p["steps"]
    assert len(runs) == n_starts * (len(p["potentials"]) + 1)
    assert set(runs["potential"]) == {*p["potentials"], em.SHIFTED}
    assert set(em.METRICS) <= set(runs.columns)
    assert (runs["steps_completed"] == steps).all() and (runs["stop"] == "").all()
    assert runs["fv_gm"].between(0, 1).all() and runs["jsd"].between(0, np.log(2)).all()
    # MMFF's energy zero is far from DFT's: raw EV ~ 1, aligned EV tiny
    mmff = runs[runs.potential == "mmff94"]
    assert (mmff["ev_raw_gm"] > 0.9).all() and (mmff["ev_aligned_gm"] < 1e-6).all()
    shifted = runs[runs.potential == em.SHIFTED]
    np.testing.assert_array_equal(shifted["ev_raw_gm"], shifted["ev_aligned_gm"])
    static = result.tables["static"]
    assert len(static) == len(p["molecules"]) * len(p["potentials"])
    assert (static["fv_static_gm"] < 0.5).all()
    arrays = result.arrays
    for pot in (*p["potentials"], em.SHIFTED):
        for name in ("ev_raw", "ev_aligned", "fv", "rmsd", "energy", "energy_reference"):
            assert arrays[f"ethanol.{pot}.{name}"].shape == (n_starts, steps + 1)
        assert arrays[f"ethanol.{pot}.hr"].shape == (n_starts, len(arrays["hr_bin_edges"]) - 1)
    # the same initial configuration: RMSD 0 and FV(0) = the static FV of that frame
    np.testing.assert_allclose(arrays["ethanol.mmff94.rmsd"][:, 0], 0.0, atol=1e-7)
    assert (arrays["ethanol.reference_shifted.rmsd"][:, 0] > 0.05).all()
    lags = arrays["ethanol.lag_steps"]
    assert arrays["ethanol.fv_by_lag"].shape == lags.shape and arrays["ethanol.fv_by_lag"][0] == 0
    ref = result.tables["reference"]
    assert (ref["velocity_methods_rel_diff"] < 0.1).all()
    assert ref["T_start_K"].between(100, 1500).all()


def test_initial_velocities_are_the_reference_ones(mirror):
    from mlffkit import data

    frames = data.load(em.dataset_name("ethanol"))
    v = em.reference_velocities(frames, 100, 0.5)
    run = em.run_forward(em.molecule_atoms(frames, 100), v,
                         em.make_calculator("mmff94", em.molecule_atoms(frames, 0)), steps=3)
    assert run.steps_completed == 3 and run.positions.shape == (4, 9, 3)
    np.testing.assert_allclose(run.positions[0], frames.positions[100])
    assert run.temperature[0] == pytest.approx(
        kinetic_temperature(frames.numbers, v, removed_dof=em.TEMPERATURE_DOF))
    # one 0.5 fs step lands close to the reference's next frame (forces differ only slightly)
    assert np.abs(run.positions[1] - frames.positions[101]).max() < 2e-3
