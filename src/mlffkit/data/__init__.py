"""Data: registry, readers, the ``Frames`` container, temporal windows and splits (the
reference-data generators that use them are :mod:`mlffkit.reference`).

Typical use::

    from mlffkit import data
    test = data.load("egraff/md17/naphthalene/test")      # Frames, eV/Å, checksum-verified
    data.breaks(test)                                       # array([3])
    pairs = data.windows(test, T=2)                         # (998, 2) frame indices
    traj = data.splits.rmd17_trajectory("aspirin")          # 9,633 frames, time = MD17 index
    data.count_windows(traj, 2)                             # 465 consecutive pairs

See ``mlffkit data list`` for the registered names; units are eV, Å, fs inside (the factors
readers convert with are in :mod:`mlffkit.units`).
"""

from . import registry, splits
from .errors import (ChecksumMismatchError, DataError, DataFormatError, DataNotFoundError,
                     NotATrajectoryError)
from .frames import Frames, concat, group_by_composition
from .readers import (FreeEnergySurface, read, read_ase, read_ase_db, read_deepmd,
                      read_extxyz, read_hdf5, read_isolated_atoms, read_nequip_npz, read_npz,
                      read_pdb, read_plumed_fes, read_rmd17, read_sgdml, read_sgdml_xyz)
from .registry import checksums, datasets, fetch, load, resolve, verify
from .splits import Split, egraff_split, frames_split, rmd17_split, rmd17_trajectory
from .windows import breaks, count_windows, segments, successors, windows
from .writers import write_extxyz

#: the model container (torch and PyG), imported on first use: ``data.AtomsData``
_ATOMS = ("AtomsData", "AtomsBatch", "collate")


def __getattr__(name):
    if name in _ATOMS:
        from . import atoms
        return getattr(atoms, name)
    raise AttributeError(f"module 'mlffkit.data' has no attribute {name!r}")


__all__ = [
    "AtomsBatch", "AtomsData", "collate",
    "ChecksumMismatchError", "DataError", "DataFormatError", "DataNotFoundError", "Frames",
    "FreeEnergySurface", "NotATrajectoryError", "Split",
    "breaks", "checksums", "concat", "count_windows", "datasets", "egraff_split", "fetch",
    "frames_split", "group_by_composition", "load", "read", "read_ase", "read_ase_db",
    "read_deepmd", "read_extxyz", "read_hdf5", "read_isolated_atoms", "read_nequip_npz",
    "read_npz", "read_pdb", "read_plumed_fes", "read_rmd17", "read_sgdml", "read_sgdml_xyz",
    "registry", "resolve", "rmd17_split", "rmd17_trajectory", "segments", "splits",
    "successors", "verify", "windows", "write_extxyz",
]
