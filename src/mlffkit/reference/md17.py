"""``xtb-md17``: GFN2-xTB Langevin MD of the eight MD17 molecules at 500 K, 0.5 fs.

MD17 (Chmiela et al. 2017) is DFT (PBE+vdW-TS) MD at 500 K with a 0.5 fs step; its full
trajectories are not in the data mirror (only rMD17's 100k-frame subsample, randomly ordered).
This set keeps what the temporal methods need, consecutive 0.5 fs frames, with a cheaper
engine. Each trajectory starts from frame ``start_frame`` of rMD17's ``train_01`` split (found
through the dataset registry; file and sha256 in the provenance), centred at its centre of
mass, with Maxwell-Boltzmann velocities.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase.data import atomic_masses

from .base import MDConfig, Member, SetSpec, member_seed, register_set
from mlffkit.files import sha256_of

MOLECULES = ("aspirin", "benzene", "ethanol", "malonaldehyde", "naphthalene", "salicylic",
             "toluene", "uracil")
RMD17_DIR = Path("rmd17-npz") / "rmd17-npz"


@dataclass(frozen=True)
class MD17Config(MDConfig):
    molecules: tuple[str, ...] = MOLECULES
    temperature_K: float = 500.0
    timestep_fs: float = 0.5
    n_equil: int = 2000   # 1 ps at 10/ps
    n_frames: int = 5000  # 2.5 ps of consecutive frames at 1/ps
    start_frame: int = 0
    seed: int = 17


def rmd17_file(molecule: str) -> Path:
    """The rMD17 ``train_01`` file of ``molecule``, found (and sha256-checked) by the dataset
    registry: ``$MLFFKIT_DATA``, the mirror beside the checkout, the cache, or a download."""
    from mlffkit.data import registry

    return registry.resolve((RMD17_DIR / f"rmd17_{molecule}_train_01.npz").as_posix())


def members(config: MD17Config) -> list[Member]:
    out = []
    for name in config.molecules:
        if name not in MOLECULES:
            raise ValueError(f"unknown MD17 molecule {name!r}; valid: {', '.join(MOLECULES)}")
        path = rmd17_file(name)
        with np.load(path) as npz:
            numbers = npz["nuclear_charges"].astype(np.int64)
            positions = npz["coords"][config.start_frame].astype(float)
        masses = atomic_masses[numbers]
        positions = positions - masses @ positions / masses.sum()
        out.append(Member(
            key=name, numbers=numbers, positions=positions, settings=config.langevin(),
            seed=member_seed(config.seed, name),
            info={"start": {"file": (RMD17_DIR / path.name).as_posix(),
                            "sha256": sha256_of(path), "frame": config.start_frame}}))
    return out


SPEC = register_set(SetSpec(name="xtb-md17", config_type=MD17Config, members=members,
                            summary="GFN2-xTB NVT Langevin MD of the eight MD17 molecules at 500 K, "
                                    "0.5 fs, consecutive frames after equilibration"))
