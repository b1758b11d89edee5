"""Readers on tiny synthetic files (every format, unit factors, corrupt input) and on every
registered real file (skipped without the mirror)."""

from __future__ import annotations

import re
import shutil

import h5py
import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
import ase.db

from mlffkit import data
from mlffkit.data import (DataError, DataFormatError, DataNotFoundError, Frames, FreeEnergySurface,
                          read, read_ase_db, read_deepmd, read_extxyz, read_hdf5,
                          read_isolated_atoms, read_nequip_npz, read_npz, read_pdb,
                          read_plumed_fes, read_rmd17, read_sgdml, read_sgdml_xyz,
                          write_extxyz)
from mlffkit.units import (BOHR_TO_ANGSTROM, EGRAFF_KCAL_MOL_TO_EV, HARTREE_TO_EV, KCAL_MOL_TO_EV,
                           KJ_MOL_TO_EV)

RNG = np.random.default_rng(7)


# -- npz -------------------------------------------------------------------------------------
def _rmd17_file(path, n=4, natoms=3):
    arrays = dict(nuclear_charges=np.array([8, 1, 1], np.uint8)[:natoms],
                  coords=RNG.normal(size=(n, natoms, 3)), energies=RNG.normal(size=n) - 1000,
                  forces=RNG.normal(size=(n, natoms, 3)), old_indices=np.arange(n) * 3,
                  old_energies=RNG.normal(size=n) - 1000,
                  old_forces=RNG.normal(size=(n, natoms, 3)))
    np.savez(path, **arrays)
    return arrays


def test_read_rmd17_converts_kcal_and_keeps_old_labels(tmp_path):
    raw = _rmd17_file(tmp_path / "r.npz")
    f = read_rmd17(tmp_path / "r.npz")
    np.testing.assert_allclose(f.energy, raw["energies"] * KCAL_MOL_TO_EV, rtol=1e-15)
    np.testing.assert_allclose(f.forces, raw["forces"] * KCAL_MOL_TO_EV, rtol=1e-15)
    np.testing.assert_allclose(f.extras["old_energies"], raw["old_energies"] * KCAL_MOL_TO_EV)
    np.testing.assert_allclose(f.extras["old_forces"], raw["old_forces"] * KCAL_MOL_TO_EV)
    assert f.time.tolist() == [0, 3, 6, 9] and f.trajectory.tolist() == [0] * 4
    assert f.numbers.tolist() == [8, 1, 1] and f.source.endswith("r.npz")
    md17 = read_rmd17(tmp_path / "r.npz", labels="md17")
    np.testing.assert_allclose(md17.energy, raw["old_energies"] * KCAL_MOL_TO_EV)
    np.testing.assert_allclose(md17.extras["rmd17_energies"], f.energy)
    assert isinstance(read_npz(tmp_path / "r.npz"), Frames)


def test_read_sgdml_uses_the_files_units(tmp_path):
    R, F = RNG.normal(size=(3, 2, 3)), RNG.normal(size=(3, 2, 3))
    E = RNG.normal(size=(3, 1))
    np.savez(tmp_path / "md17.npz", R=R, z=np.array([6, 1]), E=E, F=F, e_unit="kcal/mol",
             r_unit="Ang", name="toy")
    f = read_sgdml(tmp_path / "md17.npz", time_ordered=True)
    np.testing.assert_allclose(f.energy, E[:, 0] * KCAL_MOL_TO_EV)
    np.testing.assert_allclose(f.forces, F * KCAL_MOL_TO_EV)
    assert f.time.tolist() == [0, 1, 2]
    np.savez(tmp_path / "ev.npz", R=R, z=np.array([6, 1]), E=E, F=F, e_unit="eV")
    np.testing.assert_allclose(read_npz(tmp_path / "ev.npz").energy, E[:, 0])
    np.savez(tmp_path / "bad.npz", R=R, z=np.array([6, 1]), E=E, e_unit="erg")
    with pytest.raises(DataFormatError, match="bad.npz: unknown energy unit 'erg'"):
        read_sgdml(tmp_path / "bad.npz")


