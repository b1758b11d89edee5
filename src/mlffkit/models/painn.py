"""PaiNN (Schütt, Unke & Gastegger, ICML 2021): polarizable atom interaction neural network.

Plain torch. Each atom carries F scalars ``s`` and F vectors ``v``; a block is the paper's
message function followed by its update function:

* message: ``phi(s_j) * W(r_ij)`` split into three F-vectors (a, b, c);
  ``ds_i = sum_j a``, ``dv_i = sum_j v_j * b + c * r_ij/|r_ij|``, with W a linear map of a
  Bessel basis times a cosine cutoff;
* update: ``U v``, ``V v``; ``(a_vv, a_sv, a_ss) = MLP([s, |V v|])``;
  ``dv = a_vv * U v``, ``ds = a_sv * <U v, V v> + a_ss``.

Features are exported as the e3nn tensor ``F x 0e + F x 1o``.
"""

from __future__ import annotations

import torch
from e3nn import o3
from torch import nn

from ._common import (DEFAULT_CUTOFF, MLP, Envelope, RadialBasis, edge_context, scatter_sum,
                      vector_basis)
from .backbone import Backbone, arguments, register_backbone

__all__ = ["PaiNN"]


class _Message(nn.Module):
    def __init__(self, features: int, num_basis: int):
        super().__init__()
        self.phi = MLP([features, features, 3 * features], act="silu")
        self.filter = nn.Linear(num_basis, 3 * features)
        self.features = features

    def forward(self, s, v, ctx):
        src, dst, n = ctx["source"], ctx["target"], s.shape[0]
        x = self.phi(s)[src] * (self.filter(ctx["rbf"]) * ctx["envelope"][:, None])
        a, b, c = torch.split(x, self.features, dim=-1)
        ds = scatter_sum(a, dst, n)
        dv = scatter_sum(v[src] * b[:, None, :] + c[:, None, :] * ctx["unit"][:, :, None], dst, n)
        return s + ds, v + dv


class _Update(nn.Module):
    def __init__(self, features: int):
        super().__init__()
        self.U = nn.Linear(features, features, bias=False)
        self.V = nn.Linear(features, features, bias=False)
        self.mlp = MLP([2 * features, features, 3 * features], act="silu")
        self.features = features

    def forward(self, s, v):
        uv, vv = self.U(v), self.V(v)
        vnorm = torch.sqrt(vv.pow(2).sum(dim=1) + 1e-8)
        a = self.mlp(torch.cat([s, vnorm], dim=-1))
        a_vv, a_sv, a_ss = torch.split(a, self.features, dim=-1)
        return s + a_sv * (uv * vv).sum(dim=1) + a_ss, v + a_vv[:, None, :] * uv


class _Block(nn.Module):
    def __init__(self, features: int, num_basis: int):
        super().__init__()
        self.message = _Message(features, num_basis)
        self.update = _Update(features)

    def forward(self, state, ctx):
        s, v = self.message(*state, ctx)
        return self.update(s, v)


@register_backbone("painn")
class PaiNN(Backbone):
    """PaiNN backbone; defaults are the paper's (F=128, 3 blocks, 20 Bessel functions, 5 Å)."""

    def __init__(
        self,
        cutoff: float = DEFAULT_CUTOFF,
        features: int = 128,
        num_blocks: int = 3,
        num_basis: int = 20,
        basis: str = "bessel",
        envelope: str = "cosine",
        max_z: int = 100,
    ):
        hparams = arguments(locals())
        super().__init__()
        self.hparams = hparams
        self.cutoff, self.max_z, self.features = float(cutoff), int(max_z), int(features)
        self.irreps_out = self.irreps_hidden = o3.Irreps(f"{features}x0e+{features}x1o")
        self.embedding = nn.Embedding(max_z + 1, features)
        self.rbf = RadialBasis(cutoff, num_basis, basis)
        self.envelope = Envelope(cutoff, envelope)
        self.blocks = nn.ModuleList(_Block(features, num_basis) for _ in range(num_blocks))
        self.register_buffer("to_e3nn", vector_basis(), persistent=False)

    def initial(self, batch, edge_index, edge_vec):
        ctx = edge_context(edge_index, edge_vec, self.rbf, self.envelope)
        ctx["unit"] = edge_vec / ctx["length"][:, None]
        s = self.embedding(batch.numbers).to(batch.pos.dtype)
        v = s.new_zeros(s.shape[0], 3, self.features)
        return (s, v), ctx

    def hidden(self, state):
        s, v = state
        v = torch.einsum("nxf,xy->nfy", v, self.to_e3nn.to(v.dtype))
        return torch.cat([s, v.reshape(s.shape[0], -1)], dim=-1)

    def input_modules(self):
        return [self.embedding, self.rbf, self.envelope]
