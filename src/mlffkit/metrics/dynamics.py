r"""Dynamics observables: EGraFFBench's energy and force violation, RMSD, mean squared
displacement, diffusivity and the kinetic temperature.

EGraFFBench Eq. 4, for a predicted (hat) and a ground-truth trajectory at the same times::

    EV(t) = (E_hat(t) - E(t))^2 / (E_hat(t)^2 + E(t)^2)
    FV(t) = |F(t) - F_hat(t)|_2 / (|F(t)|_2 + |F_hat(t)|_2)     (norms over all atoms and axes)

FV lies in [0, 1] by the triangle inequality. EV lies in [0, 1] when E_hat and E have the same
sign (total energies of bound systems); for opposite signs it reaches up to 2 (E_hat = -E), so
Eq. 4's stated bound needs energies that are not shifted across zero. Both are 0 when prediction
and truth agree (0/0 is read as 0). The paper summarises each series by its geometric mean
(:func:`geometric_mean`).

Diffusivity, Fu et al. App. C Eq. 4: ``D = lim_{t->inf} MSD(t) / (6 t)``. Two estimators, named:
``"slope"`` fits MSD(t) = 6 D t + c over a window in the linear (diffusive) regime;
``"msd_over_6t"`` is MSD(t)/(6 t) at the end of the window, as Fu et al.'s code reports it.
Units: Å^2/fs; multiply by :data:`ANGSTROM2_PER_FS_TO_CM2_PER_S` for cm^2/s or by
:data:`ANGSTROM2_PER_FS_TO_1E9_M2_PER_S` for the 10^-9 m^2/s of Fu et al.'s tables.

EV, FV, RMSD, MSD and unwrapping compute in float64 torch on the device of their input and
return numpy for numpy (or Atoms) input, tensors on the input's device for tensor input;
EV and FV take any leading batch axes (runs, frames). Scalar summaries (geometric mean,
diffusivity) are floats.
"""

from __future__ import annotations

import numpy as np
import torch
from ase import units
from ase.data import atomic_masses

from mlffkit.units import ASE_VELOCITY_TO_ANGSTROM_PER_FS

from ._inputs import (TrajectoryArrays, as_trajectory, element_number, finite_tensor,
                      matching_tensors, returns_torch, to_output)
from .pairs import minimum_image

ANGSTROM2_PER_FS_TO_CM2_PER_S = 0.1          # 1 Å^2 = 1e-16 cm^2, 1 fs = 1e-15 s
ANGSTROM2_PER_FS_TO_M2_PER_S = 1e-5          # 1 Å^2 = 1e-20 m^2
ANGSTROM2_PER_FS_TO_1E9_M2_PER_S = 1e4       # in units of 1e-9 m^2/s (Fu et al. Tables 4, 6)
DIFFUSIVITY_METHODS = ("slope", "msd_over_6t")


def energy_violation(energy_predicted, energy_reference):
    """EV(t) per frame (EGraFFBench Eq. 4); energies ``(T,)`` (or ``(..., T)``) in any one
    unit."""
    e_hat, e = matching_tensors(energy_predicted, energy_reference,
                                ("energy_predicted", "energy_reference"))
    e_hat, e = torch.atleast_1d(e_hat), torch.atleast_1d(e)
    return to_output(_ratio((e_hat - e) ** 2, e_hat ** 2 + e ** 2),
                     returns_torch(energy_predicted, energy_reference))


def force_violation(forces_predicted, forces_reference):
    """FV(t) per frame (EGraFFBench Eq. 4); forces ``(T, N, 3)`` (or ``(..., T, N, 3)``),
    norms over atoms and axes."""
    f_hat, f = matching_tensors(forces_predicted, forces_reference,
                                ("forces_predicted", "forces_reference"), min_ndim=3)
    norm = lambda x: torch.sqrt(torch.sum(x ** 2, dim=(-2, -1)))  # noqa: E731
    return to_output(_ratio(norm(f - f_hat), norm(f) + norm(f_hat)),
                     returns_torch(forces_predicted, forces_reference))


def geometric_mean(values) -> float:
    """``exp(mean(log x))`` of non-negative values (array or tensor); 0 if any value is 0."""
    values = finite_tensor(values, "values", ndim=1)
    if bool((values < 0).any()):
        raise ValueError("a geometric mean needs non-negative values")
    if bool((values == 0).any()):
        return 0.0
    return float(torch.exp(torch.mean(torch.log(values))))


