"""Check that multi-process training gives the model one process gives.

Trains the toy potential (:mod:`mlffkit.training.toy`) with the FRAMES objective (T = 2
windows, forces by double backward, displacement head, EMA, clipping, cosine schedule) on
the same global batches, once split over ranks with DistributedDataParallel and once in a
single process, in float64, and reports the largest parameter difference.

Two ways to run it:

- ``torchrun --nproc_per_node 2 -m mlffkit.training.ddp_check`` (gloo on CPU, nccl on CUDA;
  rank 0 also trains the single-process reference and exits 1 when the difference exceeds
  the tolerance);
- :func:`compare_with_single_process` from Python: spawns the ranks on 127.0.0.1 (gloo).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
from pathlib import Path

import torch
import torch.multiprocessing as mp

from mlffkit.training.data import BatchLoader, collate_windows, trajectory_windows
from mlffkit.training.distributed import (DistributedContext, init_distributed,
                                          shutdown_distributed)
from mlffkit.training.frames_hyperparameters import ISO17_LOSS_WEIGHTS
from mlffkit.training.objectives import FramesObjective
from mlffkit.training.toy import PairPotential, ToyBatch, toy_trajectory
from mlffkit.training.trainer import Trainer, TrainerConfig

DTYPE = torch.float64
TOLERANCE = 1e-6


def train_toy(context: DistributedContext | None = None, steps: int = 6,
              global_batch: int = 4, window: int = 2, seed: int = 0,
              device: str | torch.device | None = None) -> dict[str, torch.Tensor]:
    """Train the toy FRAMES problem; returns the raw and the EMA weights (on the CPU)."""
    rank, world = (context.rank, context.world_size) if context else (0, 1)
    torch.manual_seed(seed)
    model = PairPotential(window=window).to(DTYPE)
    items = trajectory_windows(toy_trajectory(48, n_atoms=4, seed=seed), window)
    loader = BatchLoader(items, global_batch,
                         lambda chunk: collate_windows(chunk, ToyBatch, DTYPE),
                         seed=seed, drop_last=True, rank=rank, world_size=world)
    objective = FramesObjective(ISO17_LOSS_WEIGHTS)
    config = TrainerConfig(max_steps=steps, lr=1e-2, scheduler="cosine", warmup_steps=2,
                           ema_decay=0.9, grad_clip_norm=10.0, progress=False, seed=seed)
    trainer = Trainer(model, objective, loader, config=config, distributed=context,
                      device=device)
    trainer.fit()
    weights = {f"model.{k}": v.detach().cpu().clone() for k, v in model.state_dict().items()}
    weights.update({f"ema.{i}": s.cpu().clone() for i, s in enumerate(trainer.ema.shadow)})
    return weights


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    if a.keys() != b.keys():
        raise ValueError("the two weight sets have different entries")
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def free_local_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _loopback_interface() -> str | None:
    names = [name for _, name in socket.if_nameindex()]
    return next((name for name in ("lo", "lo0") if name in names), None)


def _spawned_rank(rank: int, world_size: int, init_method: str, out: str, kwargs: dict):
    torch.set_num_threads(1)
    interface = _loopback_interface()
    if interface:
        os.environ.setdefault("GLOO_SOCKET_IFNAME", interface)
    context = init_distributed("cpu", "gloo", init_method, rank=rank, world_size=world_size,
                               local_rank=rank)
    try:
        weights = train_toy(context, **kwargs)
        if rank == 0:
            torch.save(weights, out)
    finally:
        shutdown_distributed()


def train_spawned(world_size: int = 2, **kwargs) -> dict[str, torch.Tensor]:
    """:func:`train_toy` on ``world_size`` spawned CPU processes (gloo, 127.0.0.1)."""
    init_method = f"tcp://127.0.0.1:{free_local_port()}"
    with tempfile.TemporaryDirectory() as folder:
        out = str(Path(folder) / "weights.pt")
        mp.spawn(_spawned_rank, args=(world_size, init_method, out, kwargs),
                 nprocs=world_size, join=True)
        return torch.load(out, weights_only=True)


def compare_with_single_process(world_size: int = 2, **kwargs) -> float:
    """Largest weight difference between ``world_size`` spawned ranks and one process."""
    return max_difference(train_spawned(world_size, **kwargs), train_toy(None, **kwargs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    args = parser.parse_args(argv)
    context = init_distributed()
    try:
        weights = train_toy(context, steps=args.steps, global_batch=2 * context.world_size)
        if not context.is_main:
            return 0
        reference = train_toy(None, steps=args.steps, global_batch=2 * context.world_size,
                              device=context.device)
        difference = max_difference(weights, reference)
        ok = difference <= args.tolerance
        print(f"{context.world_size} ranks vs 1 process: max |Δw| = {difference:.3g} "
              f"({'ok' if ok else 'FAIL'}, tolerance {args.tolerance:g})")
        return 0 if ok else 1
    finally:
        shutdown_distributed()


if __name__ == "__main__":
    sys.exit(main())
