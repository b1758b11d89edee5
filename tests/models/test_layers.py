"""Equivariant layers: same numbers as e3nn's modules, equivariance, radial functions."""

import math

import pytest
import torch
from e3nn import nn as enn
from e3nn import o3

from mlffkit.models._common import Envelope, RadialBasis, scatter_softmax
from mlffkit.models.e3layers import (
    DepthwiseTensorProduct,
    EquivariantLayerNorm,
    Linear,
    Permute,
    expand_channels,
    gate_for,
    inverse_permutation,
)
from mlffkit.testing import assert_close, wigner_d


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def test_linear_equals_e3nn_linear():
    irreps_in, irreps_out = o3.Irreps("3x0e+2x1o+1x0e+2x2e+1x1e"), o3.Irreps("4x0e+3x1o+1x2e+2x2o")
    ours = Linear(irreps_in, irreps_out)
    ref = o3.Linear(irreps_in, irreps_out)
    assert ref.weight_numel == ours.weight.numel()
    ref.weight.data.copy_(ours.weight.data)
    x = irreps_in.randn(5, -1)
    assert_close(ours(x), ref(x), 1e-12, what="Linear vs e3nn")


def test_linear_biases_only_on_even_scalars():
    lin = Linear("2x0e+1x1o", "3x0e+1x0o+1x1o", biases=True)
    assert [b.numel() for b in lin.bias] == [3]
    for b in lin.bias:
        b.data.fill_(1.0)
    out = lin(torch.zeros(1, 5))
    assert out[0, :3].tolist() == [1.0] * 3 and out[0, 3:].abs().sum() == 0


def test_gate_equals_e3nn_gate():
    ours = gate_for("4x0e+2x0o+3x1o+2x2e")
    silu = torch.nn.functional.silu
    ref = enn.Gate("4x0e+2x0o", [silu, torch.tanh], "5x0e", [torch.sigmoid], "3x1o+2x2e")
    assert ours.irreps_out == ref.irreps_out
    x = ours.irreps_in.randn(7, -1)
    # e3nn sorts its input (0o scalars first): reorder our (scalars, gates, gated) layout
    ref_in = torch.cat([x[:, 4:6], x[:, :4], x[:, 6:]], dim=1)
    assert ref.irreps_in == o3.Irreps("2x0o+9x0e+3x1o+2x2e")
    # e3nn estimates the activations' second moments by sampling (to ~0.2%); ours are exact
    assert_close(ours(x), ref(ref_in), 1e-6, rtol=5e-3, what="Gate vs e3nn")


def test_depthwise_tensor_product_equals_e3nn():
    irreps_in = o3.Irreps("5x0e+3x1o+2x2e+1x1e")
    sh = o3.Irreps.spherical_harmonics(2)
    allowed = {o3.Irrep(i) for i in ["0e", "1o", "2e", "1e"]}
    ours = DepthwiseTensorProduct(irreps_in, sh, allowed, num_basis=4, radial_hidden=8, radial_layers=1)
    instructions, mid = [], []
    for i, j, ir in ours.instructions:
        instructions.append((i, j, len(mid), "uvu", True))
        mid.append((irreps_in[i].mul, ir))
    mid_sorted, perm, _ = o3.Irreps(mid).sort()
    ref = o3.TensorProduct(
        irreps_in,
        sh,
        mid_sorted,
        [(i, j, perm[k], m, t) for i, j, k, m, t in instructions],
        internal_weights=False,
        shared_weights=False,
    )
    assert ref.weight_numel == ours.weight_numel and mid_sorted.simplify() == ours.irreps_out
    x, y, w = irreps_in.randn(6, -1), sh.randn(6, -1), torch.randn(6, ours.weight_numel)
    assert_close(ours.tensor_product(x, y, w), ref(x, y, w), 1e-10, what="DTP vs e3nn")
    # first and second derivatives too (training on forces differentiates the model twice;
    # the permutation and weight expansion have hand-made backward passes)
    ours.double()
    for fn, name in ((ours.tensor_product, "ours"), (ref, "e3nn")):
        inputs = [t.clone().requires_grad_(True) for t in (x, y, w)]
        out = fn(*inputs)
        grads = torch.autograd.grad((out**2).sum(), inputs, create_graph=True)
        second = torch.autograd.grad(sum((g * g.detach().sin()).sum() for g in grads), inputs)
        if name == "ours":
            expected = (grads, second)
        else:
            for a, b in zip([*expected[0], *expected[1]], [*grads, *second]):
                assert_close(a, b, 1e-9, what="DTP derivatives vs e3nn")


