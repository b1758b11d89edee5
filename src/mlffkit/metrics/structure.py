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

One implementation serves numpy and torch: positions (and cells) are float64 tensors inside,
on the device of a tensor input (then the curves come back as tensors there) or on the CPU
(then as numpy arrays). Pair distances come in chunks of bounded size from
:func:`mlffkit.metrics.pairs.pair_distance_chunks` (all pairs batched over frames, or vesin's
neighbour list for large periodic systems) and are counted exactly, bin by bin: the curves
equal those of numpy's histogram (``"left"``) or ASE's ``ceil(r / dr)`` (``"right"``) to the
last bit of the counts, for any number of frames or ``r_max``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._inputs import as_trajectory, bin_edges_array, element_number
from .pairs import pair_distance_chunks

HR_R_MAX_A = 10.0
HR_BIN_WIDTH_A = 0.02


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
                                      normalisation: str = "pairs"):
    """h(r) per Å, averaged over frames (Fu et al. App. C Eq. 1); all pairs, no periodic images.

    trajectory: positions ``(F, N, 3)`` (numpy or a torch tensor on any device) or Atoms.
    bin_edges: default 0.02 Å bins up to 10 Å (Fu et al.).
    normalisation: ``"pairs"`` divides by the number of pairs, N(N-1)/2 per frame (Eq. 1), so
    pairs beyond the last edge lower the integral below 1; ``"in_range"`` divides by the pairs
    that fall inside the bins, as ``numpy.histogram(density=True)`` in Fu et al.'s code does.
    The two agree whenever every pair lies inside the bins (molecules with the 10 Å default).
    Returns ``(B,)``: numpy, or a float64 tensor on the input's device for a tensor input.
    """
    if normalisation not in HR_NORMALISATIONS:
        raise ValueError(f"normalisation must be one of {HR_NORMALISATIONS}, got {normalisation!r}")
    frames = as_trajectory(trajectory)
    if frames.n_atoms < 2:
        raise ValueError("h(r) needs at least two atoms")
    edges = uniform_bin_edges(HR_R_MAX_A, HR_BIN_WIDTH_A) if bin_edges is None else \
        bin_edges_array(bin_edges)
    counts = pair_histograms(frames.positions_tensor, None, frames.pbc, edges, "left")[0]
    total = frames.n_frames * frames.n_atoms * (frames.n_atoms - 1) / 2
    if normalisation == "in_range":
        total = float(counts.sum())
        if total == 0:
            raise ValueError("no pair distance falls inside the bins")
    widths = torch.diff(torch.as_tensor(edges, device=frames.device))
    return frames.output(counts / (total * widths))


def radial_distribution(trajectory, bin_edges, *, pair=None, species=None, cell=None, pbc=None,
                        convention: str = "ase", per_frame: bool = False):
    """g(r) of a trajectory, total (``pair=None``) or of two elements (e.g. ``pair=("O", "H")``).

    Needs a cell (Å); periodic images are included out to the last edge, which may exceed half
    the cell. ``convention`` names the normalisation (:data:`RDF_CONVENTIONS`). Returns the
    frame average ``(B,)``, or ``(F, B)`` with ``per_frame=True`` (each frame normalised alone);
    numpy, or float64 tensors on the input's device when the positions or cell are tensors.
    """
    return radial_distributions(trajectory, bin_edges, pairs=[pair], species=species, cell=cell,
                                pbc=pbc, convention=convention, per_frame=per_frame)[pair]


