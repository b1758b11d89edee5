"""FRAMES' auxiliary heads: the displacement to the next frame, from a window's features.

A FRAMES head is trained beside a potential, never inside it: the potential (any mlffkit
backbone + energy head) gives per-atom ``features`` for each of the T frames of a window, and
the head, held by :class:`~mlffkit.papers.frames.objective.FramesObjective`, predicts

- ``displacement(batches, features)``: Δp_t = p_{t+1} - p_t (N, 3) in Å for the atoms of the
  last frame (the paper's auxiliary target, Eq. 4-5);
- ``next_frame(batches, features, model)``: the next frame's ``energy`` (B,) and ``forces``
  (N, 3) (the Table 2 ablation), in the main energy head's units.

:class:`DisplacementHead` is the equivariant head for real backbones (it reads the features'
irreps, so it works on Equiformer, PaiNN and SchNet alike); :class:`ToyDisplacementHead` is
the matching head for the toy potential of :mod:`mlffkit.training.toy`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from e3nn import o3
from torch import nn

from mlffkit.graph import radius_graph
from mlffkit.models._common import DEFAULT_CUTOFF, num_scalars, vector_basis, vector_irrep
from mlffkit.models.e3layers import EquivariantLayerNorm, Linear
from mlffkit.models.equiformer import EdgeEmbedding, TransformerBlock
from mlffkit.training.toy import pairs

__all__ = ["DisplacementHead", "ToyDisplacementHead", "displacement_head_for"]


def displacement_head_for(model, frames: int, **overrides) -> "DisplacementHead":
    """A :class:`DisplacementHead` for ``model``'s features (a ``Potential``): its irreps,
    cutoff and parity, ``frames`` = T. Build it right after the model, so that a seeded run
    initialises both the same way every time."""
    config = {"cutoff": model.cutoff, "parity": model.backbone.hparams.get("parity", True),
              **overrides}
    return DisplacementHead(model.irreps_features, frames=frames, **config)


class DisplacementHead(nn.Module):
    """FRAMES' auxiliary head: Δp_t from the concatenated features ``[h_{t-T+1}, ..., h_t]``.

    The T feature tensors (each with the backbone's irreps) are concatenated channel-wise
    (irreps ``T x irreps_frame``), mixed by an equivariant linear map into ``irreps_hidden``,
    passed through ``num_blocks`` equivariant graph attention blocks (as in the Equiformer
    backbone) on the radius graph of the *last* frame, normalised, and mapped to one vector per
    atom. The output is ``scale * vector`` in Å; ``scale`` is a buffer set by
    :meth:`fit_normalisation` (the RMS training displacement) and the output layer starts at
    zero, so an untrained head predicts no displacement (the zero baseline). The same trunk also gives the next frame's energy and forces
    (:meth:`next_frame`) for the paper's ablation of the auxiliary target.
    """

    def __init__(
        self,
        irreps_frame,
        frames: int = 2,
        cutoff: float = DEFAULT_CUTOFF,
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
        # Δp: one vector, zero at initialisation, so that the head starts at the zero-
        # displacement baseline and the auxiliary loss sends no gradient into the backbone
        # before the head has learned something (a random output layer predicted ~100x the
        # 0.008 Å targets and its gradient swamped the primary loss's)
        self.lin_disp = Linear(irreps_hidden, o3.Irreps([(1, vec)]))
        nn.init.zeros_(self.lin_disp.weight)
        # the ablation's next-frame atomic energy (a scalar) and forces (a vector)
        self.lin_out = Linear(irreps_hidden, o3.Irreps([(1, o3.Irrep("0e")), (1, vec)]))
        self.register_buffer("scale", torch.tensor(1.0))
        # e3nn components -> Cartesian (x, y, z)
        self.register_buffer("to_cartesian", torch.linalg.inv(vector_basis()), persistent=False)

    def _trunk(self, features: Sequence[torch.Tensor], edge_index, edge_vec) -> torch.Tensor:
        if len(features) != self.frames:
            raise ValueError(f"this head was built for {self.frames} frames, got {len(features)}")
        x = self.lin_in(torch.cat(list(features), dim=-1))
        edge = self.edge_embedding(edge_index, edge_vec, x.shape[0])
        for block in self.blocks:
            x = block(x, edge)
        return self.norm(x)

    def _cartesian(self, vector: torch.Tensor) -> torch.Tensor:
        return vector @ self.to_cartesian.to(vector.dtype)

    def forward(self, features: Sequence[torch.Tensor], edge_index, edge_vec) -> torch.Tensor:
        """(N, 3) displacement in Å from T per-atom feature tensors (oldest first) and the
        radius graph of the last frame."""
        return self.scale * self._cartesian(
            self.lin_disp(self._trunk(features, edge_index, edge_vec)))

    def next_frame(self, features: Sequence[torch.Tensor], edge_index, edge_vec):
        """For FRAMES' Table 2 ablation (auxiliary loss on the next frame's energy and forces):
        a per-atom scalar (N,) and a per-atom vector (N, 3), in units of the main head's scale;
        :meth:`predict_next_frame` turns them into an energy and forces."""
        out = self.lin_out(self._trunk(features, edge_index, edge_vec))
        return out[:, 0], self._cartesian(out[:, 1:4])

    def displacement(self, batches: Sequence, features: Sequence[torch.Tensor]) -> torch.Tensor:
        """Δp_t (N, 3) in Å for the atoms of ``batches[-1]`` (the T frames of a window, oldest
        first, the same atoms in the same order), from their ``features``."""
        self._check_window(batches, features)
        edge_index, edge_vec = radius_graph(batches[-1], self.cutoff)
        return self(list(features), edge_index, edge_vec)

    def predict_next_frame(self, batches: Sequence, features: Sequence[torch.Tensor],
                           model) -> dict[str, torch.Tensor]:
        """The ablation target (Table 2): the next frame's ``energy`` (B,) and ``forces``
        (N, 3), predicted from the window (not by differentiation: the next positions are
        unknown), scaled and shifted with ``model``'s energy-head statistics."""
        self._check_window(batches, features)
        last = batches[-1]
        edge_index, edge_vec = radius_graph(last, self.cutoff)
        scalar, vector = self.next_frame(list(features), edge_index, edge_vec)
        eh = model.energy_head
        atomic = eh.scale * scalar + eh.shift + eh.element_energy[last.numbers]
        energy = torch.zeros(last.n_structures, dtype=atomic.dtype, device=atomic.device)
        return {"energy": energy.index_add(0, last.batch, atomic), "forces": eh.scale * vector}

    def _check_window(self, batches, features) -> None:
        n = batches[-1].pos.shape[0]
        if len(batches) != len(features) or any(f.shape[0] != n for f in features):
            raise ValueError("all frames of a window must have the same atoms, one feature "
                             "tensor per frame")

    @torch.no_grad()
    def fit_normalisation(self, displacements) -> float:
        """Set ``scale`` to the root mean square component of training displacements (Å)."""
        d = np.concatenate([np.asarray(x, dtype=np.float64).reshape(-1) for x in displacements]) if (
            isinstance(displacements, (list, tuple))
        ) else np.asarray(displacements, dtype=np.float64)
        scale = float(np.sqrt(np.mean(d**2)))
        self.scale.fill_(scale if np.isfinite(scale) and scale > 0 else 1.0)
        return float(self.scale)


