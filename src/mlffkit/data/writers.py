"""Writers. They never overwrite: an existing target raises ``FileExistsError`` unless
``overwrite=True``, and the file appears only when complete (temporary file, then rename)."""

from __future__ import annotations

from pathlib import Path

from mlffkit.files import atomic_target
from .frames import Frames


def write_extxyz(frames: Frames, path, overwrite: bool = False) -> Path:
    """Write ``frames`` as extended xyz (eV, Å): energy/forces as ASE writes a
    ``SinglePointCalculator``, ``trajectory``/``time`` and per-frame extras as ``info`` or
    per-atom columns. :func:`mlffkit.data.read_extxyz` reads it back."""
    import ase.io

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    with atomic_target(path) as tmp:
        ase.io.write(tmp, frames.to_atoms(), format="extxyz")
    return path