def test_read_nequip_npz_keeps_values(tmp_path):
    pos, forces = RNG.normal(size=(2, 3, 3)), RNG.normal(size=(2, 3, 3))
    np.savez(tmp_path / "n.npz", pos=pos, atomic_numbers=np.array([8, 1, 1]),
             energy=np.array([[-1.0], [-2.0]]), forces=forces, cell=np.eye(3) * 20,
             pbc=np.array([True] * 3))
    f = read_nequip_npz(tmp_path / "n.npz")
    assert f.energy.tolist() == [-1.0, -2.0] and f.pbc.all() and f.cell.shape == (2, 3, 3)
    np.testing.assert_array_equal(f.forces, forces)


def test_npz_errors_name_the_file(tmp_path):
    np.savez(tmp_path / "keys.npz", coords=np.zeros((1, 1, 3)))
    with pytest.raises(DataFormatError, match=r"keys.npz: unknown npz layout"):
        read_npz(tmp_path / "keys.npz")
    with pytest.raises(DataFormatError, match=r"keys.npz: missing keys \['nuclear_charges'"):
        read_rmd17(tmp_path / "keys.npz")
    raw = _rmd17_file(tmp_path / "nan.npz")
    raw["forces"][1, 2, 0] = np.inf
    np.savez(tmp_path / "nan.npz", **raw)
    with pytest.raises(DataFormatError, match=r"nan.npz: 1 non-finite .* forces .*frame 1"):
        read_rmd17(tmp_path / "nan.npz")
    with pytest.raises(DataNotFoundError, match="nowhere.npz"):
        read_npz(tmp_path / "nowhere.npz")


def test_truncated_npz_is_reported_and_left_alone(tmp_path):
    _rmd17_file(tmp_path / "full.npz", n=50)
    blob = (tmp_path / "full.npz").read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataFormatError, match="cut.npz: cannot be read.*truncated or corrupt"):
        read_npz(cut)
    assert cut.read_bytes() == blob[: len(blob) // 2]


# -- extxyz and other text formats -----------------------------------------------------------
def test_extxyz_write_read_round_trip(tmp_path):
    f = Frames(positions=RNG.normal(size=(3, 2, 3)), numbers=[1, 8], energy=[-1.0, -2.0, -3.0],
               forces=RNG.normal(size=(3, 2, 3)), cell=np.eye(3) * 10, pbc=True,
               time=[0, 1, 2], trajectory=[4, 4, 4], extras={"dihedrals": np.ones((3, 3))})
    path = write_extxyz(f, tmp_path / "out.xyz")
    back = read_extxyz(path)
    for name in ("positions", "numbers", "energy", "forces", "cell", "pbc", "time",
                 "trajectory"):
        np.testing.assert_allclose(getattr(back, name), getattr(f, name), err_msg=name)
    np.testing.assert_array_equal(back.extras["dihedrals"], f.extras["dihedrals"])
    with pytest.raises(FileExistsError):
        write_extxyz(f, path)
    kcal = read_extxyz(path, energy_unit="kcal/mol")
    np.testing.assert_allclose(kcal.energy, f.energy * KCAL_MOL_TO_EV)
    np.testing.assert_allclose(kcal.forces, f.forces * KCAL_MOL_TO_EV)


def test_extxyz_mixed_atoms_need_group_and_truncation_is_caught(tmp_path):
    import ase.io

    atoms = [Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.7]]), Atoms("O", positions=[[0, 0, 0]])]
    for a, e in zip(atoms, (-1.0, -2.0)):
        a.calc = SinglePointCalculator(a, energy=e)
    ase.io.write(tmp_path / "mixed.xyz", atoms, format="extxyz")
    with pytest.raises(DataFormatError, match="mixed.xyz: frame 1"):
        read_extxyz(tmp_path / "mixed.xyz")
    groups = read_extxyz(tmp_path / "mixed.xyz", group=True)
    assert [g.formula for g in groups] == ["H2", "O"]
    with pytest.raises(DataFormatError, match="one-atom frames"):
        read_isolated_atoms(tmp_path / "mixed.xyz")
    lines = (tmp_path / "mixed.xyz").read_text().splitlines()
    (tmp_path / "cut.xyz").write_text("\n".join(lines[:3]) + "\n")
    with pytest.raises(DataFormatError, match="cut.xyz: cannot be read"):
        read_extxyz(tmp_path / "cut.xyz")


