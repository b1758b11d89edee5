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


