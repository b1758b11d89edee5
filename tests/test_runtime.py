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


def _square_plus(x, y):
    return x * x + y


def test_process_map_keeps_task_order_in_and_out_of_processes():
    from mlffkit.runtime import process_map

    tasks = [(k, 10 * k) for k in range(7)]
    expected = [_square_plus(*t) for t in tasks]
    assert process_map(_square_plus, tasks, workers=1) == expected
    assert process_map(_square_plus, tasks, workers=2) == expected


FORK_AFTER_OPENMM = """
import gc
import numpy as np
from mlffkit.calculators.amber import AmberGBn2, ala2_numbers, ala2_positions
from mlffkit.runtime import process_map

calc = AmberGBn2("Reference")
calc.evaluate(ala2_positions(), ala2_numbers(), np.zeros((3, 3)))
calc.cycle = calc  # garbage only the cyclic collector frees
del calc

def work(k):
    gc.collect()  # a child that frees the parent's garbage
    return k

print(process_map(work, [(k,) for k in range(4)], workers=2))
"""


def test_process_map_survives_cyclic_openmm_garbage_from_the_parent():
    """An OpenMM context freed inside a forked worker joins thread-pool threads that only the
    parent has and hangs; process_map collects the parent's garbage before it forks."""
    import subprocess
    import sys

    pytest.importorskip("openmm")
    done = subprocess.run([sys.executable, "-c", FORK_AFTER_OPENMM], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[0, 1, 2, 3]"
