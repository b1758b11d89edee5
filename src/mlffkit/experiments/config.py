"""Typed experiment parameters: a frozen dataclass per experiment, one instance per profile.

    @dataclass(frozen=True)
    class SpringMassConfig(Config):
        seeds: int = param(positive())
        models: tuple = param(names_from(MODELS))
        ...

    BOOK = SpringMassConfig(seeds=10, models=("mlp", "linear"), ...)
    SMOKE = BOOK.replace(seeds=2, epochs=3)

What a field accepts is its :class:`~mlffkit.experiments.registry.Param` (``param(spec)``;
the kind is taken from the profiles' values where the spec leaves it open). The canonical
form, :meth:`Config.as_dict` (field order, tuples as lists, nested configs as dicts), is what
the results store keys a record on and what the record's ``params`` hold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["Config", "param"]


def param(spec=None, **field_kwargs) -> Any:
    """A config field accepting what ``spec`` (a ``Param``) accepts; ``field_kwargs`` go to
    ``dataclasses.field`` (e.g. a ``default``)."""
    return dataclasses.field(metadata={"param": spec}, **field_kwargs)


def _plain(value: Any) -> Any:
    if isinstance(value, Config):
        return value.as_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Config(Mapping):
    """Base of an experiment's parameters (frozen: a profile cannot be changed by accident;
    :meth:`replace` makes a changed copy). It reads like the record's ``params`` dict too
    (``config["T"]``, ``dict(config)``, ``{**config}``), so code that takes stored params
    takes a config."""

    def replace(self, **changes: Any) -> "Config":
        unknown = sorted(set(changes) - set(self.field_names()))
        if unknown:
            raise ValueError(f"unknown parameter {unknown[0]!r} for {type(self).__name__}; "
                             f"valid: {', '.join(self.accepted())}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The canonical form: plain values in field order (what the store keys on)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def accepted(self) -> tuple[str, ...]:
        """The names :meth:`replace` takes (a config holding another may take its names too)."""
        return tuple(sorted(self.field_names()))

    @classmethod
    def specs(cls) -> dict[str, Any]:
        """The ``Param`` declared for each field (None where only the kind is checked)."""
        return {f.name: f.metadata.get("param") for f in fields(cls)}

    def __getitem__(self, name: str) -> Any:
        if name not in self.field_names():
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.field_names())

    def __len__(self) -> int:
        return len(self.field_names())

    __hash__ = None  # a config may hold lists and dicts
