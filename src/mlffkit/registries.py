"""Named things of one kind, the one registry style of the package: backbones, readers,
experiments and generated sets each live in a :class:`Registry` filled where they are defined,
by decorator or by :meth:`Registry.add`::

    BACKBONES = Registry("backbone")

    @BACKBONES.register("painn")
    class PaiNN(Backbone): ...

A registry reads like a mapping (``BACKBONES["painn"]``, ``sorted(BACKBONES)``); an unknown
name raises :class:`UnknownNameError`, one line that lists the valid names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """A name that no entry of the registry has (both a KeyError and a ValueError)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Registry(Mapping[str, T], Generic[T]):
    """A name -> object table of one ``kind`` (used in messages)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, obj: T) -> T:
        """Register ``obj`` under ``name``; registering another object under a taken name is
        an error (the same object again is not: modules may be re-imported)."""
        if name in self._entries and self._entries[name] is not obj:
            raise ValueError(f"a {self.kind} named {name!r} is already registered")
        self._entries[name] = obj
        return obj

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""
        return lambda obj: self.add(name, obj)

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid: "
                                   f"{', '.join(sorted(self._entries))}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(sorted(self._entries))})"
