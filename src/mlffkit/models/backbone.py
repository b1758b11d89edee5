"""The backbone protocol and the registry of backbones by name.

A backbone maps a batch of structures and its radius graph to per-atom features. It is run in
three stages so that a potential can tap the representation after any block (test-time training
updates "everything before the k-th block", Kreiman & Krishnapriyan §D):

    state, ctx = backbone.initial(batch, edge_index, edge_vec)   # embeddings, edge geometry
    for block in backbone.blocks: state = block(state, ctx)      # message-passing blocks
    features = backbone.readout(state)                           # (N, irreps_out.dim)

Features are e3nn tensors: a 2-D tensor whose columns follow ``backbone.irreps_out`` (scalars
``0e``, vectors ``1o``, ...), so every head works with every backbone. ``hidden(state)`` gives
the same kind of tensor for an intermediate state (irreps ``backbone.irreps_hidden``).
"""

from __future__ import annotations

import torch
from e3nn import o3
from torch import nn

from ..data.atoms import AtomsBatch as Batch
from ..registries import Registry

__all__ = ["Backbone", "BACKBONES", "register_backbone", "build_backbone", "arguments"]

BACKBONES: Registry[type["Backbone"]] = Registry("backbone")


def register_backbone(name: str):
    """Class decorator: make a backbone buildable by name (``build_backbone(name, **hparams)``)."""

    def decorate(cls):
        BACKBONES.add(name, cls)
        cls.name = name
        return cls

    return decorate


def arguments(local_vars: dict) -> dict:
    """The constructor arguments, from ``locals()`` taken on the first line of ``__init__``:
    a module's ``hparams``, stored in its config so that it can be rebuilt exactly."""
    return {k: v for k, v in local_vars.items() if k not in ("self", "__class__")}


def build_backbone(name: str, **hparams) -> Backbone:
    cls = BACKBONES[name]
    try:
        return cls(**hparams)
    except TypeError as err:
        raise ValueError(f"bad hyperparameters for backbone {name!r}: {err}") from None


class Backbone(nn.Module):
    """Base class. Subclasses set ``cutoff``, ``irreps_out``, ``irreps_hidden``, ``blocks``,
    ``max_z`` and ``hparams`` (the constructor arguments, a plain dict) in ``__init__``."""

    name: str = "?"
    cutoff: float
    max_z: int
    irreps_out: o3.Irreps
    irreps_hidden: o3.Irreps
    blocks: nn.ModuleList
    hparams: dict

    def initial(self, batch: Batch, edge_index: torch.Tensor, edge_vec: torch.Tensor):
        """Embed atoms and edges: returns ``(state, ctx)``; ``ctx`` is passed to every block."""
        raise NotImplementedError

    def hidden(self, state) -> torch.Tensor:
        """An intermediate state as an e3nn tensor with irreps ``irreps_hidden``."""
        raise NotImplementedError

    def readout(self, state) -> torch.Tensor:
        """The final per-atom features (irreps ``irreps_out``). Default: ``hidden(state)``."""
        return self.hidden(state)

    def input_modules(self) -> list[nn.Module]:
        """Modules used before the first block (part of the representation)."""
        raise NotImplementedError

    def output_modules(self) -> list[nn.Module]:
        """Modules used after the last block (e.g. a final norm). Default: none."""
        return []

    def forward(self, batch: Batch, edge_index: torch.Tensor, edge_vec: torch.Tensor):
        state, ctx = self.initial(batch, edge_index, edge_vec)
        for block in self.blocks:
            state = block(state, ctx)
        return self.readout(state)
