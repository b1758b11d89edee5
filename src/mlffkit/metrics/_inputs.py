"""The one place where metric inputs are checked and turned into arrays.

Every metric accepts plain arrays -- positions ``(frames, atoms, 3)`` in Å plus optional
species and cell --, an ASE trajectory (a list of :class:`ase.Atoms`, an
:class:`ase.io.Trajectory`, or anything iterable over ``Atoms``), or a
:class:`mlffkit.data.Frames`. :func:`as_trajectory` turns each into a :class:`TrajectoryArrays`
record and raises a clear ``ValueError`` on bad input (mismatched shapes, an empty trajectory,
non-finite numbers, a cell that a periodic metric needs but is missing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.symbols import symbols2numbers

from ..data.frames import Frames as DataFrames


@dataclass(frozen=True)
class TrajectoryArrays:
    """A validated trajectory.

    positions: ``(F, N, 3)`` float64, Å. numbers: ``(N,)`` atomic numbers or None.
    cells: ``(F, 3, 3)`` float64 cell vectors as rows, Å, or None. pbc: ``(3,)`` bool.
    """

    positions: np.ndarray
    numbers: np.ndarray | None
    cells: np.ndarray | None
    pbc: np.ndarray

    @property
    def n_frames(self) -> int:
        return self.positions.shape[0]

    @property
    def n_atoms(self) -> int:
        return self.positions.shape[1]

    def require_cell(self, metric: str) -> np.ndarray:
        """The ``(F, 3, 3)`` cells, or a ValueError naming the metric that needed them."""
        if self.cells is None:
            raise ValueError(f"{metric} needs a simulation cell: pass cell=... (Å) or Atoms "
                             "with a cell")
        return self.cells

    def require_numbers(self, metric: str) -> np.ndarray:
        """The atomic numbers, or a ValueError naming the metric that needed them."""
        if self.numbers is None:
            raise ValueError(f"{metric} needs the species of the atoms: pass species=...")
        return self.numbers

    def volumes(self, metric: str) -> np.ndarray:
        """Cell volume of every frame, Å^3."""
        return np.abs(np.linalg.det(self.require_cell(metric)))

    def select(self, atom_indices: np.ndarray) -> TrajectoryArrays:
        """The same frames restricted to some atoms."""
        numbers = None if self.numbers is None else self.numbers[atom_indices]
        return TrajectoryArrays(self.positions[:, atom_indices], numbers, self.cells, self.pbc)


def as_trajectory(trajectory, species=None, cell=None, pbc=None, *,
                  name: str = "trajectory") -> TrajectoryArrays:
    """Validate ``trajectory`` and return :class:`TrajectoryArrays`.

    trajectory: an array ``(F, N, 3)`` (or ``(N, 3)`` for one frame) of positions in Å;
    ``Atoms`` or an iterable of ``Atoms``; or a :class:`mlffkit.data.Frames` (species, cells
    and pbc are then read from it unless given).
    species: ``N`` chemical symbols or atomic numbers (overrides those of Atoms).
    cell: ``(3, 3)`` rows as cell vectors, ``(3,)`` orthorhombic box lengths, or ``(F, 3, 3)``.
    pbc: bool or three bools; defaults to True when a cell is given, else False.
    """
    if isinstance(trajectory, TrajectoryArrays):
        return trajectory
    if isinstance(trajectory, DataFrames):
        species = trajectory.numbers if species is None else species
        cell = trajectory.cell if cell is None else cell
        pbc = trajectory.pbc if pbc is None and trajectory.cell is not None else pbc
        trajectory = trajectory.positions
    if isinstance(trajectory, Atoms):
        trajectory = [trajectory]
    if trajectory is None:
        raise ValueError(f"{name} is None")
    if isinstance(trajectory, np.ndarray) or _is_numeric_nested(trajectory):
        positions = _positions_array(trajectory, name)
        atoms_numbers, atoms_cells, atoms_pbc = None, None, None
    else:
        positions, atoms_numbers, atoms_cells, atoms_pbc = _from_atoms(trajectory, name)
    n_frames, n_atoms = positions.shape[:2]
    numbers = atoms_numbers if species is None else species_numbers(species, n_atoms, name)
    cells = atoms_cells if cell is None else _cells_array(cell, n_frames, name)
    if pbc is None:
        pbc = atoms_pbc if atoms_pbc is not None else cells is not None
    pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,)).copy()
    if cells is None and pbc.any():
        raise ValueError(f"{name}: periodic boundaries requested but no cell given")
    return TrajectoryArrays(positions, numbers, cells, pbc)


def species_numbers(species, n_atoms: int, name: str = "species") -> np.ndarray:
    """Atomic numbers from symbols or numbers, checked against the number of atoms."""
    species = list(species)
    if len(species) != n_atoms:
        raise ValueError(f"{name}: {len(species)} species for {n_atoms} atoms")
    if all(isinstance(s, str) for s in species):
        try:
            return np.asarray(symbols2numbers(species), dtype=int)
        except KeyError as error:
            raise ValueError(f"{name}: unknown chemical symbol {error}") from None
    numbers = np.asarray(species)
    if numbers.dtype.kind not in "iu":
        raise ValueError(f"{name}: species must be chemical symbols or integer atomic numbers")
    return numbers.astype(int)


def element_number(element: str | int) -> int:
    """One atomic number from a symbol or a number."""
    return int(symbols2numbers([element])[0]) if isinstance(element, str) else int(element)


def finite_array(values, name: str, *, ndim: int | None = None) -> np.ndarray:
    """``values`` as a float64 array, non-empty and finite, with ``ndim`` dimensions if given."""
    array = np.asarray(values, dtype=float)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def matching_arrays(predicted, reference, names: tuple[str, str] = ("predicted", "reference"),
                    *, ndim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two finite float arrays of the same shape (the usual prediction-vs-reference check)."""
    a = finite_array(predicted, names[0], ndim=ndim)
    b = finite_array(reference, names[1], ndim=ndim)
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} has shape {a.shape} but {names[1]} has {b.shape}")
    return a, b


