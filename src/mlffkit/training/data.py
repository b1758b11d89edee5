"""What the trainer eats: labelled batches, FRAMES windows, and a resumable batch loader.

The trainer itself accepts any iterable of samples that ``move_to`` can put on a device; these
are the simple in-memory pieces for lists of ``ase.Atoms`` or arrays:

- :class:`Structure`: one labelled frame as arrays (eV, Å, eV/Å).
- :func:`collate_structures` -> :class:`LabelledBatch` (a model ``Batch`` + its labels).
- :func:`trajectory_windows` (or :func:`window_items` on the index rows of
  ``mlffkit.data.windows.windows``) + :func:`collate_windows` -> :class:`Window`: T
  consecutive frames, the next frame, and the displacement ``Δp_t = p_{t+1} - p_t`` (FRAMES
  Eq. 4, minimum image in periodic cells).
- :func:`structures_from_frames`: ``mlffkit.data.Frames`` -> Structures.
- :class:`BatchLoader`: shuffles with a generator seeded by (seed, epoch), so the order of any
  epoch is known without saved state; can start mid-epoch (resume) and shard every global
  batch over distributed ranks.

The model ``Batch`` class is ``mlffkit.graph.Batch`` unless ``batch_cls`` is given; it is built
by keyword from ``pos, numbers, batch, cell, pbc, n_structures``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from itertools import islice
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor


def move_to(obj: Any, device: torch.device | str) -> Any:
    """``obj`` with every tensor on ``device``: tensors, objects with ``.to(device)``, and
    lists, tuples and dicts of them; anything else unchanged."""
    if isinstance(obj, Tensor) or (hasattr(obj, "to") and callable(obj.to)):
        return obj.to(device)
    if isinstance(obj, dict):
        return {key: move_to(value, device) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(move_to(value, device) for value in obj)
    return obj


def _dataclass_to(obj, device):
    """A copy of dataclass ``obj`` with its fields moved by :func:`move_to`."""
    return replace(obj, **{f.name: move_to(getattr(obj, f.name), device) for f in fields(obj)
                           if f.init})


@dataclass
class LabelledBatch:
    """A model input ``batch`` with reference ``energy`` (B,) eV and ``forces`` (N, 3) eV/Å."""

    batch: Any
    energy: Tensor
    forces: Tensor

    @property
    def n_structures(self) -> int:
        return int(self.energy.shape[0])

    def to(self, device) -> "LabelledBatch":
        return _dataclass_to(self, device)


@dataclass
class Window:
    """A batch of FRAMES windows: ``frames[k]`` holds frame ``t - T + 1 + k`` of every window
    (so ``frames[-1]`` is frame t), ``displacement`` (N, 3) is ``p_{t+1} - p_t`` for the atoms of
    ``frames[-1]``, and ``next_frame`` is frame t + 1 with its labels (the ablation target).

    ``stacked`` holds the same T frames as one batch, frame-major (the B structures of
    ``frames[0]``, then those of ``frames[1]``, ...), so that a model sees the whole window in
    one forward pass; ``frames`` are the per-frame views a FRAMES head reads its graphs from."""

    frames: list[LabelledBatch]
    displacement: Tensor
    next_frame: LabelledBatch | None = None
    stacked: LabelledBatch | None = None

    @property
    def n_structures(self) -> int:
        return self.frames[-1].n_structures

    def to(self, device) -> "Window":
        return _dataclass_to(self, device)


@dataclass(frozen=True)
class Structure:
    """One labelled frame: ``numbers`` (n,), ``positions`` (n, 3) Å, ``energy`` eV,
    ``forces`` (n, 3) eV/Å, optional ``cell`` (3, 3) Å and ``pbc`` (3,). ``graphs`` keeps its
    neighbour lists per cutoff once a model has built them (``mlffkit.graph.radius_graph``),
    so that every later batch holding this frame reuses them."""

    numbers: np.ndarray
    positions: np.ndarray
    energy: float
    forces: np.ndarray
    cell: np.ndarray | None = None
    pbc: np.ndarray | None = None
    graphs: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_atoms(cls, atoms) -> "Structure":
        """From an ``ase.Atoms`` with a calculator (or ``info['energy']`` and
        ``arrays['forces']``). A cell is kept only where some direction is periodic."""
        if atoms.calc is not None:
            energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        else:
            energy, forces = atoms.info["energy"], atoms.arrays["forces"]
        periodic = bool(np.any(atoms.pbc))
        return cls(numbers=np.asarray(atoms.numbers), positions=np.asarray(atoms.positions),
                   energy=float(energy), forces=np.asarray(forces),
                   cell=np.asarray(atoms.cell.array) if periodic else None,
                   pbc=np.asarray(atoms.pbc) if periodic else None)


def _default_batch_cls():
    from mlffkit.graph import Batch  # imported late: the graph layer may be absent in tests
    return Batch


def collate_structures(structures: Sequence[Structure], batch_cls: type | None = None,
                       dtype: torch.dtype | None = None) -> LabelledBatch:
    """Concatenate structures into one ``batch_cls`` plus labels (``dtype``: the torch
    default floating dtype unless given). Cells and pbc are stacked when every structure has
    them, else ``None``."""
    if not structures:
        raise ValueError("cannot collate an empty list of structures")
    batch_cls = batch_cls or _default_batch_cls()
    dtype = dtype or torch.get_default_dtype()
    sizes = [len(s.numbers) for s in structures]
    periodic = all(s.cell is not None for s in structures)

    def floats(arrays):
        return torch.as_tensor(np.concatenate(arrays), dtype=dtype)

    batch = batch_cls(
        pos=floats([s.positions for s in structures]),
        numbers=torch.as_tensor(np.concatenate([s.numbers for s in structures]),
                                dtype=torch.long),
        batch=torch.repeat_interleave(torch.arange(len(structures)), torch.tensor(sizes)),
        cell=torch.as_tensor(np.stack([s.cell for s in structures]), dtype=dtype)
        if periodic else None,
        pbc=torch.as_tensor(np.stack([s.pbc for s in structures]), dtype=torch.bool)
        if periodic else None,
        n_structures=len(structures))
    if hasattr(batch, "structure_edges"):  # graph.Batch: share the structures' edge caches
        batch.structure_edges = [s.graphs for s in structures]
    return LabelledBatch(batch=batch,
                         energy=torch.tensor([s.energy for s in structures], dtype=dtype),
                         forces=floats([s.forces for s in structures]))


def displacement(current: Structure, following: Structure) -> np.ndarray:
    """``p_{t+1} - p_t`` (FRAMES Eq. 4); in periodic directions the minimum image, so that a
    wrapped atom does not jump by a cell vector."""
    delta = following.positions - current.positions
    if current.cell is None or current.pbc is None or not np.any(current.pbc):
        return delta
    fractional = delta @ np.linalg.inv(current.cell)
    fractional -= np.round(fractional) * np.asarray(current.pbc, dtype=float)
    return fractional @ current.cell


def structures_from_frames(frames) -> list[Structure]:
    """One :class:`Structure` per frame of an ``mlffkit.data.Frames`` (energies and forces
    required; a cell is kept where some direction is periodic)."""
    if frames.energy is None or frames.forces is None:
        raise ValueError(f"{frames.source or 'frames'}: training needs energies and forces")
    pbc = np.asarray(frames.pbc, dtype=bool)
    periodic = frames.cell is not None and bool(pbc.any())
    cells = np.broadcast_to(frames.cell, (len(frames.positions), 3, 3)) if periodic else None
    return [Structure(numbers=np.asarray(frames.numbers), positions=frames.positions[k],
                      energy=float(frames.energy[k]), forces=frames.forces[k],
                      cell=cells[k] if periodic else None, pbc=pbc if periodic else None)
            for k in range(len(frames.positions))]


def window_items(structures: Sequence[Structure], rows) -> list[tuple[Structure, ...]]:
    """Window items from index rows ``(n_windows, T + 1)``: the T frames of each window and
    the next frame, e.g. ``mlffkit.data.windows.windows(frames, T + 1)``."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.ndim != 2 or rows.shape[1] < 2:
        raise ValueError(f"rows must have shape (n_windows, T + 1 >= 2), got {rows.shape}")
    return [tuple(structures[k] for k in row) for row in rows]