class ToyDisplacementHead(nn.Module):
    """FRAMES' heads for the toy potential (:class:`mlffkit.training.toy.PairPotential`): the
    window's concatenated features give two coefficients per atom, multiplying an
    equivariant neighbour vector and the last frame-to-frame motion (displacement), or an
    atomic energy and the neighbour vector (next frame). For tests of the training machinery."""

    def __init__(self, window: int = 2, hidden: int = 16):
        super().__init__()
        self.window = window
        self.displacement_head = nn.Linear(window * hidden, 2)
        self.next_frame_head = nn.Linear(window * hidden, 2)

    def _coefficients(self, batches, head: nn.Module, features) -> torch.Tensor:
        if len(batches) != self.window:
            raise ValueError(f"head built for windows of {self.window}, got {len(batches)}")
        return head(torch.cat(list(features), dim=-1))

    @staticmethod
    def _vectors(batches) -> tuple[torch.Tensor, torch.Tensor]:
        last = batches[-1]
        i, _, r = pairs(last, last.pos)
        weight = torch.exp(-torch.linalg.vector_norm(r, dim=-1, keepdim=True))
        neighbour = torch.zeros_like(last.pos).index_add(0, i, weight * r)
        motion = last.pos - batches[-2].pos if len(batches) > 1 else torch.zeros_like(last.pos)
        return neighbour, motion

    def displacement(self, batches, features) -> torch.Tensor:
        a = self._coefficients(batches, self.displacement_head, features)
        neighbour, motion = self._vectors(batches)
        return a[:, :1] * neighbour + a[:, 1:] * motion

    def predict_next_frame(self, batches, features, model) -> dict:
        a = self._coefficients(batches, self.next_frame_head, features)
        neighbour, _ = self._vectors(batches)
        last = batches[-1]
        energy = torch.zeros(last.n_structures, dtype=a.dtype,
                             device=a.device).index_add(0, last.batch, a[:, 0])
        return {"energy": energy, "forces": a[:, 1:] * neighbour}
