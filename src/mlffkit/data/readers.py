"""Readers: every file format the book uses, into :class:`~mlffkit.data.frames.Frames`.

Units are converted here and only here, with the factors named in :mod:`mlffkit.units`:

=======================  ===========================================  ========================
reader                   files                                        conversion
=======================  ===========================================  ========================
``read_rmd17``           rMD17 npz (``nuclear_charges``, ...)         kcal/mol -> eV
``read_sgdml``           sGDML/MD17 npz (``R``, ``z``, ``E``, ``F``)  ``e_unit`` -> eV
``read_nequip_npz``      EGraFFBench ``nequip_npz.npz``               none (file is in eV)
``read_extxyz``          extended xyz (BOTNet 3BPA, acac)             none unless told
``read_sgdml_xyz``       plain xyz, energy on the comment line        kcal/mol -> eV (default)
``read_ase_db``          ASE SQLite db (SchNetPack fixtures)          as told (eV default)
``read_deepmd``          deepmd system (``type.raw``, ``set.*/``)     none (eV, Å)
``read_hdf5``            SPICE / ANI-1x / ANI-2x hdf5                 hartree, bohr -> eV, Å
``read_isolated_atoms``  xyz of single atoms                          none
``read_plumed_fes``      PLUMED ``fes.dat``                           kJ/mol -> eV
``read_pdb``             pdb (Fu et al.'s alanine dipeptide)          none
``read_ase``             anything else ``ase.io`` reads               none
=======================  ===========================================  ========================

Every reader checks what it reads and raises :class:`~mlffkit.data.errors.DataFormatError`
(missing keys, inconsistent shapes, NaN/inf, truncated or corrupt files, no frames at all) or
:class:`~mlffkit.data.errors.DataNotFoundError`, in one line that names the file and says
``fix: ...``. Readers only read: nothing is written, not even an empty database.
"""

from __future__ import annotations

import functools
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import DataError, DataFormatError, DataNotFoundError
from .frames import Frames, group_by_composition
from mlffkit.registries import Registry
from mlffkit.units import KCAL_MOL_TO_EV, energy_factor, force_factor, length_factor

#: Reader by format name (the data registry's ``format`` field), filled by ``@reader(...)``.
READERS: Registry[Callable[..., Any]] = Registry("reader format")

_REFETCH = ("fix: if it is a registered file, delete it and run `mlffkit data fetch NAME`; "
            "else re-create it")


# -- helpers -------------------------------------------------------------------------------
def _existing(path, directory: bool = False) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"{path}: no such {'directory' if directory else 'file'}; fix: "
                                "check the path (registered data: `mlffkit data fetch NAME`)")
    if directory and not path.is_dir():
        raise DataFormatError(f"{path}: is a file, expected a deepmd system directory; fix: "
                              "pass the directory that holds type.raw")
    if not directory and path.is_dir():
        raise DataFormatError(f"{path}: is a directory, expected a file; fix: pass a file "
                              "(read() reads a directory as a deepmd system)")
    return path


def _nonempty(reader):
    """``reader``, made to raise :class:`DataFormatError` naming the file (or hdf5 group)
    when it returns a ``Frames`` with no frames (empty arrays). Readers through ASE check
    earlier, in ``_ase_read``: an empty file or an index that picks nothing."""
    @functools.wraps(reader)
    def read_nonempty(path, *args, **kwargs):
        result = reader(path, *args, **kwargs)
        for frames in result if isinstance(result, list) else [result]:
            if isinstance(frames, Frames) and not len(frames):
                raise _no_frames(frames.source or path)
        return result
    return read_nonempty


def reader(format: str):
    """Decorator: register a reader under ``format`` (``read(path, format=...)`` and the data
    registry's ``format`` field), checked to never return an empty ``Frames``::

        @reader("my_format")
        def read_my_format(path, **options) -> Frames: ...
    """
    return lambda function: READERS.add(format, _nonempty(function))


def _no_frames(path) -> DataFormatError:
    return DataFormatError(f"{path}: holds no frames; {_REFETCH}, or pass a file (and index) "
                           "with at least one frame")


def _corrupt(path, err: BaseException) -> DataFormatError:
    return DataFormatError(f"{path}: cannot be read, the file looks truncated or corrupt "
                           f"({type(err).__name__}: {err}); {_REFETCH}")


