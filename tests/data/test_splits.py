"""Named splits: FRAMES' sequential split, EGraFFBench's files, rMD17's official splits."""

from __future__ import annotations

import numpy as np
import pytest

from mlffkit import data
from mlffkit.data import DataFormatError, Frames, frames_split
from mlffkit.data.splits import deduplicate


def _spliced(md_positions, lengths=(40, 80)):
    pos = np.concatenate([md_positions(n, phase=k) for k, n in enumerate(lengths)])
    return Frames(positions=pos, numbers=[6] * 4, source="spliced")


def test_frames_split_is_sequential_with_lag_and_never_crosses_a_break(md_positions):
    f = _spliced(md_positions)
    split = frames_split(f, n_train=30, n_val=10, lag=3)
    # 14 frames from the first segment (0, 3, ..., 39), then the second restarts at 40
    assert split.train[:14].tolist() == list(range(0, 40, 3))
    assert split.train[14:].tolist() == list(range(40, 40 + 3 * 16, 3))
    assert len(split.val) == 10 and len(split.test) == 120 - 30 - 10
    everything = np.concatenate([split.train, split.val, split.test, split.unused])
    assert sorted(everything.tolist()) == list(range(120))
    rows = split.windows(f, 2)  # pairs of training frames 3 steps apart
    np.testing.assert_array_equal(np.diff(rows, axis=1), 3)
    assert not ((rows[:, 0] < 40) & (rows[:, 1] >= 40)).any()
    assert len(rows) == 13 + 15


def test_frames_split_buffer_and_seed(md_frames):
    f = md_frames(200)
    a = frames_split(f, n_train=20, n_val=10, lag=5, buffer=2)
    assert a.train.tolist() == list(range(0, 100, 5))
    near = {t + d for t in a.train for d in (-2, -1, 1, 2)} & set(range(200))
    assert set(a.unused.tolist()) == near - set(a.train.tolist())
    assert not set(a.val.tolist()) & near and not set(a.test.tolist()) & near
    assert frames_split(f, 20, 10, lag=5, seed=1).val.tolist() != a.val.tolist()
    assert frames_split(f, 20, 10, lag=5, start=3).train[0] == 3


def test_frames_split_defaults_on_a_1000_frame_trajectory(md_frames):
    split = frames_split(md_frames(1100))
    assert (len(split.train), len(split.val), len(split.test)) == (950, 50, 100)
    assert split.train.tolist() == list(range(950))


def test_frames_split_errors(md_frames):
    with pytest.raises(DataFormatError, match="only 10 training frames"):
        frames_split(md_frames(50), n_train=20, lag=5)
    with pytest.raises(DataFormatError, match="left for 50 validation"):
        frames_split(md_frames(60), n_train=20)
    with pytest.raises(ValueError):
        frames_split(md_frames(60), lag=0)


def test_deduplicate(md_frames):
    f = md_frames(6)
    f.time = np.array([0, 1, 2, 0, 1, 5]) * 1
    f.positions[3:5] = f.positions[0:2]
    assert deduplicate(f).time.tolist() == [0, 1, 2, 5]
    f.positions[4] += 1.0
    with pytest.raises(DataFormatError, match="different positions"):
        deduplicate(f)


# -- real files ------------------------------------------------------------------------------
def test_frames_split_on_naphthalene(mirror):
    test = data.load("egraff/md17/naphthalene/test")
    split = frames_split(test, n_train=900, n_val=50, lag=1)
    assert split.train[:5].tolist() == [0, 1, 2, 3, 4]
    rows = split.windows(test, 3)  # the break after frame 3 is never inside a window
    assert not ((rows[:, 0] <= 3) & (rows[:, -1] >= 4)).any()


def test_egraff_split(mirror):
    md17 = data.egraff_split("md17/aspirin")
    assert {k: len(v) for k, v in md17.items()} == {"train": 950, "val": 50, "test": 1000}
    assert sorted(data.egraff_split("gete")) == ["test", "val"]
    assert sorted(data.egraff_split("lips")) == ["val"]
    with pytest.raises(KeyError, match="unknown EGraFFBench system"):
        data.egraff_split("md22")


def test_rmd17_split(mirror):
    split = data.rmd17_split("ethanol", 3)
    assert len(split["train"]) == len(split["test"]) == 1000
    assert not set(split["train"].time) & set(split["test"].time)
    with pytest.raises(ValueError):
        data.rmd17_split("ethanol", 6)
    with pytest.raises(KeyError, match="unknown rMD17 molecule"):
        data.rmd17_split("salicylic_acid", 1)
