"""Radius graphs of atomic structures.

:func:`radius_graph` lists every pair of atoms closer than a cutoff (periodic images
included) in a batch of structures (``mlffkit.data.atoms``: ``AtomsData`` and its PyG batch,
``AtomsBatch``) with the vesin neighbour list, and returns edge vectors that are
differentiable with respect to ``pos`` and ``cell``, so forces and stress follow from
autograd.

Conventions: positions in Å; an edge ``e`` is the pair
``(source, target) = edge_index[:, e]`` and carries the vector from the target atom to the
periodic image of the source atom::

    edge_vec[e] = pos[source] - pos[target] + shift[e] @ cell[structure]

where ``shift`` is an integer vector of cell translations. Messages flow from source to target.
Both directions of every pair are listed (a "full" neighbour list).

A graph is built once per structure and cutoff: a batch collated from fixed structures
(training data) carries each structure's ``NeighbourCache`` (``batch.graphs``, filled on first
use, checked against the structure's positions and cell), so later epochs, a second head on
the same frame, or a normalisation pass reuse the neighbour list; the edge vectors are always
recomputed from ``pos`` (and ``cell``), so they stay differentiable.
"""

from __future__ import annotations

import torch

from mlffkit.data.atoms import AtomsBatch, AtomsData, NeighbourCache

__all__ = ["radius_graph"]


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


def _structure_edges(points, box, periodic, cutoff: float, cache: NeighbourCache | None):
    """One structure's ``(i, j, S)`` from ``cache`` when it was built from these positions,
    cell and cutoff, else from vesin (then kept in ``cache``)."""
    key = float(cutoff)
    fingerprint = _fingerprint(points, box, periodic) if cache is not None else None
    if cache is not None and key in cache.lists and cache.lists[key][0] == fingerprint:
        return cache.lists[key][1]
    edges = _neighbour_list(cutoff).compute(points, box, periodic, quantities="ijS", copy=True)
    if cache is not None:
        cache.lists[key] = (fingerprint, edges)
    return edges


def radius_graph(batch: AtomsBatch | AtomsData, cutoff: float
                 ) -> tuple[torch.Tensor, torch.Tensor]:
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
    caches = batch.graphs
    if isinstance(caches, NeighbourCache):  # one structure, not batched
        caches = [caches]
    index = batch.batch if batch.batch is not None else torch.zeros(
        len(pos), dtype=torch.long, device=device)
    sources, targets, shifts = [], [], []
    for b in range(batch.n_structures):
        idx = torch.nonzero(index == b).reshape(-1)
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
        edge_vec = edge_vec + torch.einsum("ei,eij->ej", shift, batch.cell[index[target]])
    return torch.stack([source, target]), edge_vec
