"""Temporal windows: runs of consecutive MD frames that never cross a break in time.

FRAMES trains on windows of T consecutive frames. Which frames are consecutive is decided in
two steps:

1. **Time index.** When ``frames.time`` is known (rMD17's ``old_indices``, a generator's step
   counter), frame *j* follows frame *i* if it has the same ``trajectory`` and
   ``time[j] == time[i] + 1``, wherever the two sit in the arrays. Otherwise frames follow
   each other in array order within a trajectory.
2. **Positions.** A link *i -> j* is cut when the motion says it is not one MD step:
   its largest atomic displacement is more than ``step_factor`` (5) times the median over all
   links, or every second difference ``r(t+1) - 2 r(t) + r(t-1)`` through it is more than
   ``accel_factor`` (10) times the median (a Verlet step has a small second difference; a
   jump to another part of the trajectory does not). Displacements use the minimum image in
   periodic cells. The statistics need at least ``min_links`` (5) links/triples.

On the mirrored data this finds the known break after frame 3 of EGraFFBench's naphthalene
test file (a 5.8x step, 26x second difference), one after frame 9 of the GeTe val file, and
none in the other MD17 test files nor between rMD17's consecutive pairs. LiPS20 is in time
order but unevenly spaced (the whole-system step varies from 0.2x to 8x its median, with the
same pattern in every system); the largest gaps, at frame indices shared by the systems, are
cut, the smaller irregularities are not: treat LiPS20 windows as approximately uniform in time.

Frames whose time order is unknown and whose typical second difference is as large as a
step (``smoothness`` above ``max_smoothness`` = 1.1; about 1.4-1.7 for shuffled data, 0.05-0.2
for MD17 or GeTe steps, 0.9 for LiPS20's 3 fs spacing at 3000 K) are not a trajectory:
:func:`windows` raises :class:`NotATrajectoryError` for them.
"""

from __future__ import annotations

import numpy as np

from .errors import DataFormatError, NotATrajectoryError
from .frames import Frames

STEP_FACTOR = 5.0
ACCEL_FACTOR = 10.0
MAX_SMOOTHNESS = 1.1
MIN_LINKS = 5


def clock(frames: Frames) -> tuple[np.ndarray, np.ndarray, bool]:
    """(trajectory id, time index, whether time is known) per frame."""
    n = len(frames)
    traj = frames.trajectory if frames.trajectory is not None else np.zeros(n, np.int64)
    if frames.time is not None:
        return traj, frames.time, True
    return traj, np.arange(n), False


def _time_links(frames: Frames) -> np.ndarray:
    """succ[i]: index of the frame one step after frame i by (trajectory, time), or -1."""
    traj, time, _ = clock(frames)
    n = len(frames)
    order = np.lexsort((time, traj))
    t_sorted, tr_sorted = time[order], traj[order]
    same = (tr_sorted[1:] == tr_sorted[:-1])
    dup = same & (t_sorted[1:] == t_sorted[:-1])
    if dup.any():
        k = int(np.flatnonzero(dup)[0])
        raise DataFormatError(
            f"{frames.source or 'frames'}: frames {order[k]} and {order[k + 1]} have the same "
            f"trajectory and time ({tr_sorted[k]}, {t_sorted[k]}); remove duplicates first "
            "(mlffkit.data.splits.deduplicate)")
    succ = np.full(n, -1, np.int64)
    link = same & (t_sorted[1:] - t_sorted[:-1] == 1)
    succ[order[:-1][link]] = order[1:][link]
    return succ


