r"""Structure observables: the interatomic distance distribution h(r) and radial distribution
functions g(r), total or element-conditioned, with periodic images.

Bins are always explicit edges in Å (:func:`uniform_bin_edges` makes them). Values returned are
per bin, ``len(bin_edges) - 1`` of them; :func:`bin_centers` gives the matching r.

h(r), Fu et al. (2023) App. C Eq. 1, for a frame of N atoms (no periodic images)::

    h(r) = 1 / (N (N - 1)) * sum_i sum_{j != i} delta(r - |x_i - x_j|)

histogrammed (per Å) and averaged over frames; their code uses 500 bins up to 10 Å.

g(r) of the pair of elements (a, b), for a frame of cell volume V::

    g_ab(r) = V / (N_ab * 4/3 pi (r_hi^3 - r_lo^3)) * #{ordered pairs i in a, j in b, j != i,
                                                          r_lo < |x_i - x_j + images| <= r_hi}

with N_ab = N_a N_b. Conventions differ in detail; each is available by name
(:data:`RDF_CONVENTIONS`):

- ``"ase"`` (= ``"egraffbench"``, whose scripts call ASE's ``Analysis.get_rdf``; also LAMMPS):
  N_ab = N_a N_b even when a = b, so an ideal gas gives (N - 1)/N; each frame normalised by its
  own volume, then frames averaged; bins closed on the right.
- ``"mdanalysis"``: ``InterRDF`` with ``exclusion_block=(1, 1)`` for a = b: N_ab = N_a (N_a - 1)
  for a = b (an ideal gas gives 1); counts summed over frames and normalised by the mean volume;
  bins closed on the left (``numpy.histogram``).
- ``"fu2023"``: Fu et al.'s ``observable.ipynb``: N_ab = N_a N_b, one volume (constant cell),
  ``numpy.histogram`` bins (their edges start at 1e-6 Å).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._inputs import TrajectoryArrays, as_trajectory, bin_edges_array, element_number
from .pairs import all_pair_distances, periodic_pairs

HR_R_MAX_A = 10.0
HR_BIN_WIDTH_A = 0.02
_FRAME_CHUNK = 256


@dataclass(frozen=True)
class RDFConvention:
    """How pair counts become g(r).

    distinct_pairs: normalise a-a by N_a (N_a - 1) rather than N_a^2.
    volume: ``"per_frame"`` (normalise each frame by its own volume, then average) or ``"mean"``
    (sum counts over frames, normalise by the mean volume).
    bins_closed: ``"right"`` (r_lo < r <= r_hi) or ``"left"`` (r_lo <= r < r_hi, last bin closed).
    """

    distinct_pairs: bool
    volume: str
    bins_closed: str


RDF_CONVENTIONS: dict[str, RDFConvention] = {
    "ase": RDFConvention(distinct_pairs=False, volume="per_frame", bins_closed="right"),
    "egraffbench": RDFConvention(distinct_pairs=False, volume="per_frame", bins_closed="right"),
    "mdanalysis": RDFConvention(distinct_pairs=True, volume="mean", bins_closed="left"),
    "fu2023": RDFConvention(distinct_pairs=False, volume="per_frame", bins_closed="left"),
}

HR_NORMALISATIONS = ("pairs", "in_range")


def uniform_bin_edges(r_max: float, width: float, r_min: float = 0.0) -> np.ndarray:
    """Edges ``r_min, r_min + width, ..., r_max`` (Å); ``(r_max - r_min) / width`` bins."""
    n_bins = int(round((r_max - r_min) / width))
    if n_bins < 1 or not np.isclose(r_min + n_bins * width, r_max, rtol=0, atol=1e-9 * r_max):
        raise ValueError(f"width {width} does not divide [{r_min}, {r_max}] into whole bins")
    return np.linspace(r_min, r_max, n_bins + 1)


def bin_centers(bin_edges) -> np.ndarray:
    """Midpoints of the bins."""
    edges = bin_edges_array(bin_edges)
    return 0.5 * (edges[1:] + edges[:-1])


def interatomic_distance_distribution(trajectory, bin_edges=None, *,
                                      normalisation: str = "pairs") -> np.ndarray:
    """h(r) per Å, averaged over frames (Fu et al. App. C Eq. 1); all pairs, no periodic images.

    bin_edges: default 0.02 Å bins up to 10 Å (Fu et al.).
    normalisation: ``"pairs"`` divides by the number of pairs, N(N-1)/2 per frame (Eq. 1), so
    pairs beyond the last edge lower the integral below 1; ``"in_range"`` divides by the pairs
    that fall inside the bins, as ``numpy.histogram(density=True)`` in Fu et al.'s code does.
    The two agree whenever every pair lies inside the bins (molecules with the 10 Å default).
    """
    if normalisation not in HR_NORMALISATIONS:
        raise ValueError(f"normalisation must be one of {HR_NORMALISATIONS}, got {normalisation!r}")
    frames = as_trajectory(trajectory)
    if frames.n_atoms < 2:
        raise ValueError("h(r) needs at least two atoms")
    edges = uniform_bin_edges(HR_R_MAX_A, HR_BIN_WIDTH_A) if bin_edges is None else \
        bin_edges_array(bin_edges)
    counts = np.zeros(edges.size - 1)
    for start in range(0, frames.n_frames, _FRAME_CHUNK):
        distances = all_pair_distances(frames.positions[start:start + _FRAME_CHUNK]).ravel()
        counts += _histogram(distances, edges, "left")
    total = frames.n_frames * frames.n_atoms * (frames.n_atoms - 1) / 2
    if normalisation == "in_range":
        if counts.sum() == 0:
            raise ValueError("no pair distance falls inside the bins")
        total = counts.sum()
    return counts / (total * np.diff(edges))


def radial_distribution(trajectory, bin_edges, *, pair=None, species=None, cell=None, pbc=None,
                        convention: str = "ase", per_frame: bool = False) -> np.ndarray:
    """g(r) of a trajectory, total (``pair=None``) or of two elements (e.g. ``pair=("O", "H")``).

    Needs a cell (Å); periodic images are included out to the last edge, which may exceed half
    the cell. ``convention`` names the normalisation (:data:`RDF_CONVENTIONS`). Returns the
    frame average ``(B,)``, or ``(F, B)`` with ``per_frame=True`` (each frame normalised alone).
    """
    return radial_distributions(trajectory, bin_edges, pairs=[pair], species=species, cell=cell,
                                pbc=pbc, convention=convention, per_frame=per_frame)[pair]


def radial_distributions(trajectory, bin_edges, *, pairs, species=None, cell=None, pbc=None,
                         convention: str = "ase", per_frame: bool = False) -> dict:
    """Several g(r) at once, keyed by pair (``None`` for the total), from one pass over the
    neighbour lists; e.g. ``pairs=[("O", "O"), ("H", "H"), ("H", "O")]`` for water."""
    frames = as_trajectory(trajectory, species, cell, pbc)
    frames.require_cell("radial_distribution")
    rule = rdf_convention(convention)
    edges = bin_edges_array(bin_edges)
    pairs = list(pairs)
    counts = ordered_pair_counts(frames, edges, pairs, rule.bins_closed)
    shell_volumes = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    volumes = frames.volumes("radial_distribution")
    if rule.volume == "mean":
        volumes = np.full_like(volumes, volumes.mean())
    result = {}
    for pair, pair_counts in zip(pairs, counts):
        g = pair_counts * volumes[:, None] / (_normalising_pairs(frames, pair, rule)
                                              * shell_volumes)
        result[pair] = g if per_frame else g.mean(axis=0)
    return result


def rdf_convention(name: str) -> RDFConvention:
    """The :class:`RDFConvention` called ``name``."""
    if name not in RDF_CONVENTIONS:
        raise ValueError(f"unknown RDF convention {name!r}; choose from {list(RDF_CONVENTIONS)}")
    return RDF_CONVENTIONS[name]


def ordered_pair_counts(frames: TrajectoryArrays, bin_edges: np.ndarray, pairs,
                        bins_closed: str = "right") -> np.ndarray:
    """Per-frame counts ``(P, F, B)`` of ordered pairs (i -> j, j != i or a periodic image) for
    each entry of ``pairs`` (``None``: all atoms; ``(a, b)`` with a != b: each a-b pair once).

    One neighbour list and one ``bincount`` per frame serve all pairs: every listed atom pair is
    binned by (unordered element pair, distance bin) and the requested curves are read off."""
    if any(p is not None for p in pairs):
        numbers = frames.require_numbers("an element-conditioned RDF")
    else:
        numbers = np.zeros(frames.n_atoms, dtype=int)
    elements, kinds = np.unique(numbers, return_inverse=True)
    n_kinds, n_bins = elements.size, bin_edges.size - 1
    cutoff = bin_edges[-1] * (1.0 + 1e-12)
    class_counts = np.zeros((frames.n_frames, n_kinds, n_kinds, n_bins))
    for f in range(frames.n_frames):
        i, j, d = periodic_pairs(frames.positions[f], frames.cells[f], frames.pbc, cutoff)
        index = _bin_index(d, bin_edges, bins_closed)
        inside = index >= 0
        ki, kj = kinds[i[inside]], kinds[j[inside]]
        flat = (np.minimum(ki, kj) * n_kinds + np.maximum(ki, kj)) * n_bins + index[inside]
        class_counts[f] = np.bincount(flat, minlength=n_kinds * n_kinds * n_bins).reshape(
            n_kinds, n_kinds, n_bins)
    counts = np.zeros((len(pairs), frames.n_frames, n_bins))
    for k, pair in enumerate(pairs):
        if pair is None:
            counts[k] = 2.0 * class_counts.sum(axis=(1, 2))
            continue
        a, b = (_kind(elements, element_number(e)) for e in pair)
        if a is not None and b is not None:
            low, high = min(a, b), max(a, b)
            counts[k] = (2.0 if a == b else 1.0) * class_counts[:, low, high]
    return counts


def _kind(elements: np.ndarray, number: int) -> int | None:
    found = np.flatnonzero(elements == number)
    return int(found[0]) if found.size else None


def _normalising_pairs(frames: TrajectoryArrays, pair, rule: RDFConvention) -> float:
    if pair is None:
        n_a = n_b = frames.n_atoms
        same = True
    else:
        a, b = (element_number(e) for e in pair)
        n_a, n_b = (int(np.sum(frames.numbers == e)) for e in (a, b))
        same = a == b
        if n_a == 0 or n_b == 0:
            raise ValueError(f"no atoms of element {a if n_a == 0 else b} for pair {pair}")
    n_pairs = n_a * n_b - (n_a if same and rule.distinct_pairs else 0)
    if n_pairs == 0:
        raise ValueError(f"pair {pair} has no distinct pairs to normalise by")
    return float(n_pairs)


def _histogram(values: np.ndarray, edges: np.ndarray, closed: str) -> np.ndarray:
    """Counts per bin; ``closed="left"`` is numpy.histogram, ``"right"`` ASE's ceil(r/dr)."""
    if closed == "left":
        return np.histogram(values, edges)[0].astype(float)
    index = _bin_index(values, edges, closed)
    return np.bincount(index[index >= 0], minlength=edges.size - 1).astype(float)


