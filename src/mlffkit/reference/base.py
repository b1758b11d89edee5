"""What every generated set shares: the MD/engine settings and the shape of a set."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .md import LangevinSettings
from mlffkit.calculators.xtb import GFN2xTB
from mlffkit.registries import Registry


class Overridable:
    """A frozen settings dataclass whose defaults a caller overrides by name (``mlffkit data
    generate NAME --set key=value``): unknown names raise TypeError, lists become tuples."""

    @classmethod
    def with_overrides(cls, **overrides: Any):
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise TypeError(f"unknown setting(s) {unknown} for {cls.__name__}; valid: "
                            f"{', '.join(sorted(names))}")
        fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
        return replace(cls(), **fixed)


@dataclass(frozen=True)
class MDConfig(Overridable):
    """GFN2-xTB Langevin MD settings; each set subclasses this with its own defaults.

    ``dtype`` is the storage type of positions, forces and velocities (float32: relative
    precision 6e-8, i.e. better than 1e-6 Å for coordinates within 16 Å of the centre of
    mass); energies and times are always float64.
    """

    temperature_K: float = 500.0
    timestep_fs: float = 0.5
    friction_per_ps: float = 1.0
    equil_friction_per_ps: float = 10.0
    n_equil: int = 1000
    n_frames: int = 1000
    stride: int = 1
    checkpoint_every: int = 500
    seed: int = 0
    accuracy: float = 1.0
    electronic_temperature_K: float = 300.0
    dtype: str = "float32"

    def langevin(self, **changes: Any) -> LangevinSettings:
        base = dict(temperature_K=self.temperature_K, timestep_fs=self.timestep_fs,
                    friction_per_ps=self.friction_per_ps,
                    equil_friction_per_ps=self.equil_friction_per_ps, n_equil=self.n_equil,
                    n_frames=self.n_frames, stride=self.stride,
                    checkpoint_every=self.checkpoint_every)
        return LangevinSettings(**{**base, **changes})

    def calculator(self) -> GFN2xTB:
        return GFN2xTB(accuracy=self.accuracy,
                       electronic_temperature=self.electronic_temperature_K)



def member_seed(base: int, key: str) -> list[int]:
    """A member's seed depends on its name, not its position, so subsets reproduce it."""
    return [int(base), zlib.crc32(key.encode())]


def embed_seed(smiles: str) -> int:
    return zlib.crc32(smiles.encode()) & 0x7FFFFFFF


@dataclass
class Member:
    """One trajectory of a set, stored as ``<key>.npz``."""

    key: str
    numbers: np.ndarray
    positions: np.ndarray
    settings: LangevinSettings
    seed: list[int]
    static: dict[str, np.ndarray] = field(default_factory=dict)  # stored as-is
    info: dict[str, Any] = field(default_factory=dict)  # provenance only
    labels: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None


@dataclass(frozen=True)
class SetSpec:
    """A named set: its settings type, its members, and any files beyond the members.

    A set made by another engine than the GFN2-xTB Langevin driver gives ``runner``
    (``runner(config, folder, resume, progress)`` writes its files and provenance) and
    ``loader`` (``loader(folder, member)`` returns its :class:`~mlffkit.data.Frames`) instead
    of ``members``."""

    name: str
    summary: str
    config_type: type
    members: Callable[[Any], list[Member]] | None = None
    extra_files: Callable[[Any, list[Member], Path], list[str]] | None = None
    runner: Callable[..., Any] | None = None
    loader: Callable[[Path, str], Any] | None = None


#: Every generated set by name; each set's module registers its spec (``SETS.add``).
SETS: Registry[SetSpec] = Registry("generated set")


def register_set(spec: SetSpec) -> SetSpec:
    """Register ``spec`` under its name (``mlffkit data generate NAME``)."""
    return SETS.add(spec.name, spec)