def radial_distributions(trajectory, bin_edges, *, pairs, species=None, cell=None, pbc=None,
                         convention: str = "ase", per_frame: bool = False) -> dict:
    """Several g(r) at once, keyed by pair (``None`` for the total), from one pass over the
    pair distances; e.g. ``pairs=[("O", "O"), ("H", "H"), ("H", "O")]`` for water.

    Frames are processed in chunks (:data:`mlffkit.metrics.pairs.PAIR_CHUNK_ELEMENTS`
    distances at a time), so memory does not grow with the frames or ``r_max``."""
    frames = as_trajectory(trajectory, species, cell, pbc)
    cells = frames.require_cell("radial_distribution")
    rule = rdf_convention(convention)
    edges = bin_edges_array(bin_edges)
    pairs = list(pairs)
    if any(p is not None for p in pairs):
        numbers = frames.require_numbers("an element-conditioned RDF")
    else:
        numbers = np.zeros(frames.n_atoms, dtype=int)
    elements, kinds = np.unique(numbers, return_inverse=True)
    normalising = [_normalising_pairs(numbers, pair, rule) for pair in pairs]
    volumes = frames.volumes("radial_distribution")
    if rule.volume == "mean":
        volumes = torch.full_like(volumes, float(volumes.mean()))
    weights = None if per_frame else volumes / frames.n_frames
    counts = pair_histograms(frames.positions_tensor, cells, frames.pbc, edges,
                             rule.bins_closed, kinds=kinds, frame_weights=weights,
                             per_frame=per_frame)
    counts = counts.reshape(*counts.shape[:-2], elements.size, elements.size, -1)
    device = frames.device
    edges_t = torch.as_tensor(edges, device=device)
    shell_volumes = 4.0 / 3.0 * torch.pi * (edges_t[1:] ** 3 - edges_t[:-1] ** 3)
    result = {}
    for pair, n_pairs in zip(pairs, normalising):
        if pair is None:
            curve = 2.0 * counts.sum(dim=(-3, -2))
        else:
            a, b = (int(np.flatnonzero(elements == element_number(e))[0]) for e in pair)
            curve = (2.0 if a == b else 1.0) * counts[..., min(a, b), max(a, b), :]
        g = curve * volumes[:, None] if per_frame else curve
        result[pair] = frames.output(g / (n_pairs * shell_volumes))
    return result


def rdf_convention(name: str) -> RDFConvention:
    """The :class:`RDFConvention` called ``name``."""
    if name not in RDF_CONVENTIONS:
        raise ValueError(f"unknown RDF convention {name!r}; choose from {list(RDF_CONVENTIONS)}")
    return RDF_CONVENTIONS[name]


def pair_histograms(positions: torch.Tensor, cells: torch.Tensor | None, pbc,
                    bin_edges: np.ndarray, bins_closed: str = "right", *, kinds=None,
                    frame_weights: torch.Tensor | None = None, per_frame: bool = False,
                    method: str = "auto") -> torch.Tensor:
    """Histograms of the listed pair distances (:func:`~.pairs.pair_distance_chunks`: each
    pair once, ``i < j`` and periodic images) by unordered pair of kinds.

    kinds: ``(N,)`` integer kind of every atom (0 .. K-1), default all 0. Returns float64
    counts ``(F, K * K, B)`` with ``per_frame``, else their sum over frames ``(K * K, B)``,
    each frame weighted by ``frame_weights`` if given; entry ``a * K + b`` (``a <= b``) holds
    the pairs of kinds a and b. Exact integers (before weights) up to 2^53 per bin.
    """
    device = positions.device
    n_frames = positions.shape[0]
    kinds = torch.zeros(positions.shape[1], dtype=torch.long, device=device) if kinds is None \
        else torch.as_tensor(np.asarray(kinds), dtype=torch.long, device=device)
    n_kinds = int(kinds.max()) + 1
    n_classes, n_bins = n_kinds * n_kinds, bin_edges.size - 1
    stride = n_bins + 2                      # and a bin below and one above the edges
    binner = _Binner(bin_edges, bins_closed, device)
    shape = (n_frames, n_classes, n_bins) if per_frame else (n_classes, n_bins)
    total = torch.zeros(shape, dtype=torch.float64 if frame_weights is not None or per_frame
                        else torch.long, device=device)
    for chunk in pair_distance_chunks(positions, cells, pbc, float(bin_edges[-1]),
                                      method=method):
        index = binner(chunk.distances)                                   # (m, f)
        n_chunk_frames = index.shape[1]
        if n_kinds > 1:
            a, b = kinds[chunk.first], kinds[chunk.second]
            index += ((torch.minimum(a, b) * n_kinds + torch.maximum(a, b)) * stride)[:, None]
        if per_frame or frame_weights is not None:
            index += torch.arange(n_chunk_frames, device=device) * (n_classes * stride)
            counts = torch.bincount(index.reshape(-1), minlength=n_chunk_frames * n_classes
                                    * stride).reshape(n_chunk_frames, n_classes, stride)
            counts = counts[..., 1:n_bins + 1].to(torch.float64)
            if per_frame:
                total[chunk.frames] += counts
            else:
                total += torch.einsum("f,fcb->cb", frame_weights[chunk.frames], counts)
        else:
            total += torch.bincount(index.reshape(-1), minlength=n_classes * stride).reshape(
                n_classes, stride)[:, 1:n_bins + 1]
    return total.to(torch.float64)


