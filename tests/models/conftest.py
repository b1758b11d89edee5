"""Fixtures shared by the model tests: every tiny model config, the device."""

import pytest
import torch

from mlffkit.testing import TINY_CONFIGS


@pytest.fixture(params=sorted(TINY_CONFIGS))
def model_name(request):
    return request.param


@pytest.fixture
def device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models are dominated by per-operation overhead; on a shared 2-core machine extra
    intra-op threads only add contention."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
