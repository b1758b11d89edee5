"""``xtb-iso17``: GFN2-xTB MD of C7O2H10 constitutional isomers at 500 K, 1 fs, and ISO17's two
test scenarios.

ISO17 (Schütt et al. 2017) holds 129 C7O2H10 isomers from QM9, 5000 conformations each from
DFT (PBE+vdW-TS) MD at 500 K with a 1 fs step. Here: :data:`ISOMERS`, hand-picked C7H10O2
SMILES (three degrees of unsaturation, like every C7O2H10 isomer: rings, C=O, C=C, C≡C, furans,
esters, lactones, diketones), embedded with ETKDGv3 and relaxed with MMFF94, then GFN2-xTB MD.

The split (``split.json``, built by :func:`split`) defines ISO17's two scenarios:
``test_within`` ("known molecules, unknown conformations"): the last ``test_block_fraction`` of
every training isomer's trajectory, a held-out *time block* (ISO17 drew these conformations at
random; a block avoids near-duplicates of training frames), separated from the training block
by ``gap_frames``; ``test_other`` ("unknown molecules"): every frame of a seeded
``held_out_fraction`` of the isomers, which never appear in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import MDConfig, Member, SetSpec, embed_seed, member_seed, register_set
from .molecules import build, canonical, formula
from .store import write_json

ISOMERS = (
    "CC1C(=O)CCCC1=O", "CC1CC(=O)CC(=O)C1", "CC1(C)CC(=O)CC1=O", "OC(=O)C1=CCCCC1",
    "COC(=O)C1=CCCC1", "CCCC#CC(=O)OC", "CCC=CC=CC(=O)O", "COC(=O)C=CC=CC",
    "CC(=O)C1CCCC1=O", "CC1CC(=O)CCC1=O", "CC(=O)C1CCC=CO1", "CC(C)(O)c1ccco1",
    "OCCCc1ccco1", "COCc1ccc(C)o1", "CCC(O)c1ccco1", "Cc1cc(CO)c(C)o1",
    "O=CC1CCCCC1=O", "O=CC1CCC(=O)CC1", "OCC1=CC(=O)CCC1", "COC1=CC(=O)CCC1",
    "CCOC1=CC(=O)CC1", "C=CCOC(=O)C(C)=C", "OC(=O)CC1CCC=C1", "CC1=CC(=O)OC(C)C1",
    "OCC#CC(O)C=CC", "CC(=O)CC(=O)CC=C", "CC1(C)OC(=O)C=C1C", "CCC1=CC(=O)OC1C",
    "C1CC2(CCO2)C(=O)C1", "OC1CCC(=O)C=C1C", "CC(O)C#CC(=O)CC", "O=C1CCC2OC2C1C",
    "CC(C)C#CC(=O)OC", "OCC1CCC(=O)C1=C", "O=C1OCCC2CCC12", "CCOC(=O)C#CCC",
    "CC(=O)OCC=CC=C",
)
FORMULA = "C7H10O2"


@dataclass(frozen=True)
class ISO17Config(MDConfig):
    isomers: tuple[str, ...] = ISOMERS
    temperature_K: float = 500.0
    timestep_fs: float = 1.0
    n_equil: int = 500   # 0.5 ps at 10/ps
    n_frames: int = 500  # 0.5 ps of consecutive 1 fs frames at 1/ps
    held_out_fraction: float = 0.2
    test_block_fraction: float = 0.2
    gap_frames: int = 20
    seed: int = 170


def key(index: int) -> str:
    return f"isomer_{index:02d}"


def check_isomers(isomers: tuple[str, ...]) -> None:
    """Every SMILES is C7H10O2 and no two are the same molecule."""
    wrong = [s for s in isomers if formula(s) != FORMULA]
    if wrong:
        raise ValueError(f"not {FORMULA}: {wrong}")
    seen: dict[str, str] = {}
    for s in isomers:
        c = canonical(s)
        if c in seen:
            raise ValueError(f"{s!r} and {seen[c]!r} are the same molecule")
        seen[c] = s


def members(config: ISO17Config) -> list[Member]:
    check_isomers(config.isomers)
    out = []
    for i, smiles in enumerate(config.isomers):
        mol = build(smiles, embed_seed(smiles))
        out.append(Member(key=key(i), numbers=mol.numbers, positions=mol.positions,
                          settings=config.langevin(), seed=member_seed(config.seed, smiles),
                          static={"smiles": np.str_(smiles)},
                          info={"smiles": smiles, "start": "ETKDGv3 + MMFF94"}))
    return out


def split(keys: list[str], n_frames: int, held_out_fraction: float,
          test_block_fraction: float, gap_frames: int, seed: int) -> dict:
    """The two ISO17 scenarios; frame ranges are half-open ``[start, stop)``."""
    n_held = int(round(held_out_fraction * len(keys)))
    if not 0 < n_held < len(keys):
        raise ValueError(f"held_out_fraction {held_out_fraction} leaves no train or test "
                         f"isomers among {len(keys)}")
    order = np.random.default_rng([seed, 17]).permutation(len(keys))
    held = sorted(keys[i] for i in order[:n_held])
    train = [k for k in keys if k not in held]
    test_start = n_frames - int(round(test_block_fraction * n_frames))
    train_stop = test_start - gap_frames
    if train_stop <= 0 or test_start >= n_frames:
        raise ValueError("the time blocks leave no training or test frames")
    return {
        "scenarios": {
            "train": {"isomers": train, "frames": [0, train_stop]},
            "test_within": {"isomers": train, "frames": [test_start, n_frames]},
            "test_other": {"isomers": held, "frames": [0, n_frames]},
        },
        "rule": (f"test_other: {n_held} of {len(keys)} isomers drawn with "
                 f"numpy default_rng([{seed}, 17]); test_within: the last "
                 f"{n_frames - test_start} frames of each training isomer, starting "
                 f"{gap_frames} frames after its training block ends"),
    }


def extra_files(config: ISO17Config, members: list[Member], set_dir: Path) -> list[str]:
    payload = split([m.key for m in members], config.n_frames, config.held_out_fraction,
                    config.test_block_fraction, config.gap_frames, config.seed)
    write_json(set_dir / "split.json", payload)
    return ["split.json"]


SPEC = register_set(SetSpec(name="xtb-iso17", config_type=ISO17Config, members=members,
                            extra_files=extra_files,
                            summary="GFN2-xTB MD of C7O2H10 isomers at 500 K, 1 fs, with ISO17's "
                                    "unseen-conformation and unseen-isomer test splits"))