def rmsd(trajectory, reference=None, *, align: bool = False) -> np.ndarray:
    """Root-mean-square deviation (Å) of every frame from ``reference`` (default: frame 0).

    ``sqrt(mean_i |x_i(t) - x_i,ref|^2)``; with ``align=True`` both are centred and each frame
    is optimally rotated onto the reference first (Kabsch), so only internal motion counts.
    Positions are used as given: unwrap periodic trajectories first (:func:`unwrap_positions`).
    """
    frames = as_trajectory(trajectory)
    positions = frames.positions_tensor
    ref = positions[0] if reference is None else \
        as_trajectory(reference, name="reference").positions_tensor.to(frames.device)
    if ref.ndim == 3:
        if ref.shape[0] != 1:
            raise ValueError("reference must be a single frame (N, 3)")
        ref = ref[0]
    if ref.shape != positions.shape[1:]:
        raise ValueError(f"reference has {ref.shape[0]} atoms, trajectory {positions.shape[1]}")
    if align:
        positions, ref = _kabsch_align(positions, ref)
    return to_output(torch.sqrt(torch.mean(torch.sum((positions - ref) ** 2, dim=-1), dim=-1)),
                     returns_torch(trajectory, reference))


def unwrap_positions(trajectory, species=None, cell=None, pbc=None) -> np.ndarray:
    """Continuous positions ``(F, N, 3)`` from wrapped ones: frame-to-frame displacements are
    taken at their minimum image, so no atom may move half a cell between frames."""
    frames = as_trajectory(trajectory, species, cell, pbc)
    cells = frames.require_cell("unwrap_positions")
    x = frames.positions_tensor
    steps = minimum_image(torch.diff(x, dim=0), cells[1:], frames.pbc)
    return frames.output(torch.cat([x[:1], x[:1] + torch.cumsum(steps, dim=0)]))


def mean_squared_displacement(trajectory, *, atoms=None, species=None, remove_drift: bool = True,
                              time_origins: str = "all") -> np.ndarray:
    """MSD(lag) in Å^2 for lags of 0, 1, ..., F-1 frames, averaged over the tracked atoms.

    trajectory: unwrapped positions (see :func:`unwrap_positions`).
    atoms: indices, or an element (e.g. ``"O"`` or ``3``) to track; default all atoms.
    remove_drift: subtract the mean position of the tracked atoms in every frame, as Fu et al.'s
    code does (removes centre-of-mass drift for one-element selections).
    time_origins: ``"all"`` averages over every time origin (FFT, O(F log F); Fu et al.'s
    ``get_smoothed_diff``); ``"first"`` uses frame 0 only (their ``get_diffusivity_traj``).
    """
    frames = _tracked_atoms(as_trajectory(trajectory, species), atoms)
    positions = frames.positions_tensor
    if remove_drift:
        positions = positions - positions.mean(dim=1, keepdim=True)
    if time_origins == "first":
        return frames.output(torch.mean(torch.sum((positions - positions[0]) ** 2, dim=-1),
                                        dim=-1))
    if time_origins != "all":
        raise ValueError(f"time_origins must be 'all' or 'first', got {time_origins!r}")
    return frames.output(_msd_all_origins(positions))


def diffusivity(msd, frame_interval_fs: float, *, window_fs: tuple[float, float],
                method: str = "slope") -> float:
    """Self-diffusion coefficient D in Å^2/fs from an MSD curve (lags 0, 1, ... frames).

    window_fs: ``(start, end)`` lag times in fs. ``"slope"``: D = slope / 6 of a least-squares
    line through MSD over the window (choose it inside the linear regime). ``"msd_over_6t"``:
    D = MSD(end) / (6 end) (Fu et al.'s estimator). ``msd`` may be a tensor on any device: the
    fit of this one curve runs on the CPU (numpy's polyfit).
    """
    msd = finite_tensor(msd, "msd", ndim=1).cpu().numpy()
    if method not in DIFFUSIVITY_METHODS:
        raise ValueError(f"method must be one of {DIFFUSIVITY_METHODS}, got {method!r}")
    if frame_interval_fs <= 0:
        raise ValueError("frame_interval_fs must be positive")
    lag_fs = np.arange(msd.size) * frame_interval_fs
    start, end = window_fs
    inside = (lag_fs >= start) & (lag_fs <= end) & (lag_fs > 0)
    if method == "msd_over_6t":
        last = np.flatnonzero(inside)
        if last.size == 0:
            raise ValueError(f"no positive lag inside window {window_fs} fs")
        return float(msd[last[-1]] / (6.0 * lag_fs[last[-1]]))
    if inside.sum() < 2:
        raise ValueError(f"window {window_fs} fs holds fewer than two lags")
    slope = np.polyfit(lag_fs[inside], msd[inside], 1)[0]
    return float(slope / 6.0)


