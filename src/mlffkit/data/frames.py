"""``Frames``: many configurations of one system (fixed atoms), with their labels.

One container for every reader. A ``Frames`` holds ``n`` frames of the *same* ``N`` atoms in
the same order (one molecule's MD, one periodic cell's trajectory, one split file). Data with
several compositions (SPICE, ANI, isolated atoms, ISO17's 129 isomers) is a ``list[Frames]``,
one per composition: :func:`group_by_composition` builds it from ``ase.Atoms`` and the hdf5
reader returns it. We chose this over a ragged container because every data set the book uses
is fixed-N within one system, models batch structures anyway, and fixed shapes keep windows,
splits and metrics plain numpy indexing (``frames.positions[windows]`` is ``(w, T, N, 3)``).

Units: positions and cell in Å, energy in eV, forces in eV/Å. ``time`` is an integer index of
the MD step (frames ``t`` and ``t + 1`` are one saved step apart, ``metadata["timestep_fs"]``
says how long that is when known); ``trajectory`` says which run a frame belongs to.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from .errors import DataFormatError

#: ``ase.Atoms.info`` keys that ``to_atoms`` writes and ``from_atoms`` reads back.
TRAJECTORY_KEY = "trajectory"
TIME_KEY = "time"
_RESERVED_INFO = {TRAJECTORY_KEY, TIME_KEY, "energy", "free_energy", "stress", "source"}
_RESERVED_ARRAYS = {"numbers", "positions", "forces"}
#: The fix named by a shape or value error (the arrays came from the caller or a file).
_FIX = ("fix: pass consistent arrays; if they come from a file, re-create it or re-fetch it "
        "with `mlffkit data fetch NAME`")


@dataclass(eq=False)
class Frames:
    """``n`` frames of ``N`` atoms. Shapes are checked on construction (see :meth:`validate`).

    Attributes:
        positions: (n, N, 3) float64, Å.
        numbers: (N,) int, atomic numbers.
        energy: (n,) float64 eV, or None.
        forces: (n, N, 3) float64 eV/Å, or None.
        cell: (n, 3, 3) float64 Å (rows are cell vectors), or None (a (3, 3) cell is
            broadcast to every frame).
        pbc: (3,) bool.
        trajectory: (n,) int run id, or None when unknown.
        time: (n,) int MD step index within its trajectory, or None when unknown.
        extras: further per-frame arrays (first axis n), e.g. rMD17's ``old_energies``.
        source: where the frames came from (file path); named in every error message.
        metadata: anything else (units note, time step in fs, smiles ...).
    """

    positions: np.ndarray
    numbers: np.ndarray
    energy: np.ndarray | None = None
    forces: np.ndarray | None = None
    cell: np.ndarray | None = None
    pbc: Any = (False, False, False)
    trajectory: np.ndarray | None = None
    time: np.ndarray | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        self.positions = np.asarray(self.positions, dtype=np.float64)
        if self.positions.ndim == 2:  # one frame
            self.positions = self.positions[None]
        n = self.positions.shape[0]
        self.numbers = np.asarray(self.numbers).astype(np.int64).reshape(-1)
        if self.energy is not None:
            self.energy = np.asarray(self.energy, dtype=np.float64).reshape(-1)
        if self.forces is not None:
            self.forces = np.asarray(self.forces, dtype=np.float64)
            if self.forces.ndim == 2:
                self.forces = self.forces[None]
        if self.cell is not None:
            cell = np.asarray(self.cell, dtype=np.float64)
            if cell.shape == (3, 3):
                cell = np.broadcast_to(cell, (n, 3, 3)).copy()
            elif cell.ndim == 2 and cell.shape[1] == 9:
                cell = cell.reshape(-1, 3, 3)
            self.cell = cell
        self.pbc = np.broadcast_to(np.asarray(self.pbc, dtype=bool), (3,)).copy()
        for name in ("trajectory", "time"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, np.asarray(value).astype(np.int64).reshape(-1))
        self.extras = {key: np.asarray(value) for key, value in self.extras.items()}
        self.validate()

    # -- checks ----------------------------------------------------------------------------
    def _fail(self, message: str, fix: str = _FIX):
        raise DataFormatError(f"{self.source or 'frames'}: {message}; {fix}")

    def validate(self) -> None:
        """Raise :class:`DataFormatError` (naming ``source``) on inconsistent shapes, unknown
        atomic numbers, non-finite positions/forces/energies/cells, or pbc without a cell."""
        pos = self.positions
        if pos.ndim != 3 or pos.shape[2] != 3:
            self._fail(f"positions have shape {pos.shape}, expected (n_frames, n_atoms, 3)")
        n, natoms = pos.shape[:2]
        if natoms == 0:
            self._fail("no atoms")
        if self.numbers.shape != (natoms,):
            self._fail(f"{self.numbers.shape[0]} atomic numbers for {natoms} atoms")
        if self.numbers.size and (self.numbers.min() < 1 or self.numbers.max() > 118):
            self._fail(f"atomic numbers outside 1..118: {np.unique(self.numbers)}")
        expected = {"energy": (n,), "forces": (n, natoms, 3), "cell": (n, 3, 3),
                    "trajectory": (n,), "time": (n,)}
        for name, shape in expected.items():
            value = getattr(self, name)
            if value is not None and value.shape != shape:
                self._fail(f"{name} has shape {value.shape}, expected {shape} "
                           f"({n} frames of {natoms} atoms)")
        for key, value in self.extras.items():
            if value.ndim == 0 or value.shape[0] != n:
                self._fail(f"extra array {key!r} has shape {value.shape}, expected first "
                           f"axis {n} (one entry per frame)")
        for name in ("positions", "forces", "energy", "cell"):
            value = getattr(self, name)
            if value is not None:
                _check_finite(self, name, value)
        if self.pbc.any():
            if self.cell is None:
                self._fail(f"pbc={self.pbc.tolist()} but no cell", "fix: pass a cell, or "
                           "pbc=False")
            lengths = np.linalg.norm(self.cell, axis=2)[:, self.pbc]
            if (lengths <= 0).any():
                self._fail("a periodic direction has a zero-length cell vector")

    # -- sizes and indexing ----------------------------------------------------------------
    def __len__(self) -> int:
        return self.positions.shape[0]

    @property
    def n_frames(self) -> int:
        return self.positions.shape[0]

    @property
    def n_atoms(self) -> int:
        return self.positions.shape[1]

    @property
    def formula(self) -> str:
        """Chemical formula, e.g. ``C9H8O4``."""
        return Atoms(numbers=self.numbers).get_chemical_formula(mode="hill")

    def __getitem__(self, index) -> "Frames":
        """The frames at ``index`` (int, slice, integer array or boolean mask) as ``Frames``;
        an int gives a one-frame ``Frames`` (the frame axis is kept)."""
        if isinstance(index, (int, np.integer)):
            if not -len(self) <= index < len(self):
                raise IndexError(f"frame {index} out of range for {len(self)} frames")
            index = [int(index)]
        pick = (lambda a: None if a is None else a[index])
        return Frames(
            positions=self.positions[index], numbers=self.numbers.copy(),
            energy=pick(self.energy), forces=pick(self.forces), cell=pick(self.cell),
            pbc=self.pbc.copy(), trajectory=pick(self.trajectory), time=pick(self.time),
            extras={key: value[index] for key, value in self.extras.items()},
            source=self.source, metadata=copy.deepcopy(self.metadata))

    def __repr__(self) -> str:
        labels = [name for name in ("energy", "forces", "cell", "trajectory", "time")
                  if getattr(self, name) is not None]
        return (f"Frames({self.n_frames} x {self.formula}, labels={labels}, "
                f"extras={sorted(self.extras)}, source={self.source!r})")

    def digest(self) -> str:
        """sha256 of the atoms and labels (numbers, positions, cell, pbc, energy, forces): the
        same for equal frames wherever they came from; what a trained model records of its
        training set."""
        import hashlib

        h = hashlib.sha256()
        for value in (self.numbers, self.positions, self.cell, self.pbc, self.energy,
                      self.forces):
            h.update(b"-" if value is None else np.ascontiguousarray(value).tobytes())
        return h.hexdigest()

    # -- the model container -------------------------------------------------------------
    def to_data_list(self, labels: bool = True) -> list:
        """One :class:`~mlffkit.data.atoms.AtomsData` (PyG ``Data``) per frame, float64,
        with its energy and forces (``labels``; then both are required) and a cell where
        some direction is periodic: what the trainer, the models and PyG's loaders take."""
        from .atoms import AtomsData  # torch and PyG: imported when a model needs them

        if labels and (self.energy is None or self.forces is None):
            self._fail("training needs energies and forces", "load a labelled set, or pass "
                       "labels=False")
        periodic = self.cell is not None and bool(np.any(self.pbc))
        return [AtomsData.from_arrays(
            self.positions[k], self.numbers,
            energy=self.energy[k] if labels else None,
            forces=self.forces[k] if labels else None,
            cell=self.cell[k] if periodic else None,
            pbc=np.asarray(self.pbc, dtype=bool) if periodic else None)
            for k in range(len(self))]

    # -- ASE -------------------------------------------------------------------------------
    def to_atoms(self) -> list[Atoms]:
        """One ``ase.Atoms`` per frame, energy/forces in a ``SinglePointCalculator``;
        ``trajectory``/``time`` and per-frame extras go to ``info`` (or ``arrays`` when they
        have one row per atom)."""
        out = []
        for i in range(len(self)):
            atoms = Atoms(numbers=self.numbers, positions=self.positions[i],
                          cell=None if self.cell is None else self.cell[i], pbc=self.pbc)
            if self.trajectory is not None:
                atoms.info[TRAJECTORY_KEY] = int(self.trajectory[i])
            if self.time is not None:
                atoms.info[TIME_KEY] = int(self.time[i])
            for key, value in self.extras.items():
                row = value[i]
                if row.ndim >= 1 and row.shape[0] == self.n_atoms:
                    atoms.arrays[key] = np.array(row)
                else:
                    atoms.info[key] = row.item() if row.ndim == 0 else np.array(row)
            results = {}
            if self.energy is not None:
                results["energy"] = float(self.energy[i])
            if self.forces is not None:
                results["forces"] = self.forces[i].copy()
            if results:
                atoms.calc = SinglePointCalculator(atoms, **results)
            out.append(atoms)
        return out

    @classmethod
    def from_atoms(cls, atoms: Sequence[Atoms], source: str = "", energy_key: str = "energy",
                   forces_key: str = "forces", metadata: dict | None = None) -> "Frames":
        """Frames from ``ase.Atoms`` that all have the same atomic numbers (else use
        :func:`group_by_composition`). Energy and forces come from the attached calculator's
        results or from ``info[energy_key]`` / ``arrays[forces_key]``; values are taken as eV
        and eV/Å. ``info`` entries present in every frame become ``extras``."""
        atoms = list(atoms)
        where = source or "atoms"
        if not atoms:
            raise DataFormatError(f"{where}: no frames; fix: pass at least one frame")
        numbers = atoms[0].numbers
        for i, a in enumerate(atoms):
            if not np.array_equal(a.numbers, numbers):
                raise DataFormatError(
                    f"{where}: frame {i} ({a.get_chemical_formula()}) has other atoms than "
                    f"frame 0 ({atoms[0].get_chemical_formula()}); fix: use "
                    "mlffkit.data.group_by_composition (or group=True) for mixed data")
        pbc = atoms[0].pbc
        if any(not np.array_equal(a.pbc, pbc) for a in atoms):
            raise DataFormatError(f"{where}: frames differ in pbc; fix: read the periodic and "
                                  "the non-periodic frames separately")
        cells = np.array([a.cell.array for a in atoms])
        cell = None if (not pbc.any() and not cells.any()) else cells
        energy = _collect(atoms, where, "energy", lambda a: _label(a, energy_key, "energy"))
        forces = _collect(atoms, where, "forces", lambda a: _label(a, forces_key, "forces"))
        info = {key: atoms[0].info.get(key) for key in atoms[0].info}
        trajectory = _all_info(atoms, TRAJECTORY_KEY)
        time = _all_info(atoms, TIME_KEY)
        extras = {}
        for key in info:
            if key in _RESERVED_INFO or key == energy_key:
                continue
            values = _all_info(atoms, key)
            if values is not None:
                extras[key] = values
        for key in atoms[0].arrays:
            if key in _RESERVED_ARRAYS or key == forces_key:
                continue
            if all(key in a.arrays for a in atoms):
                extras[key] = np.array([a.arrays[key] for a in atoms])
        return cls(positions=np.array([a.positions for a in atoms]), numbers=numbers,
                   energy=energy, forces=forces, cell=cell, pbc=pbc, trajectory=trajectory,
                   time=time, extras=extras, source=source, metadata=dict(metadata or {}))


