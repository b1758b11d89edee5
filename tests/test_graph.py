"""The atomistic container (mlffkit.data.atoms) and radius graphs (mlffkit.graph)."""

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk, molecule
from ase.neighborlist import neighbor_list

from mlffkit.data.atoms import AtomsData, assemble, batch_from_arrays, batch_from_atoms, collate
from mlffkit.graph import radius_graph


def _pairs(edge_index, edge_vec, decimals=6):
    """Set of (source, target, rounded vector) for order-independent comparison."""
    vec = np.round(edge_vec.detach().cpu().numpy(), decimals)
    return {(int(s), int(t), *map(float, v)) for s, t, v in zip(*edge_index.cpu().numpy(), vec)}


def _ase_pairs(atoms, cutoff, offset=0):
    i, j, D = neighbor_list("ijD", atoms, cutoff)
    return {(int(b) + offset, int(a) + offset, *map(float, np.round(d, 6))) for a, b, d in zip(i, j, D)}


def test_from_atoms_molecules_and_crystals():
    mol, crystal = molecule("H2O"), bulk("Si", "diamond", a=5.43)
    b = batch_from_atoms([mol, crystal], dtype=torch.float64)
    assert b.n_structures == 2 and b.pos.dtype == torch.float64
    assert b.batch.tolist() == [0, 0, 0, 1, 1]
    assert b.cell.shape == (2, 3, 3) and b.pbc.tolist() == [[False] * 3, [True] * 3]
    assert b.n_atoms.tolist() == [3, 2]
    assert batch_from_atoms(mol).cell is None  # one Atoms, non-periodic: no cell at all
    assert torch.allclose(b.volume()[1], torch.tensor(crystal.get_volume(), dtype=torch.float64))


def test_from_arrays_and_to():
    pos = np.random.default_rng(0).normal(size=(4, 3, 3))
    b = batch_from_arrays(pos, [8, 1, 1])
    assert b.n_structures == 4 and b.pos.shape == (12, 3) and b.pos.dtype == torch.get_default_dtype()
    assert b.numbers.tolist() == [8, 1, 1] * 4
    c = batch_from_arrays(pos[0], [8, 1, 1], cell=np.eye(3) * 5, dtype=torch.float64)
    assert c.n_structures == 1 and c.pbc.tolist() == [[True] * 3] and c.cell.dtype == torch.float64
    d = c.to(dtype=torch.float32)
    assert d.pos.dtype == torch.float32 and d.numbers.dtype == torch.long and d.pbc.dtype == torch.bool
    with pytest.raises(ValueError):
        batch_from_arrays(pos, [8, 1])


def test_invalid_batches_are_rejected():
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        AtomsData.from_arrays(torch.zeros(3, 2), [1, 1, 1])
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        AtomsData.from_arrays(torch.zeros(3, 3), [1, 1])
    with pytest.raises(ValueError, match="pbc given without a cell"):
        AtomsData.from_arrays(torch.zeros(3, 3), [1, 1, 1], pbc=[True, True, True])
    ones, zeros = torch.ones(3, dtype=torch.long), torch.zeros(3, dtype=torch.long)
    with pytest.raises(ValueError, match=r"pos must have shape \(N, 3\)"):
        assemble(torch.zeros(3, 2), ones, zeros, 1)
    with pytest.raises(ValueError, match="both be given"):
        assemble(torch.zeros(3, 3), ones, zeros, 1, cell=torch.eye(3)[None])
    with pytest.raises(ValueError, match="must have shapes"):
        assemble(torch.zeros(3, 3), ones, zeros, 2, cell=torch.eye(3)[None],
                 pbc=torch.ones(1, 3, dtype=torch.bool))


def test_the_container_is_pyg_data():
    from torch_geometric.data import Batch as PyGBatch, Data
    from torch_geometric.loader import DataLoader

    structures = [AtomsData.from_arrays(np.random.default_rng(k).normal(size=(n, 3)),
                                        [1] * n, energy=float(k), forces=np.zeros((n, 3)))
                  for k, n in enumerate((3, 5, 4))]
    assert isinstance(structures[0], Data)
    batch = next(iter(DataLoader(structures, batch_size=3)))  # PyG's own loader
    mine = collate(structures, dtype=torch.float64)
    assert isinstance(batch, PyGBatch) and batch.n_structures == mine.n_structures == 3
    for key in ("pos", "numbers", "batch", "energy", "forces"):
        assert torch.equal(batch[key], mine[key])
    assert mine.get_example(1).pos.shape == (5, 3) and mine.cell is None


def test_molecule_graph_matches_ase():
    mols = [molecule("CH3CH2OH"), molecule("C6H6")]
    b = batch_from_atoms(mols, dtype=torch.float64)
    ei, ev = radius_graph(b, 2.5)
    expected = _ase_pairs(mols[0], 2.5) | _ase_pairs(mols[1], 2.5, offset=len(mols[0]))
    assert _pairs(ei, ev) == expected
    # the stated convention: edge_vec = pos[source] - pos[target] for molecules
    assert torch.allclose(ev, b.pos[ei[0]] - b.pos[ei[1]])


