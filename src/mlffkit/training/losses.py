"""Losses as plain functions of predictions and labels.

Every error is divided by its scale (:class:`~mlffkit.training.normalisation.TargetScales`)
first, which equals a loss on normalised targets (FRAMES §3.3). Reductions:

- energy: mean over the structures of the batch (per-structure total energy, or per atom
  with ``n_atoms``);
- ``*_l2`` vector losses (forces, displacements): the Euclidean norm of each atom's error
  vector, averaged over the atoms of the batch: ``mean_i ||F_i - F̂_i||_2``. This is how
  Equiformer's ``L2MAELoss`` (which FRAMES trains with) reads FRAMES Eq. 3 and Eq. 5;
- ``*_mse`` losses: mean of the squared components (over structures, or atoms x 3).

A batch's mean over atoms weights each atom once, so batches of molecules of one size (MD17,
ISO17) give every structure equal weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch
from torch import Tensor

ENERGY_LOSSES = ("l1", "mse")
FORCE_LOSSES = ("l2", "mse")


@dataclass(frozen=True)
class LossWeights:
    """λ_E, λ_F of the primary loss and the *initial* λ_aux of the auxiliary loss."""

    energy: float = 1.0
    forces: float = 1.0
    aux: float = 0.0


def _energy_residual(pred: Tensor, target: Tensor, scale: float, n_atoms: Tensor | None
                     ) -> Tensor:
    residual = (pred - target) / scale
    return residual if n_atoms is None else residual / n_atoms


def energy_l1(pred: Tensor, target: Tensor, scale: float = 1.0,
              n_atoms: Tensor | None = None) -> Tensor:
    """``mean |Ê - E| / scale`` over structures (divided by ``n_atoms`` when given)."""
    return _energy_residual(pred, target, scale, n_atoms).abs().mean()


def energy_mse(pred: Tensor, target: Tensor, scale: float = 1.0,
               n_atoms: Tensor | None = None) -> Tensor:
    """``mean ((Ê - E) / scale)^2`` over structures (divided by ``n_atoms`` when given)."""
    return _energy_residual(pred, target, scale, n_atoms).square().mean()


def vector_l2(pred: Tensor, target: Tensor, scale: float = 1.0) -> Tensor:
    """``mean_i ||v̂_i - v_i||_2 / scale`` for per-atom vectors of shape (N, 3)."""
    return torch.linalg.vector_norm((pred - target) / scale, dim=-1).mean()


def vector_mse(pred: Tensor, target: Tensor, scale: float = 1.0) -> Tensor:
    """Mean of the squared components of ``(v̂ - v) / scale``."""
    return ((pred - target) / scale).square().mean()


def force_l2(pred: Tensor, target: Tensor, scale: float = 1.0) -> Tensor:
    """Per-atom L2 force error averaged over atoms (the force term of FRAMES Eq. 3)."""
    return vector_l2(pred, target, scale)


def force_mse(pred: Tensor, target: Tensor, scale: float = 1.0) -> Tensor:
    """Mean squared force component error."""
    return vector_mse(pred, target, scale)


def displacement_l2(pred: Tensor, target: Tensor, scale: float = 1.0) -> Tensor:
    """FRAMES Eq. 5: ``||Δp̂_t - Δp_t||_2`` per atom, averaged over atoms."""
    return vector_l2(pred, target, scale)


def energy_loss(kind: str, pred: Tensor, target: Tensor, scale: float = 1.0,
                n_atoms: Tensor | None = None) -> Tensor:
    """``energy_l1`` or ``energy_mse`` by name."""
    if kind not in ENERGY_LOSSES:
        raise ValueError(f"energy loss must be one of {ENERGY_LOSSES}, got {kind!r}")
    return (energy_l1 if kind == "l1" else energy_mse)(pred, target, scale, n_atoms)


def force_loss(kind: str, pred: Tensor, target: Tensor, scale: float = 1.0) -> Tensor:
    """``force_l2`` or ``force_mse`` by name."""
    if kind not in FORCE_LOSSES:
        raise ValueError(f"force loss must be one of {FORCE_LOSSES}, got {kind!r}")
    return (force_l2 if kind == "l2" else force_mse)(pred, target, scale)


def energy_force_loss(prediction: Mapping[str, Tensor], energy: Tensor, forces: Tensor,
                      weights: LossWeights, energy_scale: float = 1.0,
                      force_scale: float = 1.0, energy_kind: str = "l1",
                      force_kind: str = "l2", n_atoms: Tensor | None = None
                      ) -> tuple[Tensor, dict[str, Tensor]]:
    """One frame's ``λ_E L_E + λ_F L_F`` (the summand of FRAMES Eq. 3); also the ablation's
    auxiliary loss ``L'_aux`` on the next frame (FRAMES §4, Table 3).

    ``prediction`` holds ``energy`` (B,) and ``forces`` (N, 3). Returns the weighted loss and
    its unweighted parts ``{"energy_loss": L_E, "force_loss": L_F}``."""
    parts = {"energy_loss": energy_loss(energy_kind, prediction["energy"], energy,
                                        energy_scale, n_atoms),
             "force_loss": force_loss(force_kind, prediction["forces"], forces, force_scale)}
    return weights.energy * parts["energy_loss"] + weights.forces * parts["force_loss"], parts


def window_average(losses: list[Tensor]) -> Tensor:
    """``1/T Σ_t'`` of per-frame losses over a window (FRAMES Eq. 3)."""
    if not losses:
        raise ValueError("a window needs at least one frame")
    return torch.stack(losses).mean()