def kinetic_temperature(numbers, velocities, *, removed_dof: int) -> np.ndarray | float:
    """Instantaneous temperature (K) of velocities ``(..., N, 3)`` in Å/fs:
    ``2 K / (k_B (3N - removed_dof))``.

    ``removed_dof`` is explicit because the conventions differ: 0 gives ASE's
    ``Atoms.get_temperature()`` without constraints (3N, EGraFFBench's temperatures); 3 a
    molecule whose centre of mass is held (``FixCom``: 3N - 3, the generated sets). One frame
    gives a float, a stack of frames an array.
    """
    masses = atomic_masses[np.asarray(numbers)]
    v_ase = np.asarray(velocities, dtype=float) / ASE_VELOCITY_TO_ANGSTROM_PER_FS
    kinetic = 0.5 * np.einsum("i,...ij,...ij->...", masses, v_ase, v_ase)
    dof = 3 * len(masses) - removed_dof
    temperature = 2.0 * kinetic / (dof * units.kB)
    return float(temperature) if temperature.ndim == 0 else temperature


def _ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """numerator / denominator, 0 where the denominator is 0 (0/0 read as 0)."""
    positive = denominator > 0
    return torch.where(positive, numerator / torch.where(positive, denominator, 1.0), 0.0)


def _kabsch_align(positions: torch.Tensor, ref: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre both and rotate every frame onto ``ref`` (proper rotations only)."""
    ref = ref - ref.mean(dim=0)
    p = positions - positions.mean(dim=1, keepdim=True)
    u, _, vt = torch.linalg.svd(torch.einsum("fni,nj->fij", p, ref))
    d = torch.sign(torch.linalg.det(u @ vt))
    u[:, :, -1] *= d[:, None]
    return torch.einsum("fni,fij->fnj", p, u @ vt), ref


def _tracked_atoms(frames: TrajectoryArrays, atoms) -> TrajectoryArrays:
    if atoms is None:
        return frames
    if isinstance(atoms, torch.Tensor):
        atoms = atoms.cpu().numpy()
        atoms = atoms.item() if atoms.ndim == 0 else atoms
    if isinstance(atoms, (str, int, np.integer)):
        numbers = frames.require_numbers("selecting atoms by element")
        selected = np.flatnonzero(numbers == element_number(atoms))
        if selected.size == 0:
            raise ValueError(f"no atoms of element {atoms!r}")
        return frames.select(selected)
    indices = np.asarray(atoms, dtype=int)
    if indices.ndim != 1 or indices.size == 0 or indices.max() >= frames.n_atoms:
        raise ValueError("atoms must be a non-empty list of valid atom indices")
    return frames.select(indices)


def _msd_all_origins(positions: torch.Tensor) -> torch.Tensor:
    """MSD averaged over time origins via FFT: MSD(m) = S1(m) - 2 S2(m) (Calandrini et al.)."""
    n = positions.shape[0]
    squared = torch.sum(positions ** 2, dim=-1)                     # (F, N)
    remaining = (n - torch.arange(n, device=positions.device)).to(positions.dtype)[:, None]
    padded = torch.fft.rfft(positions, n=2 * n, dim=0)
    s2 = torch.fft.irfft(torch.sum(padded * padded.conj(), dim=-1), n=2 * n, dim=0)[:n]
    s2 = s2 / remaining
    total = 2.0 * squared.sum(dim=0)
    zero = torch.zeros_like(squared[:1])
    cumulative_head = torch.cat([zero, torch.cumsum(squared, dim=0)[:-1]])
    cumulative_tail = torch.cat([zero, torch.cumsum(squared.flip(0), dim=0)[:-1]])
    s1 = (total - cumulative_head - cumulative_tail) / remaining
    msd = torch.clamp(torch.mean(s1 - 2.0 * s2, dim=-1), min=0.0)  # FFT round-off can dip < 0
    msd[0] = 0.0
    return msd
