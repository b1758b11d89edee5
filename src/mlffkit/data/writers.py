"""Writers. They never overwrite: an existing target raises ``FileExistsError`` unless
``overwrite=True``, and the file appears only when complete (temporary file, then rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .frames import Frames


def write_extxyz(frames: Frames, path, overwrite: bool = False) -> Path:
    """Write ``frames`` as extended xyz (eV, Å): energy/forces as ASE writes a
    ``SinglePointCalculator``, ``trajectory``/``time`` and per-frame extras as ``info`` or
    per-atom columns. :func:`mlffkit.data.read_extxyz` reads it back."""
    import ase.io

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        ase.io.write(tmp, frames.to_atoms(), format="extxyz")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