def test_isolated_atoms(tmp_path):
    import ase.io

    atoms = []
    for symbol, energy in (("H", -13.6), ("C", -1029.5)):
        a = Atoms(symbol, positions=[[0, 0, 0]])
        a.calc = SinglePointCalculator(a, energy=energy)
        atoms.append(a)
    ase.io.write(tmp_path / "iso.xyz", atoms, format="extxyz")
    assert read_isolated_atoms(tmp_path / "iso.xyz") == {1: -13.6, 6: -1029.5}


def test_sgdml_xyz(tmp_path):
    text = ("2\n-100.0\nO 0 0 0 1 2 3\nH 0 0 1 -1 -2 -3\n"
            "2\n-101.0\nO 0 0 0.1 0 0 1\nH 0 0 1.1 0 0 -1\n")
    (tmp_path / "e.xyz").write_text(text)
    f = read_sgdml_xyz(tmp_path / "e.xyz")
    np.testing.assert_allclose(f.energy, np.array([-100.0, -101.0]) * KCAL_MOL_TO_EV)
    np.testing.assert_allclose(f.forces[0, 0], np.array([1, 2, 3]) * KCAL_MOL_TO_EV)
    assert f.numbers.tolist() == [8, 1]
    (tmp_path / "bad.xyz").write_text("2\n-100.0\nO 0 0 0 1 2 3\n")
    with pytest.raises(DataFormatError, match="bad.xyz: cannot be read"):
        read_sgdml_xyz(tmp_path / "bad.xyz")


def test_pdb_elements_from_names(tmp_path):
    (tmp_path / "a.pdb").write_text(
        "ATOM      1  N   ALA A   1       0.000   0.000   0.000  1.00  0.00           N\n"
        "ATOM      2 CA   ALA A   1       1.450   0.000   0.000  1.00  0.00          CA\n"
        "ATOM      3 1HB  ALA A   1       2.000   1.000   0.000  1.00  0.00           H\n"
        "END\n")
    assert read_pdb(tmp_path / "a.pdb").numbers.tolist() == [7, 20, 1]
    fixed = read_pdb(tmp_path / "a.pdb", elements_from_names=True)
    assert fixed.numbers.tolist() == [7, 6, 1]
    assert read(tmp_path / "a.pdb").numbers.tolist() == [7, 20, 1]


def test_plumed_fes(tmp_path):
    rows = [f"{x} {y} {10 * x + y} 0 0" for y in (-1.0, 1.0) for x in (-2.0, 0.0, 2.0)]
    header = "#! FIELDS phi psi file.free der_phi der_psi\n#! SET nbins_phi 3\n"
    (tmp_path / "fes.dat").write_text(header + "\n".join(rows) + "\n")
    fes = read_plumed_fes(tmp_path / "fes.dat")
    assert isinstance(fes, FreeEnergySurface) and fes.names == ("phi", "psi")
    assert fes.free_energy.shape == (3, 2)
    assert fes.free_energy[2, 0] == pytest.approx((20.0 - 1.0) * KJ_MOL_TO_EV)
    (tmp_path / "cut.dat").write_text(header + "\n".join(rows[:-1]) + "\n")
    with pytest.raises(DataFormatError, match="cut.dat: 5 rows do not make a"):
        read_plumed_fes(tmp_path / "cut.dat")
    (tmp_path / "plain.dat").write_text("1 2 3\n")
    with pytest.raises(DataFormatError, match="not a PLUMED fes"):
        read_plumed_fes(tmp_path / "plain.dat")