def _npz(path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """The ``required`` and present ``optional`` arrays of an npz file, read eagerly."""
    path = _existing(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            missing = [k for k in required if k not in keys]
            if missing:
                raise DataFormatError(f"{path}: missing keys {missing} (has {sorted(keys)}); "
                                      "fix: use read_npz, which picks the reader from the keys")
            return {k: data[k] for k in (*required, *optional) if k in keys}
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise _corrupt(path, err) from err


def _npz_keys(path) -> set[str]:
    path = _existing(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return set(data.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise _corrupt(path, err) from err


def _text(value) -> str:
    """A string stored as a numpy 0-d/1-element array or bytes."""
    value = np.asarray(value).reshape(-1)[0] if np.ndim(value) else np.asarray(value).item()
    return value.decode() if isinstance(value, bytes) else str(value)


# -- npz -----------------------------------------------------------------------------------
@reader("rmd17")
def read_rmd17(path, labels: str = "rmd17") -> Frames:
    """An rMD17 npz file (Christensen & von Lilienfeld 2020).

    Energies and forces are converted from kcal/mol (kcal/mol/Å) with ``KCAL_MOL_TO_EV``.
    ``time`` is ``old_indices``, the frame's index in the original MD17 trajectory (one
    trajectory per molecule, ``trajectory`` = 0), so consecutive MD steps can be found
    (:mod:`mlffkit.data.windows`). ``labels="rmd17"`` (default) uses the recomputed PBE/def2-SVP
    labels and keeps the original MD17 ones as ``extras["old_energies"]``/``["old_forces"]``
    (eV); ``labels="md17"`` swaps them (the rMD17 labels go to ``extras["rmd17_energies"]``/
    ``["rmd17_forces"]``).
    """
    if labels not in ("rmd17", "md17"):
        raise ValueError(f"labels={labels!r} is unknown; fix: pass labels='rmd17' (recomputed "
                         "labels) or labels='md17' (the original MD17 ones)")
    data = _npz(path, ("nuclear_charges", "coords", "energies", "forces"),
                ("old_indices", "old_energies", "old_forces"))
    own = (data["energies"] * KCAL_MOL_TO_EV, data["forces"] * KCAL_MOL_TO_EV)
    old = None
    if "old_energies" in data and "old_forces" in data:
        old = (data["old_energies"] * KCAL_MOL_TO_EV, data["old_forces"] * KCAL_MOL_TO_EV)
    if labels == "md17":
        if old is None:
            raise DataFormatError(f"{path}: labels='md17' needs old_energies and old_forces, "
                                  "which this file lacks; fix: use labels='rmd17'")
        own, old = old, own
    prefix = "old" if labels == "rmd17" else "rmd17"
    extras = {} if old is None else {f"{prefix}_energies": old[0], f"{prefix}_forces": old[1]}
    time = data.get("old_indices")
    n = len(data["coords"])
    return Frames(positions=data["coords"], numbers=data["nuclear_charges"], energy=own[0],
                  forces=own[1], time=time,
                  trajectory=None if time is None else np.zeros(n, np.int64),
                  extras=extras, source=str(path),
                  metadata={"format": "rmd17", "labels": labels,
                            "units_in_file": "kcal/mol, kcal/mol/Å (converted with "
                                             "KCAL_MOL_TO_EV)"})


@reader("sgdml")
def read_sgdml(path, time_ordered: bool = False) -> Frames:
    """An sGDML-style npz (``R``, ``z``, ``E``, ``F``; the original MD17 files).

    Energies use the file's ``e_unit`` (kcal/mol when absent, as in MD17) and lengths its
    ``r_unit`` (Å when absent). ``time_ordered=True`` says the frames are consecutive MD steps
    of one trajectory (true of the original MD17 files, not of sGDML's subsets).
    """
    data = _npz(path, ("R", "z"), ("E", "F", "e_unit", "r_unit", "lattice"))
    e_unit = _text(data["e_unit"]) if "e_unit" in data else "kcal/mol"
    r_unit = _text(data["r_unit"]) if "r_unit" in data else "angstrom"
    try:
        to_ev, to_ang = energy_factor(e_unit), length_factor(r_unit)
    except ValueError as err:
        raise DataFormatError(f"{path}: {err}; fix: store e_unit/r_unit as one of these in "
                              "the file") from None
    n = len(data["R"])
    lattice = data.get("lattice")
    return Frames(positions=data["R"] * to_ang, numbers=data["z"],
                  energy=None if "E" not in data else data["E"] * to_ev,
                  forces=None if "F" not in data else data["F"] * (to_ev / to_ang),
                  cell=None if lattice is None else lattice * to_ang,
                  pbc=lattice is not None,
                  time=np.arange(n) if time_ordered else None,
                  trajectory=np.zeros(n, np.int64) if time_ordered else None,
                  source=str(path),
                  metadata={"format": "sgdml", "units_in_file": f"{e_unit}, {r_unit}"})


@reader("nequip_npz")
def read_nequip_npz(path) -> Frames:
    """A NequIP-style npz as EGraFFBench ships it (``pos``, ``atomic_numbers``, ``energy``,
    ``forces``, ``cell``, ``pbc``), in eV, Å, eV/Å.

    Values are kept as in the file. Note that EGraFFBench converted MD17 from kcal/mol with
    the rounded factor 0.04336 (``units.EGRAFF_KCAL_MOL_TO_EV``), not ASE's 0.0433641, so its
    MD17 energies differ from ``read_rmd17``/``read_sgdml`` ones by a factor 1.0000946
    (about 1.7 eV on aspirin's -17637 eV total energy; errors are barely affected).
    """
    data = _npz(path, ("pos", "atomic_numbers"), ("energy", "forces", "cell", "pbc"))
    pbc = data.get("pbc", np.zeros(3, bool))
    return Frames(positions=data["pos"], numbers=data["atomic_numbers"],
                  energy=data.get("energy"), forces=data.get("forces"), cell=data.get("cell"),
                  pbc=pbc, source=str(path),
                  metadata={"format": "nequip_npz", "units_in_file": "eV, Å, eV/Å"})


@reader("npz")
def read_npz(path, **options) -> Frames:
    """Any of the npz layouts above, chosen from the file's keys."""
    keys = _npz_keys(path)
    if {"nuclear_charges", "coords"} <= keys:
        return read_rmd17(path, **options)
    if {"R", "z"} <= keys:
        return read_sgdml(path, **options)
    if {"pos", "atomic_numbers"} <= keys:
        return read_nequip_npz(path, **options)
    raise DataFormatError(f"{path}: unknown npz layout (keys {sorted(keys)}); expected rMD17 "
                          "(nuclear_charges, coords, ...), sGDML (R, z, E, F) or NequIP "
                          "(pos, atomic_numbers, ...); fix: convert the file to one of them")


# -- text and ASE formats ------------------------------------------------------------------
def _ase_read(path, format: str | None, index=":"):
    import ase.io

    path = _existing(path)
    try:
        atoms = ase.io.read(str(path), index=index, format=format)
    except Exception as err:  # ASE raises many types on malformed input
        raise _corrupt(path, err) from err
    atoms = atoms if isinstance(atoms, list) else [atoms]
    if not atoms:
        raise _no_frames(path)
    return atoms


def _frames(atoms, path, group: bool, energy_unit: str = "eV", **kwargs):
    """``Frames`` (or, with ``group``, a list per composition) from ``ase.Atoms``, with energies
    and forces converted from ``energy_unit`` (per Å) to eV."""
    if group:
        return [_scaled(f, energy_unit) for f in group_by_composition(atoms, str(path), **kwargs)]
    return _scaled(Frames.from_atoms(atoms, source=str(path), **kwargs), energy_unit)


def _scaled(frames: Frames, energy_unit: str) -> Frames:
    """``frames`` with energies and forces converted from ``energy_unit`` (per Å) to eV."""
    factor = energy_factor(energy_unit)
    if factor != 1.0:
        if frames.energy is not None:
            frames.energy = frames.energy * factor
        if frames.forces is not None:
            frames.forces = frames.forces * factor
    frames.metadata["units_in_file"] = f"{energy_unit}, Å, {energy_unit}/Å"
    return frames


@reader("extxyz")
def read_extxyz(path, index=":", energy_key: str = "energy", forces_key: str = "forces",
                energy_unit: str = "eV", group: bool = False) -> Frames | list[Frames]:
    """An extended-xyz file through ``ase.io`` (energies in eV unless ``energy_unit``).

    All frames must have the same atoms in the same order, unless ``group=True``: then a
    list with one ``Frames`` per atom list is returned (see :func:`group_by_composition`).
    ``info`` entries present in every frame (3BPA's ``dihedrals``, acac's ``config_type``)
    become ``extras``.
    """
    return _frames(_ase_read(path, "extxyz", index), path, group, energy_unit,
                   energy_key=energy_key, forces_key=forces_key,
                   metadata={"format": "extxyz"})


@reader("ase")
def read_ase(path, format: str | None = None, index=":", group: bool = False
             ) -> Frames | list[Frames]:
    """Any file ``ase.io`` reads (pdb, traj, ...), values as ASE gives them (eV, Å);
    ``group`` as in :func:`read_extxyz`."""
    return _frames(_ase_read(path, format, index), path, group,
                   metadata={"format": format or "ase"})


@reader("pdb")
def read_pdb(path, elements_from_names: bool = False) -> Frames:
    """A pdb file through ``ase.io`` (Å). ``elements_from_names=True`` takes each element
    from the first letter of the atom name (leading digits skipped), for organic molecules
    whose element column is wrong: Fu et al.'s ``ala2.pdb`` writes the alpha carbon's
    element as ``CA`` (calcium)."""
    from ase.data import atomic_numbers

    frames = _frames(_ase_read(path, "proteindatabank"), path, False,
                     metadata={"format": "pdb"})
    if elements_from_names:
        names = frames.extras.get("atomtypes")
        if names is None:
            raise DataFormatError(f"{path}: no atom names to take elements from; fix: read "
                                  "it with elements_from_names=False")
        try:
            frames.numbers = np.array([atomic_numbers[str(name).lstrip("0123456789")[0]]
                                       for name in names[0]])
        except (KeyError, IndexError) as err:
            raise DataFormatError(f"{path}: atom name without an element letter ({err}); "
                                  "fix: read it with elements_from_names=False") from None
        frames.validate()
    return frames


@reader("isolated_atoms")
def read_isolated_atoms(path, energy_key: str = "energy") -> dict[int, float]:
    """Energies (eV) of isolated atoms, ``{atomic number: energy}``, from an xyz file of
    one-atom frames (BOTNet's ``iso_atoms.xyz``): the reference atomic energies E0."""
    out = {}
    for frames in group_by_composition(_ase_read(path, "extxyz"), source=str(path),
                                       energy_key=energy_key):
        if frames.n_atoms != 1 or frames.energy is None:
            raise DataFormatError(f"{path}: expected one-atom frames with energies, found "
                                  f"{frames.formula} ({frames.n_atoms} atoms); fix: pass an "
                                  "xyz of isolated atoms with energies (like iso_atoms.xyz)")
        out[int(frames.numbers[0])] = float(frames.energy[0])
    return out


@reader("sgdml_xyz")
def read_sgdml_xyz(path, energy_unit: str = "kcal/mol") -> Frames:
    """Plain xyz written by sGDML/SchNetPack: the comment line is the energy and each atom line
    is ``symbol x y z fx fy fz``. Energies default to kcal/mol (MD17), forces per Å."""
    from ase.data import atomic_numbers

    path = _existing(path)
    lines = path.read_text().splitlines()
    frames, i = [], 0
    try:
        while i < len(lines):
            if not lines[i].strip():
                i += 1
                continue
            n = int(lines[i])
            energy = float(lines[i + 1].split()[0])
            block = [line.split() for line in lines[i + 2:i + 2 + n]]
            if len(block) != n or any(len(row) != 7 for row in block):
                raise ValueError(f"frame {len(frames)}: expected {n} lines of 7 columns")
            frames.append((energy, [atomic_numbers[row[0]] for row in block],
                           np.array([row[1:] for row in block], dtype=np.float64)))
            i += 2 + n
    except (ValueError, IndexError, KeyError) as err:
        raise _corrupt(path, err) from err
    if not frames:
        raise _no_frames(path)
    numbers = frames[0][1]
    if any(f[1] != numbers for f in frames):
        raise DataFormatError(f"{path}: frames have different atoms; fix: keep one system per "
                              "file, or write extxyz and read it with group=True")
    table = np.array([f[2] for f in frames])
    factor = energy_factor(energy_unit)
    return Frames(positions=table[:, :, :3], numbers=numbers,
                  energy=np.array([f[0] for f in frames]) * factor,
                  forces=table[:, :, 3:] * factor, source=str(path),
                  metadata={"format": "sgdml_xyz",
                            "units_in_file": f"{energy_unit}, Å, {energy_unit}/Å"})


@reader("ase_db")
def read_ase_db(path, energy_key: str = "energy", forces_key: str = "forces",
                energy_unit: str = "eV", selection=None, group: bool = False
                ) -> Frames | list[Frames]:
    """An ASE SQLite database. Energy is the row's calculator energy, else
    ``key_value_pairs[energy_key]`` or ``data[energy_key]``; forces the row's calculator
    forces, else ``data[forces_key]``; both converted from ``energy_unit`` (per Å).

    ``group=True`` returns one ``Frames`` per atom list (ISO17 rows are isomers whose atoms
    come in different orders); ``extras["db_id"]`` keeps each frame's row id.
    SchNetPack's fixtures: ``test_ethanol.db`` is MD17 in kcal/mol; ``test_iso.db`` (ISO17)
    keeps ``total_energy`` and ``atomic_forces`` in eV; ``test_ani1.db`` is in eV.
    The file is checked to be an SQLite database before ASE opens it, so that a missing or
    empty path is never turned into a new database.
    """
    import sqlite3

    import ase.db

    path = _existing(path)
    with open(path, "rb") as handle:
        header = handle.read(16)
    if header != b"SQLite format 3\x00":
        raise DataFormatError(f"{path}: not an SQLite database (ASE db); {_REFETCH}")
    try:
        rows = list(ase.db.connect(str(path), type="db").select(selection))
    except (sqlite3.DatabaseError, ValueError, KeyError) as err:
        raise _corrupt(path, err) from err
    if not rows:
        raise (DataFormatError(f"{path}: no rows match selection={selection!r}; fix: pass a "
                               "selection that matches, or none") if selection
               else _no_frames(path))
    atoms = []
    for row in rows:
        a = row.toatoms()
        energy = _row_value(row, energy_key, "energy")
        forces = _row_value(row, forces_key, "forces")
        if energy is not None:
            a.info[energy_key] = float(np.asarray(energy).reshape(-1)[0])
        if forces is not None:
            a.arrays[forces_key] = np.asarray(forces, dtype=np.float64)
        a.calc = None
        a.info["db_id"] = row.id
        atoms.append(a)
    return _frames(atoms, path, group, energy_unit, energy_key=energy_key,
                   forces_key=forces_key, metadata={"format": "ase_db"})


def _row_value(row, key, calc_name):
    if key == calc_name and row.get(calc_name) is not None:
        return row.get(calc_name)
    if key in row.key_value_pairs:
        return row.key_value_pairs[key]
    data = row.get("data") or {}
    return data.get(key)


# -- deepmd --------------------------------------------------------------------------------
@reader("deepmd")
def read_deepmd(path, time_ordered: bool = False, type_map: list[str] | None = None) -> Frames:
    """One deepmd system directory: ``type.raw``, ``type_map.raw`` and ``set.*/`` with
    ``coord.npy`` (n, 3N), ``box.npy`` (n, 9), ``energy.npy`` (n,), ``force.npy`` (n, 3N) and
    optional ``virial.npy`` (n, 9, kept as ``extras["virial"]`` (n, 3, 3) eV). Units: eV, Å.

    Sets are read in name order and concatenated. A ``nopbc`` file (or no ``box.npy``) means
    non-periodic. ``time_ordered=True`` says the concatenated frames are consecutive steps of
    one trajectory (LiPS20); deepmd does not record this itself.
    """
    from ase.data import atomic_numbers

    root = _existing(path, directory=True)
    type_file = root / "type.raw"
    if not type_file.exists():
        systems = sorted(p.parent.name for p in root.glob("*/type.raw"))
        hint = f"one of the systems below it, {systems}" if systems else "one with type.raw"
        raise DataFormatError(f"{root}: not a deepmd system (no type.raw); fix: pass a system "
                              f"directory: {hint}")
    try:
        types = np.array([int(token) for token in type_file.read_text().split()], np.int64)
    except ValueError as err:
        raise DataFormatError(f"{type_file}: not integer type indices ({err}); fix: write one "
                              "type index (0, 1, ...) per atom, one per line; the element "
                              "symbols go in type_map.raw") from None
    if not types.size:
        raise DataFormatError(f"{type_file}: is empty; fix: write one type index (0, 1, ...) "
                              "per atom, one per line")
    if type_map is None:
        map_file = root / "type_map.raw"
        if not map_file.exists():
            raise DataFormatError(f"{root}: type_map.raw is missing; fix: pass type_map=[...] "
                                  "(element symbols by type index)")
        type_map = map_file.read_text().split()
    bad = sorted(t for t in set(types.tolist())
                 if not 0 <= t < len(type_map) or type_map[t] not in atomic_numbers)
    if bad:
        raise DataFormatError(f"{type_file}: type indices {bad} name no element of type_map "
                              f"{type_map}; fix: use indices 0..{len(type_map) - 1} into a "
                              "type_map of element symbols")
    numbers = np.array([atomic_numbers[type_map[t]] for t in types])
    sets = sorted(p for p in root.glob("set.*") if p.is_dir())
    if not sets:
        raise DataFormatError(f"{root}: no set.* directories; {_REFETCH}")
    natoms, periodic = len(types), not (root / "nopbc").exists()
    parts: dict[str, list[np.ndarray]] = {"coord": [], "box": [], "energy": [], "force": [],
                                          "virial": []}
    for set_dir in sets:
        coord_file = set_dir / "coord.npy"
        if not coord_file.exists():
            raise DataFormatError(f"{coord_file} is missing (a deepmd set needs coord.npy); "
                                  f"{_REFETCH}")
        arrays = {name: _npy(set_dir / f"{name}.npy") for name in parts
                  if (set_dir / f"{name}.npy").exists()}
        n = _npy_frames(coord_file, arrays["coord"], natoms * 3)
        for name, per_frame in (("box", 9), ("energy", 1), ("force", natoms * 3),
                                ("virial", 9)):
            if name in arrays:
                _npy_frames(set_dir / f"{name}.npy", arrays[name], per_frame, n)
        for name in parts:
            parts[name].append(arrays.get(name))
    joined = {}
    for name, values in parts.items():
        have = [v is not None for v in values]
        if any(have) and not all(have):
            raise DataFormatError(f"{root}: {name}.npy is in some sets only; fix: add it to "
                                  "every set.* or remove it from all")
        joined[name] = np.concatenate(values) if all(have) else None
    n = len(joined["coord"])
    periodic = periodic and joined["box"] is not None
    extras = {}
    if joined["virial"] is not None:
        extras["virial"] = joined["virial"].reshape(n, 3, 3)
    return Frames(
        positions=joined["coord"].reshape(n, natoms, 3), numbers=numbers,
        energy=joined["energy"],
        forces=None if joined["force"] is None else joined["force"].reshape(n, natoms, 3),
        cell=None if joined["box"] is None else joined["box"].reshape(n, 3, 3),
        pbc=periodic, time=np.arange(n) if time_ordered else None,
        trajectory=np.zeros(n, np.int64) if time_ordered else None, extras=extras,
        source=str(root),
        metadata={"format": "deepmd", "type_map": list(type_map), "sets": [s.name for s in sets],
                  "units_in_file": "eV, Å, eV/Å"})


def _npy(path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise _corrupt(path, err) from err


def _npy_frames(path, array, per_frame: int, n: int | None = None) -> int:
    """Check that ``array`` is (n, per_frame) (or (n,) when per_frame is 1); return n."""
    ok = array.ndim in (1, 2) and (array.shape[1] if array.ndim == 2 else 1) == per_frame
    if not ok or (n is not None and len(array) != n):
        want = f"({n if n is not None else 'n'}, {per_frame})"
        raise DataFormatError(f"{path}: shape {array.shape}, expected {want}; {_REFETCH}")
    return len(array)


# -- hdf5 ----------------------------------------------------------------------------------
#: Per layout: positions key, energy key, force key (or gradient key), default units.
_HDF5_LAYOUTS = {
    "spice": dict(positions="conformations", energy="dft_total_energy",
                  gradient="dft_total_gradient", length="bohr", energy_unit="hartree",
                  force_unit="hartree/bohr"),
    "ani1x": dict(positions="coordinates", energy="wb97x_dz.energy", forces="wb97x_dz.forces",
                  length="angstrom", energy_unit="hartree", force_unit="hartree/angstrom"),
    "ani2x": dict(positions="coordinates", energy="energies", forces="forces",
                  length="angstrom", energy_unit="hartree", force_unit="hartree/angstrom"),
}


@reader("hdf5")
def read_hdf5(path, energy_key: str | None = None, forces_key: str | None = None,
              gradient_key: str | None = None) -> list[Frames]:
    """SPICE / ANI-1x / ANI-2x hdf5 files: one ``Frames`` per molecule (top-level group), and
    per composition inside ANI-2x's per-size groups. Layouts (detected per group):

    - SPICE: ``atomic_numbers``, ``conformations`` (bohr), ``dft_total_energy`` (hartree),
      ``dft_total_gradient`` (hartree/bohr); forces = -gradient.
    - ANI-1x: ``atomic_numbers``, ``coordinates`` (Å), ``wb97x_dz.energy`` (hartree),
      ``wb97x_dz.forces`` (hartree/Å); other levels via ``energy_key``/``forces_key``.
    - ANI-2x: ``species`` (n, N), ``coordinates`` (Å), ``energies`` (hartree), ``forces``
      (hartree/Å).

    A dataset's ``units`` attribute, when present, overrides these defaults. Conversions use
    ``units.HARTREE_TO_EV`` and ``units.BOHR_TO_ANGSTROM``.
    """
    import h5py

    path = _existing(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise _corrupt(path, err) from err
    out = []
    with handle:
        for name, group in handle.items():
            if not isinstance(group, h5py.Group):
                continue
            try:
                out.extend(_hdf5_group(path, name, group, energy_key, forces_key,
                                       gradient_key))
            except DataError:
                raise
            except (OSError, KeyError, ValueError) as err:
                raise _corrupt(f"{path}#{name}", err) from err
    if not out:
        raise DataFormatError(f"{path}: no molecule groups; {_REFETCH}")
    return out


def _hdf5_layout(group) -> str:
    if "conformations" in group:
        return "spice"
    if "species" in group and "coordinates" in group:
        return "ani2x"
    if "coordinates" in group and "atomic_numbers" in group:
        return "ani1x"
    raise KeyError(f"unknown layout (datasets {sorted(group)}); expected SPICE or ANI")


def _units(dataset, default: str) -> str:
    unit = dataset.attrs.get("units", default)
    return unit.decode() if isinstance(unit, bytes) else str(unit)


def _hdf5_group(path, name, group, energy_key, forces_key, gradient_key) -> list[Frames]:
    where = f"{path}#{name}"
    layout = _hdf5_layout(group)
    spec = _HDF5_LAYOUTS[layout]
    for key, given in (("energy", energy_key), ("forces", forces_key),
                       ("gradient", gradient_key)):
        if given is not None and given not in group:
            raise DataFormatError(f"{where}: no dataset {given!r} (has {sorted(group)}); fix: "
                                  f"pass one of these as {key}_key")
    pos_ds = group[spec["positions"]]
    positions = pos_ds[()].astype(np.float64) * length_factor(_units(pos_ds, spec["length"]))
    energy = forces = None
    e_key = energy_key or spec["energy"]
    if e_key in group:
        ds = group[e_key]
        energy = ds[()].astype(np.float64) * energy_factor(_units(ds, spec["energy_unit"]))
    f_key = forces_key or (None if gradient_key else spec.get("forces"))
    g_key = gradient_key or (None if forces_key else spec.get("gradient"))
    if f_key and f_key in group:
        ds = group[f_key]
        forces = ds[()].astype(np.float64) * force_factor(_units(ds, spec["force_unit"]))
    elif g_key and g_key in group:
        ds = group[g_key]
        forces = -ds[()].astype(np.float64) * force_factor(_units(ds, spec["force_unit"]))
    metadata = {"format": f"hdf5_{layout}", "group": name}
    for key in ("smiles", "subset"):
        if key in group:
            metadata[key] = _text(group[key][()])
    if layout != "ani2x":
        return [Frames(positions=positions, numbers=group["atomic_numbers"][()],
                       energy=energy, forces=forces, source=where, metadata=metadata)]
    species = group["species"][()]
    rows, inverse = np.unique(species, axis=0, return_inverse=True)
    order = np.argsort([np.flatnonzero(inverse.reshape(-1) == k)[0] for k in range(len(rows))])
    out = []
    for k in order:
        pick = np.flatnonzero(inverse.reshape(-1) == k)
        out.append(Frames(positions=positions[pick], numbers=rows[k],
                          energy=None if energy is None else energy[pick],
                          forces=None if forces is None else forces[pick],
                          extras={"index": pick}, source=where, metadata=dict(metadata)))
    return out


# -- free-energy surfaces --------------------------------------------------------------------
@dataclass
class FreeEnergySurface:
    """A 2-D free-energy surface on a grid: ``free_energy[i, j]`` (eV) at ``(x[i], y[j])``."""

    names: tuple[str, str]
    x: np.ndarray
    y: np.ndarray
    free_energy: np.ndarray
    source: str = ""


@reader("plumed_fes")
def read_plumed_fes(path, unit: str = "kJ/mol") -> FreeEnergySurface:
    """A PLUMED ``sum_hills``/``fes.dat`` 2-D grid (``#! FIELDS x y file.free ...``); the
    free energy is converted from ``unit`` (kJ/mol, as Fu et al.'s alanine-dipeptide
    reference) to eV with ``KJ_MOL_TO_EV``. Collective variables keep their units (rad)."""
    path = _existing(path)
    fields = None
    with open(path) as handle:
        for line in handle:
            if line.startswith("#! FIELDS"):
                fields = line.split()[2:]
                break
    if not fields or len(fields) < 3:
        raise DataFormatError(f"{path}: no '#! FIELDS x y free ...' header (not a PLUMED fes); "
                              "fix: pass a 2-D grid written by plumed sum_hills")
    try:
        table = np.loadtxt(path, comments="#", ndmin=2)
    except ValueError as err:
        raise _corrupt(path, err) from err
    if table.shape[1] < 3:
        raise DataFormatError(f"{path}: {table.shape[1]} columns, expected >= 3; {_REFETCH}")
    x, y = np.unique(table[:, 0]), np.unique(table[:, 1])
    if len(table) != len(x) * len(y):
        raise DataFormatError(f"{path}: {len(table)} rows do not make a {len(x)} x {len(y)} "
                              f"grid (truncated?); {_REFETCH}")
    order = np.lexsort((table[:, 0], table[:, 1]))  # y slow, x fast
    grid = table[order, 2].reshape(len(y), len(x)).T
    if not np.isfinite(grid).all():
        raise DataFormatError(f"{path}: non-finite free energies; {_REFETCH}")
    return FreeEnergySurface(names=(fields[0], fields[1]), x=x, y=y,
                             free_energy=grid * energy_factor(unit), source=str(path))


# -- dispatch ------------------------------------------------------------------------------
_SUFFIXES = {".npz": "npz", ".xyz": "extxyz", ".extxyz": "extxyz", ".db": "ase_db",
             ".h5": "hdf5", ".hdf5": "hdf5",
             ".pdb": "pdb"}


def read(path, format: str | None = None, **options):
    """Read ``path`` with the reader for ``format`` (a key of ``READERS``), or guess it from
    the suffix (``.npz``, ``.xyz``, ``.db``, ``.h5``/``.hdf5``; a directory is a deepmd system;
    anything else goes to ``ase.io``)."""
    if format is None:
        path = Path(path)
        format = "deepmd" if path.is_dir() else _SUFFIXES.get(path.suffix.lower(), "ase")
    try:
        read_format = READERS[format]
    except KeyError:
        raise ValueError(f"format={format!r} is unknown; fix: pass one of {sorted(READERS)}, "
                         "or format=None to choose by suffix") from None
    return read_format(path, **options)


__all__ = ["FreeEnergySurface",
           "READERS", "reader", "read", "read_ase", "read_ase_db", "read_deepmd", "read_extxyz",
           "read_hdf5", "read_isolated_atoms", "read_nequip_npz", "read_npz",
           "read_pdb", "read_plumed_fes", "read_rmd17", "read_sgdml", "read_sgdml_xyz"]
