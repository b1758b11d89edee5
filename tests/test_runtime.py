"""Process-level settings: the device experiments train on."""

import pytest
import torch

from mlffkit.runtime import default_device


def test_default_device_follows_the_environment(monkeypatch):
    monkeypatch.setenv("MLFFKIT_DEVICE", "cpu")
    assert default_device() == torch.device("cpu")
    monkeypatch.delenv("MLFFKIT_DEVICE")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert default_device().type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_cuda_without_one_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("MLFFKIT_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        default_device()