def test_permute_and_expand_channels_differentiate_twice():
    index = torch.randperm(7)
    x = torch.randn(3, 7, dtype=torch.float64, requires_grad=True)
    assert torch.equal(Permute.apply(x, index, inverse_permutation(index)), x[:, index])
    assert torch.autograd.gradgradcheck(lambda t: Permute.apply(t, index, inverse_permutation(index)), (x,))
    scale = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    out = expand_channels(scale, [(2, 1), (3, 3)])
    assert torch.equal(out, torch.cat([scale[:, :2], scale[:, 2:].repeat_interleave(3, dim=1)], dim=1))
    assert torch.autograd.gradgradcheck(lambda t: expand_channels(t, [(2, 1), (3, 3)]) ** 2, (scale,))


def test_depthwise_tensor_product_stays_float64_after_conversion():
    tp = DepthwiseTensorProduct("2x1o", "1x0e+1x1o", {o3.Irrep("0e")}, 3, 4, 1).float()
    assert tp.coeff0.dtype == torch.float64 and tp.radial.layers[0].weight.dtype == torch.float32
    tp = tp.double()
    assert tp.radial.layers[0].weight.dtype == torch.float64


@pytest.mark.parametrize("reflect", [False, True])
def test_layer_norm_and_gate_equivariant(reflect):
    irreps = o3.Irreps("6x0e+2x0o+4x1o+2x1e+3x2e")
    R = o3.rand_matrix() * (-1 if reflect else 1)
    D = wigner_d(irreps, R)
    norm = EquivariantLayerNorm(irreps)
    norm.weight.data.uniform_(0.5, 1.5)
    norm.bias.data.normal_()
    x = irreps.randn(5, -1)
    assert_close(norm(x @ D.T), norm(x) @ D.T, 1e-10, what="layer norm")
    gate = gate_for(irreps)
    x = gate.irreps_in.randn(5, -1)
    assert_close(gate(x @ wigner_d(gate.irreps_in, R).T), gate(x) @ wigner_d(gate.irreps_out, R).T, 1e-10, what="gate")


def test_layer_norm_normalises_each_degree():
    irreps = o3.Irreps("16x0e+8x1o")
    y = EquivariantLayerNorm(irreps)(irreps.randn(3, -1) * 7 + 2)
    assert_close(y[:, :16].mean(1), torch.zeros(3), 1e-10)
    assert_close(y[:, :16].pow(2).mean(1), torch.ones(3), 1e-4)
    assert_close(y[:, 16:].pow(2).mean(1), torch.ones(3), 1e-4)


@pytest.mark.parametrize("kind", ["cosine", "polynomial"])
def test_envelope_is_smooth_at_cutoff(kind):
    env = Envelope(5.0, kind)
    r = torch.tensor([0.0, 4.999999, 5.0, 6.0], requires_grad=True)
    v = env(r)
    (g,) = torch.autograd.grad(v.sum(), r)
    assert v[0] == 1 and abs(v[1]) < 1e-9 and v[2] == 0 and v[3] == 0
    assert abs(g[1]) < 1e-5 and g[2] == 0


@pytest.mark.parametrize("kind", ["gaussian", "bessel"])
def test_radial_basis_shapes(kind):
    rbf = RadialBasis(5.0, 8, kind)
    out = rbf(torch.linspace(0.5, 5, 11))
    assert out.shape == (11, 8) and torch.isfinite(out).all()
    with pytest.raises(ValueError):
        RadialBasis(5.0, 8, "fourier")


def test_scatter_softmax_normalises_per_target():
    logits = torch.tensor([[1.0, 0.0], [2.0, 5.0], [3.0, -1.0], [100.0, 0.0]])
    target = torch.tensor([0, 0, 1, 1])
    w = torch.tensor([1.0, 0.5, 1.0, 1e-3])
    a = scatter_softmax(logits, target, 3, weight=w)
    sums = torch.zeros(3, 2).index_add(0, target, a)
    assert_close(sums[:2], torch.ones(2, 2), 1e-12)
    expected = 0.5 * math.exp(2) / (math.exp(1) + 0.5 * math.exp(2))
    assert abs(a[1, 0].item() - expected) < 1e-12
