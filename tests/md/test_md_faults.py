"""simulate() under faults: bad input is refused in one line, non-finite states stop the run,
existing outputs are kept, and a killed run leaves a readable trajectory."""

import textwrap
import warnings

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT

from mlffkit.md import TemperatureBoundsRule, non_finite_reason, read_trajectory, simulate


def copper():
    return bulk("Cu", "fcc", a=3.6, cubic=True)


def one_line_error(error_type, match, **kwargs):
    """simulate(**kwargs) on 4 Cu atoms with EMT raises ``error_type`` in one line."""
    arguments = dict(atoms=copper(), calculator=EMT(), ensemble="nve", T_K=300, dt_fs=1.0,
                     steps=3, progress=False) | kwargs
    with pytest.raises(error_type, match=match) as raised:
        simulate(arguments.pop("atoms"), arguments.pop("calculator"), **arguments)
    assert "\n" not in str(raised.value)


# -- inputs --------------------------------------------------------------------------------
NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("kwargs, match", [
    (dict(T_K=-5), "T_K must be a finite temperature >= 0"),              # NVE: NaN momenta
    (dict(T_K=NAN), "T_K must be a finite"),
    (dict(T_K=INF), "T_K must be a finite"),
    (dict(ensemble="langevin", T_K=NAN, friction_per_ps=1.0), "T_K must be a finite"),
    (dict(ensemble="langevin", T_K=0, friction_per_ps=1.0), "needs a positive T_K"),
    (dict(ensemble="langevin", friction_per_ps=NAN), "finite friction_per_ps > 0"),
    (dict(ensemble="langevin", friction_per_ps=-1.0), "finite friction_per_ps > 0"),
    (dict(ensemble="nose_hoover_chain", tdamp_fs=-10.0), "tdamp_fs must be a finite"),
    (dict(ensemble="nose_hoover_chain", tdamp_fs=INF), "tdamp_fs must be a finite"),
    (dict(tdamp_fs=10.0), "tdamp_fs applies to the nose_hoover_chain and nose_hoover"),
    (dict(ensemble="nose_hoover_chain", chain_length=0), "chain_length must be an integer"),
    (dict(ensemble="nose_hoover_chain", chain_length=2.5), "chain_length must be an integer"),
    (dict(dt_fs=INF), "dt_fs must be a finite time step > 0"),
    (dict(dt_fs=NAN), "dt_fs must be a finite time step > 0"),
    (dict(steps=NAN), "steps must be an integer >= 0"),
    (dict(steps=2.5), "steps must be an integer >= 0"),
    (dict(write_every=0.5), "write_every must be an integer >= 1"),
])
def test_bad_numbers_are_refused_in_one_line_naming_the_parameter(kwargs, match):
    one_line_error(ValueError, match, **kwargs)


def test_zero_kelvin_nve_starts_at_rest_and_runs():
    result = simulate(copper(), EMT(), ensemble="nve", T_K=0, dt_fs=1.0, steps=3, progress=False)
    assert result.stop is None and result.steps_completed == 3
    assert np.isfinite(result.atoms.get_momenta()).all()
    result = simulate(copper(), EMT(), ensemble="nve", T_K=0, dt_fs=1.0, steps=3,
                      velocities=np.full((4, 3), 0.001), progress=False)
    assert result.stop is None


@pytest.mark.parametrize("calculator, given", [(None, "NoneType"), (object(), "object"),
                                               ("EMT", "str"), (EMT, "the class EMT")])
def test_a_missing_calculator_is_refused(calculator, given):
    one_line_error(TypeError, f"calculator must be an ASE calculator object .*, got {given}$",
                   calculator=calculator)


def nan_position():
    atoms = copper()
    atoms.positions[2, 1] = np.nan
    return atoms


def nan_cell():
    atoms = copper()
    atoms.cell[0, 0] = np.inf
    return atoms


def zero_mass():
    atoms = copper()
    atoms.set_masses([63.5, 63.5, 0.0, 63.5])
    return atoms


@pytest.mark.parametrize("atoms, error, match", [
    (Atoms(), ValueError, "atoms is empty"),
    (nan_position(), ValueError, "1 atoms with non-finite positions"),
    (nan_cell(), ValueError, "atoms.cell has non-finite entries"),
    (zero_mass(), ValueError, "non-positive masses"),
    ("Cu", TypeError, "atoms must be an ase.Atoms"),
])
def test_a_broken_structure_is_refused(atoms, error, match, tmp_path):
    one_line_error(error, match, atoms=atoms, trajectory=tmp_path / "md.xyz")
    assert not (tmp_path / "md.xyz").exists()                # nothing written


def test_non_finite_atom_momenta_are_refused():
    atoms = copper()
    atoms.set_momenta(np.full((4, 3), np.nan))
    one_line_error(ValueError, "non-finite momenta", atoms=atoms, velocities="from_atoms")


def test_stop_rules_must_be_a_list_of_rules():
    one_line_error(TypeError, "stop_rules must be a list", stop_rules=TemperatureBoundsRule())
    one_line_error(TypeError, "stop_rules must be a list", stop_rules=[print])