def _check_finite(frames: Frames, name: str, value: np.ndarray) -> None:
    finite = np.isfinite(value)
    if not finite.all():
        first = int(np.argwhere(~finite)[0][0])
        frames._fail(f"{int((~finite).sum())} non-finite (NaN or inf) values in {name} "
                     f"(first in frame {first})")


def _label(atoms: Atoms, key: str, result: str):
    """Energy or forces of one frame: ``info``/``arrays[key]``, else the calculator's."""
    store = atoms.info if result == "energy" else atoms.arrays
    if key in store:
        return store[key]
    if atoms.calc is not None and key == result:
        return atoms.calc.results.get(result)
    return None


def _collect(atoms, where, name, get):
    values = [get(a) for a in atoms]
    have = sum(v is not None for v in values)
    if have == 0:
        return None
    if have < len(values):
        raise DataFormatError(f"{where}: {name} is given for {have} of {len(values)} frames; "
                              f"fix: give {name} for every frame or for none")
    return np.array(values, dtype=np.float64)


def _all_info(atoms, key):
    """``info[key]`` of every frame as an array, or None if a frame lacks it or the values do
    not stack."""
    if not all(key in a.info for a in atoms):
        return None
    try:
        return np.array([a.info[key] for a in atoms])
    except ValueError:  # ragged
        return None


