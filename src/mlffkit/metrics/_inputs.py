"""The one place where metric inputs are checked and turned into tensors.

Every metric accepts plain arrays -- positions ``(frames, atoms, 3)`` in Å plus optional
species and cell --, torch tensors on any device, an ASE trajectory (a list of
:class:`ase.Atoms`, an :class:`ase.io.Trajectory`, or anything iterable over ``Atoms``), a
:class:`mlffkit.data.Frames`, or a batch of frames of the same atoms
(:class:`mlffkit.data.atoms.AtomsBatch`, e.g. a batched simulation's replicas at one time). :func:`as_trajectory` turns each into a :class:`TrajectoryArrays`
record and raises a clear ``ValueError`` on bad input (mismatched shapes, an empty trajectory,
non-finite numbers, a cell that a periodic metric needs but is missing).

The metrics compute in float64 torch on the device of their input: numpy (or lists, Atoms,
Frames) in gives numpy out, computed on the CPU; a tensor in gives a tensor out on its device.
:func:`float_tensor` and :func:`returns_torch` are that rule; :meth:`TrajectoryArrays.output`
applies it to a result.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from ase import Atoms
from ase.symbols import symbols2numbers

from ..data.frames import Frames as DataFrames


def returns_torch(*inputs) -> bool:
    """Whether a metric given ``inputs`` returns tensors: when any input is one."""
    return any(isinstance(x, torch.Tensor) for x in inputs)


def input_device(*inputs) -> torch.device:
    """The device of the first tensor among ``inputs``; the CPU when there is none."""
    for x in inputs:
        if isinstance(x, torch.Tensor):
            return x.device
    return torch.device("cpu")


def float_tensor(values, device=None) -> torch.Tensor:
    """``values`` as a float64 tensor on ``device`` (default: its own, or the CPU); float64
    numpy arrays and CPU tensors are shared, not copied."""
    if isinstance(values, torch.Tensor):
        return values.to(device=values.device if device is None else device,
                         dtype=torch.float64)
    return torch.as_tensor(np.asarray(values, dtype=float), device=device)


def to_output(value: torch.Tensor, as_torch: bool):
    """A result as the caller gets it: the tensor itself, or a numpy array (on the CPU)."""
    return value if as_torch else value.detach().cpu().numpy()


@dataclass(frozen=True)
class TrajectoryArrays:
    """A validated trajectory.

    positions_tensor: ``(F, N, 3)`` float64 tensor, Å. cells_tensor: ``(F, 3, 3)`` float64 cell
    vectors as rows, Å, or None; on the same device. numbers: ``(N,)`` atomic numbers (numpy)
    or None. pbc: ``(3,)`` bool (numpy). as_torch: whether results go back as tensors (the
    input was one). ``positions`` and ``cells`` are numpy views (copies off the CPU).
    """

    positions_tensor: torch.Tensor
    numbers: np.ndarray | None
    cells_tensor: torch.Tensor | None
    pbc: np.ndarray
    as_torch: bool = False

    @property
    def n_frames(self) -> int:
        return self.positions_tensor.shape[0]

    @property
    def n_atoms(self) -> int:
        return self.positions_tensor.shape[1]

    @property
    def device(self) -> torch.device:
        return self.positions_tensor.device

    @property
    def positions(self) -> np.ndarray:
        return self.positions_tensor.detach().cpu().numpy()

    @property
    def cells(self) -> np.ndarray | None:
        return None if self.cells_tensor is None else self.cells_tensor.detach().cpu().numpy()

    def output(self, value: torch.Tensor):
        """``value`` as this trajectory's caller gets results (:func:`to_output`)."""
        return to_output(value, self.as_torch)

    def require_cell(self, metric: str) -> torch.Tensor:
        """The ``(F, 3, 3)`` cells, or a ValueError naming the metric that needed them."""
        if self.cells_tensor is None:
            raise ValueError(f"{metric} needs a simulation cell: pass cell=... (Å) or Atoms "
                             "with a cell")
        return self.cells_tensor

    def require_numbers(self, metric: str) -> np.ndarray:
        """The atomic numbers, or a ValueError naming the metric that needed them."""
        if self.numbers is None:
            raise ValueError(f"{metric} needs the species of the atoms: pass species=...")
        return self.numbers

    def volumes(self, metric: str) -> torch.Tensor:
        """Cell volume of every frame, Å^3."""
        return torch.linalg.det(self.require_cell(metric)).abs()

    def select(self, atom_indices) -> TrajectoryArrays:
        """The same frames restricted to some atoms."""
        atom_indices = np.asarray(atom_indices)
        numbers = None if self.numbers is None else self.numbers[atom_indices]
        index = torch.as_tensor(atom_indices, device=self.device)
        return TrajectoryArrays(self.positions_tensor[:, index], numbers, self.cells_tensor,
                                self.pbc, self.as_torch)


