"""``xtb-shifts``: small organic molecules for distribution-shift experiments (Kreiman &
Krishnapriyan), with GFN2-xTB labels and MMFF94 prior energies and forces on every frame.

The pools shift one thing at a time against ``test_id`` (new molecules like the training
ones: acyclic, C/H/N/O, 500 K):

========================  ======================================================
``train``                 acyclic C/H/N/O molecules, MD at 500 K
``test_id``               other acyclic C/H/N/O molecules, 500 K (no shift)
``test_forces``           the ``test_id`` molecules, MD at ``hot_temperature_K``
                          (larger force norms)
``test_elements``         acyclic molecules containing S, Cl, F or P, 500 K
``test_rings``            cyclic C/H/N/O molecules (other connectivity), 500 K
========================  ======================================================

Frames are ``stride`` MD steps apart, so they are less correlated than consecutive steps,
after an equilibration at a strong friction (50/ps: 0.2 ps take a molecule from its MMFF94
minimum to temperature). The paper's data are DFT (SPICE, ANI-1x, MD17); GFN2-xTB plays the
reference here and MMFF94 the cheap prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import MDConfig, Member, SetSpec, embed_seed, member_seed, register_set
from .molecules import MMFFPrior, build, formula

CHNO = {"C", "H", "N", "O"}
NEW_ELEMENTS = ("S", "Cl", "F", "P")
TRAIN = (
    "CCO", "CCCO", "CC(C)O", "CCCCO", "CC(C)=O", "CCC(C)=O", "CC=O", "CCC=O", "CC(=O)O",
    "CCC(=O)O", "COC(C)=O", "CCOC=O", "COC", "CCOCC", "CN", "CCN", "CNC", "CN(C)C", "CCCN",
    "CC(C)N", "CC(N)=O", "CNC(C)=O", "NC=O", "CN(C)C=O", "CC#N", "CCC#N", "C[N+](=O)[O-]",
    "CC[N+](=O)[O-]", "NC(N)=O", "NCC(=O)O", "CC(N)C(=O)O", "OCCO", "COCCO", "NCCO", "CCCC",
    "CCCCC", "CC(C)C", "C=CC", "C=CCC", "C=CC=C",
)
TEST_ID = ("C=CC=O", "C=CC#N", "CC=NO", "COC(N)=O", "CC(=O)CO", "CC(O)C(=O)O",
           "CC(=O)C(=O)O", "OCC(O)CO", "CCCCN", "CC(C)CO")
TEST_ELEMENTS = ("CS", "CCS", "CSC", "CS(C)=O", "CCCl", "ClCCl", "CC(C)Cl", "CCF",
                 "OCC(F)(F)F", "COP(=O)(OC)OC")
TEST_RINGS = ("C1CCCC1", "C1CCCCC1", "c1ccccc1", "c1ccncc1", "c1cc[nH]c1", "c1ccoc1",
              "C1CCOC1", "O=C1CCCCC1", "C1CCNCC1", "C1COCCN1")
POOLS = ("train", "test_id", "test_forces", "test_elements", "test_rings")


@dataclass(frozen=True)
class ShiftsConfig(MDConfig):
    pools: tuple[str, ...] = POOLS
    train: tuple[str, ...] = TRAIN
    test_id: tuple[str, ...] = TEST_ID
    test_elements: tuple[str, ...] = TEST_ELEMENTS
    test_rings: tuple[str, ...] = TEST_RINGS
    temperature_K: float = 500.0
    hot_temperature_K: float = 1500.0
    timestep_fs: float = 0.5
    n_equil: int = 400        # 0.2 ps = 10 relaxation times at 50/ps
    equil_friction_per_ps: float = 50.0
    stride: int = 20          # 10 fs between frames
    n_frames: int = 25        # train frames per molecule
    n_frames_test: int = 20   # test frames per molecule
    max_per_pool: int | None = None
    seed: int = 2024

    def pool_smiles(self, pool: str) -> tuple[str, ...]:
        smiles = self.test_id if pool == "test_forces" else getattr(self, pool)
        return smiles[: self.max_per_pool] if self.max_per_pool else smiles


def members(config: ShiftsConfig) -> list[Member]:
    out = []
    for pool in config.pools:
        if pool not in POOLS:
            raise ValueError(f"unknown pool {pool!r}; valid: {', '.join(POOLS)}")
        settings = config.langevin(
            n_frames=config.n_frames if pool == "train" else config.n_frames_test,
            temperature_K=config.hot_temperature_K if pool == "test_forces"
            else config.temperature_K)
        for i, smiles in enumerate(config.pool_smiles(pool)):
            mol = build(smiles, embed_seed(smiles))
            key = f"{pool}/{i:02d}_{formula(smiles)}"
            out.append(Member(
                key=key, numbers=mol.numbers, positions=mol.positions, settings=settings,
                seed=member_seed(config.seed, key),
                static={"smiles": np.str_(smiles), "pool": np.str_(pool)},
                info={"smiles": smiles, "pool": pool, "start": "ETKDGv3 + MMFF94"},
                labels=_mmff_labels(MMFFPrior(mol))))
    return out


def _mmff_labels(prior: MMFFPrior):
    def labels(frames: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        energy, forces = prior(frames["positions"])
        return {"mmff_energy": energy, "mmff_forces": forces}

    return labels


SPEC = register_set(SetSpec(name="xtb-shifts", config_type=ShiftsConfig, members=members,
                            summary="Small organic molecules: a C/H/N/O acyclic training pool and test pools "
                                    "that shift elements, force norms or connectivity; GFN2-xTB labels "
                                    "and MMFF94 prior energies and forces"))
