"""Two gloo ranks on 127.0.0.1 against one process on the same global batches: FRAMES
windows (T = 2, forces by double backward under DDP, displacement head), float64; the entry
point exits 1 when any rank's weights differ from the single-process ones by more than
1e-6."""

import os
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist

from mlffkit.papers.frames.ddp_check import free_local_port


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                    reason="torch.distributed with gloo is not available")
def test_two_ranks_train_the_model_one_process_trains():
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
         "--master_addr", "127.0.0.1", "--master_port", str(free_local_port()),
         "-m", "mlffkit.papers.frames.ddp_check", "--steps", "4", "--tolerance", "1e-6",
         "--device", "cpu"],
        capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 ranks vs 1 process" in done.stdout and "(ok," in done.stdout


def test_more_ranks_than_gpus_is_a_clear_error():
    from mlffkit.training.distributed import init_distributed

    too_many = torch.cuda.device_count()  # local rank n needs n + 1 GPUs
    with pytest.raises(RuntimeError, match="CUDA device"):
        init_distributed("cuda", rank=too_many, world_size=too_many + 1, local_rank=too_many)