# -- ASE db ----------------------------------------------------------------------------------
def test_ase_db_with_data_and_key_value_labels(tmp_path):
    db = ase.db.connect(tmp_path / "x.db")
    forces = RNG.normal(size=(2, 3, 3))
    for i in range(2):
        a = Atoms("OH2", positions=RNG.normal(size=(3, 3)))
        db.write(a, data={"energy": np.array([-10.0 - i]), "forces": forces[i]},
                 total_energy=-5.0 - i)
    f = read_ase_db(tmp_path / "x.db", energy_unit="kcal/mol")
    np.testing.assert_allclose(f.energy, np.array([-10.0, -11.0]) * KCAL_MOL_TO_EV)
    np.testing.assert_allclose(f.forces, forces * KCAL_MOL_TO_EV)
    kv = read_ase_db(tmp_path / "x.db", energy_key="total_energy")
    assert kv.energy.tolist() == [-5.0, -6.0] and kv.extras["db_id"].tolist() == [1, 2]
    assert isinstance(read(tmp_path / "x.db"), Frames)


def test_ase_db_never_creates_or_touches_files(tmp_path):
    with pytest.raises(DataNotFoundError):
        read_ase_db(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    (tmp_path / "empty.db").write_bytes(b"")
    with pytest.raises(DataFormatError, match="empty.db: not an SQLite database"):
        read_ase_db(tmp_path / "empty.db")
    assert (tmp_path / "empty.db").read_bytes() == b""
    (tmp_path / "text.db").write_text("hello")
    with pytest.raises(DataFormatError, match="text.db: not an SQLite"):
        read_ase_db(tmp_path / "text.db")


# -- deepmd ----------------------------------------------------------------------------------
def _deepmd_system(root, sets=(3, 2), natoms=3, nopbc=False):
    root.mkdir(parents=True)
    (root / "type.raw").write_text("0\n1\n1\n")
    (root / "type_map.raw").write_text("O\nH\n")
    if nopbc:
        (root / "nopbc").write_text("")
    out = {"coord": [], "force": [], "energy": [], "box": []}
    for k, n in enumerate(sets):
        d = root / f"set.{k:03d}"
        d.mkdir()
        arrays = dict(coord=RNG.normal(size=(n, natoms * 3)),
                      force=RNG.normal(size=(n, natoms * 3)), energy=RNG.normal(size=n),
                      box=np.tile((np.eye(3) * 8).reshape(1, 9), (n, 1)),
                      virial=RNG.normal(size=(n, 9)))
        for name, value in arrays.items():
            np.save(d / f"{name}.npy", value)
            if name in out:
                out[name].append(value)
    return {k: np.concatenate(v) for k, v in out.items()}


def test_read_deepmd_concatenates_sets(tmp_path):
    raw = _deepmd_system(tmp_path / "sys")
    f = read_deepmd(tmp_path / "sys", time_ordered=True)
    assert len(f) == 5 and f.numbers.tolist() == [8, 1, 1] and f.pbc.all()
    np.testing.assert_array_equal(f.positions, raw["coord"].reshape(5, 3, 3))
    np.testing.assert_array_equal(f.forces, raw["force"].reshape(5, 3, 3))
    np.testing.assert_array_equal(f.energy, raw["energy"])
    assert f.cell[0, 0, 0] == 8.0 and f.extras["virial"].shape == (5, 3, 3)
    assert f.time.tolist() == list(range(5)) and f.metadata["sets"] == ["set.000", "set.001"]
    assert read_deepmd(tmp_path / "sys").time is None
    assert isinstance(read(tmp_path / "sys"), Frames)
    _deepmd_system(tmp_path / "mol", sets=(2,), nopbc=True)
    assert not read_deepmd(tmp_path / "mol").pbc.any()


def test_read_deepmd_errors(tmp_path):
    _deepmd_system(tmp_path / "a")
    (tmp_path / "a" / "set.001" / "coord.npy").unlink()
    with pytest.raises(DataFormatError, match=r"set.001/coord.npy is missing"):
        read_deepmd(tmp_path / "a")
    _deepmd_system(tmp_path / "b")
    np.save(tmp_path / "b" / "set.000" / "force.npy", np.zeros((3, 8)))
    with pytest.raises(DataFormatError, match=r"set.000/force.npy: shape \(3, 8\)"):
        read_deepmd(tmp_path / "b")
    _deepmd_system(tmp_path / "c")
    (tmp_path / "c" / "type_map.raw").unlink()
    with pytest.raises(DataFormatError, match="type_map.raw is missing"):
        read_deepmd(tmp_path / "c")
    assert read_deepmd(tmp_path / "c", type_map=["O", "H"]).numbers.tolist() == [8, 1, 1]
    with pytest.raises(DataFormatError, match=r"not a deepmd system .*\['a', 'b', 'c'\]"):
        read_deepmd(tmp_path)


# -- hdf5 ------------------------------------------------------------------------------------
def test_read_hdf5_spice_layout_converts_hartree_and_bohr(tmp_path):
    pos, grad = RNG.normal(size=(2, 3, 3)), RNG.normal(size=(2, 3, 3))
    with h5py.File(tmp_path / "spice.hdf5", "w") as h:
        g = h.create_group("water")
        g["atomic_numbers"] = np.array([8, 1, 1], np.int16)
        g.create_dataset("conformations", data=pos).attrs["units"] = "bohr"
        g.create_dataset("dft_total_energy", data=[-76.0, -76.1]).attrs["units"] = "hartree"
        g.create_dataset("dft_total_gradient", data=grad).attrs["units"] = "hartree/bohr"
        g["smiles"] = np.array([b"O"], dtype=object)
    (f,) = read_hdf5(tmp_path / "spice.hdf5")
    np.testing.assert_allclose(f.positions, pos * BOHR_TO_ANGSTROM)
    np.testing.assert_allclose(f.energy, np.array([-76.0, -76.1]) * HARTREE_TO_EV)
    np.testing.assert_allclose(f.forces, -grad * HARTREE_TO_EV / BOHR_TO_ANGSTROM)
    assert f.metadata["smiles"] == "O" and f.source.endswith("spice.hdf5#water")


def test_read_hdf5_ani_layouts(tmp_path):
    with h5py.File(tmp_path / "ani.h5", "w") as h:
        g = h.create_group("CH4")
        g["atomic_numbers"] = np.array([6, 1, 1, 1, 1])
        g["coordinates"] = RNG.normal(size=(2, 5, 3)).astype(np.float32)
        g["wb97x_dz.energy"] = [-40.0, -40.1]
        g["wb97x_dz.forces"] = np.ones((2, 5, 3), np.float32)
        g["ccsd(t)_cbs.energy"] = [-40.3, -40.4]
    with h5py.File(tmp_path / "ani2x.h5", "w") as h:
        p = h.create_group("002")
        p["species"] = np.array([[1, 1], [1, 8], [1, 1]])
        p["coordinates"] = RNG.normal(size=(3, 2, 3))
        p["energies"] = [-1.0, -2.0, -3.0]
        p["forces"] = np.zeros((3, 2, 3))
    (ch4,) = read_hdf5(tmp_path / "ani.h5")
    h2, ho = read_hdf5(tmp_path / "ani2x.h5")
    np.testing.assert_allclose(ch4.energy, np.array([-40.0, -40.1]) * HARTREE_TO_EV)
    np.testing.assert_allclose(ch4.forces, HARTREE_TO_EV)  # hartree/Å -> eV/Å
    assert ch4.positions.dtype == np.float64
    cc = read_hdf5(tmp_path / "ani.h5", energy_key="ccsd(t)_cbs.energy")[0]
    np.testing.assert_allclose(cc.energy, np.array([-40.3, -40.4]) * HARTREE_TO_EV)
    assert (h2.formula, ho.formula) == ("H2", "HO")
    assert h2.extras["index"].tolist() == [0, 2] and ho.extras["index"].tolist() == [1]
    np.testing.assert_allclose(h2.energy, np.array([-1.0, -3.0]) * HARTREE_TO_EV)
    with pytest.raises(DataFormatError, match="no dataset 'nope'"):
        read_hdf5(tmp_path / "ani.h5", energy_key="nope")


def test_read_hdf5_corrupt_and_unknown(tmp_path):
    (tmp_path / "junk.h5").write_bytes(b"\x00" * 100)
    with pytest.raises(DataFormatError, match="junk.h5: cannot be read"):
        read_hdf5(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "odd.h5", "w") as h:
        h.create_group("mol")["x"] = [1.0]
    with pytest.raises(DataFormatError, match=r"odd.h5#mol: .*unknown layout"):
        read_hdf5(tmp_path / "odd.h5")


def test_unknown_format_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="format='cif2' is unknown; fix: pass one of"):
        read(tmp_path / "x", format="cif2")


