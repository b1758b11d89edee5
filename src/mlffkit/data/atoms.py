"""The atomistic container, from file to model: :class:`AtomsData`, a ``torch_geometric``
``Data`` holding one structure, and its batch (``AtomsBatch``, PyG's ``Batch`` of it).

One structure (``AtomsData``)::

    pos      (n, 3)     Å
    numbers  (n,)       atomic numbers (long)
    cell     (1, 3, 3)  Å, rows are cell vectors   } only where some direction is periodic
    pbc      (1, 3)     bool                      }
    energy   (1,)       eV      } labels, where known
    forces   (n, 3)     eV/Å    }
    graphs              its neighbour lists per cutoff (filled by ``mlffkit.graph``), so a
                        structure's graph is built once per cutoff however often it is batched

A batch is what PyG's ``Batch.from_data_list`` (or its ``DataLoader``) makes of a list of them:
the same fields concatenated, plus ``batch`` (n_total,) and ``ptr``; ``graphs`` becomes the
list of the structures' caches. Every model of mlffkit takes a batch; labels ride along
(``batch.energy`` (B,), ``batch.forces`` (N, 3)), so a training sample is just a batch.
Missing optional fields read as ``None`` (``batch.cell is None`` for molecules).

Conventions are ASE's and PyG's: positions in Å, energies in eV, ``cell`` rows are the
lattice vectors, ``batch[i]`` is the structure of atom ``i``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from torch_geometric.data import Batch as _PyGBatch
from torch_geometric.data import Data

__all__ = ["AtomsData", "AtomsBatch", "NeighbourCache", "collate", "assemble",
           "batch_from_atoms", "batch_from_arrays"]

#: fields that may be absent and then read as None
OPTIONAL = ("cell", "pbc", "energy", "forces", "graphs", "batch", "ptr")


class NeighbourCache:
    """One structure's neighbour lists, per cutoff (``mlffkit.graph`` fills and checks it).
    A plain object, so that PyG keeps it as it is when batching (a list of caches)."""

    __slots__ = ("lists",)

    def __init__(self):
        self.lists: dict = {}

    def __repr__(self) -> str:
        return f"NeighbourCache(cutoffs={sorted(self.lists)})"

    def __deepcopy__(self, memo):  # a copy starts empty: the lists are rebuilt when needed
        return NeighbourCache()


class AtomsData(Data):
    """One atomic structure (or, as ``AtomsBatch``, several): see the module docstring."""

    def __getattr__(self, key):
        try:
            return super().__getattr__(key)
        except AttributeError:
            if key in OPTIONAL:
                return None
            raise

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(cls, positions, numbers, *, energy=None, forces=None, cell=None, pbc=None,
                    cache: bool = True) -> "AtomsData":
        """One structure from arrays (numpy or torch; floats kept as given, float64 from
        numpy). ``cell``/``pbc`` are kept only where some direction is periodic; ``cache``
        gives it a :class:`NeighbourCache`."""
        pos = torch.as_tensor(positions)
        data = cls(pos=pos, numbers=torch.as_tensor(numbers, dtype=torch.long).reshape(-1))
        if pos.ndim != 2 or pos.shape[1] != 3 or data.numbers.shape[0] != pos.shape[0]:
            raise ValueError(f"positions must be (n, 3) with n atomic numbers, got "
                             f"{tuple(pos.shape)} and {tuple(data.numbers.shape)}")
        if pbc is not None and bool(np.any(np.asarray(pbc))):
            if cell is None:
                raise ValueError("pbc given without a cell")
            data.cell = torch.as_tensor(cell, dtype=pos.dtype).reshape(1, 3, 3)
            data.pbc = torch.as_tensor(np.asarray(pbc, dtype=bool)).reshape(1, 3)
        if energy is not None:
            data.energy = torch.as_tensor(energy, dtype=pos.dtype).reshape(1)
        if forces is not None:
            data.forces = torch.as_tensor(forces, dtype=pos.dtype).reshape(-1, 3)
        if cache:
            data.graphs = NeighbourCache()
        return data

    @classmethod
    def from_atoms(cls, atoms, labels: bool = True) -> "AtomsData":
        """From an ``ase.Atoms``; with ``labels``, its energy and forces from its calculator
        (or ``info['energy']`` and ``arrays['forces']``) where it has them."""
        energy = forces = None
        if labels and atoms.calc is not None:
            energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        elif labels:
            energy, forces = atoms.info.get("energy"), atoms.arrays.get("forces")
        return cls.from_arrays(np.asarray(atoms.positions), np.asarray(atoms.numbers),
                               energy=energy, forces=forces, cell=np.asarray(atoms.cell.array),
                               pbc=np.asarray(atoms.pbc))

    # ------------------------------------------------------------------ views
    @property
    def n_structures(self) -> int:
        return int(self.num_graphs) if isinstance(self, _PyGBatch) else 1

    @property
    def n_atoms(self) -> torch.Tensor:
        """(B,) number of atoms of each structure."""
        if self.batch is None:
            return torch.tensor([self.pos.shape[0]], device=self.pos.device)
        return torch.bincount(self.batch, minlength=self.n_structures)

    @property
    def device(self) -> torch.device:
        return self.pos.device

    @property
    def dtype(self) -> torch.dtype:
        return self.pos.dtype

    @property
    def periodic(self) -> bool:
        """True when any structure is periodic in any direction."""
        return self.pbc is not None and bool(self.pbc.any())

    def volume(self) -> torch.Tensor:
        """(B,) cell volumes in Å^3."""
        if self.cell is None:
            raise ValueError("this structure has no cell")
        return torch.linalg.det(self.cell).abs()

    # ------------------------------------------------------------------ copies
    def replace(self, **changes) -> "AtomsData":
        """A shallow copy with some fields replaced (``None`` removes an optional field),
        e.g. ``batch.replace(pos=new_pos)``; the tensors not replaced are shared."""
        out = copy.copy(self)
        for key, value in changes.items():
            if value is None:
                if key in out:
                    del out[key]
            else:
                setattr(out, key, value)
        return out

    def to(self, device=None, dtype: torch.dtype | None = None, non_blocking: bool = False
           ) -> "AtomsData":
        """A shallow copy on ``device``; ``dtype`` changes the floating tensors."""
        out = copy.copy(self)
        return out.apply(lambda t: t.to(device=device, non_blocking=non_blocking,
                                        dtype=dtype if t.is_floating_point() else None))


#: PyG's batch class of :class:`AtomsData` (what ``Batch.from_data_list`` returns for them)
AtomsBatch = type(_PyGBatch(_base_cls=AtomsData))


def collate(structures: Sequence[AtomsData], dtype: torch.dtype | None = None) -> AtomsBatch:
    """PyG's batch of ``structures`` (their neighbour caches shared), floats in ``dtype``
    (the torch default unless given)."""
    if not structures:
        raise ValueError("cannot collate an empty list of structures")
    batch = _PyGBatch.from_data_list(list(structures))
    return batch.to(dtype=dtype or torch.get_default_dtype())


def assemble(pos: torch.Tensor, numbers: torch.Tensor, batch: torch.Tensor,
             n_structures: int, cell=None, pbc=None) -> AtomsBatch:
    """A batch from already concatenated fields, ``batch`` (N,) the structure of each atom
    (MD's hot path: no per-structure objects, no neighbour caches). Shapes are checked:
    ``pos`` (N, 3), ``numbers`` and ``batch`` (N,), ``cell`` (B, 3, 3) and ``pbc`` (B, 3)
    together or not at all."""
    if pos.ndim != 2 or pos.shape[-1] != 3:
        raise ValueError(f"pos must have shape (N, 3), got {tuple(pos.shape)}")
    if numbers.shape != (pos.shape[0],) or batch.shape != (pos.shape[0],):
        raise ValueError("numbers and batch must have shape (N,) matching pos")
    if (cell is None) != (pbc is None):
        raise ValueError("cell and pbc must both be given or both be None")
    if cell is not None and (cell.shape != (n_structures, 3, 3)
                             or pbc.shape != (n_structures, 3)):
        raise ValueError(f"cell and pbc must have shapes ({n_structures}, 3, 3) and "
                         f"({n_structures}, 3), got {tuple(cell.shape)} and {tuple(pbc.shape)}")
    out = _PyGBatch(_base_cls=AtomsData, pos=pos, numbers=numbers, batch=batch)
    out._num_graphs = int(n_structures)
    if cell is not None:
        out.cell, out.pbc = cell, pbc
    return out


def _sizes_to_index(sizes: torch.Tensor) -> torch.Tensor:
    return torch.repeat_interleave(torch.arange(len(sizes)), sizes)


def batch_from_atoms(atoms_list, dtype: torch.dtype | None = None, device=None) -> AtomsBatch:
    """A batch of ASE ``Atoms`` (one or a list), without labels; a cell wherever some
    structure is periodic."""
    if not isinstance(atoms_list, Sequence):
        atoms_list = [atoms_list]
    if len(atoms_list) == 0:
        raise ValueError("empty list of structures")
    dtype = dtype or torch.get_default_dtype()
    pos = torch.as_tensor(np.concatenate([a.get_positions() for a in atoms_list]), dtype=dtype)
    numbers = torch.as_tensor(np.concatenate([a.numbers for a in atoms_list]), dtype=torch.long)
    cell = pbc = None
    if any(a.pbc.any() for a in atoms_list):
        cell = torch.as_tensor(np.stack([a.cell.array for a in atoms_list]), dtype=dtype)
        pbc = torch.as_tensor(np.stack([a.pbc for a in atoms_list]), dtype=torch.bool)
    sizes = torch.as_tensor([len(a) for a in atoms_list])
    return assemble(pos, numbers, _sizes_to_index(sizes), len(atoms_list), cell, pbc).to(device)


def batch_from_arrays(positions, numbers, cell=None, pbc=None, dtype: torch.dtype | None = None,
                      device=None) -> AtomsBatch:
    """A batch of B frames of the same atoms.

    Args:
        positions: (B, N, 3) or (N, 3) positions in Å (numpy or torch).
        numbers: (N,) atomic numbers, shared by all frames.
        cell: None (molecules), (3, 3) shared by all frames, or (B, 3, 3).
        pbc: periodic directions, (3,) or (B, 3); defaults to all True when a cell is given.
    """
    dtype = dtype or (positions.dtype if torch.is_tensor(positions) else None)
    dtype = dtype or torch.get_default_dtype()
    positions = torch.as_tensor(positions, dtype=dtype)
    if positions.ndim == 2:
        positions = positions[None]
    n_frames, n_atoms, _ = positions.shape
    numbers = torch.as_tensor(numbers, dtype=torch.long).reshape(-1)
    if numbers.shape[0] != n_atoms:
        raise ValueError(f"{numbers.shape[0]} atomic numbers for {n_atoms} atoms")
    if cell is not None:
        cell = torch.as_tensor(cell, dtype=dtype)
        cell = cell.expand(n_frames, 3, 3).clone() if cell.ndim == 2 else cell
        pbc = torch.ones(3, dtype=torch.bool) if pbc is None else torch.as_tensor(pbc)
        pbc = pbc.to(torch.bool).expand(n_frames, 3).clone() if pbc.ndim == 1 else pbc
    elif pbc is not None:
        raise ValueError("pbc given without a cell")
    index = _sizes_to_index(torch.full((n_frames,), n_atoms))
    return assemble(positions.reshape(-1, 3), numbers.repeat(n_frames), index, n_frames, cell,
                    pbc).to(device)