@pytest.mark.parametrize("pbc", [(True, True, True), (True, False, True)])
def test_periodic_graph_matches_ase_including_images(pbc):
    rng = np.random.default_rng(1)
    cell = 3.0 * (np.eye(3) + 0.2 * rng.uniform(-1, 1, (3, 3)))
    atoms = Atoms("LiPS", scaled_positions=rng.uniform(size=(3, 3)), cell=cell, pbc=pbc)
    b = batch_from_atoms([molecule("H2O"), atoms], dtype=torch.float64)
    ei, ev = radius_graph(b, 4.0)  # longer than the cell: several images of each atom
    expected = _ase_pairs(molecule("H2O"), 4.0) | _ase_pairs(atoms, 4.0, offset=3)
    assert _pairs(ei, ev) == expected
    assert (ei[0] == ei[1]).any()  # an atom sees its own periodic images


def test_edge_vectors_are_differentiable_in_pos_and_cell():
    atoms = bulk("Cu", "fcc", a=3.6) * (2, 1, 1)
    b = batch_from_atoms(atoms, dtype=torch.float64)
    pos = b.pos.clone().requires_grad_(True)
    cell = b.cell.clone().requires_grad_(True)
    ei, ev = radius_graph(b.replace(pos=pos, cell=cell), 3.0)
    (ev.norm(dim=1) ** 2).sum().backward()
    assert pos.grad is not None and cell.grad is not None
    # a homogeneous scaling of positions and cell scales every edge vector
    ei2, ev2 = radius_graph(b.replace(pos=b.pos * 1.01, cell=b.cell * 1.01), 3.0)
    assert torch.equal(ei, ei2) and torch.allclose(ev2, ev.detach() * 1.01)


def test_no_edges_and_single_atoms():
    b = batch_from_atoms([Atoms("H", positions=[[0, 0, 0]]), Atoms("H2", positions=[[0, 0, 0], [0, 0, 9]])])
    ei, ev = radius_graph(b, 5.0)
    assert ei.shape == (2, 0) and ev.shape == (0, 3)
    with pytest.raises(ValueError):
        radius_graph(b, 0.0)


def test_float32_positions_give_float32_vectors():
    b = batch_from_atoms(molecule("CH4"), dtype=torch.float32)
    ei, ev = radius_graph(b, 3.0)
    assert ev.dtype == torch.float32 and ei.dtype == torch.long and ei.shape[1] == 20


class CountingList:
    """Wraps the cached vesin neighbour list of a cutoff and counts its calls."""

    def __init__(self, monkeypatch, cutoff):
        import mlffkit.graph as graph

        self.calls, inner = 0, graph._neighbour_list(cutoff)

        class Wrapped:
            def compute(wrapped, *args, **kwargs):
                self.calls += 1
                return inner.compute(*args, **kwargs)

        monkeypatch.setitem(graph._NEIGHBOUR_LISTS, float(cutoff), Wrapped())


def collated(structures):
    return collate(structures, dtype=torch.float64)


def test_a_graph_is_built_once_per_structure_and_cutoff(monkeypatch):
    from mlffkit.training.toy import toy_trajectory

    frames = toy_trajectory(4, n_atoms=5, seed=1)
    counter = CountingList(monkeypatch, 3.0)
    fresh = radius_graph(collated(frames[:2]), 3.0)
    assert counter.calls == 2
    # a new batch of the same structures (next epoch, another head) reuses their lists
    again = collated(frames[:2])
    edge_index, edge_vec = radius_graph(again.replace(pos=again.pos.requires_grad_(True)), 3.0)
    assert counter.calls == 2
    assert torch.equal(edge_index, fresh[0]) and torch.equal(edge_vec, fresh[1])
    edge_vec.sum().backward()  # still differentiable in the positions
    assert again.pos.grad is not None
    radius_graph(collated(frames[1:3]), 3.0)  # one new structure, one known
    assert counter.calls == 3
    radius_graph(collated(frames[:2]), 2.5)  # another cutoff is another list
    assert counter.calls == 3  # (counted on the 3.0 list only)


def test_a_cached_graph_is_not_used_for_other_positions(monkeypatch):
    from mlffkit.training.toy import toy_trajectory

    frame = toy_trajectory(1, n_atoms=5, seed=2)[0]
    counter = CountingList(monkeypatch, 3.0)
    radius_graph(collated([frame]), 3.0)
    moved = collated([frame])
    moved = moved.replace(pos=moved.pos * 0.5)  # the same cache, other positions
    edge_index, _ = radius_graph(moved, 3.0)
    assert counter.calls == 2
    expected, _ = radius_graph(assemble(moved.pos, moved.numbers, moved.batch, 1), 3.0)
    assert torch.equal(edge_index, expected)
