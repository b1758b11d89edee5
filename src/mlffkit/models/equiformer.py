"""Equiformer (Liao & Smidt, ICLR 2023): an E(3)-equivariant graph attention transformer.

Written from the paper with e3nn 0.6. The pieces, in the paper's words:

* **Embedding.** Atom-type embedding into the scalar channels plus an *edge-degree embedding*:
  the depth-wise tensor product of a constant with the spherical harmonics of every edge,
  weighted by a radial network, summed over neighbours and divided by the square root of the
  average degree (``avg_num_neighbors``, fitted on the training set by
  ``Potential.fit_normalisation``), as the official code's ``ScaledScatter`` does.
* **Equivariant graph attention** (:class:`EquivariantGraphAttention`). The message of edge
  j -> i starts as ``Linear_src(x_j) + Linear_dst(x_i)``, goes through a depth-wise tensor
  product (DTP) with the spherical harmonics ``Y(r_ij)`` (weights from a radial MLP of a radial
  basis), and is split into
  - *MLP attention*: scalars -> linear -> smooth leaky ReLU -> dot with a learned vector per
    head -> softmax over the neighbours j of i;
  - *non-linear message* (value): linear -> gate activation -> a second DTP with ``Y(r_ij)``
    -> linear to ``num_heads x irreps_head``. As in the official code, this second DTP has
    internal weights shared by every edge (``value_weights="internal"``); ``"radial"`` gives
    it per-edge radial weights like the first (what this module did before; the FRAMES
    displacement head keeps that form).
  Values are weighted by the attention of their head, summed over neighbours, the heads
  concatenated and projected back to the node irreps.
* **Transformer block**: pre-norm with the *equivariant layer norm*, attention + residual,
  then a gate feed-forward network (linear -> gate -> linear) + residual.

The equivariant layers (linear, gate, depth-wise tensor product, layer norm) are in
:mod:`mlffkit.models.e3layers`.

The radial basis is the official MD17 models' (``basis="expnorm"``: 32 exponential-normal
functions with a cosine cutoff, TorchMD-Net's ``ExpNormalSmearing``).

Choices where we depart from, or fill in, the paper and its code (all in ``hparams``; the list
is repeated in the book's conventions page):

* ``parity=True`` (default) builds the E(3) variant: spherical harmonics ``0e+1o+2e`` and, in
  the presets, node irreps ``128x0e+64x1o+32x2e`` (the paper's MD17 model is the SE(3)
  variant with ``64x1e``; same sizes). ``parity=False`` builds the SE(3) variant exactly.
* A smooth cutoff envelope multiplies the radial weights *and* the attention exponentials, so
  the energy is continuous when atoms cross the cutoff (MD conserves energy).
* The paper's last block maps its FFN output to ``512x0e`` and the output head is an MLP on
  these scalars. Here every block keeps the node irreps (the features stay equivariant, which
  the FRAMES displacement head needs) and the per-atom MLP on the scalars lives in
  :class:`~mlffkit.models.heads.EnergyHead` (hidden sizes from the config, 512 in the
  ``equiformer_md17`` preset). The FFN of a block only maps scalars to scalars, so this is the
  same function class.
* No dropout or drop-path (the paper's MD17 runs use neither at these sizes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from e3nn import o3
from torch import nn

from ._common import (
    DEFAULT_CUTOFF,
    Envelope,
    RadialBasis,
    num_scalars,
    scalar_indices,
    scatter_softmax,
    scatter_sum,
    smooth_leaky_relu,
)
from .backbone import Backbone, arguments, register_backbone
from .e3layers import DepthwiseTensorProduct, EquivariantLayerNorm, Linear, expand_channels, gate_for

__all__ = [
    "EdgeFeatures",
    "EdgeEmbedding",
    "EquivariantGraphAttention",
    "EquivariantFeedForward",
    "TransformerBlock",
    "EdgeDegreeEmbedding",
    "Equiformer",
]


@dataclass
class EdgeFeatures:
    """Geometry of the edges of a graph, computed once and shared by all blocks."""

    source: torch.Tensor  # (E,)
    target: torch.Tensor  # (E,)
    length: torch.Tensor  # (E,)
    rbf: torch.Tensor  # (E, num_basis)
    sh: torch.Tensor  # (E, irreps_sh.dim)
    envelope: torch.Tensor  # (E,)
    n_nodes: int


class EdgeEmbedding(nn.Module):
    """Radial basis, smooth cutoff envelope and spherical harmonics of the edge vectors."""

    def __init__(
        self,
        cutoff: float,
        num_basis: int,
        lmax: int,
        basis: str = "gaussian",
        envelope: str = "cosine",
        parity: bool = True,
    ):
        super().__init__()
        self.irreps_sh = o3.Irreps.spherical_harmonics(lmax, p=-1 if parity else 1)
        self.sh = o3.SphericalHarmonics(self.irreps_sh, normalize=True, normalization="component")
        self.rbf = RadialBasis(cutoff, num_basis, basis)
        self.envelope = Envelope(cutoff, envelope)

    def forward(self, edge_index: torch.Tensor, edge_vec: torch.Tensor, n_nodes: int):
        length = edge_vec.norm(dim=-1)
        return EdgeFeatures(
            source=edge_index[0],
            target=edge_index[1],
            length=length,
            rbf=self.rbf(length),
            sh=self.sh(edge_vec),
            envelope=self.envelope(length),
            n_nodes=n_nodes,
        )


class EquivariantGraphAttention(nn.Module):
    """Equivariant graph attention with MLP attention and non-linear messages."""

    def __init__(
        self,
        irreps_node,
        irreps_sh,
        irreps_head,
        num_heads: int,
        num_basis: int,
        radial_hidden: int,
        radial_layers: int,
        alpha_dim: int | None = None,
        irreps_out=None,
        value_internal_weights: bool = False,
    ):
        super().__init__()
        irreps_node = o3.Irreps(irreps_node)
        irreps_head = o3.Irreps(irreps_head).simplify()
        irreps_out = o3.Irreps(irreps_out) if irreps_out is not None else irreps_node
        self.num_heads = num_heads
        self.alpha_dim = alpha_dim or max(num_scalars(irreps_head), 1)
        self.irreps_value = o3.Irreps([(mul * num_heads, ir) for mul, ir in irreps_head])
        # the channels of one irrep block of a value are head-major: (head, mul, dim)
        self.head_sizes = [(num_heads, mul * ir.dim) for mul, ir in irreps_head]

        radial = dict(num_basis=num_basis, radial_hidden=radial_hidden, radial_layers=radial_layers)
        ir_node = {ir for _, ir in irreps_node}
        ir_value = {ir for _, ir in self.irreps_value}
        self.lin_src = Linear(irreps_node, irreps_node, biases=True)
        self.lin_dst = Linear(irreps_node, irreps_node)
        self.dtp1 = DepthwiseTensorProduct(
            irreps_node, irreps_sh, ir_node | ir_value | {o3.Irrep("0e")}, **radial
        )
        self.lin_alpha = Linear(
            self.dtp1.irreps_out, o3.Irreps(f"{num_heads * self.alpha_dim}x0e"), biases=True
        )
        self.alpha_dot = nn.Parameter(torch.randn(num_heads, self.alpha_dim) / math.sqrt(self.alpha_dim))
        self.gate = gate_for(irreps_node)
        self.lin_gate = Linear(self.dtp1.irreps_out, self.gate.irreps_in, biases=True)
        self.dtp2 = DepthwiseTensorProduct(self.gate.irreps_out, irreps_sh, ir_value, **radial,
                                           internal_weights=value_internal_weights)
        self.lin_value = Linear(self.dtp2.irreps_out, self.irreps_value)
        self.proj = Linear(self.irreps_value, irreps_out, biases=True)

    def forward(self, x: torch.Tensor, edge: EdgeFeatures) -> torch.Tensor:
        message = self.lin_src(x)[edge.source] + self.lin_dst(x)[edge.target]
        message = self.dtp1(message, edge)
        logits = smooth_leaky_relu(self.lin_alpha(message))
        logits = (logits.reshape(-1, self.num_heads, self.alpha_dim) * self.alpha_dot).sum(-1)
        alpha = scatter_softmax(logits, edge.target, edge.n_nodes, weight=edge.envelope)
        value = self.gate(self.lin_gate(message))
        value = self.lin_value(self.dtp2(value, edge))
        value = value * expand_channels(alpha.repeat(1, len(self.head_sizes)), self.head_sizes)
        return self.proj(scatter_sum(value, edge.target, edge.n_nodes))


class EquivariantFeedForward(nn.Module):
    """Linear -> gate -> linear (the transformer's feed-forward network)."""

    def __init__(self, irreps_in, irreps_hidden, irreps_out=None):
        super().__init__()
        irreps_out = irreps_out if irreps_out is not None else irreps_in
        self.gate = gate_for(irreps_hidden)
        self.lin1 = Linear(irreps_in, self.gate.irreps_in, biases=True)
        self.lin2 = Linear(self.gate.irreps_out, irreps_out, biases=True)

    def forward(self, x):
        return self.lin2(self.gate(self.lin1(x)))


class TransformerBlock(nn.Module):
    """Pre-norm block: x + attention(norm(x)); then x + FFN(norm(x))."""

    def __init__(
        self,
        irreps_node,
        irreps_sh,
        irreps_head,
        num_heads,
        irreps_ffn,
        num_basis,
        radial_hidden,
        radial_layers,
        alpha_dim=None,
        value_internal_weights=False,
    ):
        super().__init__()
        self.norm1 = EquivariantLayerNorm(irreps_node)
        self.attention = EquivariantGraphAttention(
            irreps_node,
            irreps_sh,
            irreps_head,
            num_heads,
            num_basis,
            radial_hidden,
            radial_layers,
            alpha_dim=alpha_dim,
            value_internal_weights=value_internal_weights,
        )
        self.norm2 = EquivariantLayerNorm(irreps_node)
        self.ffn = EquivariantFeedForward(irreps_node, irreps_ffn)

    def forward(self, x: torch.Tensor, edge: EdgeFeatures) -> torch.Tensor:
        x = x + self.attention(self.norm1(x), edge)
        return x + self.ffn(self.norm2(x))


class EdgeDegreeEmbedding(nn.Module):
    """Sum over neighbours of DTP(constant, Y(r_ij)) with radial weights, divided by the
    square root of the average degree (the official code's ``ScaledScatter``)."""

    def __init__(self, irreps_node, irreps_sh, num_basis, radial_hidden, radial_layers):
        super().__init__()
        irreps_node = o3.Irreps(irreps_node)
        self.mul = max(num_scalars(irreps_node), 1)
        self.dtp = DepthwiseTensorProduct(
            f"{self.mul}x0e",
            irreps_sh,
            {ir for _, ir in irreps_node},
            num_basis,
            radial_hidden,
            radial_layers,
        )
        self.lin = Linear(self.dtp.irreps_out, irreps_node)

    def forward(self, edge: EdgeFeatures, avg_num_neighbors: torch.Tensor) -> torch.Tensor:
        ones = edge.sh.new_ones(edge.sh.shape[0], self.mul)
        summed = scatter_sum(self.dtp(ones, edge), edge.target, edge.n_nodes)
        return self.lin(summed) / avg_num_neighbors.sqrt()


@register_backbone("equiformer")
class Equiformer(Backbone):
    """Equiformer backbone. Defaults are the paper's MD17 sizes (EGraFFBench Table 15)."""

    def __init__(
        self,
        cutoff: float = DEFAULT_CUTOFF,
        num_blocks: int = 6,
        irreps_node: str = "128x0e+64x1o+32x2e",
        lmax: int = 2,
        num_heads: int = 4,
        irreps_head: str = "32x0e+16x1o+8x2e",
        alpha_dim: int | None = None,
        irreps_ffn: str = "384x0e+192x1o+96x2e",
        num_basis: int = 32,
        basis: str = "expnorm",
        envelope: str = "cosine",
        radial_hidden: int = 64,
        radial_layers: int = 2,
        parity: bool = True,
        avg_num_neighbors: float = 15.0,
        max_z: int = 100,
        value_weights: str = "internal",
    ):
        hparams = arguments(locals())
        super().__init__()
        self.hparams = hparams
        self.cutoff, self.max_z = float(cutoff), int(max_z)
        irreps_node = o3.Irreps(irreps_node)
        if num_scalars(irreps_node) == 0:
            raise ValueError("irreps_node needs even scalars (0e) for the atom embedding")
        if value_weights not in ("internal", "radial"):
            raise ValueError(f"value_weights must be 'internal' or 'radial', got {value_weights!r}")
        self.irreps_out = self.irreps_hidden = irreps_node
        self.feature_dim = irreps_node.dim
        self.edge_embedding = EdgeEmbedding(cutoff, num_basis, lmax, basis, envelope, parity)
        irreps_sh = self.edge_embedding.irreps_sh
        radial = dict(num_basis=num_basis, radial_hidden=radial_hidden, radial_layers=radial_layers)
        self.atom_embedding = nn.Embedding(max_z + 1, num_scalars(irreps_node))
        self.register_buffer("scalar_index", scalar_indices(irreps_node), persistent=False)
        self.degree_embedding = EdgeDegreeEmbedding(irreps_node, irreps_sh, **radial)
        # a statistic of the training data (set by Potential.fit_normalisation): saved with
        # the weights, never hard-coded per dataset
        self.register_buffer("avg_num_neighbors", torch.tensor(float(avg_num_neighbors)))
        self.blocks = nn.ModuleList(
            TransformerBlock(
                irreps_node, irreps_sh, irreps_head, num_heads, irreps_ffn, alpha_dim=alpha_dim,
                value_internal_weights=value_weights == "internal", **radial
            )
            for _ in range(num_blocks)
        )
        self.final_norm = EquivariantLayerNorm(irreps_node)

    def initial(self, batch, edge_index, edge_vec):
        n = batch.pos.shape[0]
        edge = self.edge_embedding(edge_index, edge_vec, n)
        x = batch.pos.new_zeros(n, self.feature_dim)
        x = x.index_copy(1, self.scalar_index, self.atom_embedding(batch.numbers).to(x.dtype))
        x = x + self.degree_embedding(edge, self.avg_num_neighbors)
        return x, edge

    def hidden(self, state):
        return state

    def readout(self, state):
        return self.final_norm(state)

    def input_modules(self):
        return [self.edge_embedding, self.atom_embedding, self.degree_embedding]

    def output_modules(self):
        return [self.final_norm]
