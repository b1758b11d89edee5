r"""Simulation stability (Fu et al. 2023, App. C Eq. 8-9), offline and online.

Molecules (Eq. 9): a trajectory becomes unstable at the first frame where any bond length
deviates from its reference length by more than Δ (0.5 Å for MD17 and alanine dipeptide)::

    max_{(i,j) in bonds} | |x_i(T) - x_j(T)| - b_ij | > Δ

Bonds come from covalent radii on a reference structure: ``d_ij < r_i + r_j + tolerance``. Fu et
al.'s code finds them with ASE's ``NeighborList(natural_cutoffs(atoms))``, whose default skin of
0.3 Å is added to both radii, hence the default ``tolerance_A = 0.6``. :func:`find_bonds` is
mlffkit's one bond rule, ``d_ij < scale (r_i + r_j) + tolerance``; the reference-data
generators count connectivity changes with it at ``scale = 1.25``, ``tolerance_A = 0``. Their reference lengths
are the mean bond lengths over the reference trajectory; pass ``reference_lengths`` for that,
the default is the lengths in the structure the bonds were found on.

Periodic systems (Eq. 8): unstable at the first time T whose window [T, T + τ) of frames has an
RDF with integrated absolute error above Δ against the reference RDF (τ = 1 ps; Δ = 3.0 for water
with any of the O-O, H-H, H-O RDFs, 1.0 for LiPS). Fu et al.'s loop starts at the second frame
and reports the window start minus one frame; here windows start at frame 0 and the stable time
is the start of the first failing window.

Stable time = time of the first unstable frame (or of the last frame when none is), from the
first frame. :class:`BondLengthRule` and :class:`RDFWindowRule` apply the same tests during a
run as stop rules for :func:`mlffkit.md.simulate`.

Trajectories may be numpy arrays, Atoms or torch tensors on any device: bond lengths and RDFs
are computed in float64 torch on the input's device (``find_bonds``, ``bond_lengths`` and
``max_bond_deviation`` return tensors there for tensor input); the windowed RDF errors are
scored by :func:`~.comparison.integrated_absolute_error` on the CPU (one small
``(windows, bins)`` array per pair).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import torch
from ase import Atoms
from ase.data import covalent_radii

from ._inputs import (TrajectoryArrays, as_trajectory, bin_edges_array, finite_array,
                      finite_tensor)
from .comparison import integrated_absolute_error
from .pairs import minimum_image, pair_distance_chunks
from .structure import radial_distributions

FU2023_BOND_TOLERANCE_A = 0.6       # 2 x ASE NeighborList default skin (0.3 Å)
FU2023_BOND_THRESHOLD_A = 0.5
FU2023_RDF_THRESHOLD = {"water": 3.0, "lips": 1.0}
FU2023_RDF_WINDOW_FS = 1000.0


@dataclass(frozen=True)
class StabilityResult:
    """first_unstable_frame: index of the first unstable frame, None if all are stable.
    stable_time_fs: time of that frame (or of the last frame) after the first frame."""

    first_unstable_frame: int | None
    stable_time_fs: float
    n_frames: int

    @property
    def stable(self) -> bool:
        return self.first_unstable_frame is None


def find_bonds(structure, species=None, cell=None, pbc=None, *,
               tolerance_A: float = FU2023_BOND_TOLERANCE_A, scale: float = 1.0) -> np.ndarray:
    """Bonded pairs ``(B, 2)``, ``i < j``, in the first frame of ``structure``:
    ``d_ij < scale (r_cov,i + r_cov,j) + tolerance_A`` (ASE covalent radii, periodic images
    included)."""
    frames = as_trajectory(structure, species, cell, pbc, name="structure")
    numbers = frames.require_numbers("find_bonds")
    radii = torch.as_tensor(covalent_radii[numbers], device=frames.device)
    cutoff = 2.0 * scale * float(radii.max()) + tolerance_A
    cell0 = None if frames.cells_tensor is None else frames.cells_tensor[:1]
    found = [torch.zeros((0, 2), dtype=torch.long, device=frames.device)]
    for chunk in pair_distance_chunks(frames.positions_tensor[:1], cell0, frames.pbc, cutoff):
        i, j, d = chunk.first, chunk.second, chunk.distances[:, 0]
        bonded = (d < scale * (radii[i] + radii[j]) + tolerance_A) & (i != j)
        found.append(torch.stack([i[bonded], j[bonded]], dim=1))
    bonds = torch.sort(torch.cat(found), dim=1).values
    return frames.output(torch.unique(bonds, dim=0))


def bond_lengths(trajectory, bonds, species=None, cell=None, pbc=None) -> np.ndarray:
    """Lengths ``(F, B)`` in Å of the given bonds, at the minimum image when periodic."""
    frames = as_trajectory(trajectory, species, cell, pbc)
    return frames.output(_bond_lengths(frames, bonds))


def max_bond_deviation(trajectory, *, bonds=None, reference_lengths=None, species=None,
                       cell=None, pbc=None, tolerance_A: float = FU2023_BOND_TOLERANCE_A
                       ) -> np.ndarray:
    """Largest |bond length - reference length| per frame ``(F,)``, Å.

    Bonds default to :func:`find_bonds` on the first frame, reference lengths to their lengths
    in that frame."""
    frames = as_trajectory(trajectory, species, cell, pbc)
    if bonds is None:
        bonds = find_bonds(frames, tolerance_A=tolerance_A)
    lengths = _bond_lengths(frames, bonds)
    if lengths.shape[1] == 0:
        raise ValueError("no bonds found: check species, positions (Å) or tolerance_A")
    reference = lengths[0] if reference_lengths is None else \
        finite_tensor(reference_lengths, "reference_lengths", ndim=1, device=frames.device)
    if reference.shape != lengths.shape[1:]:
        raise ValueError(f"{reference.numel()} reference lengths for {lengths.shape[1]} bonds")
    return frames.output(torch.max(torch.abs(lengths - reference), dim=1).values)


def bond_stability(trajectory, frame_interval_fs: float, *,
                   threshold_A: float = FU2023_BOND_THRESHOLD_A, bonds=None,
                   reference_lengths=None, species=None, cell=None, pbc=None,
                   tolerance_A: float = FU2023_BOND_TOLERANCE_A) -> StabilityResult:
    """Stability of a molecular trajectory by bond lengths (Fu et al. Eq. 9)."""
    deviation = max_bond_deviation(trajectory, bonds=bonds, reference_lengths=reference_lengths,
                                   species=species, cell=cell, pbc=pbc, tolerance_A=tolerance_A)
    return stability_from_flags(deviation > threshold_A, frame_interval_fs)


def rdf_window_stability(trajectory, reference_rdfs: Mapping, bin_edges,
                         frame_interval_fs: float, *, threshold: float,
                         window_fs: float = FU2023_RDF_WINDOW_FS, species=None, cell=None,
                         pbc=None, convention: str = "ase") -> StabilityResult:
    """Stability of a periodic trajectory by windowed RDFs (Fu et al. Eq. 8).

    reference_rdfs: ``{pair: g_ref}`` on ``bin_edges`` (pair ``None`` for the total RDF, e.g.
    LiPS; ``("O", "O")``, ``("H", "H")``, ``("H", "O")`` for water). A window fails when any
    pair's integrated absolute error exceeds ``threshold``. The window holds
    ``round(window_fs / frame_interval_fs)`` frames. ``convention`` must be the one the
    reference RDFs were computed with (``"fu2023"`` reproduces Fu et al.'s binning).
    """
    frames = replace(as_trajectory(trajectory, species, cell, pbc), as_torch=True)
    window = _window_frames(window_fs, frame_interval_fs)
    if frames.n_frames < window:
        raise ValueError(f"{frames.n_frames} frames are fewer than one window of {window}")
    edges = bin_edges_array(bin_edges)
    per_frame = radial_distributions(frames, edges, pairs=list(reference_rdfs),
                                     convention=convention, per_frame=True)
    failing = np.zeros(frames.n_frames - window + 1, dtype=bool)
    for pair, g in per_frame.items():
        cumulative = torch.cat([torch.zeros_like(g[:1]), torch.cumsum(g, dim=0)])
        window_means = ((cumulative[window:] - cumulative[:-window]) / window).cpu().numpy()
        failing |= integrated_absolute_error(window_means, reference_rdfs[pair], edges) > threshold
    flags = np.zeros(frames.n_frames, dtype=bool)
    flags[:failing.size] = failing
    return stability_from_flags(flags, frame_interval_fs)


def stability_from_flags(unstable, frame_interval_fs: float) -> StabilityResult:
    """:class:`StabilityResult` from per-frame instability flags (array or tensor)."""
    if isinstance(unstable, torch.Tensor):
        unstable = unstable.cpu().numpy()
    unstable = np.asarray(unstable, dtype=bool)
    if frame_interval_fs <= 0:
        raise ValueError("frame_interval_fs must be positive")
    first = int(np.argmax(unstable)) if unstable.any() else None
    last = unstable.size - 1 if first is None else first
    return StabilityResult(first, last * float(frame_interval_fs), unstable.size)


class BondLengthRule:
    """Stop rule: stop when a bond deviates more than ``threshold_A`` from its reference length.

    Bonds are found on the starting structure unless given. Reference lengths: given, or the
    mean length of each bond over ``reference_frames`` (positions ``(F, N, 3)`` in Å of the same
    atoms, e.g. the training data: Fu et al.'s rule, bonds of the first simulated frame against
    their mean over all reference frames), or else their lengths in the starting structure."""

    name = "bond_length"

    def __init__(self, threshold_A: float = FU2023_BOND_THRESHOLD_A, *, bonds=None,
                 reference_lengths=None, reference_frames=None,
                 tolerance_A: float = FU2023_BOND_TOLERANCE_A):
        if reference_lengths is not None and reference_frames is not None:
            raise ValueError("give reference_lengths or reference_frames, not both")
        self.threshold_A = threshold_A
        self.tolerance_A = tolerance_A
        self._given = (bonds, reference_lengths)
        self._reference_frames = None if reference_frames is None else \
            finite_array(reference_frames, "reference_frames", ndim=3)
        self.bonds = self.reference_lengths = None

    def start(self, atoms: Atoms) -> None:
        bonds, reference = self._given
        self.bonds = find_bonds(atoms, tolerance_A=self.tolerance_A) if bonds is None else \
            _bonds_array(bonds, len(atoms))
        if self.bonds.shape[0] == 0:
            raise ValueError("BondLengthRule found no bonds in the starting structure")
        if self._reference_frames is not None:
            if self._reference_frames.shape[1:] != (len(atoms), 3):
                raise ValueError(f"reference_frames hold {self._reference_frames.shape[1]} atoms, "
                                 f"the structure {len(atoms)}")
            reference = bond_lengths(self._reference_frames, self.bonds,
                                     species=atoms.numbers).mean(axis=0)
        self.reference_lengths = bond_lengths(atoms, self.bonds)[0] if reference is None else \
            finite_array(reference, "reference_lengths", ndim=1)

    def check(self, atoms: Atoms, step: int, time_fs: float) -> str | None:
        deviation = np.abs(bond_lengths(atoms, self.bonds)[0] - self.reference_lengths)
        worst = int(np.argmax(deviation))
        if deviation[worst] <= self.threshold_A:
            return None
        i, j = self.bonds[worst]
        return (f"bond {i}-{j} deviates {deviation[worst]:.3f} Å from its reference "
                f"{self.reference_lengths[worst]:.3f} Å (> {self.threshold_A} Å)")


class RDFWindowRule:
    """Stop rule: stop when the RDF over the last ``window_fs`` of sampled frames departs from
    the reference by more than ``threshold`` (integrated absolute error, any pair).

    Frames are sampled every ``sample_every_steps`` steps; the window holds
    ``round(window_fs / (sample_every_steps * dt_fs))`` samples and slides by one sample.
    ``reference_rdfs`` (``{pair: g_ref}``) must use ``bin_edges`` and ``convention``."""

    name = "rdf_window"

    def __init__(self, reference_rdfs: Mapping, bin_edges, *, threshold: float, dt_fs: float,
                 window_fs: float = FU2023_RDF_WINDOW_FS, sample_every_steps: int = 1,
                 convention: str = "ase"):
        self.reference_rdfs = dict(reference_rdfs)
        self.bin_edges = bin_edges_array(bin_edges)
        self.threshold = threshold
        self.sample_every_steps = int(sample_every_steps)
        self.window = _window_frames(window_fs, sample_every_steps * dt_fs)
        self.convention = convention
        self._recent: deque = deque(maxlen=self.window)

    def start(self, atoms: Atoms) -> None:
        as_trajectory(atoms).require_cell("RDFWindowRule")
        self._recent.clear()

    def check(self, atoms: Atoms, step: int, time_fs: float) -> str | None:
        if step % self.sample_every_steps:
            return None
        self._recent.append(radial_distributions(atoms, self.bin_edges,
                                                 pairs=list(self.reference_rdfs),
                                                 convention=self.convention))
        if len(self._recent) < self.window:
            return None
        for pair, reference in self.reference_rdfs.items():
            mean = np.mean([sample[pair] for sample in self._recent], axis=0)
            error = integrated_absolute_error(mean, reference, self.bin_edges)
            if error > self.threshold:
                return (f"RDF {pair or 'total'} over the last {self.window} samples departs "
                        f"from the reference by {error:.3f} (> {self.threshold})")
        return None


def _window_frames(window_fs: float, frame_interval_fs: float) -> int:
    if window_fs <= 0 or frame_interval_fs <= 0:
        raise ValueError("window_fs and the frame interval must be positive")
    return max(1, int(round(window_fs / frame_interval_fs)))


def _bond_lengths(frames: TrajectoryArrays, bonds) -> torch.Tensor:
    bonds = torch.as_tensor(_bonds_array(bonds, frames.n_atoms), device=frames.device)
    x = frames.positions_tensor
    vectors = x[:, bonds[:, 1]] - x[:, bonds[:, 0]]
    return torch.linalg.vector_norm(minimum_image(vectors, frames.cells_tensor, frames.pbc),
                                    dim=-1)


def _bonds_array(bonds, n_atoms: int) -> np.ndarray:
    if isinstance(bonds, torch.Tensor):
        bonds = bonds.cpu().numpy()
    bonds = np.asarray(bonds, dtype=int).reshape(-1, 2)
    if bonds.size and (bonds.min() < 0 or bonds.max() >= n_atoms):
        raise ValueError(f"bond indices must lie in [0, {n_atoms})")
    return bonds


__all__ = ["StabilityResult", "find_bonds", "bond_lengths", "max_bond_deviation",
           "bond_stability", "rdf_window_stability", "stability_from_flags", "BondLengthRule",
           "RDFWindowRule", "FU2023_BOND_TOLERANCE_A", "FU2023_BOND_THRESHOLD_A",
           "FU2023_RDF_THRESHOLD", "FU2023_RDF_WINDOW_FS"]
