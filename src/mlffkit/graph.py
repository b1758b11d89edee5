"""Batches of atomic structures and their radius graphs.

A :class:`Batch` holds several structures (molecules or periodic cells) as one flat set of
atoms, with ``batch`` telling which structure each atom belongs to. :func:`radius_graph` lists
every pair of atoms closer than a cutoff (periodic images included) with the vesin neighbour
list, and returns edge vectors that are differentiable with respect to ``pos`` and ``cell``, so
forces and stress follow from autograd.

Conventions: positions in Å; an edge ``e`` is the pair
``(source, target) = edge_index[:, e]`` and carries the vector from the target atom to the
periodic image of the source atom::

    edge_vec[e] = pos[source] - pos[target] + shift[e] @ cell[structure]

where ``shift`` is an integer vector of cell translations. Messages flow from source to target.
Both directions of every pair are listed (a "full" neighbour list).

A graph is built once per structure and cutoff: a batch collated from fixed structures
(training data) carries one cache per structure (``Batch.structure_edges``, filled on first
use, checked against the structure's positions and cell), so later epochs, a second head on
the same frame, or a normalisation pass reuse the neighbour list; the edge vectors are always
recomputed from ``pos`` (and ``cell``), so they stay differentiable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Batch", "radius_graph"]


@dataclass
class Batch:
    """Several atomic structures stored as one flat list of atoms.

    Attributes:
        pos: (N, 3) positions in Å.
        numbers: (N,) atomic numbers (long).
        batch: (N,) index of the structure each atom belongs to (long, 0..n_structures-1).
        cell: (B, 3, 3) cell vectors as rows (Å), or None when no structure is periodic.
        pbc: (B, 3) periodic directions (bool), or None when no structure is periodic.
        n_structures: B.
        structure_edges: optional, one dict per structure in which :func:`radius_graph`
            keeps that structure's neighbour list per cutoff (shared with the structure the
            batch was collated from, so the list is built once per structure and cutoff).
    """

    pos: torch.Tensor
    numbers: torch.Tensor
    batch: torch.Tensor
    cell: torch.Tensor | None = None
    pbc: torch.Tensor | None = None
    n_structures: int = 1
    structure_edges: list[dict] | None = dataclasses.field(default=None, repr=False,
                                                           compare=False)

    def __post_init__(self):
        if self.pos.ndim != 2 or self.pos.shape[-1] != 3:
            raise ValueError(f"pos must have shape (N, 3), got {tuple(self.pos.shape)}")
        n = self.pos.shape[0]
        if self.numbers.shape != (n,) or self.batch.shape != (n,):
            raise ValueError("numbers and batch must have shape (N,) matching pos")
        if (self.cell is None) != (self.pbc is None):
            raise ValueError("cell and pbc must both be given or both be None")
        if self.cell is not None and self.cell.shape != (self.n_structures, 3, 3):
            raise ValueError(f"cell must have shape ({self.n_structures}, 3, 3)")
        if self.pbc is not None and self.pbc.shape != (self.n_structures, 3):
            raise ValueError(f"pbc must have shape ({self.n_structures}, 3)")

    # ------------------------------------------------------------------ properties
    @property
    def device(self) -> torch.device:
        return self.pos.device

    @property
    def dtype(self) -> torch.dtype:
        return self.pos.dtype

    @property
    def n_atoms(self) -> torch.Tensor:
        """(B,) number of atoms of each structure."""
        return torch.bincount(self.batch, minlength=self.n_structures)

    @property
    def periodic(self) -> bool:
        """True when any structure is periodic in any direction."""
        return self.pbc is not None and bool(self.pbc.any())

    # ------------------------------------------------------------------ conversions
    def to(self, device=None, dtype: torch.dtype | None = None) -> Batch:
        """A copy on ``device``; ``dtype`` changes the floating tensors (pos, cell)."""

        def move(t, floating):
            if t is None:
                return None
            return t.to(device=device, dtype=dtype if floating else None)

        return Batch(
            pos=move(self.pos, True),
            numbers=move(self.numbers, False),
            batch=move(self.batch, False),
            cell=move(self.cell, True),
            pbc=move(self.pbc, False),
            n_structures=self.n_structures,
            structure_edges=self.structure_edges,
        )

    def replace(self, **changes) -> Batch:
        """A shallow copy with some fields replaced (e.g. ``batch.replace(pos=new_pos)``)."""
        return dataclasses.replace(self, **changes)

    def volume(self) -> torch.Tensor:
        """(B,) cell volumes in Å^3 (only meaningful for periodic structures)."""
        if self.cell is None:
            raise ValueError("this batch has no cell")
        return torch.linalg.det(self.cell).abs()

    @classmethod
    def from_atoms(cls, atoms_list, dtype: torch.dtype | None = None, device=None) -> Batch:
        """A batch of ASE ``Atoms`` (one ``Atoms`` or a list of them)."""
        if not isinstance(atoms_list, Sequence):
            atoms_list = [atoms_list]
        if len(atoms_list) == 0:
            raise ValueError("empty list of structures")
        dtype = dtype or torch.get_default_dtype()
        pos = torch.as_tensor(np.concatenate([a.get_positions() for a in atoms_list]), dtype=dtype)
        numbers = torch.as_tensor(np.concatenate([a.numbers for a in atoms_list]), dtype=torch.long)
        batch = torch.repeat_interleave(
            torch.arange(len(atoms_list)), torch.as_tensor([len(a) for a in atoms_list])
        )
        cell = pbc = None
        if any(a.pbc.any() for a in atoms_list):
            cell = torch.as_tensor(np.stack([a.cell.array for a in atoms_list]), dtype=dtype)
            pbc = torch.as_tensor(np.stack([a.pbc for a in atoms_list]), dtype=torch.bool)
        return cls(pos, numbers, batch, cell, pbc, len(atoms_list)).to(device)

    @classmethod
    def from_arrays(
        cls,
        positions,
        numbers,
        cell=None,
        pbc=None,
        dtype: torch.dtype | None = None,
        device=None,
    ) -> Batch:
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
        batch = torch.arange(n_frames).repeat_interleave(n_atoms)
        if cell is not None:
            cell = torch.as_tensor(cell, dtype=dtype)
            cell = cell.expand(n_frames, 3, 3).clone() if cell.ndim == 2 else cell
            pbc = torch.ones(3, dtype=torch.bool) if pbc is None else torch.as_tensor(pbc)
            pbc = pbc.to(torch.bool).expand(n_frames, 3).clone() if pbc.ndim == 1 else pbc
        elif pbc is not None:
            raise ValueError("pbc given without a cell")
        return cls(
            positions.reshape(-1, 3),
            numbers.repeat(n_frames),
            batch,
            cell,
            pbc,
            n_frames,
        ).to(device)


_NEIGHBOUR_LISTS: dict[float, object] = {}


def _neighbour_list(cutoff: float):
    import vesin.torch

    key = float(cutoff)
    if key not in _NEIGHBOUR_LISTS:
        _NEIGHBOUR_LISTS[key] = vesin.torch.NeighborList(cutoff=key, full_list=True)
    return _NEIGHBOUR_LISTS[key]


def _fingerprint(points: torch.Tensor, box: torch.Tensor, periodic) -> bytes:
    """What a cached neighbour list was built from (positions, cell, periodicity), exactly."""
    return points.cpu().numpy().tobytes() + box.cpu().numpy().tobytes() + repr(
        periodic.tolist() if torch.is_tensor(periodic) else periodic).encode()


def _structure_edges(points, box, periodic, cutoff: float, cache: dict | None):
    """One structure's ``(i, j, S)`` from ``cache`` when it was built from these positions,
    cell and cutoff, else from vesin (then kept in ``cache``)."""
    key = float(cutoff)
    fingerprint = _fingerprint(points, box, periodic) if cache is not None else None
    if cache is not None and key in cache and cache[key][0] == fingerprint:
        return cache[key][1]
    edges = _neighbour_list(cutoff).compute(points, box, periodic, quantities="ijS", copy=True)
    if cache is not None:
        cache[key] = (fingerprint, edges)
    return edges


def radius_graph(batch: Batch, cutoff: float) -> tuple[torch.Tensor, torch.Tensor]:
    """All pairs of atoms (periodic images included) closer than ``cutoff`` Å.

    Returns:
        edge_index: (2, E) long, rows ``[source, target]``.
        edge_vec: (E, 3) ``pos[source] - pos[target] + shift @ cell``, differentiable with
            respect to ``batch.pos`` and ``batch.cell``.
    """
    if cutoff <= 0:
        raise ValueError(f"cutoff must be positive, got {cutoff}")
    pos = batch.pos
    device = pos.device
    caches = batch.structure_edges
    sources, targets, shifts = [], [], []
    for b in range(batch.n_structures):
        idx = torch.nonzero(batch.batch == b).reshape(-1)
        if idx.numel() < 2:
            continue
        points = pos.detach()[idx]
        if batch.pbc is not None and bool(batch.pbc[b].any()):
            box, periodic = batch.cell[b].detach(), batch.pbc[b].cpu()
        else:
            box, periodic = torch.zeros(3, 3, dtype=pos.dtype, device=device), False
        cache = caches[b] if caches is not None else None
        i, j, shift = _structure_edges(points, box, periodic, cutoff, cache)
        targets.append(idx[i.to(device)])
        sources.append(idx[j.to(device)])
        shifts.append(shift.to(device=device))
    if not sources:
        return (
            torch.zeros(2, 0, dtype=torch.long, device=device),
            torch.zeros(0, 3, dtype=pos.dtype, device=device),
        )
    source, target = torch.cat(sources), torch.cat(targets)
    edge_vec = pos[source] - pos[target]
    if batch.cell is not None:
        shift = torch.cat(shifts).to(pos.dtype)
        edge_vec = edge_vec + torch.einsum("ei,eij->ej", shift, batch.cell[batch.batch[target]])
    return torch.stack([source, target]), edge_vec
