"""Energy and force errors on static structures (eV, eV/Å in; same units out).

Force errors come in two conventions, named by ``convention``:

- ``"component"``: over all ``3 N`` Cartesian components of all frames,
  ``MAE = mean |F_pred - F_ref|`` and ``RMSE = sqrt(mean (F_pred - F_ref)^2)``. This is what
  NequIP, MACE, Fu et al. and EGraFFBench report as force MAE.
- ``"atom_norm"``: over atoms, using the length of each atom's error vector,
  ``MAE = mean_i |F_pred,i - F_ref,i|_2`` and ``RMSE = sqrt(mean_i |F_pred,i - F_ref,i|_2^2)``
  (= sqrt(3) times the component RMSE).

Energy errors are per structure; ``n_atoms`` divides each structure's error by its size first
(per-atom energy error). Inputs may be arrays or torch tensors on any device (computed there in
float64); every error is returned as a float.
"""

from __future__ import annotations

import torch

from ._inputs import finite_tensor, matching_tensors

FORCE_ERROR_CONVENTIONS = ("component", "atom_norm")


def energy_mae(predicted, reference, *, n_atoms=None) -> float:
    """Mean absolute energy error (eV, or eV/atom with ``n_atoms``)."""
    return float(torch.mean(torch.abs(_energy_errors(predicted, reference, n_atoms))))


def energy_rmse(predicted, reference, *, n_atoms=None) -> float:
    """Root-mean-square energy error (eV, or eV/atom with ``n_atoms``)."""
    return float(torch.sqrt(torch.mean(_energy_errors(predicted, reference, n_atoms) ** 2)))


def force_mae(predicted, reference, *, convention: str = "component") -> float:
    """Mean absolute force error, eV/Å; ``predicted``/``reference`` are ``(..., N, 3)``."""
    return float(torch.mean(_force_error_magnitudes(predicted, reference, convention)))


def force_rmse(predicted, reference, *, convention: str = "component") -> float:
    """Root-mean-square force error, eV/Å; ``predicted``/``reference`` are ``(..., N, 3)``."""
    return float(torch.sqrt(torch.mean(_force_error_magnitudes(predicted, reference,
                                                                convention) ** 2)))


def energy_force_errors(energy_pred, energy_ref, forces_pred, forces_ref, *,
                        n_atoms=None) -> dict[str, float]:
    """All energy and force errors under every convention, keyed by name with units."""
    errors = {"energy_mae_eV": energy_mae(energy_pred, energy_ref),
              "energy_rmse_eV": energy_rmse(energy_pred, energy_ref)}
    if n_atoms is not None:
        errors["energy_mae_eV_per_atom"] = energy_mae(energy_pred, energy_ref, n_atoms=n_atoms)
        errors["energy_rmse_eV_per_atom"] = energy_rmse(energy_pred, energy_ref, n_atoms=n_atoms)
    for convention in FORCE_ERROR_CONVENTIONS:
        errors[f"force_mae_{convention}_eV_per_A"] = force_mae(forces_pred, forces_ref,
                                                               convention=convention)
        errors[f"force_rmse_{convention}_eV_per_A"] = force_rmse(forces_pred, forces_ref,
                                                                 convention=convention)
    return errors


def _energy_errors(predicted, reference, n_atoms) -> torch.Tensor:
    predicted, reference = matching_tensors(predicted, reference,
                                            ("predicted energies", "reference energies"))
    errors = torch.atleast_1d(predicted - reference)
    if errors.ndim != 1:
        raise ValueError(f"energies: expected 1 dimension, got shape {tuple(errors.shape)}")
    if n_atoms is None:
        return errors
    n_atoms = torch.broadcast_to(finite_tensor(n_atoms, "n_atoms", device=errors.device),
                                 errors.shape)
    if bool((n_atoms <= 0).any()):
        raise ValueError("n_atoms must be positive")
    return errors / n_atoms


def _force_error_magnitudes(predicted, reference, convention: str) -> torch.Tensor:
    if convention not in FORCE_ERROR_CONVENTIONS:
        raise ValueError(f"convention must be one of {FORCE_ERROR_CONVENTIONS}, "
                         f"got {convention!r}")
    predicted, reference = matching_tensors(predicted, reference,
                                            ("predicted forces", "reference forces"))
    if predicted.shape[-1] != 3:
        raise ValueError(f"forces must end in a Cartesian axis of 3, got "
                         f"{tuple(predicted.shape)}")
    difference = predicted - reference
    if convention == "component":
        return torch.abs(difference)
    return torch.linalg.vector_norm(difference, dim=-1)
