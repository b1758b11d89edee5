"""Scales that put energy, force and displacement errors on a normalised footing.

FRAMES §3.3 normalises every ground-truth energy and force before the loss. With the
Equiformer MD17 recipe that FRAMES builds on, ``E -> (E - mean) / std`` and ``F -> F / std``
with the *same* ``std`` (of the training energies). The mean cancels in a residual, so a loss
on normalised targets equals a loss on residuals divided by the scale; the losses in
:mod:`mlffkit.training.losses` therefore take the scales and leave the model's outputs in
physical units (eV, eV/Å, Å).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class TargetScales:
    """Divisors of the energy (eV), force (eV/Å) and displacement (Å) residuals."""

    energy: float = 1.0
    forces: float = 1.0
    displacement: float = 1.0

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"scale {name!r} must be positive and finite, got {value}")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


FORCE_SCALE_MODES = ("energy_std", "force_rms")


def fit_target_scales(energies, forces=None, displacements=None,
                      force_scale: str = "energy_std") -> TargetScales:
    """Scales from training labels.

    ``energies``: (n_structures,) eV. ``forces``: any array of force components (eV/Å),
    needed for ``force_scale="force_rms"``. ``displacements``: optional next-frame
    displacements (Å); their RMS becomes the displacement scale (FRAMES normalises only
    energies and forces, so leave it out to reproduce the paper).
    ``force_scale="energy_std"`` (the Equiformer/FRAMES recipe) reuses the energy std for the
    forces; ``"force_rms"`` uses the RMS force component."""
    if force_scale not in FORCE_SCALE_MODES:
        raise ValueError(f"force_scale must be one of {FORCE_SCALE_MODES}, got {force_scale!r}")
    energy_std = float(np.std(np.asarray(energies, dtype=float)))
    if force_scale == "force_rms":
        if forces is None:
            raise ValueError("force_scale='force_rms' needs forces")
        force = float(np.sqrt(np.mean(np.square(np.asarray(forces, dtype=float)))))
    else:
        force = energy_std
    displacement = 1.0 if displacements is None else float(
        np.sqrt(np.mean(np.square(np.asarray(displacements, dtype=float)))))
    return TargetScales(energy=energy_std, forces=force, displacement=displacement)
