"""Temporal windows never cross a break: synthetic trajectories with known breaks, time
indices, periodic wrapping, and the real files (naphthalene's break, rMD17's pairs)."""

from __future__ import annotations

import numpy as np
import pytest

from mlffkit import data
from mlffkit.data import (DataFormatError, Frames, NotATrajectoryError, breaks, concat,
                          count_windows, segments, successors, windows)
from mlffkit.data.windows import smoothness


def _assert_no_window_crosses(frames, rows, **options):
    succ = successors(frames, **options)
    for row in rows:
        for a, b in zip(row[:-1], row[1:]):
            hops, i = 0, a
            while i != b:  # b must be reachable from a by successor links
                i = succ[i]
                hops += 1
                assert i >= 0 and hops <= 100, f"window {row} crosses a break"


def test_smooth_trajectory_has_no_breaks(md_frames):
    f = md_frames(60)
    assert smoothness(f) < 0.3
    assert breaks(f).tolist() == []
    assert count_windows(f, 2) == 59 and count_windows(f, 3) == 58


def test_a_jump_is_found_and_never_crossed(md_frames, md_positions):
    pos = np.concatenate([md_positions(30), md_positions(30, phase=2.0)])
    f = Frames(positions=pos, numbers=[6] * 4, source="spliced")
    assert breaks(f).tolist() == [29]
    runs = segments(f)
    assert [r.tolist() for r in runs] == [list(range(30)), list(range(30, 60))]
    for T, lag in ((2, 1), (3, 1), (2, 3), (4, 2)):
        rows = windows(f, T, lag=lag)
        assert rows.shape[1] == T
        assert not ((rows[:, 0] < 30) & (rows[:, -1] >= 30)).any()
        np.testing.assert_array_equal(np.diff(rows, axis=1), lag)
        assert len(rows) == 2 * (30 - (T - 1) * lag)
        _assert_no_window_crosses(f, rows)


def test_a_break_at_the_start_is_found(md_positions):
    """Naphthalene's break sits after frame 3: only one triple on its left side."""
    pos = np.concatenate([md_positions(4), md_positions(40, phase=1.0)])
    assert breaks(Frames(positions=pos, numbers=[6] * 4)).tolist() == [3]


def test_stride_and_positions_indexing(md_frames):
    f = md_frames(20)
    rows = windows(f, 2, stride=5)
    assert rows[:, 0].tolist() == [0, 5, 10, 15]
    assert f.positions[rows].shape == (4, 2, 4, 3)
    assert windows(f, 1).shape == (20, 1)
    with pytest.raises(ValueError):
        windows(f, 0)


def test_shuffled_frames_are_not_a_trajectory(md_frames):
    f = md_frames(60)
    shuffled = f[np.random.default_rng(0).permutation(60)]
    assert smoothness(shuffled) > 1.1
    with pytest.raises(NotATrajectoryError, match="synthetic-md: the frames are not time"):
        windows(shuffled, 2)
    # a time index restores the order, wherever the frames sit in the arrays
    shuffled.time = np.argsort(np.random.default_rng(0).permutation(60))
    rows = windows(shuffled, 2)
    assert len(rows) == 59
    np.testing.assert_array_equal(np.diff(shuffled.time[rows], axis=1), 1)


def test_time_index_with_gaps_and_trajectories(md_frames):
    f = md_frames(12)
    f.time = np.array([0, 1, 2, 5, 6, 7, 8, 20, 21, 0, 1, 2])
    f.trajectory = np.array([0] * 9 + [1] * 3)
    # the last three frames belong to another run: no link from time 21 of run 0
    assert [r.tolist() for r in segments(f, min_links=100)] == [
        [0, 1, 2], [3, 4, 5, 6], [7, 8], [9, 10, 11]]
    rows = windows(f, 3, min_links=100)
    assert rows.tolist() == [[0, 1, 2], [3, 4, 5], [4, 5, 6], [9, 10, 11]]
    assert windows(f, 2, lag=2, min_links=100).tolist() == [[0, 2], [3, 5], [4, 6], [9, 11]]


def test_duplicate_time_is_an_error(md_frames):
    f = md_frames(5)
    f.time = np.array([0, 1, 1, 2, 3])
    with pytest.raises(DataFormatError, match="same trajectory and time"):
        windows(f, 2)


def test_concat_never_joins_parts(md_frames):
    f = concat([md_frames(10), md_frames(10)])
    assert breaks(f).tolist() == [9]


def test_periodic_wrapping_is_not_a_break(md_positions):
    """Atoms crossing the cell boundary jump by a box length in wrapped coordinates; the
    minimum image makes that an ordinary step."""
    box = 6.0
    pos = md_positions(50) + np.linspace(0, box, 50)[:, None, None]  # drifts one box
    wrapped = np.mod(pos, box)
    assert (np.abs(np.diff(wrapped, axis=0)) > box / 2).any()  # atoms do cross
    periodic = Frames(positions=wrapped, numbers=[14] * 4, cell=np.eye(3) * box, pbc=True)
    assert breaks(periodic).tolist() == []
    assert count_windows(periodic, 2) == 49
    # without the cell the same wraps look like jumps
    assert len(breaks(Frames(positions=wrapped, numbers=[14] * 4))) >= 3


# -- real files ------------------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("egraff/md17/naphthalene/test", [3]), ("egraff/md17/aspirin/test", []),
    ("egraff/md17/ethanol/test", []), ("egraff/md17/salicylic_acid/test", []),
    ("egraff/gete/val", [9]), ("egraff/gete/test", []),
])
def test_real_breaks(mirror, name, expected):
    frames = data.load(name)
    assert breaks(frames).tolist() == expected
    rows = windows(frames, 2)
    assert len(rows) == len(frames) - 1 - len(expected)
    _assert_no_window_crosses(frames, windows(frames, 3))


@pytest.mark.parametrize("name", ["egraff/3bpa/val", "egraff/lips/val", "deepmd/water/data_0",
                                  "egraff/md17/aspirin/train"])
def test_real_shuffled_sets_are_not_trajectories(mirror, name):
    with pytest.raises(NotATrajectoryError):
        windows(data.load(name), 2)


def test_lips20_gaps_are_found(mirror):
    """LiPS20 is time-ordered but its frames are unevenly spaced; the largest jumps (about
    5-9x the typical step, at frame indices shared by all systems) are cut."""
    found = [set(breaks(data.load(f"egraff/lips20/{s}")).tolist()) for s in ("Li2S", "P")]
    assert 5 <= len(found[0]) <= 40 and len(found[0] & found[1]) >= 3


#: Consecutive MD17 pairs/triples in rMD17 (all five splits), from the mirror's README.
RMD17_PAIRS = {"aspirin": (465, 15), "azobenzene": (906, 89), "benzene": (151, 4),
               "ethanol": (180, 5), "malonaldehyde": (74, 0), "naphthalene": (267, 5),
               "paracetamol": (869, 72), "salicylic": (301, 8), "toluene": (246, 3),
               "uracil": (697, 50)}


@pytest.mark.parametrize("molecule", sorted(RMD17_PAIRS))
def test_rmd17_consecutive_pairs_and_triples(mirror, molecule):
    traj = data.rmd17_trajectory(molecule)
    assert len(traj) == 9633
    pairs, triples = windows(traj, 2), windows(traj, 3)
    assert (len(pairs), len(triples)) == RMD17_PAIRS[molecule]
    np.testing.assert_array_equal(np.diff(traj.time[pairs], axis=1), 1)
