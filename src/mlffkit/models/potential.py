"""A potential = backbone + heads; built from a plain config dict.

Forces are ``-dE/dr`` and the stress of periodic cells ``(1/V) dE/d(strain)``, both by
autograd, so every potential is conservative. See :class:`Potential` for the parameter groups
that test-time training uses. Heads that serve one paper (FRAMES' displacement head) live in
its package and read ``forward(...)["features"]``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..data.atoms import AtomsBatch as Batch
from ..graph import radius_graph
from .backbone import Backbone, build_backbone
from .config import HeadConfig, ModelConfig
from .heads import EnergyHead, PriorHead

__all__ = ["Potential", "build_model", "resolve_config", "PRESETS", "preset"]


class Potential(nn.Module):
    """Backbone + energy head (+ optional prior head).

    Args:
        backbone: a :class:`~mlffkit.models.backbone.Backbone`.
        energy_head: the main head (:class:`EnergyHead`).
        prior_head: TTT's prior head, or None.
        representation_blocks: how many backbone blocks belong to the *representation*
            (the parameters test-time training updates, and where the prior head reads the
            features). None: the whole backbone. With k, the representation is the embeddings
            plus the first k blocks; the remaining blocks belong to the main head (Kreiman &
            Krishnapriyan update "everything before the second interaction layer": k=1).
    """

    def __init__(
        self,
        backbone: Backbone,
        energy_head: EnergyHead,
        prior_head: PriorHead | None = None,
        representation_blocks: int | None = None,
    ):
        super().__init__()
        n_blocks = len(backbone.blocks)
        if representation_blocks is not None and not 0 <= representation_blocks <= n_blocks:
            raise ValueError(f"representation_blocks must be in [0, {n_blocks}]")
        self.backbone = backbone
        self.energy_head = energy_head
        self.prior_head = prior_head
        self.representation_blocks = representation_blocks
        self.config: dict = {}
        #: The radius of the neighbour list (Å); None: the model's ``cutoff``. Radius
        #: refinement sets it per structure. The radial basis and cutoff envelope keep
        #: ``cutoff``: a larger radius only adds edges whose envelope is zero (predictions
        #: unchanged), a smaller one removes edges.
        self.neighbour_cutoff: float | None = None

    # ------------------------------------------------------------------ properties
    @property
    def cutoff(self) -> float:
        return self.backbone.cutoff

    @property
    def max_z(self) -> int:
        return self.backbone.max_z

    @property
    def irreps_features(self):
        return self.backbone.irreps_out

    @property
    def _split(self) -> int:
        k = self.representation_blocks
        return len(self.backbone.blocks) if k is None else k

    # ------------------------------------------------------------------ parameter groups
    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters by role, declared by module membership (never by name strings):

        ``representation`` (θ_R: embeddings and the first ``representation_blocks`` blocks),
        ``main_head`` (θ_M: remaining blocks, final norm, energy head),
        ``prior_head`` (θ_P). Every parameter is in exactly one group.
        """
        bb, k = self.backbone, self._split
        rep = [*bb.input_modules(), *bb.blocks[:k]]
        if self.representation_blocks is None:
            rep += bb.output_modules()
            main = [self.energy_head]
        else:
            main = [*bb.blocks[k:], *bb.output_modules(), self.energy_head]
        groups = {
            "representation": _params(rep),
            "main_head": _params(main),
            "prior_head": _params([self.prior_head]),
        }
        seen = {id(p) for ps in groups.values() for p in ps}
        missing = [n for n, p in self.named_parameters() if id(p) not in seen]
        if missing:  # a backbone forgot a module in input_modules/output_modules
            raise RuntimeError(f"parameters in no group: {missing}")
        return groups

    # ------------------------------------------------------------------ evaluation
    def _check(self, batch: Batch):
        param = next(self.parameters(), None)
        if param is not None and batch.pos.dtype != param.dtype:
            raise TypeError(
                f"batch positions are {batch.pos.dtype} but the model is {param.dtype}: "
                "use batch.to(dtype=...) or model.to(dtype)"
            )
        if batch.numbers.numel() and int(batch.numbers.max()) > self.max_z:
            raise ValueError(f"atomic number {int(batch.numbers.max())} > max_z={self.max_z}")

    def _features(self, batch: Batch, tap: bool = False):
        """Backbone features (and the representation tapped for the prior head)."""
        edge_index, edge_vec = radius_graph(batch, self.neighbour_cutoff or self.cutoff)
        bb, k = self.backbone, self._split
        state, ctx = bb.initial(batch, edge_index, edge_vec)
        hidden = None
        for i, block in enumerate(bb.blocks):
            if tap and i == k:
                hidden = bb.hidden(state)
            state = block(state, ctx)
        features = bb.readout(state)
        if tap and hidden is None:
            hidden = features if self.representation_blocks is None else bb.hidden(state)
        return features, hidden

    def embed(self, batch: Batch) -> torch.Tensor:
        """Per-atom features (N, irreps_features.dim), an e3nn tensor."""
        self._check(batch)
        return self._features(batch)[0]

    def forward(
        self,
        batch: Batch,
        forces: bool = True,
        stress: bool = False,
        prior: bool = False,
        main: bool = True,
        create_graph: bool | None = None,
    ) -> dict[str, torch.Tensor]:
        """Energies (B,) eV, forces (N, 3) eV/Å, stress (B, 3, 3) eV/Å^3 and features.

        Args:
            forces: compute ``forces = -dE/dpos``.
            stress: compute ``stress = (1/V) dE/d(strain)`` (periodic structures; NaN for
                non-periodic ones in a mixed batch). ASE's sign convention.
            prior: also return ``prior_energy`` / ``prior_forces`` (/ ``prior_stress``) from
                the prior head.
            main: return the main head's ``energy`` / ``forces`` / ``stress`` (False to
                evaluate only the prior, as in test-time training).
            create_graph: keep the graph of the derivatives (needed to train on forces);
                default: ``self.training``.
        """
        self._check(batch)
        if prior and self.prior_head is None:
            raise ValueError("this potential has no prior head")
        if stress and not batch.periodic:
            raise ValueError("stress needs a periodic structure (batch.cell and batch.pbc)")
        create_graph = self.training if create_graph is None else create_graph
        need_grad = forces or stress
        inputs = []
        if need_grad:
            pos = batch.pos if batch.pos.requires_grad else batch.pos.detach().requires_grad_(True)
            batch = batch.replace(pos=pos)
            inputs.append(pos)
        if stress:
            strain = torch.zeros(
                batch.n_structures, 3, 3, dtype=batch.pos.dtype, device=batch.pos.device, requires_grad=True
            )
            sym = 0.5 * (strain + strain.transpose(1, 2))
            pos = batch.pos + torch.einsum("ni,nij->nj", batch.pos, sym[batch.batch])
            cell = batch.cell + torch.bmm(batch.cell, sym)
            batch_eval = batch.replace(pos=pos, cell=cell)
            inputs.append(strain)
        else:
            batch_eval = batch

        with torch.set_grad_enabled(torch.is_grad_enabled() or need_grad):
            features, hidden = self._features(batch_eval, tap=prior)
            out: dict[str, torch.Tensor] = {"features": features}
            heads = []
            if main:
                heads.append(("", self.energy_head, features))
            if prior:
                heads.append(("prior_", self.prior_head, hidden))
            for h, (prefix, head, feats) in enumerate(heads):
                energy = head(feats, batch.numbers, batch.batch, batch.n_structures)
                out[prefix + "energy"] = energy
                if not need_grad:
                    continue
                grads = torch.autograd.grad(
                    energy.sum(),
                    inputs,
                    create_graph=create_graph,
                    retain_graph=create_graph or h < len(heads) - 1,
                    allow_unused=True,
                )
                if forces:
                    g = grads[0]
                    out[prefix + "forces"] = -g if g is not None else torch.zeros_like(batch.pos)
                if stress:
                    g = grads[-1]
                    g = g if g is not None else torch.zeros_like(inputs[-1])
                    volume = torch.linalg.det(batch.cell).abs()
                    periodic = batch.pbc.any(dim=1)
                    volume = torch.where(periodic, volume, torch.full_like(volume, torch.nan))
                    out[prefix + "stress"] = g / volume[:, None, None]
        return out

    def energy_and_forces(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.forward(batch, forces=True)
        return out["energy"], out["forces"]

    @torch.no_grad()
    def fit_normalisation(self, energies, numbers_per_structure, forces=None, batches=None) -> dict:
        """Fit the energy head's statistics (see :meth:`EnergyHead.fit_normalisation`) and, when
        ``batches`` (an iterable of :class:`Batch`) are given and the backbone has an
        ``avg_num_neighbors`` buffer, the average number of neighbours within the cutoff."""
        stats = self.energy_head.fit_normalisation(energies, numbers_per_structure, forces)
        buf = getattr(self.backbone, "avg_num_neighbors", None)
        if batches is not None and isinstance(buf, torch.Tensor):
            n_edges = n_atoms = 0
            for b in batches:
                n_edges += radius_graph(b, self.cutoff)[0].shape[1]
                n_atoms += b.pos.shape[0]
            if n_atoms and n_edges:
                buf.fill_(n_edges / n_atoms)
                stats["avg_num_neighbors"] = n_edges / n_atoms
        return stats


def _params(modules) -> list[nn.Parameter]:
    out, seen = [], set()
    for m in modules:
        if m is None:
            continue
        for p in m.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


# ---------------------------------------------------------------------- configs and presets

PRESETS: dict[str, ModelConfig] = {
    # Liao & Smidt's MD17 model (EGraFFBench Table 15), E(3) variant: 6 blocks, L_max 2,
    # 128x0e+64x1o+32x2e, 4 heads of 32x0e+16x1o+8x2e, FFN 384x0e+192x1o+96x2e, 32
    # exponential-normal radial functions (the official MD17 configs), radial MLP 2x64,
    # cutoff 5 Å, output MLP on 512 scalars.
    "equiformer_md17": ModelConfig("equiformer", energy_head=HeadConfig(hidden=(512,))),
    # CPU companion size for the book.
    "equiformer_book": ModelConfig(
        "equiformer",
        {"num_blocks": 2, "irreps_node": "32x0e+16x1o+8x2e", "num_heads": 2,
         "irreps_head": "16x0e+8x1o+4x2e", "irreps_ffn": "64x0e+32x1o+16x2e", "num_basis": 16,
         "radial_hidden": 32},
        HeadConfig(hidden=(64,))),
    # PaiNN as in its paper (F=128, 3 blocks, 20 Bessel functions, cutoff 5 Å).
    "painn": ModelConfig("painn", energy_head=HeadConfig(hidden=(64,))),
    "painn_book": ModelConfig("painn", {"features": 32, "num_blocks": 2},
                              HeadConfig(hidden=(32,))),
    # SchNet: F=64, 3 interactions, 50 Gaussians, readout F -> F/2 -> 1 with shifted softplus.
    "schnet": ModelConfig("schnet", energy_head=HeadConfig(hidden=(32,), activation="ssp")),
    "schnet_book": ModelConfig("schnet", {"features": 32, "num_blocks": 2, "num_basis": 25},
                               HeadConfig(hidden=(16,), activation="ssp")),
}


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def preset(name: str, **overrides) -> dict:
    """The plain config of a named preset (:data:`PRESETS`, typed :class:`ModelConfig`), with
    nested overrides merged in, e.g. ``preset('equiformer_book', backbone={'num_blocks': 1})``."""
    try:
        base = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}") from None
    return _merge(base.as_dict(), overrides)


