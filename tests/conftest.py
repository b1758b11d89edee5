import pytest

from mlffkit.data import registry
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


@pytest.fixture
def isolated_data_env(monkeypatch, tmp_path_factory):
    """No user data dir, no offline flag, and a per-session checksum cache in a temp dir, so
    tests neither read nor write the developer's ~/.cache/mlffkit (autouse in tests/data,
    tests/reference and tests/cli)."""
    monkeypatch.delenv("MLFFKIT_DATA", raising=False)
    monkeypatch.delenv("MLFFKIT_OFFLINE", raising=False)
    cache = tmp_path_factory.getbasetemp() / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))


@pytest.fixture
def mirror():
    """The data mirror's path (``../shared/data``); skips the test when it is absent."""
    path = registry.mirror_dir()
    if not path.is_dir():
        pytest.skip("the data mirror ../shared/data is absent (a fresh clone); real-data "
                    "tests skipped")
    return path
