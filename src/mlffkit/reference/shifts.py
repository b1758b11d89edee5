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

import functools
from dataclasses import dataclass

import numpy as np

from .base import MDConfig, Member, SetSpec, embed_seed, member_seed, register_set
from .molecules import MMFFPrior, build, formula

CHNO = {"C", "H", "N", "O"}
NEW_ELEMENTS = ("S", "Cl", "F", "P")

# Molecules are enumerated, not hand-picked: a prefix group, a carbon skeleton and a suffix
# group (each group written so that it bonds to the skeleton's first or last atom), made
# canonical by RDKit, deduplicated, kept if MMFF94 has parameters for them, then ordered by a
# seeded permutation and cut into pools. Prefixes end, suffixes start, with the atom bonded
# to the skeleton.
SKELETONS = ("C", "CC", "CCC", "CCCC", "CCCCC", "CC(C)", "CC(C)C", "CCC(C)", "CC(C)(C)",
             "C=CC", "CC=CC")
PREFIXES = ("", "O", "N", "CO", "CN", "CN(C)", "O=C", "OC(=O)", "NC(=O)", "COC(=O)", "N#C",
            "[O-][N+](=O)", "CC(=O)", "C=C", "O=CO", "O=CN")
SUFFIXES = ("", "O", "N", "OC", "NC", "N(C)C", "C=O", "C(=O)O", "C(=O)N", "C(=O)OC", "C#N",
            "[N+](=O)[O-]", "C(C)=O", "C=C", "OC=O", "NC=O")
#: groups that bring one new element each (suffix form)
ELEMENT_GROUPS = {"S": ("S", "SC"), "Cl": ("Cl", "C(Cl)Cl"), "F": ("F", "C(F)(F)F"),
                  "P": ("P(=O)(OC)OC", "P(=O)(O)O")}
#: ring cores whose first atom is a ring atom with a free hydrogen (it takes the prefix)
RINGS = ("C1CC1", "C1CCC1", "C1CCCC1", "C1CCCCC1", "c1ccccc1", "c1ccncc1", "c1ccoc1",
         "c1cc[nH]c1", "C1CCOC1", "C1CCOCC1", "C1CCNCC1", "C1CC(=O)CC1", "C1COCCN1",
         "c1cnccn1")
MAX_HEAVY = 9          # acyclic molecules; ring molecules up to 10 heavy atoms
N_TRAIN, N_TEST = 400, 50


def _keep(smiles: str, max_heavy: int) -> str | None:
    """The canonical SMILES if the molecule is small enough and MMFF94 has its parameters."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None or not 3 <= mol.GetNumHeavyAtoms() <= max_heavy:
        return None
    if not AllChem.MMFFHasAllMoleculeParams(Chem.AddHs(mol)):
        return None
    return Chem.MolToSmiles(mol)


def _ordered(candidates, max_heavy: int, seed: int) -> list[str]:
    kept = sorted({k for c in candidates if (k := _keep(c, max_heavy)) is not None})
    return [kept[i] for i in np.random.default_rng(seed).permutation(len(kept))]


@functools.lru_cache(maxsize=None)
def enumerated_pools(seed: int = 2024) -> dict[str, tuple[str, ...]]:
    """The SMILES of each pool: ``train`` (400) and ``test_id`` (50), disjoint acyclic
    C/H/N/O molecules; ``test_elements`` (50, acyclic, each with S, Cl, F or P, the elements
    taken in turn); ``test_rings`` (50, cyclic C/H/N/O)."""
    acyclic = _ordered((p + s + q for p in PREFIXES for s in SKELETONS for q in SUFFIXES),
                       MAX_HEAVY, seed)
    if len(acyclic) < N_TRAIN + N_TEST:
        raise RuntimeError(f"only {len(acyclic)} acyclic molecules enumerated")
    by_element = [_ordered((p + s + g for p in PREFIXES for s in SKELETONS for g in groups),
                           MAX_HEAVY, seed) for groups in ELEMENT_GROUPS.values()]
    with_elements = [m for row in zip(*by_element) for m in row][:N_TEST]
    rings = _ordered((p + r for p in PREFIXES for r in RINGS), MAX_HEAVY + 1, seed)[:N_TEST]
    return {"train": tuple(acyclic[:N_TRAIN]),
            "test_id": tuple(acyclic[N_TRAIN:N_TRAIN + N_TEST]),
            "test_elements": tuple(with_elements), "test_rings": tuple(rings)}


POOLS = ("train", "test_id", "test_forces", "test_elements", "test_rings")


@dataclass(frozen=True)
class ShiftsConfig(MDConfig):
    pools: tuple[str, ...] = POOLS
    # None: the enumerated pool (enumerated_pools); a tuple of SMILES replaces it
    train: tuple[str, ...] | None = None
    test_id: tuple[str, ...] | None = None
    test_elements: tuple[str, ...] | None = None
    test_rings: tuple[str, ...] | None = None
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
        name = "test_id" if pool == "test_forces" else pool
        smiles = getattr(self, name)
        if smiles is None:
            smiles = enumerated_pools(self.seed)[name]
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
            key = f"{pool}/{i:03d}_{formula(smiles)}"
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