# -- non-finite states ---------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_non_finite_momenta_stop_the_run_at_that_step(calculators):
    """A force of 1e308 eV/Å on one Ar atom, 10 fs steps: the momentum passes the largest
    float (1.8e308) at the second half-kick of step 2, while energy, forces and positions
    are still finite."""
    result = simulate(Atoms("Ar", positions=[[0, 0, 0]]), calculators["runaway"](1e308),
                      ensemble="nve", dt_fs=10.0, steps=10, velocities=np.zeros((1, 3)),
                      progress=False)
    assert result.stop is not None and result.stop.rule == "non_finite"
    assert result.stop.step == 2 and result.stop.reason == "1 atoms have non-finite momenta"


def test_non_finite_reason_names_every_non_finite_quantity():
    zeros, bad = np.zeros((3, 3)), np.zeros((3, 3))
    bad[1, 2] = np.nan
    assert non_finite_reason(0.0, zeros, zeros, zeros) is None
    assert non_finite_reason(0.0, zeros, bad, zeros) == "1 atoms have non-finite positions"
    assert non_finite_reason(np.inf, bad, zeros, bad) == (
        "potential energy is inf; 1 atoms have non-finite forces; "
        "1 atoms have non-finite momenta")


# -- output files --------------------------------------------------------------------------
@pytest.mark.parametrize("parameter", ["trajectory", "log"])
def test_an_existing_output_is_kept_unless_overwrite(parameter, tmp_path):
    path = tmp_path / "existing.out"
    path.write_text("precious\n")
    one_line_error(FileExistsError, f"{parameter}=.*existing.out.* exists: pass overwrite=True",
                   **{parameter: path})
    assert path.read_text() == "precious\n"
    simulate(copper(), EMT(), ensemble="nve", T_K=300, dt_fs=1.0, steps=2, overwrite=True,
             progress=False, **{parameter: path})
    assert path.read_text() != "precious\n"


@pytest.mark.parametrize("parameter", ["trajectory", "log"])
def test_a_directory_as_output_path_is_refused_in_one_line(parameter, tmp_path):
    one_line_error(IsADirectoryError, f"{parameter}=.* is a directory: give a file path",
                   **{parameter: tmp_path})


def test_trajectory_and_log_must_differ(tmp_path):
    one_line_error(ValueError, "trajectory and log are the same file",
                   trajectory=tmp_path / "md.out", log=tmp_path / "md.out")


# -- killed runs ---------------------------------------------------------------------------
def five_frames(path):
    simulate(copper(), EMT(), ensemble="nve", T_K=300, dt_fs=2.0, steps=4, trajectory=path,
             progress=False)
    return path.read_bytes()


@pytest.mark.parametrize("suffix", [".xyz", ".traj"])
def test_a_complete_trajectory_reads_without_warning(suffix, tmp_path):
    five_frames(tmp_path / f"md{suffix}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frames = read_trajectory(tmp_path / f"md{suffix}")
        last = read_trajectory(tmp_path / f"md{suffix}", index=-1)
    assert len(frames) == 5 and np.isfinite(frames[4].get_forces()).all()
    np.testing.assert_array_equal(last.positions, frames[4].positions)


@pytest.mark.parametrize("cut", [
    "inside the last number",       # ase.io.read silently reads a wrong last value here
    "after the first atom line",    # ase.io.read fails on the whole file here
    "after the atom count digit",
])
def test_a_cut_short_last_frame_is_dropped_with_a_warning(cut, tmp_path):
    """A process killed while writing frame 4 leaves a prefix of it: frames 0-3 are read."""
    data = five_frames(tmp_path / "md.xyz")
    frame_4 = data.rindex(b"\n4\n") + 1                      # 4 atoms: the count line is "4"
    line_ends = [i + 1 for i in range(frame_4, len(data)) if data[i] == ord("\n")]
    end = {"inside the last number": len(data) - 3,
           "after the first atom line": line_ends[2],       # count, comment, first atom
           "after the atom count digit": frame_4 + 1}[cut]
    (tmp_path / "cut.xyz").write_bytes(data[:end])
    complete = read_trajectory(tmp_path / "md.xyz")
    with pytest.warns(UserWarning, match="kept the 4 complete frames"):
        frames = read_trajectory(tmp_path / "cut.xyz")
    assert len(frames) == 4
    for frame, reference in zip(frames, complete):
        np.testing.assert_array_equal(frame.positions, reference.positions)
    with pytest.warns(UserWarning, match="kept the 4"):
        last = read_trajectory(tmp_path / "cut.xyz", index=-1)
    np.testing.assert_array_equal(last.positions, complete[3].positions)


def test_a_cut_between_frames_reads_the_frames_before_it_without_warning(tmp_path):
    data = five_frames(tmp_path / "md.xyz")
    (tmp_path / "cut.xyz").write_bytes(data[:data.rindex(b"\n4\n") + 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_trajectory(tmp_path / "cut.xyz")) == 4


KILLED = textwrap.dedent("""
    import sys
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from mlffkit.md import simulate

    simulate(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4), EMT(), ensemble="nve", T_K=300,
             dt_fs=2.0, steps=100000, trajectory=sys.argv[1], progress=False)
""")


def test_a_run_killed_with_sigkill_leaves_a_readable_trajectory(tmp_path, kill_when_written):
    """256 Cu atoms (about 40 kB a frame): SIGKILL once 3 frames are on disk; every frame
    written before the kill reads back."""
    path = tmp_path / "killed.xyz"
    kill_when_written(KILLED, str(path), path, 120_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                      # the cut may fall between frames
        frames = read_trajectory(path)
    assert len(frames) >= 3 and all(len(frame) == 256 for frame in frames)
    assert all(np.isfinite(frame.positions).all() for frame in frames)