def concat(parts: Iterable[Frames], source: str | None = None,
           same_runs: bool = False) -> Frames:
    """One ``Frames`` from several of the same system (same atomic numbers and pbc).

    By default each part's trajectory ids are shifted so that no two parts share one (so
    temporal windows never join two parts). ``same_runs=True`` keeps the ids as they are, for
    parts cut from the same runs (the rMD17 split files all sample MD17's one trajectory per
    molecule, and their ``time`` is the MD17 frame index). ``time`` is kept only if every
    part has it;
    ``extras`` only those every part has. Energy/forces/cell must be present in all parts or
    in none (a :class:`DataFormatError` otherwise: labels are never dropped silently).
    """
    parts = list(parts)
    if not parts:
        raise DataFormatError("concat: no frames given; fix: pass at least one Frames")
    first = parts[0]
    where = source or " + ".join(p.source or "frames" for p in parts)
    for p in parts[1:]:
        if not np.array_equal(p.numbers, first.numbers):
            raise DataFormatError(f"concat: {p.source or 'a part'} ({p.formula}) has other atoms "
                                  f"than {first.source or 'the first part'} ({first.formula}); "
                                  "fix: concatenate parts of one system only")
        if not np.array_equal(p.pbc, first.pbc):
            raise DataFormatError(f"concat: {p.source or 'a part'} has other pbc than "
                                  f"{first.source or 'the first part'}; fix: concatenate "
                                  "parts of one system only")

    def join(name):
        values = [getattr(p, name) for p in parts]
        have = sum(v is not None for v in values)
        if have == 0:
            return None
        if have < len(values):
            raise DataFormatError(f"concat {where}: {name} is present in {have} of "
                                  f"{len(values)} parts; fix: give {name} in every part or "
                                  "in none")
        return np.concatenate(values)

    trajectories, offset = [], 0
    for p in parts:
        ids = p.trajectory if p.trajectory is not None else np.zeros(len(p), np.int64)
        if not same_runs:
            ids = ids - (ids.min() if len(ids) else 0) + offset
            offset = (ids.max() + 1) if len(ids) else offset
        trajectories.append(ids)
    time = (np.concatenate([p.time for p in parts])
            if all(p.time is not None for p in parts) else None)
    keys = set(first.extras).intersection(*(p.extras for p in parts[1:]))
    extras = {key: np.concatenate([p.extras[key] for p in parts]) for key in sorted(keys)}
    metadata = {key: value for key, value in first.metadata.items()
                if all(key in p.metadata and p.metadata[key] == value for p in parts[1:])}
    metadata["parts"] = [p.source for p in parts]
    return Frames(positions=np.concatenate([p.positions for p in parts]),
                  numbers=first.numbers.copy(), energy=join("energy"), forces=join("forces"),
                  cell=join("cell"), pbc=first.pbc.copy(),
                  trajectory=np.concatenate(trajectories), time=time, extras=extras,
                  source=where, metadata=metadata)


def group_by_composition(atoms: Sequence[Atoms], source: str = "", **kwargs) -> list[Frames]:
    """Split mixed ``ase.Atoms`` into one ``Frames`` per atom list (numbers in order), in
    order of first appearance; ``extras["index"]`` keeps each frame's position in ``atoms``.
    ``kwargs`` go to :meth:`Frames.from_atoms`."""
    groups: dict[tuple, list[int]] = {}
    for i, a in enumerate(atoms):
        groups.setdefault(tuple(a.numbers.tolist()), []).append(i)
    out = []
    for indices in groups.values():
        frames = Frames.from_atoms([atoms[i] for i in indices], source=source, **kwargs)
        frames.extras["index"] = np.array(indices)
        out.append(frames)
    return out
