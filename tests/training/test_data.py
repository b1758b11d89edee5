import numpy as np
import pytest
import torch

from mlffkit.data.atoms import AtomsBatch, AtomsData
from mlffkit.training.data import (BatchLoader, Window, displacement, move_to,
                                   trajectory_windows, window_items)


def test_collate_concatenates_structures_and_labels(trajectory, collate_frames):
    batch = collate_frames(trajectory[:3])
    assert isinstance(batch, AtomsBatch)
    assert batch.pos.shape == (12, 3) and batch.n_structures == 3
    assert batch.batch.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert batch.energy.dtype == torch.float64 and batch.forces.shape == (12, 3)
    assert batch.cell is None
    assert batch.graphs[1] is trajectory[1].graphs  # the structures' neighbour caches


def test_windows_hold_T_frames_next_frame_and_displacement(trajectory, collate_toy_windows):
    items = trajectory_windows(trajectory, 3, anchors=[2, 10])
    window = collate_toy_windows(items)
    assert len(window.frames) == 3 and window.n_structures == 2
    expected = np.concatenate([(trajectory[3].pos - trajectory[2].pos).numpy(),
                               (trajectory[11].pos - trajectory[10].pos).numpy()])
    np.testing.assert_allclose(window.displacement.numpy(), expected)
    np.testing.assert_allclose(window.frames[0].pos[:4].numpy(), trajectory[0].pos.numpy())
    np.testing.assert_allclose(window.next_frame.pos[4:].numpy(), trajectory[11].pos.numpy())
    # the stacked batch: the T frames of both windows, frame-major
    assert window.stacked.n_structures == 6
    np.testing.assert_array_equal(window.stacked.pos[12:16].numpy(), trajectory[9].pos.numpy())
    with pytest.raises(ValueError, match="lack 2 earlier frames"):
        trajectory_windows(trajectory, 3, anchors=[1])
    assert len(trajectory_windows(trajectory, 2)) == len(trajectory) - 2


def test_displacement_uses_minimum_image():
    cell = np.diag([10.0, 10.0, 10.0])
    def at(x):
        return AtomsData.from_arrays(np.array([[x, 5.0, 5.0]]), [1], energy=0.0,
                                     forces=np.zeros((1, 3)), cell=cell,
                                     pbc=np.array([True, False, True]))
    np.testing.assert_allclose(displacement(at(9.9), at(0.1)), [[0.2, 0.0, 0.0]], atol=1e-12)


def test_structure_from_atoms():
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator
    atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.7]])
    atoms.calc = SinglePointCalculator(atoms, energy=-1.5, forces=np.ones((2, 3)))
    structure = AtomsData.from_atoms(atoms)
    assert structure.energy.item() == -1.5 and structure.cell is None
    assert structure.forces.shape == (2, 3) and structure.pos.dtype == torch.float64


def test_loader_order_depends_on_seed_and_epoch_only():
    loader = BatchLoader(list(range(10)), 4, seed=1)
    first = list(loader)
    assert [len(b) for b in first] == [4, 4, 2]
    assert list(loader) == first
    loader.set_epoch(1)
    assert list(loader) != first
    loader.set_epoch(0)
    assert list(loader.iter_from(1)) == first[1:]


def test_ranks_split_every_global_batch():
    items = list(range(11))
    single = BatchLoader(items, 4, seed=5, drop_last=True)
    ranks = [BatchLoader(items, 4, seed=5, rank=r, world_size=2) for r in range(2)]
    assert len(single) == len(ranks[0]) == 2
    for whole, half0, half1 in zip(single, *ranks):
        assert whole == half0 + half1 and len(half0) == len(half1) == 2
    with pytest.raises(ValueError):
        BatchLoader(items, 1, world_size=2)


def test_move_to_walks_containers(trajectory, collate_toy_windows):
    window = collate_toy_windows(trajectory_windows(trajectory, 2, anchors=[1]))
    moved = move_to({"w": [window], "n": 3}, "cpu")
    assert isinstance(moved["w"][0], Window) and moved["n"] == 3
    assert isinstance(moved["w"][0].frames[0], AtomsBatch)


def test_windows_from_the_data_layer(trajectory, collate_toy_windows):
    from mlffkit.data import Frames, windows
    frames = Frames(positions=np.stack([s.pos.numpy() for s in trajectory]),
                    numbers=trajectory[0].numbers.numpy(),
                    energy=np.array([s.energy.item() for s in trajectory]),
                    forces=np.stack([s.forces.numpy() for s in trajectory]))
    structures = frames.to_data_list()
    items = window_items(structures, windows(frames, 3))  # T = 2 plus the next frame
    direct = trajectory_windows(trajectory, 2)
    assert len(items) == len(direct)
    a, b = collate_toy_windows(items[:4]), collate_toy_windows(direct[:4])
    assert torch.equal(a.displacement, b.displacement)
    assert torch.equal(a.frames[0].energy, b.frames[0].energy)
