"""Shared pieces for the training tests: the toy potential (mlffkit.training.toy), which
follows the Potential contract, on a spring-molecule trajectory, in float64."""

from functools import partial

import pytest
import torch

from mlffkit.data.atoms import collate
from mlffkit.training.data import BatchLoader, collate_windows, trajectory_windows
from mlffkit.training.toy import PairPotential, toy_trajectory

DTYPE = torch.float64
COLLATE_FRAMES = partial(collate, dtype=DTYPE)
COLLATE_WINDOWS = partial(collate_windows, dtype=DTYPE)




@pytest.fixture
def collate_frames():
    return COLLATE_FRAMES


@pytest.fixture
def collate_toy_windows():
    return COLLATE_WINDOWS


@pytest.fixture(scope="session")
def trajectory():
    return toy_trajectory(40, n_atoms=4, seed=3)


@pytest.fixture
def make_model():
    def make(window: int = 2, seed: int = 0) -> PairPotential:
        torch.manual_seed(seed)
        return PairPotential(window=window, hidden=8).to(DTYPE)
    return make


@pytest.fixture
def window_loaders(trajectory):
    """(train, val) loaders of T=2 windows: 24 training windows, batches of 4."""
    def make(window: int = 2, batch_size: int = 4, seed: int = 0):
        items = trajectory_windows(trajectory, window)
        train = BatchLoader(items[:24], batch_size, COLLATE_WINDOWS, seed=seed)
        val = BatchLoader(items[24:32], 8, COLLATE_WINDOWS, shuffle=False)
        return train, val
    return make
