"""Heads that turn per-atom features into predictions.

* :class:`EnergyHead` — the main (primary) head: per-atom MLP on the invariant features,
  scaled and shifted, plus per-element reference energies, summed per structure. Forces and
  stress are derivatives of its energy, taken by :class:`~mlffkit.models.Potential`.
* :class:`PriorHead` — the same architecture with its own weights and statistics, trained on a
  cheap prior's energies and forces (Kreiman & Krishnapriyan, test-time training).
* :class:`DisplacementHead` — FRAMES' auxiliary head: an equivariant graph attention network
  on the concatenated features of the T frames of a window, predicting each atom's
  displacement to the next frame (a ``1o`` vector). Used in training only.

Normalisation statistics are buffers: fitted from training data by ``fit_normalisation`` and
saved in the checkpoint with the weights; nothing is hard-coded per dataset.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from e3nn import o3
from torch import nn

from ._common import MLP, num_scalars, scalar_indices, scatter_sum, vector_basis, vector_irrep
from .e3layers import EquivariantLayerNorm, Linear
from .equiformer import EdgeEmbedding, TransformerBlock

__all__ = ["EnergyHead", "PriorHead", "DisplacementHead"]


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


class DisplacementHead(nn.Module):
    """FRAMES' auxiliary head: Δp_t from the concatenated features ``[h_{t-T+1}, ..., h_t]``.

    The T feature tensors (each with the backbone's irreps) are concatenated channel-wise
    (irreps ``T x irreps_frame``), mixed by an equivariant linear map into ``irreps_hidden``,
    passed through ``num_blocks`` equivariant graph attention blocks (as in the Equiformer
    backbone) on the radius graph of the *last* frame, normalised, and mapped to one vector per
    atom. The output is ``scale * vector`` in Å; ``scale`` is a buffer set by
    :meth:`fit_normalisation`. The same trunk also gives the next frame's energy and forces
    (:meth:`next_frame`) for the paper's ablation of the auxiliary target.
    """

    def __init__(
        self,
        irreps_frame,
        frames: int = 2,
        cutoff: float = 5.0,
        irreps_hidden: str | None = None,
        num_blocks: int = 1,
        num_heads: int = 2,
        irreps_head: str | None = None,
        irreps_ffn: str | None = None,
        lmax: int = 2,
        num_basis: int = 16,
        basis: str = "gaussian",
        envelope: str = "cosine",
        radial_hidden: int = 32,
        radial_layers: int = 2,
        parity: bool = True,
    ):
        super().__init__()
        irreps_frame = o3.Irreps(irreps_frame)
        if frames < 1:
            raise ValueError("frames must be >= 1")
        vec = vector_irrep(parity)
        if irreps_hidden is None:
            n0 = max(num_scalars(irreps_frame), 2)
            has_vec = any(ir == vec for _, ir in irreps_frame)
            irreps_hidden = irreps_frame.simplify() if has_vec else o3.Irreps(f"{n0}x0e+{max(n0 // 2, 1)}x{vec}")
        irreps_hidden = o3.Irreps(irreps_hidden)
        if irreps_head is None:
            irreps_head = o3.Irreps([(max(mul // num_heads, 1), ir) for mul, ir in irreps_hidden])
        if irreps_ffn is None:
            irreps_ffn = o3.Irreps([(2 * mul, ir) for mul, ir in irreps_hidden])
        if not any(ir == vec for _, ir in irreps_hidden):
            raise ValueError(f"irreps_hidden {irreps_hidden} must contain {vec} to predict a vector")
        self.hparams = dict(
            frames=int(frames),
            cutoff=float(cutoff),
            irreps_hidden=str(irreps_hidden),
            num_blocks=int(num_blocks),
            num_heads=int(num_heads),
            irreps_head=str(o3.Irreps(irreps_head)),
            irreps_ffn=str(o3.Irreps(irreps_ffn)),
            lmax=int(lmax),
            num_basis=int(num_basis),
            basis=basis,
            envelope=envelope,
            radial_hidden=int(radial_hidden),
            radial_layers=int(radial_layers),
            parity=bool(parity),
        )
        self.frames, self.cutoff = int(frames), float(cutoff)
        self.irreps_frame = irreps_frame
        self.irreps_in = irreps_frame * frames
        self.edge_embedding = EdgeEmbedding(cutoff, num_basis, lmax, basis, envelope, parity)
        self.lin_in = Linear(self.irreps_in, irreps_hidden)
        radial = dict(num_basis=num_basis, radial_hidden=radial_hidden, radial_layers=radial_layers)
        irreps_sh = self.edge_embedding.irreps_sh
        self.blocks = nn.ModuleList(
            TransformerBlock(irreps_hidden, irreps_sh, irreps_head, num_heads, irreps_ffn, **radial)
            for _ in range(num_blocks)
        )
        self.norm = EquivariantLayerNorm(irreps_hidden)
        # one scalar and two vectors: Δp, and (ablation) the next frame's atomic energy and forces
        self.lin_out = Linear(irreps_hidden, o3.Irreps([(1, o3.Irrep("0e")), (2, vec)]))
        self.register_buffer("scale", torch.tensor(1.0))
        # e3nn components -> Cartesian (x, y, z)
        self.register_buffer("to_cartesian", torch.linalg.inv(vector_basis()), persistent=False)

    def _outputs(self, features: Sequence[torch.Tensor], edge_index, edge_vec) -> torch.Tensor:
        if len(features) != self.frames:
            raise ValueError(f"this head was built for {self.frames} frames, got {len(features)}")
        x = self.lin_in(torch.cat(list(features), dim=-1))
        edge = self.edge_embedding(edge_index, edge_vec, x.shape[0])
        for block in self.blocks:
            x = block(x, edge)
        return self.lin_out(self.norm(x))  # 1x0e + 2 x vector

    def _vector(self, out: torch.Tensor, k: int) -> torch.Tensor:
        return out[:, 1 + 3 * k : 4 + 3 * k] @ self.to_cartesian.to(out.dtype)

    def forward(self, features: Sequence[torch.Tensor], edge_index, edge_vec) -> torch.Tensor:
        """(N, 3) displacement in Å from T per-atom feature tensors (oldest first) and the
        radius graph of the last frame."""
        return self.scale * self._vector(self._outputs(features, edge_index, edge_vec), 0)

    def next_frame(self, features: Sequence[torch.Tensor], edge_index, edge_vec):
        """For FRAMES' Table 2 ablation (auxiliary loss on the next frame's energy and forces):
        a per-atom scalar (N,) and a per-atom vector (N, 3), in units of the main head's scale;
        :meth:`Potential.predict_next_frame` turns them into an energy and forces."""
        out = self._outputs(features, edge_index, edge_vec)
        return out[:, 0], self._vector(out, 1)

    @torch.no_grad()
    def fit_normalisation(self, displacements) -> float:
        """Set ``scale`` to the root mean square component of training displacements (Å)."""
        d = np.concatenate([np.asarray(x, dtype=np.float64).reshape(-1) for x in displacements]) if (
            isinstance(displacements, (list, tuple))
        ) else np.asarray(displacements, dtype=np.float64)
        scale = float(np.sqrt(np.mean(d**2)))
        self.scale.fill_(scale if np.isfinite(scale) and scale > 0 else 1.0)
        return float(self.scale)
