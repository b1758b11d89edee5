r"""Free-energy surfaces from angle histograms (Fu et al. 2023, App. C Eq. 5-7).

``F(xi) = -kT ln p(xi)``, with p the histogram density of a coordinate xi (e.g. the backbone
dihedrals phi, psi of alanine dipeptide), shifted so that min F = 0. kT sets the unit of F
(:func:`thermal_energy`: eV, kJ/mol or kcal/mol). Empty bins have F = +inf.

MAE (Eq. 6-7): ``integral_{-pi}^{pi} |F(phi) - F_hat(phi)| dphi``, summed over bins times their
width in radians (:func:`free_energy_mae`). Fu et al. compute their 1-D profiles by
marginalising the 2-D surface from PLUMED (:func:`marginal_free_energy`) and integrate with
``mean(|dF|) * 6.28``.
"""

from __future__ import annotations

import numpy as np
from ase import units

from ._inputs import as_trajectory, bin_edges_array, finite_array
from .comparison import integrated_absolute_error
from .pairs import minimum_image

KT_UNITS_PER_EV = {"eV": 1.0, "kJ/mol": units.mol / units.kJ, "kcal/mol": units.mol / units.kcal}
ANGLE_BIN_EDGES_60 = np.linspace(-np.pi, np.pi, 61)   # Fu et al.: 60 x 60 grid over [-pi, pi)


def thermal_energy(T_K: float, unit: str = "eV") -> float:
    """kT at ``T_K`` kelvin in ``unit`` (``"eV"``, ``"kJ/mol"`` or ``"kcal/mol"``)."""
    if unit not in KT_UNITS_PER_EV:
        raise ValueError(f"unit must be one of {list(KT_UNITS_PER_EV)}, got {unit!r}")
    if T_K <= 0:
        raise ValueError("temperature must be positive")
    return float(units.kB * T_K * KT_UNITS_PER_EV[unit])


def dihedral_angles(trajectory, quadruplets, species=None, cell=None, pbc=None) -> np.ndarray:
    """Dihedral angles in radians, in [-pi, pi], of atom quadruplets (a, b, c, d).

    quadruplets: ``(4,)`` or ``(Q, 4)`` indices; returns ``(F,)`` or ``(F, Q)``. Bond vectors
    are taken at the minimum image when the trajectory is periodic. Sign convention (IUPAC, as
    MDAnalysis and PLUMED): positive for a clockwise rotation of d about b->c seen from b.
    """
    frames = as_trajectory(trajectory, species, cell, pbc)
    quads = np.asarray(quadruplets, dtype=int)
    single = quads.ndim == 1
    quads = quads.reshape(-1, 4)
    if quads.min() < 0 or quads.max() >= frames.n_atoms:
        raise ValueError(f"quadruplet indices must lie in [0, {frames.n_atoms})")
    x = frames.positions
    b1, b2, b3 = (minimum_image(x[:, quads[:, k + 1]] - x[:, quads[:, k]], frames.cells,
                                frames.pbc) for k in range(3))
    n1, n2 = np.cross(b1, b2), np.cross(b2, b3)
    y = np.linalg.norm(b2, axis=-1) * np.sum(b1 * n2, axis=-1)
    angles = np.arctan2(y, np.sum(n1 * n2, axis=-1))
    return angles[:, 0] if single else angles


def free_energy_1d(values, bin_edges, kT: float) -> np.ndarray:
    """``F = -kT ln p`` on the bins of one coordinate; min F = 0, empty bins +inf."""
    values = finite_array(values, "values").ravel()
    edges = bin_edges_array(bin_edges)
    counts, _ = np.histogram(values, edges)
    return _free_energy(counts / np.diff(edges), kT)


def free_energy_2d(x, y, x_edges, y_edges, kT: float) -> np.ndarray:
    """``F(x, y) = -kT ln p(x, y)``, shape ``(len(x_edges) - 1, len(y_edges) - 1)``."""
    x = finite_array(x, "x").ravel()
    y = finite_array(y, "y").ravel()
    if x.shape != y.shape:
        raise ValueError(f"x has {x.size} values, y {y.size}")
    x_edges, y_edges = bin_edges_array(x_edges, "x_edges"), bin_edges_array(y_edges, "y_edges")
    counts, _, _ = np.histogram2d(x, y, [x_edges, y_edges])
    area = np.outer(np.diff(x_edges), np.diff(y_edges))
    return _free_energy(counts / area, kT)


def marginal_free_energy(free_energy_2d_grid, kT: float, *, keep_axis: int) -> np.ndarray:
    """1-D profile from a 2-D surface: ``-kT ln sum_other exp(-F / kT)``, min 0 (Fu et al.'s
    ``get_pmf``; equal-width bins assumed). ``keep_axis`` is the axis of the coordinate kept."""
    grid = np.asarray(free_energy_2d_grid, dtype=float)
    if grid.ndim != 2 or np.isnan(grid).any() or np.isneginf(grid).any():
        raise ValueError("expected a 2-D grid of free energies without NaN or -inf")
    weights = np.exp(-(grid - grid[np.isfinite(grid)].min()) / kT)
    return _free_energy(weights.sum(axis=1 - keep_axis), kT)


def free_energy_mae(free_energy, reference, bin_edges, *, on_empty: str = "raise") -> float:
    """Integrated absolute difference of two 1-D profiles (Fu et al. Eq. 6-7), in units of F
    times the coordinate (radians for angles).

    on_empty: bins where either profile is +inf (never visited) make the integral infinite;
    ``"raise"`` says so, ``"ignore"`` integrates over the bins where both are finite.
    """
    f = np.asarray(free_energy, dtype=float)
    ref = np.asarray(reference, dtype=float)
    if f.shape != ref.shape or f.ndim != 1:
        raise ValueError(f"free energies must be 1-D and alike, got {f.shape} and {ref.shape}")
    finite = np.isfinite(f) & np.isfinite(ref)
    if not finite.all():
        if on_empty == "raise":
            raise ValueError(f"{int((~finite).sum())} bins are empty in one profile; use "
                             "coarser bins, more sampling, or on_empty='ignore'")
        if on_empty != "ignore":
            raise ValueError(f"on_empty must be 'raise' or 'ignore', got {on_empty!r}")
    return integrated_absolute_error(np.where(finite, f, 0.0), np.where(finite, ref, 0.0),
                                     bin_edges)


def _free_energy(density: np.ndarray, kT: float) -> np.ndarray:
    if kT <= 0:
        raise ValueError("kT must be positive")
    if not np.any(density > 0):
        raise ValueError("no samples fall inside the bins")
    with np.errstate(divide="ignore"):
        energy = -kT * np.log(density)
    return energy - energy[np.isfinite(energy)].min()
