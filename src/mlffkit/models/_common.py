"""Small building blocks shared by the backbones and heads.

Radial bases, smooth cutoff envelopes, scatter operations, activations and helpers to move
between Cartesian vectors and e3nn's ``1o`` components. Nothing here knows about a particular
architecture.
"""

from __future__ import annotations

import math

import torch
from e3nn import o3
from torch import nn

# ---------------------------------------------------------------------- scatter helpers


#: The neighbour cutoff (Å) of every backbone unless a config sets another: 5 Å, as the
#: MD17 models of the papers (Equiformer, PaiNN, SchNet). Heads read the model's own cutoff
#: (``model.cutoff``), so a config sets it once.
DEFAULT_CUTOFF = 5.0


def scatter_sum(src: torch.Tensor, index: torch.Tensor, dim_size: int) -> torch.Tensor:
    """Sum rows of ``src`` into ``dim_size`` bins given by ``index`` (along dim 0)."""
    out = src.new_zeros((dim_size, *src.shape[1:]))
    return out.index_add(0, index, src)


def scatter_softmax(
    logits: torch.Tensor, index: torch.Tensor, dim_size: int, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Softmax of ``logits`` (E, H) over the edges sharing the same ``index`` (target atom).

    ``weight`` (E,), a smooth cutoff envelope, multiplies each exponential, so an edge that
    enters the cutoff sphere starts with zero attention weight and the potential energy stays
    continuous (``alpha_ij = w_ij exp(a_ij) / sum_k w_ik exp(a_ik)``).
    """
    heads = logits.shape[1:]
    flat = logits.reshape(logits.shape[0], -1)
    # subtracting the per-target maximum changes nothing mathematically, only avoids overflow
    shift = flat.new_full((dim_size, flat.shape[1]), -torch.inf)
    shift = shift.scatter_reduce(
        0, index[:, None].expand_as(flat), flat.detach(), reduce="amax", include_self=True
    )
    num = torch.exp(flat - shift[index])
    if weight is not None:
        num = num * weight[:, None]
    den = scatter_sum(num, index, dim_size).clamp_min(torch.finfo(num.dtype).tiny)
    return (num / den[index]).reshape(logits.shape[0], *heads)


def segment_sum(values: torch.Tensor, batch: torch.Tensor, n_structures: int) -> torch.Tensor:
    """Per-structure sums of per-atom values."""
    return scatter_sum(values, batch, n_structures)


# ---------------------------------------------------------------------- activations


def shifted_softplus(x: torch.Tensor) -> torch.Tensor:
    """SchNet's ssp(x) = ln(0.5 e^x + 0.5), zero at the origin."""
    return nn.functional.softplus(x) - math.log(2.0)


def smooth_leaky_relu(x: torch.Tensor, negative_slope: float = 0.2) -> torch.Tensor:
    """Equiformer's smooth leaky ReLU: 0.5(1+a) x + 0.5(1-a) x (2 sigmoid(x) - 1)."""
    a = negative_slope
    return 0.5 * (1 + a) * x + 0.5 * (1 - a) * x * (2 * torch.sigmoid(x) - 1)


ACTIVATIONS = {"silu": nn.functional.silu, "ssp": shifted_softplus, "tanh": torch.tanh}


def activation(name: str):
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}") from None


class MLP(nn.Module):
    """Plain multilayer perceptron: Linear (act Linear)*; no activation after the last layer."""

    def __init__(self, sizes: list[int], act: str = "silu", layer_norm: bool = False):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError("an MLP needs at least input and output sizes")
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.norms = nn.ModuleList(
            nn.LayerNorm(b) if layer_norm else nn.Identity() for b in sizes[1:-1]
        )
        self.act = activation(act)

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self.act(self.norms[i](x))
        return x


# ---------------------------------------------------------------------- radial functions


