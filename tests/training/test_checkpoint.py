import random

import numpy as np
import pytest
import torch

from mlffkit.files import save_torch
from mlffkit.training.checkpoint import capture_rng_state, load_file, restore_rng_state


def test_failing_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_torch({"step": 1}, path)
    real_save = torch.save

    def half_write_then_fail(obj, handle):
        real_save({"step": 2}, handle)
        handle.seek(10)
        handle.truncate()
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", half_write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_torch({"step": 2}, path)
    assert load_file(path) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary left over


def test_rng_state_round_trip():
    state = capture_rng_state()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    restore_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
