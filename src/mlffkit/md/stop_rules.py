"""Stop rules: callbacks that end a simulation early and say why.

A stop rule is any object with a ``name``, a ``start(atoms)`` called once on the starting
structure, and ``check(atoms, step, time_fs)`` called after every step (step 0 is the start);
``check`` returns None to go on or a sentence saying why to stop. :func:`mlffkit.md.simulate`
turns the first such sentence into a :class:`StopEvent`.

A non-finite (NaN or infinite) energy, force, position or momentum always stops a run
(:func:`non_finite_reason`), whatever rules are given. Rules here need only the current
state. The stability rules of Fu et al. (bond lengths for molecules, windowed RDFs for
periodic systems) live with their offline versions in :mod:`mlffkit.metrics.stability`
(``BondLengthRule``, ``RDFWindowRule``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from ase import Atoms


@runtime_checkable
class StopRule(Protocol):
    name: str

    def start(self, atoms: Atoms) -> None: ...

    def check(self, atoms: Atoms, step: int, time_fs: float) -> str | None: ...


@dataclass(frozen=True)
class StopEvent:
    """Why and when a run stopped early: ``step`` and ``time_fs`` of the offending state."""

    rule: str
    reason: str
    step: int
    time_fs: float


def non_finite_reason(energy: float, forces: np.ndarray, positions: np.ndarray | None = None,
                      momenta: np.ndarray | None = None) -> str | None:
    """Why a state with a NaN or infinite energy, force, position or momentum cannot go on
    (None if it can): each non-finite quantity, e.g. ``"1 atoms have non-finite forces;
    1 atoms have non-finite momenta"``.

    :func:`~mlffkit.md.simulate` applies this check to every state, as the rule
    :data:`NON_FINITE`."""
    reasons = [] if np.isfinite(energy) else [f"potential energy is {energy}"]
    for name, values in (("forces", forces), ("positions", positions), ("momenta", momenta)):
        bad_atoms = 0 if values is None else int(np.sum(~np.isfinite(values).all(axis=1)))
        if bad_atoms:
            reasons.append(f"{bad_atoms} atoms have non-finite {name}")
    return "; ".join(reasons) or None


NON_FINITE = "non_finite"


class TemperatureBoundsRule:
    """Stop when the instantaneous temperature leaves ``[T_min_K, T_max_K]``.

    Fu et al.'s simulator uses 0.1 K to 100 000 K (the defaults)."""

    name = "temperature_bounds"

    def __init__(self, T_min_K: float = 0.1, T_max_K: float = 1.0e5):
        if not 0 <= T_min_K < T_max_K:
            raise ValueError("need 0 <= T_min_K < T_max_K")
        self.T_min_K, self.T_max_K = T_min_K, T_max_K

    def start(self, atoms: Atoms) -> None:
        return None

    def check(self, atoms: Atoms, step: int, time_fs: float) -> str | None:
        temperature = atoms.get_temperature()
        if self.T_min_K <= temperature <= self.T_max_K:
            return None
        return f"temperature {temperature:.1f} K outside [{self.T_min_K}, {self.T_max_K}] K"
