import pytest

from mlffkit.runtime import torch_threads


@pytest.fixture
def compute_allowed(monkeypatch):
    """Tests that compute results must not inherit CI's no-compute rule or a recompute flag."""
    for name in ("CI", "MLFFKIT_NO_COMPUTE", "MLFFKIT_RECOMPUTE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: bitwise comparisons across runs and processes, and faster tiny
    models on a shared 2-core machine."""
    with torch_threads(1):
        yield
