"""Heads that turn per-atom features into predictions.

* :class:`EnergyHead` — the main (primary) head: per-atom MLP on the invariant features,
  scaled and shifted, plus per-element reference energies, summed per structure. Forces and
  stress are derivatives of its energy, taken by :class:`~mlffkit.models.Potential`.
* :class:`PriorHead` — the same architecture with its own weights and statistics, trained on a
  cheap prior's energies and forces (Kreiman & Krishnapriyan, test-time training).

Heads that serve one paper live in its package (FRAMES' displacement head:
:mod:`mlffkit.papers.frames.heads`).

Normalisation statistics are buffers: fitted from training data by ``fit_normalisation`` and
saved in the checkpoint with the weights; nothing is hard-coded per dataset.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from e3nn import o3
from torch import nn

from ._common import MLP, num_scalars, scalar_indices, scatter_sum

__all__ = ["EnergyHead", "PriorHead"]


class EnergyHead(nn.Module):
    """Per-atom energies from invariant features, summed per structure.

    ``E = sum_i [scale * MLP(h_i^0e) + shift + E_ref(Z_i)]`` where ``h^0e`` are the even scalar
    channels of the features; ``scale``, ``shift`` (eV) and ``E_ref`` (eV per element) are
    buffers set by :meth:`fit_normalisation`.
    """

    def __init__(self, irreps_in, hidden: Sequence[int] = (64,), activation: str = "silu", max_z: int = 100):
        super().__init__()
        self.irreps_in = o3.Irreps(irreps_in)
        n_in = num_scalars(self.irreps_in)
        if n_in == 0:
            raise ValueError(f"{type(self).__name__} needs even scalars (0e) in {self.irreps_in}")
        self.hparams = dict(hidden=[int(h) for h in hidden], activation=activation)
        self.register_buffer("scalar_index", scalar_indices(self.irreps_in), persistent=False)
        self.mlp = MLP([n_in, *self.hparams["hidden"], 1], act=activation)
        self.register_buffer("scale", torch.tensor(1.0))
        self.register_buffer("shift", torch.tensor(0.0))
        self.register_buffer("element_energy", torch.zeros(max_z + 1))

    def atomic_energies(self, features: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
        """(N,) energy of each atom in eV."""
        out = self.mlp(features.index_select(-1, self.scalar_index)).squeeze(-1)
        return self.scale * out + self.shift + self.element_energy[numbers]

    def forward(self, features: torch.Tensor, numbers: torch.Tensor, batch: torch.Tensor, n_structures: int):
        """(B,) energy of each structure in eV."""
        return scatter_sum(self.atomic_energies(features, numbers), batch, n_structures)

    @torch.no_grad()
    def fit_normalisation(self, energies, numbers_per_structure, forces=None) -> dict:
        """Fit the per-element reference energies, shift and scale from training data.

        Args:
            energies: (S,) total energies (eV) of S structures.
            numbers_per_structure: S arrays of atomic numbers.
            forces: optional forces (eV/Å): S arrays (N_s, 3) or one (sum N_s, 3) array.

        Reference energies are the least-squares (minimum-norm) solution of
        ``E_s = sum_z count_s(z) E_ref(z)``; ``shift`` is the mean residual per atom; ``scale`` is
        the root mean square force component when forces are given, else the standard deviation
        of the per-atom residual energy. Returns the fitted values.
        """
        energies = np.asarray(energies, dtype=np.float64).reshape(-1)
        numbers = [np.asarray(z, dtype=np.int64).reshape(-1) for z in numbers_per_structure]
        if len(numbers) != len(energies):
            raise ValueError(f"{len(energies)} energies for {len(numbers)} structures")
        max_z = self.element_energy.shape[0] - 1
        if max(int(z.max()) for z in numbers) > max_z:
            raise ValueError(f"atomic number above max_z={max_z}")
        counts = np.zeros((len(numbers), max_z + 1))
        for s, z in enumerate(numbers):
            np.add.at(counts[s], z, 1.0)
        present = np.flatnonzero(counts.sum(0))
        refs = np.zeros(max_z + 1)
        refs[present] = np.linalg.lstsq(counts[:, present], energies, rcond=None)[0]
        residual = energies - counts @ refs
        n_atoms = counts.sum(1)
        shift = residual.sum() / n_atoms.sum()
        if forces is not None:
            f = np.concatenate([np.asarray(x, dtype=np.float64).reshape(-1, 3) for x in forces]) if (
                isinstance(forces, (list, tuple))
            ) else np.asarray(forces, dtype=np.float64)
            scale = float(np.sqrt(np.mean(f**2)))
        else:
            scale = float(np.std((residual - shift * n_atoms) / np.sqrt(n_atoms)))
        if not np.isfinite(scale) or scale <= 0:
            scale = 1.0
        self.element_energy.copy_(torch.as_tensor(refs, dtype=self.element_energy.dtype))
        self.shift.fill_(shift)
        self.scale.fill_(scale)
        return {
            "element_energy": {int(z): float(refs[z]) for z in present},
            "shift": float(shift),
            "scale": scale,
        }


class PriorHead(EnergyHead):
    """Energy (and, by autograd, forces) of a cheap physical prior from the shared representation.

    Same form as :class:`EnergyHead` with its own weights and statistics. In test-time training
    the representation is updated on the prior loss while this head stays frozen
    (``Potential.parameter_groups()['prior_head']``).
    """