def as_trajectory(trajectory, species=None, cell=None, pbc=None, *,
                  name: str = "trajectory") -> TrajectoryArrays:
    """Validate ``trajectory`` and return :class:`TrajectoryArrays`.

    trajectory: an array or tensor ``(F, N, 3)`` (or ``(N, 3)`` for one frame) of positions in
    Å; ``Atoms`` or an iterable of ``Atoms``; or a :class:`mlffkit.data.Frames` (species, cells
    and pbc are then read from it unless given).
    species: ``N`` chemical symbols or atomic numbers (overrides those of Atoms).
    cell: ``(3, 3)`` rows as cell vectors, ``(3,)`` orthorhombic box lengths, or ``(F, 3, 3)``;
    moved to the device of the positions.
    pbc: bool or three bools; defaults to True when a cell is given, else False.
    """
    if isinstance(trajectory, TrajectoryArrays):
        return trajectory
    atoms_module = sys.modules.get("mlffkit.data.atoms")  # no AtomsData unless imported
    if atoms_module is not None and isinstance(trajectory, atoms_module.AtomsData):
        trajectory, frame_species, frame_cell, frame_pbc = _from_batch(trajectory, name)
        species = frame_species if species is None else species
        cell = frame_cell if cell is None else cell
        pbc = frame_pbc if pbc is None and frame_cell is not None else pbc
    if isinstance(trajectory, DataFrames):
        species = trajectory.numbers if species is None else species
        cell = trajectory.cell if cell is None else cell
        pbc = trajectory.pbc if pbc is None and trajectory.cell is not None else pbc
        trajectory = trajectory.positions
    if isinstance(trajectory, Atoms):
        trajectory = [trajectory]
    if trajectory is None:
        raise ValueError(f"{name} is None")
    if isinstance(trajectory, (np.ndarray, torch.Tensor)) or _is_numeric_nested(trajectory):
        positions = _positions_tensor(trajectory, name)
        atoms_numbers, atoms_cells, atoms_pbc = None, None, None
    else:
        positions, atoms_numbers, atoms_cells, atoms_pbc = _from_atoms(trajectory, name)
    n_frames, n_atoms = positions.shape[:2]
    numbers = atoms_numbers if species is None else species_numbers(species, n_atoms, name)
    cells = atoms_cells if cell is None else _cells_tensor(cell, n_frames, name,
                                                           positions.device)
    if pbc is None:
        pbc = atoms_pbc if atoms_pbc is not None else cells is not None
    if isinstance(pbc, torch.Tensor):
        pbc = pbc.cpu().numpy()
    pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,)).copy()
    if cells is None and pbc.any():
        raise ValueError(f"{name}: periodic boundaries requested but no cell given")
    return TrajectoryArrays(positions, numbers, cells, pbc,
                            returns_torch(trajectory, cell))


def _from_batch(batch, name: str):
    """A batch of B frames of the same atoms as (positions (B, N, 3), species, cells, pbc)."""
    sizes = batch.n_atoms
    if not bool((sizes == sizes[0]).all()):
        raise ValueError(f"{name}: a batch is read as a trajectory only when every structure "
                         f"has the same atoms; got sizes {sizes.tolist()}")
    n = int(sizes[0])
    numbers = batch.numbers.reshape(-1, n)
    if not bool((numbers == numbers[0]).all()):
        raise ValueError(f"{name}: the structures of the batch hold different atoms")
    pbc = None if batch.pbc is None else batch.pbc[0].cpu().numpy()
    return (batch.pos.reshape(-1, n, 3), numbers[0].cpu().numpy(), batch.cell, pbc)