def trajectory_windows(trajectory: Sequence[Structure], window: int,
                       anchors: Sequence[int] | None = None) -> list[tuple[Structure, ...]]:
    """Window items ``(S_{t-T+1}, ..., S_t, S_{t+1})`` of one trajectory in time order,
    T = ``window``.

    ``anchors`` are the frame indices t to use (e.g. the training frames of a split); by
    default every t with a full history and a next frame."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    valid = range(window - 1, len(trajectory) - 1)
    anchors = list(valid) if anchors is None else [int(t) for t in anchors]
    bad = [t for t in anchors if t not in valid]
    if bad:
        raise ValueError(f"anchors {bad[:5]} lack {window - 1} earlier frames or a next frame")
    offsets = np.arange(-window + 1, 2)
    return window_items(trajectory, np.asarray(anchors, dtype=np.int64)[:, None] + offsets)


def collate_windows(items: Sequence[tuple[Structure, ...]], batch_cls: type | None = None,
                    dtype: torch.dtype | None = None) -> Window:
    """Batch window items from :func:`trajectory_windows` into one :class:`Window`."""
    if not items:
        raise ValueError("cannot collate an empty list of windows")
    window = len(items[0]) - 1
    if any(len(item) != window + 1 for item in items):
        raise ValueError("all window items must have the same length")
    frames = [collate_structures([item[k] for item in items], batch_cls, dtype)
              for k in range(window + 1)]
    stacked = (collate_structures([item[k] for k in range(window) for item in items],
                                  batch_cls, dtype) if window > 1 else frames[0])
    dtype = frames[0].forces.dtype
    delta = np.concatenate([displacement(item[-2], item[-1]) for item in items])
    return Window(frames=frames[:-1], displacement=torch.as_tensor(delta, dtype=dtype),
                  next_frame=frames[-1], stacked=stacked)


class BatchLoader:
    """Batches of ``items`` through ``collate``, in an order fixed by ``(seed, epoch)``.

    ``batch_size`` is the *global* batch size. With ``world_size > 1`` every global batch is
    split into ``world_size`` near-equal contiguous shards and rank ``rank`` gets its own, so
    N ranks see exactly the batches one process would see; with ``drop_last`` (default in
    that case) a final global batch smaller than ``batch_size`` is dropped, which keeps the
    shards equal. Shards of an evaluation loader (``drop_last=False``) may be empty; those are
    skipped. Call :meth:`set_epoch` before each epoch (as with ``DistributedSampler``)."""

    def __init__(self, items: Sequence, batch_size: int, collate: Callable = list,
                 shuffle: bool = True, seed: int = 0, drop_last: bool | None = None,
                 rank: int = 0, world_size: int = 1):
        if batch_size < world_size:
            raise ValueError(f"batch_size {batch_size} < world_size {world_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world of size {world_size}")
        self.items, self.batch_size, self.collate = items, batch_size, collate
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0
        self.drop_last = world_size > 1 if drop_last is None else drop_last
        self.rank, self.world_size = rank, world_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.items) / self.batch_size
        return math.floor(n) if self.drop_last else math.ceil(n)

    def _order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.items))
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return torch.randperm(len(self.items), generator=generator).numpy()

    def shard_indices(self) -> Iterator[np.ndarray]:
        """Per global batch, the item indices of this rank (possibly empty)."""
        order = self._order()
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            batch = order[start: start + self.batch_size]
            yield np.array_split(batch, self.world_size)[self.rank]

    def iter_from(self, start: int) -> Iterator:
        """The batches of the current epoch from global batch ``start`` on (resume)."""
        for indices in islice(self.shard_indices(), start, None):
            if len(indices):
                yield self.collate([self.items[i] for i in indices])

    def __iter__(self) -> Iterator:
        return self.iter_from(0)