def resolve_config(config: dict | str | ModelConfig) -> dict:
    """Expand a preset name (``'equiformer_book'`` or ``{'preset': ..., **overrides}``) or a
    :class:`ModelConfig` into a plain config dict."""
    if isinstance(config, ModelConfig):
        return config.as_dict()
    if isinstance(config, str):
        return preset(config)
    config = dict(config)
    if "preset" in config:
        name = config.pop("preset")
        return preset(name, **config)
    return copy.deepcopy(config)


def build_model(config: dict | str | ModelConfig) -> Potential:
    """Build a :class:`Potential` from a :class:`ModelConfig`, a preset name or a plain dict
    (checked through :meth:`ModelConfig.from_dict`: one-line errors naming the field).

    Config keys: ``backbone`` (``{'name': 'equiformer'|'painn'|'schnet', **hyperparameters}``),
    ``energy_head`` (``hidden``, ``activation``), ``prior_head`` (None or like
    ``energy_head``), ``representation_blocks`` (None or int). ``model.config`` holds the
    fully resolved config (every default filled in), which checkpoints store.
    """
    config = resolve_config(config)
    if config.get("displacement_head") is not None:
        raise ValueError("displacement_head is not part of a potential: FRAMES' head is built "
                         "beside it (mlffkit.papers.frames.heads.displacement_head_for)")
    config.pop("displacement_head", None)  # None in checkpoints written before the move
    config = ModelConfig.from_dict(config).as_dict()
    bb_cfg = dict(config["backbone"])
    backbone = build_backbone(bb_cfg.pop("name"), **bb_cfg)
    max_z = backbone.max_z

    energy_head = EnergyHead(backbone.irreps_out, max_z=max_z, **config["energy_head"])
    prior_cfg = config["prior_head"]
    rep_blocks = config["representation_blocks"]
    prior_irreps = backbone.irreps_out if rep_blocks is None else backbone.irreps_hidden
    prior_head = None if prior_cfg is None else PriorHead(prior_irreps, max_z=max_z, **prior_cfg)
    model = Potential(backbone, energy_head, prior_head, rep_blocks)
    model.config = {
        "backbone": {"name": backbone.name, **backbone.hparams},
        "energy_head": dict(energy_head.hparams),
        "prior_head": dict(prior_head.hparams) if prior_head is not None else None,
        "representation_blocks": rep_blocks,
    }
    return model