# -- no frames, and what every error message says --------------------------------------------
def _zero_frame_inputs(tmp_path):
    """(file, read it) pairs of inputs that hold no frames at all."""
    np.savez(tmp_path / "nequip.npz", pos=np.zeros((0, 3, 3)), atomic_numbers=[8, 1, 1],
             energy=np.zeros(0), forces=np.zeros((0, 3, 3)))
    np.savez(tmp_path / "rmd17.npz", nuclear_charges=[8, 1, 1], coords=np.zeros((0, 3, 3)),
             energies=np.zeros(0), forces=np.zeros((0, 3, 3)))
    np.savez(tmp_path / "sgdml.npz", R=np.zeros((0, 3, 3)), z=[8, 1, 1])
    (tmp_path / "empty.xyz").write_text("")
    _deepmd_system(tmp_path / "deepmd", sets=(0,))
    with h5py.File(tmp_path / "spice.h5", "w") as h:
        g = h.create_group("water")
        g["atomic_numbers"], g["conformations"] = [8, 1, 1], np.zeros((0, 3, 3))
    one = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.7]])
    import ase.io
    ase.io.write(tmp_path / "one.xyz", [one], format="extxyz")
    return [("nequip.npz", read_nequip_npz), ("rmd17.npz", read_rmd17),
            ("sgdml.npz", read_sgdml), ("nequip.npz", read),
            ("empty.xyz", read_extxyz), ("empty.xyz", lambda p: read_extxyz(p, group=True)),
            ("empty.xyz", read_isolated_atoms), ("empty.xyz", read_sgdml_xyz),
            ("one.xyz", lambda p: read_extxyz(p, index="5:")),
            ("deepmd", read_deepmd), ("spice.h5", read_hdf5)]