def displacements(frames: Frames, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``positions[j] - positions[i]`` (m, N, 3), minimum image along periodic directions
    (with the cell of frame i)."""
    d = frames.positions[j] - frames.positions[i]
    if frames.pbc.any() and frames.cell is not None:
        cell = frames.cell[i]
        frac = np.einsum("mai,mij->maj", d, np.linalg.inv(cell))
        frac[..., frames.pbc] -= np.round(frac[..., frames.pbc])
        d = np.einsum("mai,mij->maj", frac, cell)
    return d


def _motion(frames: Frames, succ: np.ndarray):
    """Per link i -> succ[i]: largest step; per triple: largest second difference."""
    src = np.flatnonzero(succ >= 0)
    d = displacements(frames, src, succ[src])
    step = np.full(len(frames), np.nan)
    step[src] = np.linalg.norm(d, axis=2).max(axis=1)
    disp = np.full((len(frames),) + frames.positions.shape[1:], np.nan)
    disp[src] = d
    mid = src[succ[succ[src]] >= 0]  # i with i -> j -> k
    accel = np.full(len(frames), np.nan)  # indexed by the first frame of the triple
    if len(mid):
        accel[mid] = np.linalg.norm(disp[succ[mid]] - disp[mid], axis=2).max(axis=1)
    return step, accel


def smoothness(frames: Frames) -> float:
    """Median largest second difference over median largest step, frames in array order
    (per trajectory). About 0.05-0.2 for MD steps, 1.4-1.7 for unrelated frames; NaN when
    there are fewer than ``MIN_LINKS`` triples."""
    n = len(frames)
    traj = frames.trajectory if frames.trajectory is not None else np.zeros(n, np.int64)
    succ = np.full(n, -1, np.int64)
    same = np.flatnonzero(traj[1:] == traj[:-1])
    succ[same] = same + 1
    step, accel = _motion(frames, succ)
    if np.isfinite(accel).sum() < MIN_LINKS:
        return float("nan")
    return float(np.nanmedian(accel) / np.nanmedian(step))


def successors(frames: Frames, step_factor: float = STEP_FACTOR,
               accel_factor: float = ACCEL_FACTOR, max_smoothness: float = MAX_SMOOTHNESS,
               min_links: int = MIN_LINKS) -> np.ndarray:
    """``succ[i]``: index of the frame one MD step after frame ``i``, or -1 (see module doc).

    Raises :class:`NotATrajectoryError` when ``frames.time`` is unknown and the frames do not
    move like a trajectory (``smoothness > max_smoothness``)."""
    succ = _time_links(frames)
    _, _, known = clock(frames)
    if not known:
        ratio = smoothness(frames)
        if ratio > max_smoothness:
            raise NotATrajectoryError(
                f"{frames.source or 'frames'}: the frames are not time-ordered (median second "
                f"difference / median step = {ratio:.2f} > {max_smoothness}); temporal windows "
                "need MD frames in time order (or a time index)")
    step, accel = _motion(frames, succ)
    cut = np.zeros(len(frames), bool)
    links = np.isfinite(step)
    if links.sum() >= min_links:
        cut |= links & (step > step_factor * np.nanmedian(step))
    triples = np.isfinite(accel)
    if triples.sum() >= min_links:
        big = triples & (accel > accel_factor * np.nanmedian(accel))
        pred = np.full(len(frames), -1, np.int64)
        pred[succ[succ >= 0]] = np.flatnonzero(succ >= 0)
        src = np.flatnonzero(links)
        # link i -> j lies in the triples starting at pred[i] (pred[i], i, j) and at i (i, j, k)
        left = np.where(pred[src] >= 0, pred[src], 0)
        has_left = (pred[src] >= 0) & triples[left]
        has_right = triples[src]
        left_big = ~has_left | big[left]
        right_big = ~has_right | big[src]
        cut[src] |= (has_left | has_right) & left_big & right_big
    succ = succ.copy()
    succ[cut] = -1
    return succ


def breaks(frames: Frames, **options) -> np.ndarray:
    """Array positions ``i`` where frame ``i + 1`` is not the MD step after frame ``i``
    (e.g. ``[3]`` for EGraFFBench's naphthalene test file). ``options`` as in
    :func:`successors`."""
    succ = successors(frames, **options)
    return np.flatnonzero(succ[:-1] != np.arange(1, len(frames)))


def segments(frames: Frames, **options) -> list[np.ndarray]:
    """Unbroken runs of consecutive frames, each an index array in time order."""
    succ = successors(frames, **options)
    has_pred = np.zeros(len(frames), bool)
    has_pred[succ[succ >= 0]] = True
    out = []
    for start in np.flatnonzero(~has_pred):
        run = [start]
        while succ[run[-1]] >= 0:
            run.append(succ[run[-1]])
        out.append(np.array(run, np.int64))
    return out


def windows(frames: Frames, T: int, lag: int = 1, stride: int = 1, **options) -> np.ndarray:
    """Index windows ``(n_windows, T)`` of ``T`` frames, ``lag`` MD steps apart, inside one
    unbroken segment: row ``[i, i + lag, ..., i + (T - 1) lag]`` in MD steps, so
    ``frames.positions[w]`` is ``(n_windows, T, N, 3)``. Windows start every ``stride``
    steps along each segment. With ``lag > 1`` the frames in between must be present too
    (so that no break can hide between them). ``options`` as in :func:`successors`."""
    if T < 1 or lag < 1 or stride < 1:
        raise ValueError(f"T, lag and stride must be >= 1, got {T}, {lag}, {stride}")
    rows = []
    for run in segments(frames, **options):
        span = (T - 1) * lag
        for start in range(0, len(run) - span, stride):
            rows.append(run[start:start + span + 1:lag])
    return np.array(rows, np.int64).reshape(-1, T)


def count_windows(frames: Frames, T: int, lag: int = 1, **options) -> int:
    """Number of windows :func:`windows` finds (all start positions)."""
    return len(windows(frames, T, lag, **options))
