"""The shared input check: arrays and ASE trajectories in, clear ValueErrors for bad input."""

import numpy as np
import pytest
from ase import Atoms
from ase.io.trajectory import Trajectory

from mlffkit.metrics._inputs import as_frames


def test_arrays_and_ase_trajectories_give_the_same_frames(tmp_path):
    rng = np.random.default_rng(0)
    positions = rng.uniform(0, 5, size=(3, 4, 3))
    images = [Atoms("H2O2", positions=p, cell=[5, 6, 7], pbc=True) for p in positions]
    with Trajectory(tmp_path / "t.traj", "w") as trajectory:
        for atoms in images:
            trajectory.write(atoms)
    from_arrays = as_frames(positions, species=["H", "H", "O", "O"], cell=[5, 6, 7])
    for frames in (as_frames(images), as_frames(Trajectory(tmp_path / "t.traj"))):
        np.testing.assert_array_equal(frames.positions, from_arrays.positions)
        np.testing.assert_array_equal(frames.numbers, from_arrays.numbers)
        np.testing.assert_array_equal(frames.cells, from_arrays.cells)
        assert frames.pbc.all()
    single = as_frames(images[0])
    assert single.n_frames == 1 and single.n_atoms == 4
    assert not as_frames(positions).pbc.any()


@pytest.mark.parametrize("call, message", [
    (lambda: as_frames([Atoms("H2"), Atoms("H3")]), "same atoms"),
    (lambda: as_frames([Atoms("H2"), "not atoms"]), "ase.Atoms"),
    (lambda: as_frames(None), "None"),
    (lambda: as_frames([]), "empty"),
    (lambda: as_frames(np.zeros((2, 0, 3))), "empty"),
    (lambda: as_frames(np.zeros((2, 2, 2))), "shape"),
    (lambda: as_frames(np.zeros((2, 2, 3)), pbc=True), "no cell"),
    (lambda: as_frames(np.zeros((2, 2, 3)), cell=np.zeros((3, 3))), "zero volume"),
    (lambda: as_frames(np.zeros((2, 2, 3)), cell=[np.nan, 1, 1]), "NaN"),
    (lambda: as_frames(np.zeros((2, 2, 3)), species=[1.5, 2.5]), "integer"),
    (lambda: as_frames(np.zeros((2, 2, 3)), species=["H", "Xx"]), "unknown chemical symbol"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