def test_zero_frames_are_an_error_naming_the_file(tmp_path):
    for name, reader in _zero_frame_inputs(tmp_path):
        with pytest.raises(DataFormatError, match=rf"{name}.*: holds no frames; fix: "):
            reader(tmp_path / name)


def test_deepmd_type_raw_errors_name_type_raw_and_the_fix(tmp_path):
    for text, says in (("O\nH\nH\n", "not integer type indices"), ("", "is empty"),
                       ("0\n-1\n1\n", r"type indices \[-1\] name no element"),
                       ("0\n2\n1\n", r"type indices \[2\] name no element")):
        root = tmp_path / f"sys{len(list(tmp_path.iterdir()))}"
        _deepmd_system(root)
        (root / "type.raw").write_text(text)
        with pytest.raises(DataFormatError) as err:
            read_deepmd(root)
        message = str(err.value)
        assert message.startswith(f"{root / 'type.raw'}: ") and "coord.npy" not in message
        assert re.search(f"{says}.*; fix: ", message), message


def _bad_inputs(tmp_path):
    """(what the message must name, a call that must fail) for a sample of bad inputs."""
    np.savez(tmp_path / "keys.npz", coords=np.zeros((1, 1, 3)))
    raw = _rmd17_file(tmp_path / "nan.npz")
    raw["forces"][0, 0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", **raw)
    _rmd17_file(tmp_path / "good.npz")
    (tmp_path / "cut.npz").write_bytes((tmp_path / "good.npz").read_bytes()[:300])
    (tmp_path / "fes.dat").write_text("1 2 3\n")
    (tmp_path / "text.db").write_text("hello")
    (tmp_path / "junk.h5").write_bytes(b"\x00" * 100)
    _deepmd_system(tmp_path / "nomap")
    (tmp_path / "nomap" / "type_map.raw").unlink()
    _deepmd_system(tmp_path / "short")
    np.save(tmp_path / "short" / "set.000" / "force.npy", np.zeros((3, 8)))
    _deepmd_system(tmp_path / "mixed")
    (tmp_path / "mixed" / "set.001" / "virial.npy").unlink()
    import ase.io
    ase.io.write(tmp_path / "mixed.xyz", [Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.7]]),
                                         Atoms("O", positions=[[0, 0, 0]])], format="extxyz")
    good = read_rmd17(tmp_path / "good.npz")
    np.savez(tmp_path / "other.npz", R=np.zeros((1, 2, 3)), z=[1, 1])
    other = read_sgdml(tmp_path / "other.npz")
    return [
        ("nowhere.npz", lambda: read_npz(tmp_path / "nowhere.npz")),
        (tmp_path.name, lambda: read_npz(tmp_path)),
        ("keys.npz", lambda: read_npz(tmp_path / "keys.npz")),
        ("keys.npz", lambda: read_rmd17(tmp_path / "keys.npz")),
        ("nan.npz", lambda: read_rmd17(tmp_path / "nan.npz")),
        ("cut.npz", lambda: read_npz(tmp_path / "cut.npz")),
        ("labels='x'", lambda: read_rmd17(tmp_path / "good.npz", labels="x")),
        ("format='cif2'", lambda: read(tmp_path / "good.npz", format="cif2")),
        ("'erg'", lambda: read_extxyz(tmp_path / "mixed.xyz", energy_unit="erg", group=True)),
        ("mixed.xyz", lambda: read_extxyz(tmp_path / "mixed.xyz")),
        ("fes.dat", lambda: read_plumed_fes(tmp_path / "fes.dat")),
        ("text.db", lambda: read_ase_db(tmp_path / "text.db")),
        ("junk.h5", lambda: read_hdf5(tmp_path / "junk.h5")),
        ("good.npz", lambda: read_deepmd(tmp_path / "good.npz")),
        ("nomap", lambda: read_deepmd(tmp_path / "nomap")),
        ("short/set.000/force.npy", lambda: read_deepmd(tmp_path / "short")),
        ("mixed: virial.npy", lambda: read_deepmd(tmp_path / "mixed")),
        ("mine", lambda: Frames(positions=np.zeros((1, 2, 3)), numbers=[1], source="mine")),
        ("mine", lambda: Frames(positions=np.ones((1, 2, 3)), numbers=[1, 1], pbc=True,
                                source="mine")),
        ("good.npz", lambda: data.concat([good, other])),
    ]


