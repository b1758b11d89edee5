"""Pair distances: periodic neighbour pairs (vesin cell lists), all pairs of a molecule, and the
minimum-image convention for short vectors such as bonds. Distances in Å."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from vesin import NeighborList


def periodic_pairs(positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray,
                   cutoff: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair closer than ``cutoff`` (Å), periodic images included, listed once.

    Returns ``(i, j, d)``. A pair of an atom with its own periodic image appears once per
    ``±shift``; counting each listed pair twice therefore gives the ordered (``i -> j`` and
    ``j -> i``) counts that RDF normalisations use, for any cutoff (also beyond half the cell).
    """
    box = np.zeros((3, 3)) if cell is None else cell
    i, j, d = _half_neighbour_list(float(cutoff)).compute(positions, box, [bool(p) for p in pbc],
                                                          quantities="ijd")
    return i.astype(np.intp), j.astype(np.intp), d


@lru_cache(maxsize=8)
def _half_neighbour_list(cutoff: float) -> NeighborList:
    """One reusable vesin list per cutoff (its threads follow ``OMP_NUM_THREADS``)."""
    return NeighborList(cutoff=cutoff, full_list=False)


def all_pair_distances(positions: np.ndarray) -> np.ndarray:
    """Euclidean distances of all pairs ``i < j`` in every frame: ``(F, N(N-1)/2)``, Å.

    No periodic images: this is the molecule-in-vacuum quantity behind h(r).
    """
    i, j = np.triu_indices(positions.shape[1], k=1)
    vectors = positions[:, j] - positions[:, i]
    return np.sqrt(np.einsum("fpk,fpk->fp", vectors, vectors))


def minimum_image(vectors: np.ndarray, cells: np.ndarray | None, pbc: np.ndarray) -> np.ndarray:
    """Wrap difference vectors ``(F, M, 3)`` to their nearest periodic image.

    Rounds fractional coordinates along periodic directions. This finds the nearest image for
    vectors shorter than half the smallest cell height in orthorhombic and mildly skewed cells,
    which is the regime of bonds and frame-to-frame displacements it is used for.
    """
    if cells is None or not np.any(pbc):
        return vectors
    fractional = np.einsum("fmk,fkl->fml", vectors, np.linalg.inv(cells))
    fractional[..., pbc] -= np.round(fractional[..., pbc])
    return np.einsum("fml,flk->fmk", fractional, cells)