class _Binner:
    """Bin of every value (see ``__call__``). ``"left"``:
    edges[k] <= v < edges[k+1] (the last bin also takes v = edges[-1], as numpy.histogram);
    ``"right"``: edges[k] < v <= edges[k+1] (ASE's ceil(r/dr)). The edges decide: uniform
    edges bin by arithmetic, and the few values within rounding (or the edges' own
    non-uniformity) of an edge are placed by a search of the edges themselves."""

    def __init__(self, edges: np.ndarray, closed: str, device):
        if closed not in ("left", "right"):
            raise ValueError(f"bins_closed must be 'left' or 'right', got {closed!r}")
        self.closed, self.n_bins = closed, edges.size - 1
        widths = np.diff(edges)
        # edge k lies within 2e-9 k widths of start + k width when widths agree to 1e-9
        self.tolerance = 4e-9 * self.n_bins + 1e-10
        self.uniform = bool(np.allclose(widths, widths[0], rtol=1e-9, atol=0)) and \
            self.tolerance < 0.25
        self.start = float(edges[0])
        self.scale = self.n_bins / float(edges[-1] - edges[0])
        searched = edges.copy()
        if closed == "left":        # v = edges[-1] belongs to the last bin
            searched[-1] = np.nextafter(searched[-1], np.inf)
        self.edges = torch.as_tensor(searched, device=device)
        self.offset = torch.tensor(1.0 - self.start * self.scale, dtype=torch.float64,
                                   device=device)

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        """Bin ``k`` of every value as ``k + 1``; 0 below the first edge, ``n_bins + 1``
        above the last."""
        if not self.uniform:
            return self._search(values)
        scaled = torch.add(self.offset, values, alpha=self.scale)     # 1 + (v - start) scale
        index = scaled.floor()
        near = scaled.sub_(index).sub_(0.5).abs_() > 0.5 - self.tolerance
        index = index.clamp_(0, self.n_bins + 1).to(torch.long)
        if bool(near.any()):
            flat, where = index.view(-1), torch.nonzero(near.view(-1)).squeeze(1)
            flat[where] = self._search(values.reshape(-1)[where])
        return index

    def _search(self, values: torch.Tensor) -> torch.Tensor:
        return torch.searchsorted(self.edges, values, right=self.closed == "left")


def _normalising_pairs(numbers: np.ndarray, pair, rule: RDFConvention) -> float:
    if pair is None:
        n_a = n_b = numbers.size
        same = True
    else:
        a, b = (element_number(e) for e in pair)
        n_a, n_b = (int(np.sum(numbers == e)) for e in (a, b))
        same = a == b
        if n_a == 0 or n_b == 0:
            raise ValueError(f"no atoms of element {a if n_a == 0 else b} for pair {pair}")
    n_pairs = n_a * n_b - (n_a if same and rule.distinct_pairs else 0)
    if n_pairs == 0:
        raise ValueError(f"pair {pair} has no distinct pairs to normalise by")
    return float(n_pairs)
