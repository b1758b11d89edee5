"""What the trainer eats: batches with labels, FRAMES windows, and a resumable batch loader.

A training sample is a batch of ``mlffkit.data.atoms.AtomsData`` (PyG ``Data``: positions,
numbers, cell, energy, forces), e.g. from ``Frames.to_data_list()`` or
``AtomsData.from_atoms``; the trainer accepts any iterable of samples that ``move_to`` can put
on a device. Here:

- :func:`collate` (``mlffkit.data.atoms``): structures -> one ``AtomsBatch`` with its labels.
- :func:`trajectory_windows` (or :func:`window_items` on the index rows of
  ``mlffkit.data.windows.windows``) + :func:`collate_windows` -> :class:`Window`: T
  consecutive frames, the next frame, and the displacement ``Δp_t = p_{t+1} - p_t`` (FRAMES
  Eq. 4, minimum image in periodic cells).
- :class:`BatchLoader`: shuffles with a generator seeded by (seed, epoch), so the order of any
  epoch is known without saved state; can start mid-epoch (resume) and shard every global
  batch over distributed ranks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from itertools import islice
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from mlffkit.data.atoms import AtomsBatch, AtomsData, collate


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
class Window:
    """A batch of FRAMES windows: ``frames[k]`` holds frame ``t - T + 1 + k`` of every window
    (so ``frames[-1]`` is frame t), ``displacement`` (N, 3) is ``p_{t+1} - p_t`` for the atoms of
    ``frames[-1]``, and ``next_frame`` is frame t + 1 with its labels (the ablation target).

    ``stacked`` holds the same T frames as one batch, frame-major (the B structures of
    ``frames[0]``, then those of ``frames[1]``, ...), so that a model sees the whole window in
    one forward pass; ``frames`` are the per-frame views a FRAMES head reads its graphs from."""

    frames: list[AtomsBatch]
    displacement: Tensor
    next_frame: AtomsBatch | None = None
    stacked: AtomsBatch | None = None

    @property
    def n_structures(self) -> int:
        return self.frames[-1].n_structures

    def to(self, device) -> "Window":
        return _dataclass_to(self, device)


def displacement(current: AtomsData, following: AtomsData) -> np.ndarray:
    """``p_{t+1} - p_t`` (FRAMES Eq. 4); in periodic directions the minimum image, so that a
    wrapped atom does not jump by a cell vector."""
    delta = following.pos.numpy() - current.pos.numpy()
    if not current.periodic:
        return delta
    cell, pbc = current.cell[0].numpy(), current.pbc[0].numpy()
    fractional = delta @ np.linalg.inv(cell)
    fractional -= np.round(fractional) * np.asarray(pbc, dtype=float)
    return fractional @ cell


def window_items(structures: Sequence[AtomsData], rows) -> list[tuple[AtomsData, ...]]:
    """Window items from index rows ``(n_windows, T + 1)``: the T frames of each window and
    the next frame, e.g. ``mlffkit.data.windows.windows(frames, T + 1)``."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.ndim != 2 or rows.shape[1] < 2:
        raise ValueError(f"rows must have shape (n_windows, T + 1 >= 2), got {rows.shape}")
    return [tuple(structures[k] for k in row) for row in rows]


def trajectory_windows(trajectory: Sequence[AtomsData], window: int,
                       anchors: Sequence[int] | None = None) -> list[tuple[AtomsData, ...]]:
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


def collate_windows(items: Sequence[tuple[AtomsData, ...]],
                    dtype: torch.dtype | None = None) -> Window:
    """Batch window items from :func:`trajectory_windows` into one :class:`Window`."""
    if not items:
        raise ValueError("cannot collate an empty list of windows")
    window = len(items[0]) - 1
    if any(len(item) != window + 1 for item in items):
        raise ValueError("all window items must have the same length")
    frames = [collate([item[k] for item in items], dtype) for k in range(window + 1)]
    stacked = (collate([item[k] for k in range(window) for item in items], dtype)
               if window > 1 else frames[0])
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
