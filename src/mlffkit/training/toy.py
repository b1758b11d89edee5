"""A tiny stand-in potential and reference trajectory that follow the model contract.

For self-checks of the training machinery (tests, ``mlffkit.papers.frames.ddp_check``)
without the real models: :class:`PairPotential` takes the same ``AtomsBatch`` and has the
methods of ``mlffkit.models.Potential`` (``forward(batch, forces, stress)``,
``parameter_groups``). Not a model to use.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from mlffkit.data.atoms import AtomsBatch, AtomsData


def pairs(batch: AtomsBatch, pos: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """All ordered pairs (i, j), i != j, within each structure, and r_ij = r_i - r_j."""
    same = batch.batch[:, None] == batch.batch[None, :]
    same.fill_diagonal_(False)
    i, j = same.nonzero(as_tuple=True)
    return i, j, pos[i] - pos[j]


class PairPotential(nn.Module):
    """``E = Σ_i ε(z_i) + ½ Σ_{i≠j} φ(|r_ij|)``, φ an MLP on Gaussian distance features;
    forces by autograd. Per-atom features ``h_i = Σ_j ψ(|r_ij|)`` (FRAMES' toy heads, which
    read them, are :class:`mlffkit.papers.frames.heads.ToyDisplacementHead`). ``window`` is
    kept for the signature of its callers; the potential itself is the same for every T."""

    def __init__(self, window: int = 2, hidden: int = 16, n_basis: int = 8,
                 n_species: int = 10):
        super().__init__()
        self.window = window
        self.register_buffer("centres", torch.linspace(0.5, 4.0, n_basis))
        self.species_energy = nn.Embedding(n_species, 1)
        self.pair_energy = nn.Sequential(nn.Linear(n_basis, hidden), nn.SiLU(),
                                         nn.Linear(hidden, 1))
        self.pair_features = nn.Sequential(nn.Linear(n_basis, hidden), nn.SiLU())

    def _basis(self, distance: Tensor) -> Tensor:
        return torch.exp(-(distance[:, None] - self.centres) ** 2)

    def features(self, batch: AtomsBatch, pos: Tensor | None = None) -> Tensor:
        pos = batch.pos if pos is None else pos
        i, _, r = pairs(batch, pos)
        per_pair = self.pair_features(self._basis(torch.linalg.vector_norm(r, dim=-1)))
        return torch.zeros(len(pos), per_pair.shape[1], dtype=pos.dtype,
                           device=pos.device).index_add(0, i, per_pair)

    def forward(self, batch: AtomsBatch, forces: bool = True, stress: bool = False) -> dict:
        if stress:
            raise NotImplementedError("the toy potential has no stress")
        pos = batch.pos.detach().requires_grad_(forces)
        i, _, r = pairs(batch, pos)
        pair = 0.5 * self.pair_energy(self._basis(torch.linalg.vector_norm(r, dim=-1)))
        atomic = self.species_energy(batch.numbers).squeeze(-1)
        atomic = atomic.index_add(0, i, pair.squeeze(-1))
        energy = torch.zeros(batch.n_structures, dtype=pos.dtype,
                             device=pos.device).index_add(0, batch.batch, atomic)
        out = {"energy": energy, "features": self.features(batch, pos)}
        if forces:
            out["forces"] = -torch.autograd.grad(energy.sum(), pos,
                                                 create_graph=self.training)[0]
        return out

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"representation": list(self.pair_features.parameters()),
                "main_head": [*self.species_energy.parameters(),
                              *self.pair_energy.parameters()],
                "prior_head": []}


def spring_energy_forces(positions: np.ndarray, rest: float = 1.5, k: float = 0.5
                         ) -> tuple[float, np.ndarray]:
    """``E = k Σ_{i<j} (|r_ij| - rest)^2`` (eV, Å) and its forces."""
    r = positions[:, None] - positions[None]
    d = np.linalg.norm(r, axis=-1)
    np.fill_diagonal(d, 1.0)
    stretch = d - rest
    np.fill_diagonal(stretch, 0.0)
    energy = k * np.sum(np.triu(stretch ** 2, 1))
    forces = -np.sum((2 * k * stretch / d)[:, :, None] * r, axis=1)
    return float(energy), forces


def toy_trajectory(n_frames: int, n_atoms: int = 4, dt: float = 0.1, seed: int = 0,
                   numbers: np.ndarray | None = None) -> list[AtomsData]:
    """Velocity-Verlet trajectory (unit masses) of atoms joined by springs, one
    ``AtomsData`` per frame."""
    rng = np.random.default_rng(seed)
    numbers = np.asarray(numbers if numbers is not None else rng.integers(1, 9, n_atoms))
    pos = rng.normal(scale=1.0, size=(n_atoms, 3))
    vel = rng.normal(scale=0.3, size=(n_atoms, 3))
    energy, forces = spring_energy_forces(pos)
    frames = []
    for _ in range(n_frames):
        frames.append(AtomsData.from_arrays(pos.copy(), numbers, energy=energy,
                                            forces=forces.copy()))
        vel = vel + 0.5 * dt * forces
        pos = pos + dt * vel
        energy, forces = spring_energy_forces(pos)
        vel = vel + 0.5 * dt * forces
    return frames
