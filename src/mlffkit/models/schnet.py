"""SchNet (Schütt et al., J. Chem. Phys. 148, 241722, 2018): continuous-filter convolutions.

Plain torch, invariant: each atom carries F scalars. An interaction block is
``x + Dense(ssp(Dense(cfconv(Dense(x)))))`` where the continuous-filter convolution is
``sum_j x_j * W(r_ij)``, W a two-layer filter network on Gaussians times a cosine cutoff.
Features are exported as the e3nn tensor ``F x 0e``.
"""

from __future__ import annotations

from e3nn import o3
from torch import nn

from ._common import (DEFAULT_CUTOFF, Envelope, RadialBasis, edge_context, scatter_sum,
                      shifted_softplus)
from .backbone import Backbone, arguments, register_backbone

__all__ = ["SchNet"]


class _Interaction(nn.Module):
    def __init__(self, features: int, filters: int, num_basis: int):
        super().__init__()
        self.in2f = nn.Linear(features, filters, bias=False)
        self.filter1 = nn.Linear(num_basis, filters)
        self.filter2 = nn.Linear(filters, filters)
        self.f2out = nn.Linear(filters, features)
        self.dense = nn.Linear(features, features)

    def forward(self, x, ctx):
        w = self.filter2(shifted_softplus(self.filter1(ctx["rbf"]))) * ctx["envelope"][:, None]
        y = scatter_sum(self.in2f(x)[ctx["source"]] * w, ctx["target"], x.shape[0])
        return x + self.dense(shifted_softplus(self.f2out(y)))


@register_backbone("schnet")
class SchNet(Backbone):
    """SchNet backbone; defaults: F=64, 3 interactions, 50 Gaussians on [0, 5 Å] (MD17 setup)."""

    def __init__(
        self,
        cutoff: float = DEFAULT_CUTOFF,
        features: int = 64,
        filters: int | None = None,
        num_blocks: int = 3,
        num_basis: int = 50,
        basis: str = "gaussian",
        envelope: str = "cosine",
        max_z: int = 100,
    ):
        hparams = arguments(locals())
        super().__init__()
        self.hparams = hparams
        filters = int(filters or features)
        self.cutoff, self.max_z = float(cutoff), int(max_z)
        self.irreps_out = self.irreps_hidden = o3.Irreps(f"{features}x0e")
        self.embedding = nn.Embedding(max_z + 1, features)
        self.rbf = RadialBasis(cutoff, num_basis, basis)
        self.envelope = Envelope(cutoff, envelope)
        self.blocks = nn.ModuleList(
            _Interaction(features, filters, num_basis) for _ in range(num_blocks)
        )

    def initial(self, batch, edge_index, edge_vec):
        ctx = edge_context(edge_index, edge_vec, self.rbf, self.envelope)
        return self.embedding(batch.numbers).to(batch.pos.dtype), ctx

    def hidden(self, state):
        return state

    def input_modules(self):
        return [self.embedding, self.rbf, self.envelope]