class RadialBasis(nn.Module):
    """Expansion of interatomic distances (Å) in a fixed radial basis.

    ``gaussian``: exp(-(r - mu_k)^2 / (2 sigma^2)), mu_k evenly spaced on [0, cutoff],
    sigma = spacing (SchNet). ``bessel``: sqrt(2/c) sin(k pi r / c) / r (DimeNet, PaiNN).
    ``expnorm``: PhysNet's exponential-normal functions as TorchMD-Net and the official
    Equiformer MD17 models define them, ``f(r) exp(-beta (exp(-alpha r) - mu_k)^2)`` with
    alpha = 5/c, mu_k evenly spaced on [exp(-c), 1], beta = (2 (1 - exp(-c)) / K)^-2 and f the
    cosine cutoff, which this one basis includes. The others are not cut off here; multiply by
    an :class:`Envelope`.
    """

    def __init__(self, cutoff: float, num_basis: int, kind: str = "gaussian"):
        super().__init__()
        if kind not in ("gaussian", "bessel", "expnorm"):
            raise ValueError(f"unknown radial basis {kind!r} (gaussian, bessel or expnorm)")
        self.cutoff, self.num_basis, self.kind = float(cutoff), int(num_basis), kind
        if kind == "expnorm":
            start = math.exp(-cutoff)
            self.register_buffer("centres", torch.linspace(start, 1.0, num_basis))
            self.register_buffer("beta", torch.tensor((2.0 / num_basis * (1.0 - start)) ** -2))
            self.alpha = 5.0 / cutoff
        elif kind == "gaussian":
            centres = torch.linspace(0.0, cutoff, num_basis)
            width = cutoff / max(num_basis - 1, 1)
            self.register_buffer("centres", centres)
            self.register_buffer("width", torch.tensor(width))
        else:
            self.register_buffer("freq", torch.arange(1, num_basis + 1) * math.pi / cutoff)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        r = r[:, None]
        if self.kind == "gaussian":
            return torch.exp(-0.5 * ((r - self.centres) / self.width) ** 2)
        if self.kind == "expnorm":
            cut = 0.5 * (torch.cos(r * math.pi / self.cutoff) + 1.0) * (r < self.cutoff)
            return cut * torch.exp(-self.beta * (torch.exp(-self.alpha * r) - self.centres) ** 2)
        return math.sqrt(2.0 / self.cutoff) * torch.sin(self.freq * r) / r


class Envelope(nn.Module):
    """Smooth cutoff function: 1 at r=0, 0 (with zero slope) at r=cutoff.

    ``cosine``: 0.5 (cos(pi r/c) + 1) (SchNet, PaiNN); ``polynomial``: the p=5 envelope of
    DimeNet, 1 - 21 d^5 + 35 d^6 - 15 d^7 with d = r/c.
    """

    def __init__(self, cutoff: float, kind: str = "cosine"):
        super().__init__()
        if kind not in ("cosine", "polynomial"):
            raise ValueError(f"unknown envelope {kind!r} (cosine or polynomial)")
        self.cutoff, self.kind = float(cutoff), kind

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        d = r / self.cutoff
        if self.kind == "cosine":
            out = 0.5 * (torch.cos(math.pi * d) + 1.0)
        else:
            out = 1 - 21 * d**5 + 35 * d**6 - 15 * d**7
        return torch.where(d < 1, out, torch.zeros_like(out))


def edge_context(edge_index, edge_vec, rbf: RadialBasis, envelope: Envelope) -> dict:
    """Per-edge quantities of the invariant message-passing backbones (PaiNN, SchNet)."""
    length = edge_vec.norm(dim=-1)
    return {
        "source": edge_index[0],
        "target": edge_index[1],
        "length": length,
        "rbf": rbf(length),
        "envelope": envelope(length),
    }


# ---------------------------------------------------------------------- e3nn helpers


def scalar_indices(irreps: o3.Irreps) -> torch.Tensor:
    """Positions of the true scalars (0e) in a feature vector with these irreps."""
    idx, start = [], 0
    for mul, ir in o3.Irreps(irreps):
        if ir.l == 0 and ir.p == 1:
            idx.extend(range(start, start + mul))
        start += mul * ir.dim
    return torch.tensor(idx, dtype=torch.long)


def num_scalars(irreps: o3.Irreps) -> int:
    return sum(mul for mul, ir in o3.Irreps(irreps) if ir.l == 0 and ir.p == 1)


def vector_basis() -> torch.Tensor:
    """(3, 3) matrix Q with ``e3nn_l1 = cartesian @ Q`` (identity in e3nn >= 0.6, (y, z, x)
    ordering in older releases); computed from e3nn so that either convention works."""
    eye = torch.eye(3, dtype=torch.float64)
    return o3.spherical_harmonics(1, eye, normalize=False, normalization="component") / math.sqrt(3)


def vector_irrep(parity: bool) -> o3.Irrep:
    """The irrep of a displacement: 1o in an E(3) model, 1e in an SE(3)-only model."""
    return o3.Irrep(1, -1 if parity else 1)