def test_bad_input_errors_are_one_line_naming_the_file_and_the_fix(tmp_path):
    for named, call in _bad_inputs(tmp_path):
        with pytest.raises((DataError, ValueError)) as err:
            call()
        message = str(err.value)
        assert "\n" not in message and named in message and "; fix: " in message, message


# -- the real mirrored files -----------------------------------------------------------------
DATASETS = sorted(data.datasets())
#: Frame counts stated in the mirror's README (a sample of the datasets).
EXPECTED_FRAMES = {
    "egraff/md17/aspirin/train": 950, "egraff/md17/aspirin/val": 50,
    "egraff/md17/aspirin/test": 1000, "egraff/3bpa/val": 1669, "egraff/3bpa/test": 2138,
    "egraff/gete/val": 300, "egraff/gete/test": 300, "egraff/lips/val": 1000,
    "egraff/lips20/Li2S": 1000, "botnet/3bpa/train_300K": 500, "botnet/acac/train_600K": 500,
    "botnet/acac/test_MD_300K": 650, "botnet/acac/test_H_transfer": 15,
    "botnet/acac/test_dihedral": 45, "rmd17/aspirin/train_01": 1000,
    "schnetpack/ethanol": 20, "schnetpack/ani1": 20,
}


@pytest.mark.parametrize("name", DATASETS)
def test_every_registered_dataset_reads(mirror, name):
    result = data.load(name, download=False)
    items = result if isinstance(result, list) else [result]
    assert items
    for item in items:
        if isinstance(item, Frames):
            assert len(item) > 0 and item.metadata["dataset"] == name
            assert item.source.startswith(str(mirror))
    if name in EXPECTED_FRAMES:
        assert len(result) == EXPECTED_FRAMES[name]


