"""Named splits: FRAMES' sequential split, EGraFFBench's files, rMD17's official splits.

- :func:`frames_split` (FRAMES paper, Sec. 4.1): 950 training frames drawn *sequentially* with
  a fixed lag along the trajectory (never across a break), 50 validation frames, the rest
  test. Indices into one ``Frames``.
- :func:`egraff_split`: EGraFFBench's own train/val/test files (as ``Frames``).
- :func:`rmd17_split`: rMD17's official train/test split 1-5 (as ``Frames``).
- :func:`rmd17_trajectory`: every distinct rMD17 frame of a molecule (9,633), in MD17 time
  order with ``time`` = MD17 frame index: the source of rMD17's consecutive pairs and
  triples (``windows.count_windows(rmd17_trajectory("aspirin"), 2) == 465``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import registry
from .errors import DataFormatError
from .frames import Frames, concat
from .windows import clock, segments, windows

RMD17_MOLECULES = ("aspirin", "azobenzene", "benzene", "ethanol", "malonaldehyde",
                   "naphthalene", "paracetamol", "salicylic", "toluene", "uracil")
EGRAFF_SYSTEMS = ("md17/aspirin", "md17/ethanol", "md17/naphthalene", "md17/salicylic_acid",
                  "3bpa", "acac", "gete", "lips")


@dataclass(frozen=True)
class Split:
    """Frame indices of a split of one ``Frames``; ``lag`` is the MD-step spacing of the
    training frames and ``unused`` the frames left out (the ``buffer`` around training
    frames)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    unused: np.ndarray
    lag: int

    def windows(self, frames: Frames, T: int, **options) -> np.ndarray:
        """(n_windows, T) windows of *training* frames that are consecutive in the training
        sequence (``lag`` MD steps apart, no break between them). FRAMES' auxiliary target
        ``p(t+1) - p(t)`` needs the next frame too: ask for ``T + 1``."""
        rows = windows(frames, T, lag=self.lag, **options)
        return rows[np.isin(rows, self.train).all(axis=1)]


def frames_split(frames: Frames, n_train: int = 950, n_val: int = 50, lag: int = 1,
                 start: int = 0, buffer: int = 0, seed: int = 0, **options) -> Split:
    """FRAMES' split of one trajectory.

    Training frames: walking the unbroken segments in order (see :mod:`.windows`), take the
    frame ``start`` steps into the first segment and every ``lag``-th frame after it,
    continuing in the next segment when one ends, until ``n_train`` frames. Validation:
    ``n_val`` frames drawn at random (``seed``) from the rest. Test: everything else. Frames
    within ``buffer`` MD steps of a training frame (same trajectory) are kept out of
    validation and test (``Split.unused``), so that they are not near-copies of training
    frames. ``options`` go to :func:`.windows.successors`.
    """
    if n_train < 1 or n_val < 0 or lag < 1 or start < 0 or buffer < 0:
        raise ValueError("need n_train >= 1, n_val >= 0, lag >= 1, start >= 0, buffer >= 0")
    train: list[int] = []
    skip = start
    for run in segments(frames, **options):
        if skip >= len(run):
            skip -= len(run)
            continue
        train.extend(run[skip::lag][: n_train - len(train)].tolist())
        skip = 0
        if len(train) == n_train:
            break
    if len(train) < n_train:
        raise DataFormatError(f"{frames.source or 'frames'}: only {len(train)} training frames "
                              f"with lag {lag} from start {start} ({len(frames)} frames); "
                              f"asked for {n_train}")
    train_idx = np.array(train, np.int64)
    traj, time, _ = clock(frames)
    near = np.zeros(len(frames), bool)
    near[train_idx] = True
    if buffer:
        for t in train_idx:
            near |= (traj == traj[t]) & (np.abs(time - time[t]) <= buffer)
    rest = np.flatnonzero(~near)
    if len(rest) < n_val:
        raise DataFormatError(f"{frames.source or 'frames'}: {len(rest)} frames left for "
                              f"{n_val} validation frames")
    rng = np.random.default_rng(seed)
    val = np.sort(rng.choice(rest, size=n_val, replace=False))
    test = np.setdiff1d(rest, val)
    unused = np.setdiff1d(np.flatnonzero(near), train_idx)
    return Split(train=train_idx, val=val, test=test, unused=unused, lag=lag)


def egraff_split(system: str, **load_options) -> dict[str, Frames]:
    """EGraFFBench's files for ``system`` (one of ``EGRAFF_SYSTEMS``), as
    ``{"train": ..., "val": ..., "test": ...}`` with the splits upstream provides (GeTe has no
    train file in the mirror, LiPS only val)."""
    if system not in EGRAFF_SYSTEMS:
        raise KeyError(f"unknown EGraFFBench system {system!r}; known: {EGRAFF_SYSTEMS}")
    out = {}
    for split in ("train", "val", "test"):
        name = f"egraff/{system}/{split}"
        if name in registry.datasets():
            out[split] = registry.load(name, **load_options)
    return out


def rmd17_split(molecule: str, index: int, **load_options) -> dict[str, Frames]:
    """rMD17's official split ``index`` (1-5) of ``molecule``: ``{"train", "test"}``, 1000
    frames each (eV; see :func:`.readers.read_rmd17`)."""
    _check_molecule(molecule)
    if index not in (1, 2, 3, 4, 5):
        raise ValueError(f"rMD17 splits are 1-5, got {index}")
    return {split: registry.load(f"rmd17/{molecule}/{split}_{index:02d}", **load_options)
            for split in ("train", "test")}


def rmd17_trajectory(molecule: str, **load_options) -> Frames:
    """Every distinct frame in rMD17's ten split files of ``molecule`` (9,633), sorted by
    MD17 frame index (``time``), one trajectory."""
    _check_molecule(molecule)
    parts = [registry.load(f"rmd17/{molecule}/{split}_{k:02d}", **load_options)
             for split in ("train", "test") for k in range(1, 6)]
    merged = deduplicate(concat(parts, source=f"rMD17 {molecule} (all splits)",
                                same_runs=True))
    return merged[np.argsort(merged.time, kind="stable")]


def deduplicate(frames: Frames) -> Frames:
    """``frames`` without repeats of the same (trajectory, time), keeping the first; repeats
    must have the same positions (else :class:`DataFormatError`)."""
    if frames.time is None:
        raise DataFormatError(f"{frames.source or 'frames'}: deduplicate needs a time index")
    traj, time, _ = clock(frames)
    keys = np.stack([traj, time], axis=1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if not np.allclose(frames.positions, frames.positions[first[inverse]], atol=1e-8):
        raise DataFormatError(f"{frames.source or 'frames'}: frames with the same "
                              "(trajectory, time) have different positions")
    return frames[np.sort(first)]


def _check_molecule(molecule: str) -> None:
    if molecule not in RMD17_MOLECULES:
        raise KeyError(f"unknown rMD17 molecule {molecule!r}; known: {RMD17_MOLECULES}")
