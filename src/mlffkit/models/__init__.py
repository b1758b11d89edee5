"""Machine-learning potentials: backbones (Equiformer, PaiNN, SchNet), heads and checkpoints.

>>> from mlffkit.models import build_model
>>> model = build_model("equiformer_book")            # a preset, or a plain config dict
>>> out = model(batch, forces=True)                   # energy (B,), forces (N, 3), features

A potential is a backbone (per-atom equivariant features) plus heads: the main
:class:`EnergyHead` (forces and stress by autograd) and test-time training's
:class:`PriorHead`. ``model.parameter_groups()`` says which parameters are the
representation, the main head and the prior head. Heads of one paper live in its package
(FRAMES' displacement head: :mod:`mlffkit.papers.frames.heads`).
"""

from . import equiformer, painn, schnet  # noqa: F401  (registers the backbones)
from .backbone import BACKBONES, Backbone, build_backbone, register_backbone
from .config import HeadConfig, ModelConfig
from .checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
from .equiformer import Equiformer
from .heads import EnergyHead, PriorHead
from .painn import PaiNN
from .potential import PRESETS, Potential, build_model, preset, resolve_config
from .schnet import SchNet

__all__ = [
    "BACKBONES",
    "Backbone",
    "CheckpointError",
    "EnergyHead",
    "HeadConfig",
    "ModelConfig",
    "Equiformer",
    "PRESETS",
    "PaiNN",
    "Potential",
    "PriorHead",
    "SchNet",
    "build_backbone",
    "build_model",
    "load_checkpoint",
    "preset",
    "read_checkpoint",
    "register_backbone",
    "resolve_config",
    "save_checkpoint",
]
