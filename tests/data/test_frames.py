"""The Frames container: shapes, validation, indexing, ASE round trips, concat, grouping."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from mlffkit.data import DataFormatError, Frames, concat, group_by_composition


def _frames(n=3, natoms=2, **kwargs):
    rng = np.random.default_rng(1)
    base = dict(positions=rng.normal(size=(n, natoms, 3)), numbers=[8, 1][:natoms] + [1] *
                (natoms - 2), energy=rng.normal(size=n), forces=rng.normal(size=(n, natoms, 3)),
                source="test.npz")
    base.update(kwargs)
    return Frames(**base)


def test_shapes_and_coercion():
    f = _frames(energy=np.arange(3.0).reshape(3, 1), cell=np.eye(3) * 10, pbc=True,
                time=[0, 1, 2])
    assert f.positions.dtype == np.float64 and f.numbers.dtype == np.int64
    assert f.energy.shape == (3,) and f.cell.shape == (3, 3, 3)
    assert f.pbc.tolist() == [True, True, True]
    assert (len(f), f.n_frames, f.n_atoms) == (3, 3, 2)
    assert f.formula == "HO"
    assert "3 x HO" in repr(f)


@pytest.mark.parametrize("change, message", [
    (dict(forces=np.zeros((3, 3, 3))), "forces has shape"),
    (dict(energy=np.zeros(4)), "energy has shape"),
    (dict(numbers=[8]), "1 atomic numbers for 2 atoms"),
    (dict(numbers=[0, 1]), "atomic numbers outside"),
    (dict(positions=np.zeros((3, 2, 2))), "positions have shape"),
    (dict(time=[0, 1]), "time has shape"),
    (dict(extras={"old": np.zeros(2)}), "extra array 'old'"),
    (dict(pbc=True), "no cell"),
    (dict(pbc=True, cell=np.diag([1.0, 1.0, 0.0])), "zero-length cell vector"),
])
def test_validation_names_the_source(change, message):
    with pytest.raises(DataFormatError, match=message) as err:
        _frames(**change)
    assert "test.npz" in str(err.value)


@pytest.mark.parametrize("field", ["positions", "forces", "energy"])
def test_non_finite_values_are_rejected(field):
    f = _frames()
    value = getattr(f, field).copy()
    value.reshape(-1)[-1] = np.nan
    with pytest.raises(DataFormatError, match=rf"non-finite .* in {field} \(first in frame 2\)"):
        _frames(**{field: value})


def test_indexing_keeps_frame_axis_and_everything():
    f = _frames(n=5, time=np.arange(5) + 10, trajectory=np.zeros(5),
                extras={"old": np.arange(5.0)})
    one = f[2]
    assert len(one) == 1 and one.time.tolist() == [12] and one.extras["old"].tolist() == [2.0]
    sub = f[np.array([True, False, True, False, True])]
    assert sub.time.tolist() == [10, 12, 14]
    assert f[1:3].energy.tolist() == f.energy[1:3].tolist()
    with pytest.raises(IndexError):
        f[5]


def test_atoms_round_trip_keeps_labels_time_and_extras():
    f = _frames(n=4, natoms=3, cell=np.eye(3) * 9, pbc=[True, True, False],
                time=[5, 6, 7, 8], trajectory=[1, 1, 1, 1],
                extras={"old_energies": np.arange(4.0), "old_forces": np.ones((4, 3, 3)),
                        "dihedrals": np.ones((4, 2))})
    atoms = f.to_atoms()
    assert isinstance(atoms[0], Atoms) and atoms[0].get_potential_energy() == f.energy[0]
    np.testing.assert_array_equal(atoms[1].get_forces(), f.forces[1])
    assert atoms[2].info["time"] == 7 and atoms[0].arrays["old_forces"].shape == (3, 3)
    back = Frames.from_atoms(atoms, source="x")
    for name in ("positions", "numbers", "energy", "forces", "cell", "pbc", "time",
                 "trajectory"):
        np.testing.assert_array_equal(getattr(back, name), getattr(f, name), err_msg=name)
    for key, value in f.extras.items():
        np.testing.assert_array_equal(back.extras[key], value, err_msg=key)


def test_from_atoms_without_cell_or_labels():
    atoms = [Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74 + 0.01 * i]]) for i in range(3)]
    f = Frames.from_atoms(atoms)
    assert f.cell is None and f.energy is None and f.forces is None and f.time is None


def test_from_atoms_rejects_mixed_atoms_and_partial_labels():
    a, b = Atoms("H2", positions=np.zeros((2, 3))), Atoms("HO", positions=np.zeros((2, 3)))
    with pytest.raises(DataFormatError, match="group_by_composition"):
        Frames.from_atoms([a, b], source="mixed.xyz")
    c = a.copy()
    c.calc = SinglePointCalculator(c, energy=1.0)
    with pytest.raises(DataFormatError, match="energy is given for 1 of 2 frames"):
        Frames.from_atoms([c, a.copy()])


def test_group_by_composition_keeps_order_and_original_index():
    atoms = [Atoms("H2"), Atoms("HO"), Atoms("H2"), Atoms("OH")]
    groups = group_by_composition(atoms)
    assert [g.formula for g in groups] == ["H2", "HO", "HO"]
    assert [g.extras["index"].tolist() for g in groups] == [[0, 2], [1], [3]]


def test_concat_separates_runs_unless_told_otherwise():
    a = _frames(n=3, time=[0, 1, 2])
    b = _frames(n=2, time=[0, 1], source="b.npz")
    joined = concat([a, b])
    assert len(joined) == 5 and joined.trajectory.tolist() == [0, 0, 0, 1, 1]
    assert joined.metadata["parts"] == ["test.npz", "b.npz"]
    same = concat([a, b], same_runs=True)
    assert same.trajectory.tolist() == [0] * 5


def test_concat_refuses_to_drop_labels_or_mix_systems():
    with pytest.raises(DataFormatError, match="energy is present in 1 of 2 parts"):
        concat([_frames(), _frames(energy=None)])
    with pytest.raises(DataFormatError, match="other atoms"):
        concat([_frames(), _frames(natoms=3)])
    with pytest.raises(DataFormatError, match="no frames"):
        concat([])
    assert concat([_frames(time=[0, 1, 2]), _frames()]).time is None