def _bin_index(values: np.ndarray, edges: np.ndarray, closed: str) -> np.ndarray:
    """Bin of every value, -1 outside the edges. ``"left"``: edges[k] <= v < edges[k+1] (the
    last bin also takes v = edges[-1]); ``"right"``: edges[k] < v <= edges[k+1]. The edges
    decide: uniform edges get a fast arithmetic guess, corrected by one comparison each way."""
    if closed not in ("left", "right"):
        raise ValueError(f"bins_closed must be 'left' or 'right', got {closed!r}")
    n_bins = edges.size - 1
    widths = np.diff(edges)
    if np.allclose(widths, widths[0], rtol=1e-9, atol=0):
        scaled = (values - edges[0]) * (n_bins / (edges[-1] - edges[0]))
        guess = np.floor(scaled) if closed == "left" else np.ceil(scaled) - 1
        index = np.clip(guess, 0, n_bins - 1).astype(np.intp)
        if closed == "left":
            index -= values < edges[index]
            index += values >= edges[index + 1]
        else:
            index -= values <= edges[index]
            index += values > edges[index + 1]
    else:
        side = "right" if closed == "left" else "left"
        index = np.searchsorted(edges, values, side=side) - 1
    if closed == "left":
        index[values == edges[-1]] = n_bins - 1
    index[(index < 0) | (index >= n_bins)] = -1
    return index
