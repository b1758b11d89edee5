"""The shared input check: arrays and ASE trajectories in, clear ValueErrors for bad input."""

import numpy as np
import pytest
from ase import Atoms
from ase.io.trajectory import Trajectory

from mlffkit.metrics._inputs import as_trajectory


def test_arrays_and_ase_trajectories_give_the_same_frames(tmp_path):
    rng = np.random.default_rng(0)
    positions = rng.uniform(0, 5, size=(3, 4, 3))
    images = [Atoms("H2O2", positions=p, cell=[5, 6, 7], pbc=True) for p in positions]
    with Trajectory(tmp_path / "t.traj", "w") as trajectory:
        for atoms in images:
            trajectory.write(atoms)
    from_arrays = as_trajectory(positions, species=["H", "H", "O", "O"], cell=[5, 6, 7])
    for frames in (as_trajectory(images), as_trajectory(Trajectory(tmp_path / "t.traj"))):
        np.testing.assert_array_equal(frames.positions, from_arrays.positions)
        np.testing.assert_array_equal(frames.numbers, from_arrays.numbers)
        np.testing.assert_array_equal(frames.cells, from_arrays.cells)
        assert frames.pbc.all()
    single = as_trajectory(images[0])
    assert single.n_frames == 1 and single.n_atoms == 4
    assert not as_trajectory(positions).pbc.any()


@pytest.mark.parametrize("call, message", [
    (lambda: as_trajectory([Atoms("H2"), Atoms("H3")]), "same atoms"),
    (lambda: as_trajectory([Atoms("H2"), "not atoms"]), "ase.Atoms"),
    (lambda: as_trajectory(None), "None"),
    (lambda: as_trajectory([]), "empty"),
    (lambda: as_trajectory(np.zeros((2, 0, 3))), "empty"),
    (lambda: as_trajectory(np.zeros((2, 2, 2))), "shape"),
    (lambda: as_trajectory(np.zeros((2, 2, 3)), pbc=True), "no cell"),
    (lambda: as_trajectory(np.zeros((2, 2, 3)), cell=np.zeros((3, 3))), "zero volume"),
    (lambda: as_trajectory(np.zeros((2, 2, 3)), cell=[np.nan, 1, 1]), "NaN"),
    (lambda: as_trajectory(np.zeros((2, 2, 3)), species=[1.5, 2.5]), "integer"),
    (lambda: as_trajectory(np.zeros((2, 2, 3)), species=["H", "Xx"]), "unknown chemical symbol"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_mlffkit_data_frames_are_accepted():
    from mlffkit.data import Frames

    rng = np.random.default_rng(1)
    positions = rng.uniform(0, 5, size=(2, 3, 3))
    frames = as_trajectory(Frames(positions, [8, 1, 1], cell=np.eye(3) * 5, pbc=True))
    np.testing.assert_array_equal(frames.positions, positions)
    np.testing.assert_array_equal(frames.numbers, [8, 1, 1])
    assert frames.cells.shape == (2, 3, 3) and frames.pbc.all()
    molecule = as_trajectory(Frames(positions, [8, 1, 1]))
    assert molecule.cells is None and not molecule.pbc.any()


def test_a_batch_of_frames_is_a_trajectory():
    import torch

    from mlffkit.data.atoms import batch_from_arrays, collate
    from mlffkit.metrics import radial_distribution

    rng = np.random.default_rng(2)
    positions = rng.uniform(0, 5, size=(4, 3, 3))
    batch = batch_from_arrays(positions, [8, 1, 1], cell=np.eye(3) * 5, dtype=torch.float64)
    frames = as_trajectory(batch)
    np.testing.assert_array_equal(frames.positions, positions)
    np.testing.assert_array_equal(frames.numbers, [8, 1, 1])
    assert frames.cells.shape == (4, 3, 3) and frames.pbc.all()
    # the same metric value as from the arrays, returned as a tensor
    edges = np.linspace(0.5, 2.4, 11)
    from_batch = radial_distribution(batch, edges)
    from_arrays = radial_distribution(positions, edges, cell=np.eye(3) * 5)
    assert isinstance(from_batch, torch.Tensor)
    np.testing.assert_allclose(from_batch.numpy(), from_arrays)
    other = collate(Frames_of([[8, 1, 1], [8, 1]]))
    with pytest.raises(ValueError, match="same atoms"):
        as_trajectory(other)


def Frames_of(species_lists):
    from mlffkit.data.atoms import AtomsData

    return [AtomsData.from_arrays(np.zeros((len(s), 3)), s) for s in species_lists]
