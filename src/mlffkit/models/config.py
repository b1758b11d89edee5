"""Typed model configs: what :func:`~mlffkit.models.build_model` builds, as frozen dataclasses.

>>> ModelConfig("painn", {"features": 32, "num_blocks": 2}, HeadConfig(hidden=(32,)))
>>> PRESETS["painn_book"].replace(backbone_options={"num_blocks": 3})
>>> ModelConfig.from_dict({"backbone": {"name": "schnet"}, "energy_head": {"hidden": [16]}})

The plain-dict form (:meth:`ModelConfig.as_dict`) is what checkpoints store and what
``build_model`` also accepts; bad values are one-line errors naming the field. Backbone
options are checked against the backbone's constructor when the model is built.
"""

from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

ACTIVATIONS = ("silu", "ssp", "tanh")
KEYS = ("backbone", "energy_head", "prior_head", "representation_blocks")


def _positive_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


@dataclass(frozen=True)
class HeadConfig:
    """An MLP head on the backbone's scalar features: ``hidden`` layer widths, activation."""

    hidden: tuple[int, ...] = (64,)
    activation: str = "silu"

    def __post_init__(self):
        hidden = tuple(self.hidden) if isinstance(self.hidden, (list, tuple)) else self.hidden
        if not isinstance(hidden, tuple) or not all(_positive_int(h) for h in hidden):
            raise ValueError(f"head hidden must be a list of positive ints (layer widths), "
                             f"got {self.hidden!r}")
        object.__setattr__(self, "hidden", hidden)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"head activation must be one of {ACTIVATIONS}, "
                             f"got {self.activation!r}")

    def as_dict(self) -> dict[str, Any]:
        return {"hidden": list(self.hidden), "activation": self.activation}

    @classmethod
    def from_dict(cls, config: Mapping[str, Any], name: str) -> "HeadConfig":
        unknown = sorted(set(config) - {"hidden", "activation"})
        if unknown:
            raise ValueError(f"unknown {name} keys {unknown}; expected hidden, activation")
        return cls(**config)


@dataclass(frozen=True)
class ModelConfig:
    """A potential: a backbone (``backbone`` name, ``backbone_options`` its hyperparameters),
    the energy head, optionally a prior head after ``representation_blocks`` backbone blocks
    (test-time training)."""

    backbone: str
    backbone_options: Mapping[str, Any] = field(default_factory=dict)
    energy_head: HeadConfig = HeadConfig()
    prior_head: HeadConfig | None = None
    representation_blocks: int | None = None

    def __post_init__(self):
        if not isinstance(self.backbone, str) or not self.backbone:
            raise ValueError(f"backbone must be a backbone name, got {self.backbone!r}")
        if "name" in self.backbone_options:
            raise ValueError("backbone_options must not repeat the name: give it as backbone")
        object.__setattr__(self, "backbone_options", dict(self.backbone_options))
        if not isinstance(self.energy_head, HeadConfig):
            raise ValueError(f"energy_head must be a HeadConfig, got {self.energy_head!r}")
        if self.prior_head is not None and not isinstance(self.prior_head, HeadConfig):
            raise ValueError(f"prior_head must be a HeadConfig or None, got {self.prior_head!r}")
        if self.representation_blocks is not None and not _positive_int(
                self.representation_blocks):
            raise ValueError(f"representation_blocks must be a positive int or None, "
                             f"got {self.representation_blocks!r}")

    def as_dict(self) -> dict[str, Any]:
        """The plain form (``build_model`` and checkpoints)."""
        return {"backbone": {"name": self.backbone, **copy.deepcopy(self.backbone_options)},
                "energy_head": self.energy_head.as_dict(),
                "prior_head": None if self.prior_head is None else self.prior_head.as_dict(),
                "representation_blocks": self.representation_blocks}

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> "ModelConfig":
        """Parse the plain form; unknown keys and bad values are one-line errors."""
        unknown = sorted(set(config) - set(KEYS))
        if unknown:
            raise ValueError(f"unknown config keys {unknown}; expected {sorted(KEYS)}")
        backbone = dict(config.get("backbone") or {})
        if "name" not in backbone:
            raise ValueError("config['backbone'] must give the backbone 'name'")
        name = backbone.pop("name")
        prior = config.get("prior_head")
        return cls(name, backbone,
                   HeadConfig.from_dict(config.get("energy_head") or {}, "energy_head"),
                   None if prior is None else HeadConfig.from_dict(prior, "prior_head"),
                   config.get("representation_blocks"))

    def replace(self, **changes: Any) -> "ModelConfig":
        """A changed copy; ``backbone_options`` given here are merged into the current ones."""
        if "backbone_options" in changes:
            changes["backbone_options"] = {**self.backbone_options,
                                           **changes["backbone_options"]}
        return replace(self, **changes)