def test_real_fixtures_with_several_systems(mirror):
    assert sum(len(f) for f in data.load("schnetpack/iso17")) == 40
    assert sum(len(f) for f in data.load("modelforge/spice")) == 55
    water = [data.load(f"deepmd/water/data_{k}") for k in range(4)]
    assert sum(len(f) for f in water) == 400 and water[0].formula == "H128O64"
    assert data.load("mdsim/alanine/pdb").formula == "C6H12N2O2"
    fes = data.load("mdsim/alanine/fes")
    assert fes.free_energy.shape == (60, 60) and fes.free_energy.min() == 0.0
    e0 = data.load("botnet/3bpa/isolated_atoms")
    assert sorted(e0) == [1, 6, 7, 8] and e0[1] == pytest.approx(-13.587, abs=1e-3)


def test_egraff_md17_is_md17_converted_with_0_04336(mirror):
    """The EGraFFBench test file holds MD17 frames 0-999 with labels x 0.04336: the rMD17
    frames among them have the same positions and old (MD17) labels x 0.04336 / ASE's."""
    egraff = data.load("egraff/md17/aspirin/test")
    rmd17 = data.splits.rmd17_trajectory("aspirin")
    pick = rmd17.time < 1000
    idx = rmd17.time[pick]
    assert pick.sum() > 20
    np.testing.assert_array_equal(egraff.positions[idx], rmd17.positions[pick])
    ratio = EGRAFF_KCAL_MOL_TO_EV / KCAL_MOL_TO_EV
    np.testing.assert_allclose(egraff.energy[idx], rmd17.extras["old_energies"][pick] * ratio,
                               rtol=1e-12)
    np.testing.assert_allclose(egraff.forces[idx], rmd17.extras["old_forces"][pick] * ratio,
                               atol=1e-8)


def test_ani2x_forces_are_minus_the_energy_gradient(mirror):
    """Unit check on real data: for the ANI-2x diatomics, -dE/dr along the bond (fitted
    over hundreds of geometries) equals the stored force once both are in eV and Å."""
    for frames in data.load("modelforge/ani2x")[:3]:
        bond = frames.positions[:, 1] - frames.positions[:, 0]
        r = np.linalg.norm(bond, axis=1)
        force = np.einsum("ni,ni->n", frames.forces[:, 1], bond / r[:, None])
        dE = np.polyval(np.polyder(np.polyfit(r, frames.energy, 6)), r)
        inner = (r > np.percentile(r, 10)) & (r < np.percentile(r, 90))
        assert np.median(-dE[inner] / force[inner]) == pytest.approx(1.0, abs=2e-3)


def test_spice_forces_are_minus_gradient_in_ev_per_angstrom(mirror):
    path = data.resolve("modelforge/spice")
    with h5py.File(path) as h:
        grad = h["103147721/dft_total_gradient"][()]
        energy = h["103147721/dft_total_energy"][()]
    frames = data.load("modelforge/spice")[0]
    np.testing.assert_allclose(frames.forces, -grad * HARTREE_TO_EV / BOHR_TO_ANGSTROM,
                               rtol=1e-6)
    np.testing.assert_allclose(frames.energy, energy * HARTREE_TO_EV)


def test_readers_never_modify_the_mirror(mirror, tmp_path):
    """Reading a copy leaves it byte-identical (nothing is written by a reader)."""
    src = data.resolve("schnetpack/ethanol")
    copy = tmp_path / "copy.db"
    shutil.copyfile(src, copy)
    before = copy.read_bytes()
    read_ase_db(copy, energy_unit="kcal/mol")
    assert copy.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == \
        ["copy.db"]
