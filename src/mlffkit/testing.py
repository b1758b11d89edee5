"""Reusable checks that every mlffkit potential must pass (use them on your own models too).

Each ``assert_*`` function raises ``AssertionError`` with the size of the violation. They take
a model with the :class:`~mlffkit.models.Potential` call signature
(``model(batch, forces=..., stress=...) -> {'energy', 'forces', 'stress', ...}``) and run on
the model's own device and dtype; convert the model with ``.double()`` for tight tolerances.

>>> from mlffkit.testing import check_potential, random_molecule
>>> check_potential(model.double(), random_molecule([6, 1, 1, 8], dtype=torch.float64))
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from e3nn import o3

from .data.atoms import AtomsBatch as Batch, assemble, batch_from_arrays
from .models import build_model

__all__ = [
    "TINY_CONFIGS",
    "tiny_model",
    "random_molecule",
    "random_crystal",
    "random_rotation",
    "transform",
    "wigner_d",
    "model_device_dtype",
    "assert_close",
    "assert_energy_forces_equivariant",
    "assert_features_equivariant",
    "assert_translation_invariant",
    "assert_permutation_equivariant",
    "assert_forces_match_finite_differences",
    "assert_stress_matches_finite_differences",
    "assert_batch_equals_single",
    "check_potential",
]


# ---------------------------------------------------------------------- tiny models

# One per backbone, with every head; sizes chosen so the whole suite runs in seconds.
TINY_CONFIGS: dict[str, dict] = {
    "equiformer": {
        "backbone": {
            "name": "equiformer",
            "cutoff": 4.0,
            "num_blocks": 2,
            "irreps_node": "8x0e+4x1o+2x2e",
            "num_heads": 2,
            "irreps_head": "4x0e+2x1o+1x2e",
            "irreps_ffn": "16x0e+8x1o+4x2e",
            "num_basis": 8,
            "radial_hidden": 8,
            "avg_num_neighbors": 5.0,
        },
        "energy_head": {"hidden": [8]},
        "prior_head": {"hidden": [8]},
    },
    "equiformer_split": {  # representation = embeddings + first block (TTT split)
        "backbone": {
            "name": "equiformer",
            "cutoff": 4.0,
            "num_blocks": 2,
            "irreps_node": "8x0e+4x1o+4x1e+2x2e",
            "lmax": 2,
            "num_heads": 1,
            "irreps_head": "8x0e+4x1o+2x2e",
            "irreps_ffn": "8x0e+4x1o+2x2e",
            "num_basis": 6,
            "basis": "bessel",
            "envelope": "polynomial",
            "radial_hidden": 8,
        },
        "energy_head": {"hidden": [8]},
        "prior_head": {"hidden": [8]},
        "representation_blocks": 1,
    },
    "painn": {
        "backbone": {"name": "painn", "cutoff": 4.0, "features": 8, "num_blocks": 2, "num_basis": 8},
        "energy_head": {"hidden": [8]},
        "prior_head": {"hidden": [8]},
        "representation_blocks": 1,
    },
    "schnet": {
        "backbone": {"name": "schnet", "cutoff": 4.0, "features": 8, "num_blocks": 2, "num_basis": 10},
        "energy_head": {"hidden": [8], "activation": "ssp"},
        "prior_head": {"hidden": [8]},
    },
}

_BUILT: dict = {}


def tiny_model(name: str, dtype=torch.float64):
    """A tiny seeded model of ``TINY_CONFIGS[name]`` in eval mode (for tests: a fraction of a
    second per call). Built once per process, deep-copied per call."""
    if name not in _BUILT:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = build_model(copy.deepcopy(TINY_CONFIGS[name]))
        # non-trivial normalisation so that the buffers are exercised
        model.energy_head.scale.fill_(0.7)
        model.energy_head.element_energy[:10] = torch.linspace(-3, -1, 10)
        _BUILT[name] = model
    return copy.deepcopy(_BUILT[name]).to(dtype).eval()


# ---------------------------------------------------------------------- structures


def _random_positions(n, rng, box, min_dist):
    pos = []
    while len(pos) < n:
        p = rng.uniform(0, box, size=3)
        if all(np.linalg.norm(p - q) >= min_dist for q in pos):
            pos.append(p)
    return np.array(pos)


def random_molecule(
    numbers: Sequence[int],
    seed: int = 0,
    box: float | None = None,
    min_dist: float = 0.9,
    dtype: torch.dtype | None = None,
    device=None,
    n_structures: int = 1,
) -> Batch:
    """A batch of ``n_structures`` random non-periodic structures of the given atoms (atoms
    at least ``min_dist`` Å apart inside a cube of side ``box``, default ~ (2 n)^(1/3) Å)."""
    rng = np.random.default_rng(seed)
    box = box or max(2.0, 1.6 * len(numbers) ** (1 / 3))
    positions = np.stack([_random_positions(len(numbers), rng, box, min_dist) for _ in range(n_structures)])
    return batch_from_arrays(positions, numbers, dtype=dtype or torch.get_default_dtype(), device=device)


def random_crystal(
    numbers: Sequence[int],
    seed: int = 0,
    cell_length: float = 4.0,
    skew: float = 0.3,
    min_dist: float = 1.0,
    dtype: torch.dtype | None = None,
    device=None,
) -> Batch:
    """One random periodic structure in a skewed (triclinic) cell; with a cell shorter than
    the cutoff, atoms see several periodic images of each other."""
    rng = np.random.default_rng(seed)
    cell = cell_length * (np.eye(3) + skew * rng.uniform(-1, 1, size=(3, 3)))
    frac = []
    while len(frac) < len(numbers):
        f = rng.uniform(0, 1, size=3)
        ok = True
        for g in frac:
            d = f - g
            d -= np.round(d)
            if np.linalg.norm(d @ cell) < min_dist:
                ok = False
        if ok:
            frac.append(f)
    pos = np.array(frac) @ cell
    return batch_from_arrays(pos, numbers, cell=cell, dtype=dtype or torch.get_default_dtype(), device=device)


def random_rotation(reflect: bool = False, dtype=torch.float64, device=None) -> torch.Tensor:
    """A uniformly random rotation matrix (e3nn ``o3.rand_matrix``); with ``reflect`` an
    improper rotation (rotation times inversion, determinant -1)."""
    R = o3.rand_matrix(dtype=dtype, device=device)
    return -R if reflect else R


def wigner_d(irreps, R: torch.Tensor) -> torch.Tensor:
    """The representation matrix of ``R`` (proper or improper) on features with ``irreps``.

    e3nn's ``Irreps.D_from_matrix`` is accurate to ~1e-7 only (float32 constants inside), too
    coarse for float64 checks; here ``D_l`` is fitted exactly (least squares in float64) from
    ``Y_l(R x) = D_l Y_l(x)`` on random points, and odd irreps change sign under inversion.
    """
    R = R.detach().cpu().to(torch.float64)
    det = torch.linalg.det(R)
    proper = R * det
    x = torch.randn(64, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    blocks = []
    for mul, ir in o3.Irreps(irreps):
        y = o3.spherical_harmonics(ir.l, x, normalize=True, normalization="component")
        y_rot = o3.spherical_harmonics(ir.l, x @ proper.T, normalize=True, normalization="component")
        D = torch.linalg.lstsq(y, y_rot).solution.T
        if det < 0:
            D = D * ir.p
        blocks.extend([D] * mul)
    return torch.block_diag(*blocks)


def transform(batch: Batch, R: torch.Tensor, t: torch.Tensor | None = None) -> Batch:
    """The batch with every position mapped to ``R r + t`` and the cell vectors rotated."""
    R = R.to(dtype=batch.dtype, device=batch.device)
    pos = batch.pos @ R.T
    if t is not None:
        pos = pos + t.to(dtype=batch.dtype, device=batch.device)
    cell = batch.cell @ R.T if batch.cell is not None else None
    return batch.replace(pos=pos, cell=cell)


def model_device_dtype(model) -> tuple[torch.device, torch.dtype]:
    p = next(model.parameters())
    return p.device, p.dtype


# ---------------------------------------------------------------------- assertions


def assert_close(actual, expected, atol, rtol=0.0, what="values"):
    actual, expected = torch.as_tensor(actual), torch.as_tensor(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shape {tuple(actual.shape)} != {tuple(expected.shape)}")
    err = (actual - expected).abs()
    bound = atol + rtol * expected.abs()
    if not bool(torch.isfinite(actual).all()):
        raise AssertionError(f"{what}: non-finite values")
    if bool((err > bound).any()):
        raise AssertionError(f"{what}: max abs deviation {err.max().item():.3e} exceeds atol={atol:g}, rtol={rtol:g}")


def _eval(model, batch, **kw):
    return model(batch, create_graph=False, **kw)


def assert_energy_forces_equivariant(model, batch: Batch, R: torch.Tensor | None = None, reflect: bool = False, atol=1e-8):
    """E(R x) = E(x) and F(R x) = R F(x) for a random (improper, with ``reflect``) rotation."""
    R = R if R is not None else random_rotation(reflect, dtype=batch.dtype, device=batch.device)
    periodic = batch.periodic
    a = _eval(model, batch, stress=periodic)
    b = _eval(model, transform(batch, R), stress=periodic)
    R = R.to(batch.dtype)
    assert_close(b["energy"], a["energy"], atol, what="energy under rotation")
    assert_close(b["forces"], a["forces"] @ R.T, atol, what="forces under rotation")
    if periodic:
        assert_close(b["stress"], R @ a["stress"] @ R.T, atol, what="stress under rotation")


def assert_features_equivariant(model, batch: Batch, R: torch.Tensor | None = None, reflect: bool = False, atol=1e-8):
    """The per-atom features transform with the Wigner D matrices of their irreps."""
    R = R if R is not None else random_rotation(reflect, dtype=batch.dtype, device=batch.device)
    D = wigner_d(model.irreps_features, R).to(dtype=batch.dtype, device=batch.device)
    a = model.embed(batch).detach()
    b = model.embed(transform(batch, R)).detach()
    assert_close(b, a @ D.T, atol, what="features under rotation")


def assert_translation_invariant(model, batch: Batch, atol=1e-8):
    """Energy and forces unchanged by a rigid translation."""
    t = torch.tensor([1.7, -2.9, 0.45], dtype=batch.dtype, device=batch.device)
    a = _eval(model, batch)
    b = _eval(model, transform(batch, torch.eye(3), t))
    assert_close(b["energy"], a["energy"], atol, what="energy under translation")
    assert_close(b["forces"], a["forces"], atol, what="forces under translation")


def assert_permutation_equivariant(model, batch: Batch, seed: int = 0, atol=1e-8):
    """Relabelling the atoms (within each structure) permutes the forces, keeps energies."""
    g = torch.Generator().manual_seed(seed)
    perm = torch.arange(batch.pos.shape[0])
    for s in range(batch.n_structures):
        idx = torch.nonzero(batch.batch.cpu() == s).reshape(-1)
        perm[idx] = idx[torch.randperm(idx.numel(), generator=g)]
    perm = perm.to(batch.device)
    permuted = batch.replace(pos=batch.pos[perm], numbers=batch.numbers[perm], batch=batch.batch[perm])
    a = _eval(model, batch)
    b = _eval(model, permuted)
    assert_close(b["energy"], a["energy"], atol, what="energy under permutation")
    assert_close(b["forces"], a["forces"][perm], atol, what="forces under permutation")


def assert_forces_match_finite_differences(model, batch: Batch, eps: float = 1e-5, n_checks: int = 6, atol=1e-6, rtol=1e-5, seed=0):
    """Forces equal central finite differences of -E for ``n_checks`` random coordinates."""
    forces = _eval(model, batch)["forces"].detach()
    rng = np.random.default_rng(seed)
    n = batch.pos.shape[0]
    for flat in rng.choice(3 * n, size=min(n_checks, 3 * n), replace=False):
        i, k = divmod(int(flat), 3)
        e = []
        for sign in (1, -1):
            pos = batch.pos.detach().clone()
            pos[i, k] += sign * eps
            e.append(_eval(model, batch.replace(pos=pos), forces=False)["energy"].detach().sum())
        fd = -(e[0] - e[1]) / (2 * eps)
        assert_close(forces[i, k], fd, atol, rtol, what=f"force on atom {i}, axis {k} vs finite difference")


def assert_stress_matches_finite_differences(model, batch: Batch, eps: float = 1e-5, atol=1e-6, rtol=1e-5):
    """Stress equals (1/V) dE/d(strain) by central differences of a homogeneous strain."""
    if not batch.periodic:
        raise ValueError("stress needs a periodic batch")
    stress = _eval(model, batch, stress=True)["stress"].detach()
    volume = batch.volume()
    eye = torch.eye(3, dtype=batch.dtype, device=batch.device)
    fd = torch.zeros_like(stress)
    for i in range(3):
        for j in range(3):
            e = []
            for sign in (1, -1):
                strain = torch.zeros(3, 3, dtype=batch.dtype, device=batch.device)
                strain[i, j] += sign * eps / 2
                strain[j, i] += sign * eps / 2
                deform = eye + strain
                strained = batch.replace(pos=batch.pos.detach() @ deform, cell=batch.cell @ deform)
                e.append(_eval(model, strained, forces=False)["energy"].detach())
            fd[:, i, j] = (e[0] - e[1]) / (2 * eps) / volume
    assert_close(stress, fd, atol, rtol, what="stress vs finite difference")


def _split(batch: Batch) -> list[Batch]:
    out = []
    for s in range(batch.n_structures):
        m = batch.batch == s
        out.append(
            assemble(
                pos=batch.pos[m],
                numbers=batch.numbers[m],
                batch=torch.zeros(int(m.sum()), dtype=torch.long, device=batch.device),
                n_structures=1,
                cell=batch.cell[s : s + 1] if batch.cell is not None else None,
                pbc=batch.pbc[s : s + 1] if batch.pbc is not None else None,
            )
        )
    return out


def assert_batch_equals_single(model, batch: Batch, atol=1e-8):
    """A batch of structures gives the same energies and forces as each structure alone."""
    a = _eval(model, batch)
    singles = [_eval(model, b) for b in _split(batch)]
    assert_close(a["energy"], torch.cat([s["energy"] for s in singles]), atol, what="batched energy")
    assert_close(a["forces"], torch.cat([s["forces"] for s in singles]), atol, what="batched forces")


def check_potential(model, batch: Batch, periodic_batch: Batch | None = None, reflect: bool = True, atol=1e-7):
    """Run the whole suite on ``model`` (best in float64): equivariance (rotation and, with
    ``reflect``, reflection) of energy, forces and features, translation and permutation
    symmetry, finite-difference forces, batching; stress checks on ``periodic_batch``."""
    checks = [False, True] if reflect else [False]
    for r in checks:
        assert_energy_forces_equivariant(model, batch, reflect=r, atol=atol)
        assert_features_equivariant(model, batch, reflect=r, atol=atol)
    assert_translation_invariant(model, batch, atol=atol)
    assert_permutation_equivariant(model, batch, atol=atol)
    assert_forces_match_finite_differences(model, batch)
    if batch.n_structures > 1:
        assert_batch_equals_single(model, batch, atol=atol)
    if periodic_batch is not None:
        for r in checks:
            assert_energy_forces_equivariant(model, periodic_batch, reflect=r, atol=atol)
        assert_stress_matches_finite_differences(model, periodic_batch)
        assert_forces_match_finite_differences(model, periodic_batch)