def species_numbers(species, n_atoms: int, name: str = "species") -> np.ndarray:
    """Atomic numbers from symbols or numbers, checked against the number of atoms."""
    if isinstance(species, torch.Tensor):
        species = species.cpu().numpy()
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


def finite_tensor(values, name: str, *, ndim: int | None = None, min_ndim: int | None = None,
                  device=None) -> torch.Tensor:
    """``values`` as a float64 tensor, non-empty and finite, with ``ndim`` (or at least
    ``min_ndim``) dimensions if given; on ``device``, default its own (the CPU for arrays)."""
    tensor = float_tensor(values, device)
    if ndim is not None and tensor.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {tuple(tensor.shape)}")
    if min_ndim is not None and tensor.ndim < min_ndim:
        raise ValueError(f"{name}: expected at least {min_ndim} dimensions, got shape "
                         f"{tuple(tensor.shape)}")
    if tensor.numel() == 0:
        raise ValueError(f"{name} is empty")
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return tensor


def finite_array(values, name: str, *, ndim: int | None = None) -> np.ndarray:
    """``values`` as a float64 numpy array, non-empty and finite (:func:`finite_tensor`)."""
    return finite_tensor(values, name, ndim=ndim).cpu().numpy()


def matching_tensors(predicted, reference, names: tuple[str, str] = ("predicted", "reference"),
                     *, ndim: int | None = None, min_ndim: int | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Two finite float64 tensors of the same shape, on the device of the first tensor given
    (the usual prediction-vs-reference check)."""
    device = input_device(predicted, reference)
    a = finite_tensor(predicted, names[0], ndim=ndim, min_ndim=min_ndim, device=device)
    b = finite_tensor(reference, names[1], ndim=ndim, min_ndim=min_ndim, device=device)
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} has shape {tuple(a.shape)} but {names[1]} has "
                         f"{tuple(b.shape)}")
    return a, b


def matching_arrays(predicted, reference, names: tuple[str, str] = ("predicted", "reference"),
                    *, ndim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`matching_tensors` as numpy arrays."""
    a, b = matching_tensors(predicted, reference, names, ndim=ndim)
    return a.cpu().numpy(), b.cpu().numpy()


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


def _positions_tensor(values, name: str) -> torch.Tensor:
    positions = float_tensor(values)
    if positions.numel() == 0:
        raise ValueError(f"{name} is empty: no frames or no atoms (shape "
                         f"{tuple(positions.shape)})")
    if positions.ndim == 2:
        positions = positions[None]
    if positions.ndim != 3 or positions.shape[-1] != 3:
        raise ValueError(f"{name}: positions must have shape (frames, atoms, 3), "
                         f"got {tuple(positions.shape)}")
    bad = ~torch.isfinite(positions).all(dim=2).all(dim=1)
    if bool(bad.any()):
        raise ValueError(f"{name}: NaN or infinite positions in frame "
                         f"{int(torch.argmax(bad.to(torch.uint8)))}")
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
    positions = _positions_tensor(np.stack([a.positions for a in images]), name)
    has_cell = first.cell.rank == 3
    cells = torch.from_numpy(np.stack([np.asarray(a.cell[:], dtype=float) for a in images])) \
        if has_cell else None
    pbc = first.pbc.copy() if has_cell else np.zeros(3, bool)
    return positions, first.numbers.copy(), cells, pbc


def _cells_tensor(cell, n_frames: int, name: str, device) -> torch.Tensor:
    cell = finite_tensor(cell, f"{name} cell", device=device)
    if cell.shape == (3,):
        cell = torch.diag(cell)
    if cell.shape == (3, 3):
        cell = cell.expand(n_frames, 3, 3).clone()
    if cell.shape != (n_frames, 3, 3):
        raise ValueError(f"{name}: cell must be (3,), (3, 3) or (frames, 3, 3), "
                         f"got {tuple(cell.shape)} for {n_frames} frames")
    if bool((torch.linalg.det(cell).abs() < 1e-12).any()):
        raise ValueError(f"{name}: cell has zero volume")
    return cell
