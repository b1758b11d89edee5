"""Pair distances for the structure metrics, on any torch device and in chunks of bounded size;
and the minimum-image convention for short vectors such as bonds. Distances in Å.

:func:`pair_distance_chunks` lists every pair of atoms ``i < j`` at every periodic image
closer than ``r_max`` -- and an atom with its own images, once per ``±`` shift -- so that
counting each listed pair twice gives the ordered (``i -> j`` and ``j -> i``) counts that RDF
normalisations use, for any ``r_max``, also far beyond half the cell. Chunks hold at most
:data:`PAIR_CHUNK_ELEMENTS` distances (frames x pairs x images), so memory stays bounded for
any number of frames, atoms or images. Two methods, chosen by ``method="auto"``:

- ``"brute_force"``: every pair of every frame, batched over frames (float64 torch). Pair
  vectors are wrapped to the minimum image, then the lattice shifts that can bring an image
  within ``r_max`` are added (none when ``r_max`` is below half the smallest cell height, the
  usual case). Pairs beyond ``r_max`` are returned too; the binning drops them.
- ``"neighbour_list"``: vesin's cell lists (``vesin_torch``, on the positions' device), one
  frame per chunk, for large periodic systems where few pairs lie within ``r_max``. Its memory
  is that of one frame's neighbour list.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ._inputs import float_tensor

#: Distances computed per chunk; the peak memory of a structure metric is about 100 bytes per
#: element (a few float64 and int64 temporaries), ~25 MB, whatever ``r_max`` or the frames.
PAIR_CHUNK_ELEMENTS = 1 << 18
#: Shift grids up to this size are enumerated at once; larger ones plane by plane.
_MAX_SHIFT_GRID = 1 << 20
#: ``"auto"`` uses the neighbour list when brute force would compute this many times more
#: distances than the neighbour list finds, and at least _NEIGHBOUR_LIST_MIN_PAIRS of them.
_NEIGHBOUR_LIST_RATIO = 10.0
_NEIGHBOUR_LIST_MIN_PAIRS = 100_000
PAIR_METHODS = ("auto", "brute_force", "neighbour_list")


@dataclass(frozen=True)
class PairChunk:
    """Distances ``(m, f)`` between atoms ``first[k]`` and ``second[k]`` (``(m,)`` each;
    ``first == second`` for an atom and its own image) in the frames ``frames``."""

    frames: slice
    first: torch.Tensor
    second: torch.Tensor
    distances: torch.Tensor


def pair_distance_chunks(positions: torch.Tensor, cells: torch.Tensor | None, pbc,
                         r_max: float, *, method: str = "auto",
                         max_elements: int | None = None) -> Iterator[PairChunk]:
    """Every pair (and periodic image) of every frame closer than ``r_max``, possibly with
    farther ones, in chunks of at most ``max_elements`` distances (see the module docstring).

    positions: ``(F, N, 3)`` float64 tensor; cells: ``(F, 3, 3)`` on the same device, or None;
    pbc: three bools. ``r_max`` must be finite: it decides which images are needed.
    """
    if method not in PAIR_METHODS:
        raise ValueError(f"method must be one of {PAIR_METHODS}, got {method!r}")
    budget = max(1, int(max_elements or PAIR_CHUNK_ELEMENTS))
    pbc = np.asarray(pbc, dtype=bool)
    periodic = cells is not None and bool(pbc.any())
    if method == "auto":
        method = "neighbour_list" if periodic and _neighbour_list_pays(
            positions.shape[1], cells, pbc, r_max) else "brute_force"
    if method == "neighbour_list":
        yield from _neighbour_list_chunks(positions, cells if periodic else None, pbc, r_max)
    else:
        yield from _brute_force_chunks(positions, cells if periodic else None, pbc, r_max,
                                       budget)


def minimum_image(vectors, cells, pbc):
    """Wrap difference vectors ``(F, M, 3)`` to their nearest periodic image.

    Subtracts the lattice vector of the rounded fractional coordinates along periodic
    directions. This finds the nearest image for vectors shorter than half the smallest cell
    height in any cell (the regime of bonds and frame-to-frame displacements it is used for),
    and the one image closer than that whenever there is one. Arrays in, arrays out; tensors in,
    tensors out.
    """
    if cells is None or not np.any(np.asarray(pbc)):
        return vectors
    as_torch = isinstance(vectors, torch.Tensor)
    v = float_tensor(vectors)
    c = float_tensor(cells, v.device)
    shifts = torch.round(v @ torch.linalg.inv(c))
    shifts[..., ~torch.as_tensor(np.asarray(pbc, dtype=bool), device=v.device)] = 0.0
    wrapped = v - shifts @ c
    return wrapped if as_torch else wrapped.cpu().numpy()


# -- brute force ------------------------------------------------------------------------------
def _brute_force_chunks(positions, cells, pbc, r_max, budget):
    n_atoms = positions.shape[1]
    n_pairs = n_atoms * (n_atoms - 1) // 2
    if cells is None:
        yield from _chunks(positions, None, pbc, lambda frames: [None], 1, n_pairs, budget)
        return
    grid = _shift_grid_size(cells, pbc, r_max)
    if grid <= _MAX_SHIFT_GRID:          # enumerate the shifts once, for every frame
        shifts = _shifts(cells, pbc, r_max)
        sources = [(shifts, n_pairs, False), (shifts[_positive_half(shifts)], n_atoms, True)]
        for chosen, n_items, own in sources:
            if chosen.shape[0]:
                batch = min(chosen.shape[0], budget)
                yield from _chunks(positions, cells, pbc,
                                   lambda frames, c=chosen, b=batch: c.split(b),
                                   chosen.shape[0], n_items, budget, own_images=own)
        return
    plane = grid // (2 * _shift_ranges(cells, pbc, r_max)[0] + 1)
    for n_items, own in ((n_pairs, False), (n_atoms, True)):   # far beyond the cell: stream
        yield from _chunks(positions, cells, pbc,
                           lambda frames, own=own: _shift_batches(
                               cells[frames], pbc, r_max, min(plane, budget),
                               positive_half=own),
                           min(plane, budget), n_items, budget, own_images=own)


def _chunks(positions, cells, pbc, shift_batches, n_shifts, n_items, budget, *,
            own_images=False):
    """Frames batched x shift batches x blocks of pairs (or of atoms, for their own images),
    each chunk at most ``budget`` distances."""
    n_frames, n_atoms = positions.shape[:2]
    shifts_per_batch = min(n_shifts, budget)
    items_per_block = max(1, min(n_items, budget // shifts_per_batch))
    frames_per_batch = max(1, budget // (items_per_block * shifts_per_batch))
    for start in range(0, n_frames, frames_per_batch):
        frames = slice(start, min(n_frames, start + frames_per_batch))
        for shifts in shift_batches(frames):
            if own_images:
                for block in torch.arange(n_atoms, device=positions.device).split(
                        items_per_block):
                    yield _own_image_chunk(cells, frames, block, shifts)
                continue
            for first, second in _pair_blocks(n_atoms, items_per_block, positions.device):
                yield _pair_chunk(positions, cells, pbc, frames, first, second, shifts)


def _pair_chunk(positions, cells, pbc, frames, first, second, shifts) -> PairChunk:
    coords = positions[frames].permute(2, 1, 0).contiguous()        # (3, N, f): fast rows
    vector = [torch.index_select(coords[k], 0, second) - torch.index_select(coords[k], 0, first)
              for k in range(3)]                                      # (P, f) each
    if cells is not None:
        _wrap(vector, cells[frames], pbc)
    n_frames = coords.shape[2]
    if shifts is None or (shifts.shape[0] == 1 and not bool(shifts.any())):
        return PairChunk(frames, first, second, _squared_norm(vector).sqrt_())
    lattice = (shifts @ cells[frames]).permute(2, 1, 0)               # (3, s, f)
    squared = _squared_norm([vector[k][:, None, :] + lattice[k][None] for k in range(3)])
    n_shifts = shifts.shape[0]
    return PairChunk(frames, first.repeat_interleave(n_shifts),
                     second.repeat_interleave(n_shifts),
                     squared.sqrt_().reshape(-1, n_frames))


def _own_image_chunk(cells, frames, atoms, shifts) -> PairChunk:
    """Each of ``atoms`` with its images at ``shifts`` (one of each +-pair)."""
    lengths = torch.linalg.vector_norm(shifts @ cells[frames], dim=-1).t()   # (s, f)
    n_shifts, n_frames = lengths.shape
    index = atoms.repeat_interleave(n_shifts)
    distances = lengths[None].expand(atoms.numel(), -1, -1).reshape(-1, n_frames)
    return PairChunk(frames, index, index, distances)


def _squared_norm(components):
    squared = components[0] * components[0]
    squared.addcmul_(components[1], components[1])
    return squared.addcmul_(components[2], components[2])


def _wrap(vector, cells, pbc):
    """Minimum image of the components ``vector`` ((M, f) each, frames last) in place (see
    :func:`minimum_image`)."""
    periodic = [k for k in range(3) if pbc[k]]
    diagonal = torch.diagonal(cells, dim1=1, dim2=2)                  # (f, 3)
    if bool((cells - torch.diag_embed(diagonal)).abs().max() == 0):
        for k in periodic:
            length = diagonal[:, k]
            shift = torch.round(vector[k] * (1.0 / length))
            vector[k].sub_(shift.mul_(length))
        return
    inverse = torch.linalg.inv(cells)
    shifts = []
    for k in periodic:
        fractional = vector[0] * inverse[:, 0, k]
        fractional.addcmul_(vector[1], inverse[:, 1, k]).addcmul_(vector[2], inverse[:, 2, k])
        shifts.append((k, fractional.round_()))
    for k, shift in shifts:
        for axis in range(3):
            vector[axis].sub_(shift * cells[:, k, axis])


@lru_cache(maxsize=16)
def _all_pairs(n_atoms: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    first, second = torch.triu_indices(n_atoms, n_atoms, 1, device=device)
    return first, second


def _pair_blocks(n_atoms: int, max_pairs: int, device) -> Iterator[tuple[torch.Tensor, ...]]:
    """Pairs ``i < j`` in row order (as ``numpy.triu_indices``), in blocks of at most
    ``max_pairs``."""
    n_pairs = n_atoms * (n_atoms - 1) // 2
    if n_pairs <= max_pairs:
        if n_pairs:
            yield _all_pairs(n_atoms, str(device))
        return
    rows = torch.arange(n_atoms, device=device)
    row_start = rows * (n_atoms - 1) - rows * (rows - 1) // 2       # pairs before row i
    for start in range(0, n_pairs, max_pairs):
        k = torch.arange(start, min(n_pairs, start + max_pairs), device=device)
        first = torch.searchsorted(row_start, k, right=True) - 1
        yield first, k - row_start[first] + first + 1


# -- periodic images ---------------------------------------------------------------------------
def _shift_ranges(cells, pbc, r_max) -> list[int]:
    """Largest |n_k| of a lattice shift that can bring a minimum-image vector within r_max:
    a vector of length <= r_max has |fractional_k| <= r_max / height_k, and the minimum image
    has |fractional_k| <= 1/2."""
    heights = 1.0 / torch.linalg.vector_norm(torch.linalg.inv(cells), dim=1).max(dim=0).values
    return [int(math.floor(r_max / float(heights[k]) + 0.5 + 1e-9)) if pbc[k] else 0
            for k in range(3)]


def _shift_grid_size(cells, pbc, r_max) -> int:
    return math.prod(2 * m + 1 for m in _shift_ranges(cells, pbc, r_max))


def _shifts(cells, pbc, r_max) -> torch.Tensor:
    return torch.cat(list(_shift_batches(cells, pbc, r_max, None)))


def _shift_batches(cells, pbc, r_max, max_shifts, *, positive_half=False):
    """The lattice shifts ``(s, 3)`` (float64, integer values, on the cells' device) that can
    bring an image within ``r_max`` for any of ``cells``, zero first, in batches of at most
    ``max_shifts``. ``positive_half``: only nonzero shifts whose first nonzero component is
    positive (one of each +-pair)."""
    m = _shift_ranges(cells, pbc, r_max)
    # a shift n can matter only if |n.C| <= r_max + the longest half-diagonal of the cell
    corners = torch.tensor([[1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]],
                           dtype=cells.dtype, device=cells.device) * 0.5
    reach = torch.linalg.vector_norm(corners @ cells, dim=-1).max(dim=1).values + r_max
    prune = bool(np.all(pbc))
    planes = range(-m[0], m[0] + 1)
    if math.prod(2 * k + 1 for k in m) <= _MAX_SHIFT_GRID:
        planes = [None]
    for plane in sorted(planes, key=lambda p: 0 if p is None else abs(p)):
        axes = [torch.arange(-k, k + 1, dtype=cells.dtype, device=cells.device) for k in m]
        if plane is not None:
            axes[0] = torch.tensor([float(plane)], dtype=cells.dtype, device=cells.device)
        grid = torch.cartesian_prod(*axes).reshape(-1, 3)
        norm = grid.abs().sum(dim=1)
        grid = grid[torch.argsort(norm, stable=True)]          # zero first
        if positive_half:
            grid = grid[_positive_half(grid)]
        if prune and grid.shape[0]:
            lengths = torch.linalg.vector_norm(grid @ cells, dim=-1)      # (F, s)
            grid = grid[(lengths <= reach[:, None] * (1 + 1e-9)).any(dim=0)]
        for start in range(0, grid.shape[0], max_shifts or max(1, grid.shape[0])):
            yield grid[start:start + (max_shifts or grid.shape[0])]


def _positive_half(shifts: torch.Tensor) -> torch.Tensor:
    """Mask of the nonzero shifts whose first nonzero component is positive."""
    nonzero = shifts != 0
    leading = torch.argmax(nonzero.to(torch.uint8), dim=1)
    return nonzero.any(dim=1) & (shifts.gather(1, leading[:, None])[:, 0] > 0)


# -- neighbour list ----------------------------------------------------------------------------
def _neighbour_list_pays(n_atoms, cells, pbc, r_max) -> bool:
    if not np.all(pbc):
        return False
    brute = n_atoms * (n_atoms - 1) / 2 * _shift_grid_size(cells, pbc, r_max)
    volume = float(torch.linalg.det(cells).abs().min())
    found = n_atoms * n_atoms / 2 * (4.0 / 3.0 * math.pi * r_max ** 3) / volume
    return brute >= _NEIGHBOUR_LIST_MIN_PAIRS and brute > _NEIGHBOUR_LIST_RATIO * found


def _neighbour_list_chunks(positions, cells, pbc, r_max):
    neighbours = _neighbour_list(float(r_max) * (1.0 + 1e-12))
    periodic = torch.as_tensor(np.asarray(pbc, dtype=bool) & (cells is not None))  # on the CPU
    box = torch.zeros(3, 3, dtype=positions.dtype, device=positions.device)
    for f in range(positions.shape[0]):
        i, j, d = neighbours.compute(positions[f], box if cells is None else cells[f],
                                     periodic, quantities="ijd")
        yield PairChunk(slice(f, f + 1), i.long(), j.long(), d[:, None])


@lru_cache(maxsize=8)
def _neighbour_list(cutoff: float):
    """One reusable vesin list per cutoff (its threads follow ``OMP_NUM_THREADS``)."""
    from vesin_torch import NeighborList

    return NeighborList(cutoff=cutoff, full_list=False)