def bin_edges_array(bin_edges, name: str = "bin_edges") -> np.ndarray:
    """Explicit histogram bin edges: 1-D, at least two, finite and strictly increasing."""
    edges = finite_array(bin_edges, name, ndim=1)
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"{name} must hold at least two strictly increasing values")
    return edges


def _is_numeric_nested(obj) -> bool:
    if isinstance(obj, (str, bytes)) or not isinstance(obj, Sequence):
        return False
    first = obj[0] if len(obj) else None
    while isinstance(first, Sequence) and not isinstance(first, (str, bytes)):
        first = first[0] if len(first) else None
    return first is None or isinstance(first, (int, float, np.number))


def _positions_array(values, name: str) -> np.ndarray:
    positions = np.asarray(values, dtype=float)
    if positions.size == 0:
        raise ValueError(f"{name} is empty: no frames or no atoms (shape {positions.shape})")
    if positions.ndim == 2:
        positions = positions[None]
    if positions.ndim != 3 or positions.shape[-1] != 3:
        raise ValueError(f"{name}: positions must have shape (frames, atoms, 3), "
                         f"got {positions.shape}")
    bad = ~np.isfinite(positions).all(axis=(1, 2))
    if bad.any():
        raise ValueError(f"{name}: NaN or infinite positions in frame {int(np.argmax(bad))}")
    return positions


def _from_atoms(images: Iterable, name: str):
    images = list(images)
    if not images:
        raise ValueError(f"{name} is empty: no frames")
    if not all(isinstance(a, Atoms) for a in images):
        raise ValueError(f"{name}: expected positions (frames, atoms, 3) or ase.Atoms frames")
    first = images[0]
    if any(len(a) != len(first) or np.any(a.numbers != first.numbers) for a in images):
        raise ValueError(f"{name}: all frames must hold the same atoms in the same order")
    positions = _positions_array(np.stack([a.positions for a in images]), name)
    has_cell = first.cell.rank == 3
    cells = np.stack([np.asarray(a.cell[:], dtype=float) for a in images]) if has_cell else None
    pbc = first.pbc.copy() if has_cell else np.zeros(3, bool)
    return positions, first.numbers.copy(), cells, pbc


def _cells_array(cell, n_frames: int, name: str) -> np.ndarray:
    cell = finite_array(cell, f"{name} cell")
    if cell.shape == (3,):
        cell = np.diag(cell)
    if cell.shape == (3, 3):
        cell = np.broadcast_to(cell, (n_frames, 3, 3)).copy()
    if cell.shape != (n_frames, 3, 3):
        raise ValueError(f"{name}: cell must be (3,), (3, 3) or (frames, 3, 3), "
                         f"got {cell.shape} for {n_frames} frames")
    if np.any(np.abs(np.linalg.det(cell)) < 1e-12):
        raise ValueError(f"{name}: cell has zero volume")
    return cell
