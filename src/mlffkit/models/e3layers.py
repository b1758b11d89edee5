"""Equivariant layers on e3nn irreps: linear map, gate, depth-wise tensor product, layer norm.

These compute exactly what e3nn 0.6's ``o3.Linear``, ``nn.Gate`` and ``o3.TensorProduct`` (with
``'uvu'`` instructions) compute, with the same weight layouts and normalisations (the tests
compare them with e3nn), built on e3nn's ``Irreps``, ``wigner_3j`` and spherical harmonics.
They are written as a few dense products per irrep instead of e3nn's generated per-path code:
on a CPU that is 3x faster to run, and a model builds in milliseconds instead of seconds
(e3nn optimises every einsum and integrates every activation's moment at construction).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from e3nn import o3
from torch import nn

from ._common import MLP

__all__ = [
    "Linear",
    "Gate",
    "gate_for",
    "DepthwiseTensorProduct",
    "EquivariantLayerNorm",
    "normalize2mom",
]


@functools.lru_cache(maxsize=None)
def _second_moment_factor(name: str) -> float:
    """1 / sqrt(E[f(z)^2]) for z ~ N(0, 1), by Gauss-Hermite quadrature (e3nn's normalize2mom)."""
    z, w = np.polynomial.hermite_e.hermegauss(200)
    w = w / math.sqrt(2 * math.pi)
    f = {
        "silu": lambda x: x / (1 + np.exp(-x)),
        "tanh": np.tanh,
        "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    }[name]
    return float(1 / math.sqrt(np.sum(w * f(z) ** 2)))


def normalize2mom(name: str):
    """The activation ``name`` (silu, tanh, sigmoid) scaled to unit second moment on N(0, 1)."""
    fn = {"silu": nn.functional.silu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[name]
    c = _second_moment_factor(name)
    return lambda x: c * fn(x)


class Linear(nn.Module):
    """Equivariant linear map: mixes the channels of equal irreps, nothing else.

    Same as ``e3nn.o3.Linear`` (weights ``(mul_in, mul_out)`` per pair of equal irreps in
    e3nn's order, each output divided by sqrt(its fan-in), optional biases on ``0e`` outputs).
    """

    def __init__(self, irreps_in, irreps_out, biases: bool = False):
        super().__init__()
        self.irreps_in, self.irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
        self.instructions = [
            (i_in, i_out)
            for i_in, (_, ir_in) in enumerate(self.irreps_in)
            for i_out, (_, ir_out) in enumerate(self.irreps_out)
            if ir_in == ir_out
        ]
        numel = sum(self.irreps_in[i].mul * self.irreps_out[o].mul for i, o in self.instructions)
        self.weight = nn.Parameter(torch.randn(numel))
        in_slices = self.irreps_in.slices()
        # per output block: input column index (channel-major) and the weight pieces
        self.plan = []
        offset = 0
        offsets = {}
        for i_in, i_out in self.instructions:
            offsets[(i_in, i_out)] = offset
            offset += self.irreps_in[i_in].mul * self.irreps_out[i_out].mul
        bias_sizes = []
        for i_out, (mul_out, ir) in enumerate(self.irreps_out):
            sources = [i for i, o in self.instructions if o == i_out]
            cols = [c for i in sources for c in range(in_slices[i].start, in_slices[i].stop)]
            pieces = [(offsets[(i, i_out)], self.irreps_in[i].mul) for i in sources]
            has_bias = biases and ir.l == 0 and ir.p == 1
            fan_in = sum(m for _, m in pieces)
            self.plan.append((mul_out, ir.dim, pieces, fan_in, len(bias_sizes) if has_bias else None))
            self.register_buffer(f"cols{i_out}", torch.tensor(cols, dtype=torch.long), persistent=False)
            if has_bias:
                bias_sizes.append(mul_out)
        self.bias = nn.ParameterList(nn.Parameter(torch.zeros(m)) for m in bias_sizes)
        # inputs that are one contiguous range of columns are sliced instead of gathered
        self._ranges = []
        for i in range(len(self.irreps_out)):
            c = getattr(self, f"cols{i}").tolist()
            contiguous = len(c) > 0 and c == list(range(c[0], c[0] + len(c)))
            self._ranges.append((c[0], c[0] + len(c)) if contiguous else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        outs = []
        for i_out, (mul_out, dim, pieces, fan_in, bias) in enumerate(self.plan):
            if not pieces:
                y = x.new_zeros(n, mul_out * dim)
                if bias is not None:
                    y = y + self.bias[bias]
                outs.append(y)
                continue
            r = self._ranges[i_out]
            xi = x[:, r[0] : r[1]] if r is not None else x.index_select(1, getattr(self, f"cols{i_out}"))
            if len(pieces) == 1:
                w = self.weight[pieces[0][0] : pieces[0][0] + fan_in * mul_out].reshape(fan_in, mul_out)
            else:
                w = torch.cat([self.weight[o : o + m * mul_out].reshape(m, mul_out) for o, m in pieces])
            w = w / math.sqrt(fan_in)
            if dim == 1:
                y = xi @ w
            else:
                y = (xi.reshape(n, fan_in, dim).transpose(1, 2) @ w).transpose(1, 2).reshape(n, mul_out * dim)
            if bias is not None:
                y = y + self.bias[bias]
            outs.append(y)
        return torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]


class Gate(nn.Module):
    """Gate activation (e3nn ``nn.Gate``): input ``scalars + gates + gated``; scalars go through
    SiLU (even) or tanh (odd), every gated irrep is multiplied by sigmoid(its gate). Output
    ``scalars + gated``. Activations are normalised to unit second moment as in e3nn."""

    def __init__(self, irreps_scalars, irreps_gated):
        super().__init__()
        self.irreps_scalars = o3.Irreps(irreps_scalars)
        self.irreps_gated = o3.Irreps(irreps_gated)
        if any(ir.l != 0 for _, ir in self.irreps_scalars):
            raise ValueError("gate scalars must have l = 0")
        n_gates = self.irreps_gated.num_irreps
        self.irreps_gates = o3.Irreps(f"{n_gates}x0e") if n_gates else o3.Irreps("")
        self.irreps_in = self.irreps_scalars + self.irreps_gates + self.irreps_gated
        self.irreps_out = self.irreps_scalars + self.irreps_gated
        self.acts = [normalize2mom("silu" if ir.p == 1 else "tanh") for _, ir in self.irreps_scalars]
        self.sigmoid = normalize2mom("sigmoid")
        gate_of = [torch.full((ir.dim,), k) for k, (_, ir) in enumerate(_expand(self.irreps_gated))]
        self.register_buffer(
            "gate_index", torch.cat(gate_of) if gate_of else torch.zeros(0, dtype=torch.long), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs, start = [], 0
        for act, (mul, _) in zip(self.acts, self.irreps_scalars):
            outs.append(act(x[:, start : start + mul]))
            start += mul
        n_gates = self.irreps_gates.dim
        if n_gates:
            gates = self.sigmoid(x[:, start : start + n_gates])
            outs.append(x[:, start + n_gates :] * gates.index_select(1, self.gate_index))
        return torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]


def _expand(irreps):
    return [(1, ir) for mul, ir in irreps for _ in range(mul)]


def gate_for(irreps_out) -> Gate:
    """A gate whose output has the multiplicities of ``irreps_out`` (scalars first)."""
    irreps_out = o3.Irreps(irreps_out)
    scalars = o3.Irreps([(mul, ir) for mul, ir in irreps_out if ir.l == 0])
    gated = o3.Irreps([(mul, ir) for mul, ir in irreps_out if ir.l > 0])
    return Gate(scalars, gated)


class DepthwiseTensorProduct(nn.Module):
    """Channel-wise tensor product ``x_ij (x) Y(r_ij)`` with one weight per channel and path,
    predicted per edge by a radial MLP and multiplied by the cutoff envelope.

    Mathematically e3nn's ``o3.TensorProduct`` with ``'uvu'`` instructions (component
    normalisation: coefficient ``sqrt(2 l_out + 1)`` times e3nn's Wigner 3j symbols; the same
    weight layout). It is evaluated as two dense products per input irrep (``Y @ C``, then a
    batched product with ``x``).

    Output irreps: every ``l_in x l_sh -> l_out`` path whose ``l_out`` is in ``allowed``,
    sorted and merged (``irreps_out``).
    """

    def __init__(
        self,
        irreps_in,
        irreps_sh,
        allowed,
        num_basis: int,
        radial_hidden: int,
        radial_layers: int,
    ):
        super().__init__()
        self.irreps_in = o3.Irreps(irreps_in)
        self.irreps_sh = irreps_sh = o3.Irreps(irreps_sh)
        if any(mul != 1 for mul, _ in irreps_sh):
            raise ValueError("the spherical harmonics irreps must have multiplicity 1")
        allowed = {o3.Irrep(ir) for ir in allowed}
        self.blocks = []  # (input start, stop, mul, dim_in, width, n_paths, weight offset)
        entries = []  # (ir_out, mul, offset of the block in Y, width, offset in the block)
        self.instructions = []  # e3nn-style (i_in, i_sh, ir_out), in weight order
        weight_offset = flat = 0
        in_slices = self.irreps_in.slices()
        sh_slices = irreps_sh.slices()
        for i, (mul, ir_in) in enumerate(self.irreps_in):
            paths = [
                (j, ir_out)
                for j, (_, ir_sh) in enumerate(irreps_sh)
                for ir_out in ir_in * ir_sh
                if ir_out in allowed
            ]
            if not paths:
                continue
            width = sum(ir_out.dim for _, ir_out in paths)
            coeff = torch.zeros(ir_in.dim, irreps_sh.dim, width, dtype=torch.float64)
            path_of, offset = [], 0
            for p, (j, ir_out) in enumerate(paths):
                w3j = o3.wigner_3j(ir_in.l, irreps_sh[j].ir.l, ir_out.l, dtype=torch.float64)
                coeff[:, sh_slices[j], offset : offset + ir_out.dim] = math.sqrt(ir_out.dim) * w3j
                path_of += [p] * ir_out.dim
                entries.append((ir_out, mul, flat, width, offset))
                self.instructions.append((i, j, ir_out))
                offset += ir_out.dim
            b = len(self.blocks)
            # kept in float64 whatever the model's dtype (see _apply), so that a model built in
            # float32 and converted to float64 is equivariant to float64 precision
            self.register_buffer(f"coeff{b}", coeff.permute(1, 0, 2).reshape(irreps_sh.dim, -1), persistent=False)
            self.register_buffer(f"path_of{b}", torch.tensor(path_of, dtype=torch.long), persistent=False)
            sl = in_slices[i]
            self.blocks.append((sl.start, sl.stop, mul, ir_in.dim, width, len(paths), weight_offset))
            weight_offset += len(paths) * mul
            flat += mul * width
        if not entries:
            raise ValueError(f"no tensor-product path from {self.irreps_in} to {allowed}")
        self.weight_numel = weight_offset
        # gather Y (blocks of (mul, width)) into sorted irreps, channel-major within each irrep
        order = sorted(range(len(entries)), key=lambda k: entries[k][0])
        index = []
        for k in order:
            ir_out, mul, base, width, offset = entries[k]
            for u in range(mul):
                start = base + u * width + offset
                index.extend(range(start, start + ir_out.dim))
        self.register_buffer("out_index", torch.tensor(index, dtype=torch.long), persistent=False)
        self.irreps_out = o3.Irreps([(entries[k][1], entries[k][0]) for k in order]).simplify()
        sizes = [num_basis] + [radial_hidden] * radial_layers + [self.weight_numel]
        self.radial = MLP(sizes, act="silu", layer_norm=True)

    def _apply(self, fn, recurse=True):
        # move the Clebsch-Gordan buffers to the new device but keep them in float64
        coeffs = {f"coeff{b}": getattr(self, f"coeff{b}") for b in range(len(self.blocks))}
        out = super()._apply(fn, recurse)
        device = fn(torch.zeros(0, dtype=torch.float64, device=coeffs["coeff0"].device)).device
        for name, c in coeffs.items():
            self._buffers[name] = c.to(device)
        return out

    def tensor_product(self, x: torch.Tensor, sh: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """The weighted tensor product for given per-edge weights (E, weight_numel)."""
        n = x.shape[0]
        ys = []
        for b, (start, stop, mul, dim_in, width, n_paths, w0) in enumerate(self.blocks):
            coeff = getattr(self, f"coeff{b}").to(sh.dtype)
            s = (sh @ coeff).reshape(n, dim_in, width)
            if dim_in == 1:
                y = x[:, start:stop, None] * s
            else:
                y = torch.bmm(x[:, start:stop].reshape(n, mul, dim_in), s)
            w = weight[:, w0 : w0 + n_paths * mul].reshape(n, n_paths, mul).transpose(1, 2)
            ys.append((y * w.index_select(2, getattr(self, f"path_of{b}"))).reshape(n, -1))
        return torch.cat(ys, dim=1).index_select(1, self.out_index)

    def forward(self, x: torch.Tensor, edge) -> torch.Tensor:
        """``edge`` carries ``rbf`` (E, num_basis), ``sh`` (E, irreps_sh.dim), ``envelope`` (E,)."""
        weight = self.radial(edge.rbf) * edge.envelope[:, None]
        return self.tensor_product(x, edge.sh, weight)


class EquivariantLayerNorm(nn.Module):
    """Equivariant layer norm (Equiformer §3.2): for each degree l, divide the features by the
    root mean square (over channels and components) of their norms; even scalars are also
    centred and get a bias. One learned scale per channel."""

    def __init__(self, irreps, eps: float = 1e-5):
        super().__init__()
        self.irreps = o3.Irreps(irreps)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(self.irreps.num_irreps))
        n_scalars = sum(mul for mul, ir in self.irreps if ir.l == 0 and ir.p == 1)
        self.bias = nn.Parameter(torch.zeros(n_scalars))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, ix, iw, ib = [], 0, 0, 0
        for mul, ir in self.irreps:
            field = x[:, ix : ix + mul * ir.dim].reshape(-1, mul, ir.dim)
            ix += mul * ir.dim
            even_scalar = ir.l == 0 and ir.p == 1
            if even_scalar:
                field = field - field.mean(dim=1, keepdim=True)
            norm = field.pow(2).mean(dim=(1, 2), keepdim=True)
            field = field * torch.rsqrt(norm + self.eps) * self.weight[iw : iw + mul, None]
            iw += mul
            if even_scalar:
                field = field + self.bias[ib : ib + mul, None]
                ib += mul
            out.append(field.reshape(-1, mul * ir.dim))
        return torch.cat(out, dim=-1)
