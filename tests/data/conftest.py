"""Fixtures for the data-layer tests: an isolated cache, tiny data (``mirror`` and
``isolated_data_env`` are in tests/conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from mlffkit.data import Frames


@pytest.fixture(autouse=True)
def _isolated(isolated_data_env):
    """Every data-layer test runs in :func:`isolated_data_env` (tests/conftest.py)."""


def _md_positions(n: int, n_atoms: int = 4, phase: float = 0.0, seed: int = 0) -> np.ndarray:
    """(n, n_atoms, 3) smooth 'MD' positions: atoms oscillating about fixed sites, about
    0.02 Å per step (like MD17 at 0.5 fs)."""
    rng = np.random.default_rng(seed)
    sites = rng.uniform(0, 5, (n_atoms, 3))
    omega = rng.uniform(0.05, 0.1, (n_atoms, 3))
    amp = rng.uniform(0.2, 0.4, (n_atoms, 3))
    t = np.arange(n)[:, None, None]
    return sites + amp * np.sin(omega * t + phase + rng.uniform(0, 6, (n_atoms, 3)))


def _md_frames(n: int = 60, n_atoms: int = 4, **kwargs) -> Frames:
    pos = _md_positions(n, n_atoms, **kwargs)
    return Frames(positions=pos, numbers=np.full(n_atoms, 6), energy=np.zeros(n),
                  forces=np.zeros_like(pos), source="synthetic-md")


@pytest.fixture
def md_positions():
    """``md_positions(n, n_atoms=4, phase=0, seed=0)``: smooth (n, N, 3) positions."""
    return _md_positions


@pytest.fixture
def md_frames():
    """``md_frames(n=60, n_atoms=4, phase=0, seed=0)``: smooth labelled ``Frames`` (no time
    index), about 0.02 Å per step."""
    return _md_frames
