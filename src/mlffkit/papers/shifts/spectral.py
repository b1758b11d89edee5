"""Connectivity shift: the spectral distance of a structure's radius graph to the training set
(Kreiman & Krishnapriyan, Eq. 5; ``../shared/papers/protocols_fu_kreiman.md`` §2.2).

For a structure: the radius graph at ``cutoff`` (no periodic images, no self-loops), its
symmetric normalised Laplacian ``L = I - D^-1/2 A D^-1/2``, and the eigenvalues of ``L`` in
ascending order (:func:`laplacian_spectrum`, a symmetric eigensolver). The training set's mean
spectrum :func:`mean_spectrum` right-pads every sorted training spectrum with zeros to the
longest and averages elementwise; :func:`spectral_distance` is ``||λ - λ̄||²`` after padding
both to a common length.

Where we differ from the official code (``radius_refinement_maceoff.py``), and why:

- an isolated atom is a node of degree 0: its row of ``D^-1/2 A D^-1/2`` is zero and it
  contributes the eigenvalue 1. The official code builds the Laplacian from the edge list, so
  atoms after the last atom with a neighbour are dropped (trailing isolated atoms vanish from
  the spectrum) while earlier ones are kept: the spectrum then depends on atom order;
- eigenvalues in float64 from ``numpy.linalg.eigvalsh`` (``L`` is symmetric) instead of
  ``eigvals`` cast to float32;
- no cap on neighbours (the official ``max_num_neighbors=50`` never binds for molecules).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["laplacian_spectrum", "mean_spectrum", "spectral_distance", "spectral_distances"]


def _positions(structure) -> np.ndarray:
    """(n, 3) positions in Å from an array, an ``ase.Atoms`` or an ``AtomsData``."""
    if hasattr(structure, "get_positions"):
        return np.asarray(structure.get_positions(), dtype=float)
    if hasattr(structure, "pos"):
        return structure.pos.detach().cpu().numpy().astype(float)
    positions = np.asarray(structure, dtype=float)
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise ValueError(f"positions must have shape (n, 3), got {positions.shape}")
    return positions


def laplacian_spectrum(structure, cutoff: float) -> np.ndarray:
    """Ascending eigenvalues (n,) of the symmetric normalised Laplacian of the radius graph of
    ``structure`` (positions (n, 3) in Å, ``ase.Atoms`` or ``AtomsData``; no periodic
    images) at ``cutoff`` Å. Each connected component contributes one 0; an isolated atom
    contributes a 1."""
    if not cutoff > 0:
        raise ValueError(f"cutoff must be positive, got {cutoff}")
    positions = _positions(structure)
    if not np.isfinite(positions).all():
        raise ValueError("positions must be finite")
    distance = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    adjacency = ((distance < cutoff) & ~np.eye(len(positions), dtype=bool)).astype(float)
    degree = adjacency.sum(axis=1)
    scale = np.divide(1.0, np.sqrt(degree), out=np.zeros_like(degree), where=degree > 0)
    laplacian = np.eye(len(positions)) - scale[:, None] * adjacency * scale[None, :]
    return np.linalg.eigvalsh(laplacian)


def _pad(spectrum: np.ndarray, length: int) -> np.ndarray:
    return np.pad(np.sort(np.asarray(spectrum, dtype=float)), (0, length - len(spectrum)))


def mean_spectrum(spectra: Iterable[np.ndarray]) -> np.ndarray:
    """The mean training spectrum λ̄: every spectrum sorted, right-padded with zeros to the
    longest, averaged elementwise."""
    spectra = [np.asarray(s, dtype=float) for s in spectra]
    if not spectra:
        raise ValueError("no spectra to average")
    length = max(len(s) for s in spectra)
    return np.mean([_pad(s, length) for s in spectra], axis=0)


def spectral_distance(spectrum: np.ndarray, reference: np.ndarray) -> float:
    """``||λ - λ̄||²`` (Eq. 5) with both spectra sorted and zero-padded to a common length."""
    length = max(len(spectrum), len(reference))
    return float(np.sum((_pad(spectrum, length) - _pad(reference, length)) ** 2))


def spectral_distances(structures: Iterable, training: Iterable, cutoff: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Spectral distance of every structure to the mean spectrum of ``training``, and of
    every training structure to it (their spread sets what counts as a shift: the paper flags
    a structure more than one standard deviation above the training mean)."""
    train = [laplacian_spectrum(s, cutoff) for s in training]
    reference = mean_spectrum(train)
    return (np.array([spectral_distance(laplacian_spectrum(s, cutoff), reference)
                      for s in structures]),
            np.array([spectral_distance(s, reference) for s in train]))
