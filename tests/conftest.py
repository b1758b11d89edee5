import pytest


@pytest.fixture
def compute_allowed(monkeypatch):
    """Tests that compute results must not inherit CI's no-compute rule or a recompute flag."""
    for name in ("CI", "MLFFKIT_NO_COMPUTE", "MLFFKIT_RECOMPUTE"):
        monkeypatch.delenv(name, raising=False)
