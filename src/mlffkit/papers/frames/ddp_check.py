"""Check that multi-process training gives the model one process gives.

Trains the toy potential (:mod:`mlffkit.training.toy`) with the FRAMES objective (T = 2
windows, forces by double backward, displacement head, EMA, clipping, cosine schedule) on
the same global batches, once split over ranks with DistributedDataParallel and once in a
single process, in float64, and reports the largest parameter difference over all ranks.

Run it as ``torchrun --nproc_per_node 2 -m mlffkit.papers.frames.ddp_check`` (gloo on CPU, nccl
on CUDA); rank 0 then also trains the single-process reference, prints the difference and
exits 1 when it exceeds the tolerance. On one machine add ``--master_addr 127.0.0.1``.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from typing import Callable, Sequence

import torch

from mlffkit.papers.frames.heads import ToyDisplacementHead
from mlffkit.papers.frames.hyperparameters import ISO17_LOSS_WEIGHTS
from mlffkit.papers.frames.objective import FramesObjective
from mlffkit.training.data import BatchLoader, collate_windows, trajectory_windows
from mlffkit.training.distributed import (DistributedContext, gather_objects,
                                          init_distributed, shutdown_distributed)
from mlffkit.training.toy import PairPotential, toy_trajectory
from mlffkit.training.trainer import Trainer, TrainerConfig

DTYPE = torch.float64
TOLERANCE = 1e-6


def train_toy(context: DistributedContext | None = None, steps: int = 6,
              global_batch: int = 4, window: int = 2, seed: int = 0,
              device: str | torch.device | None = None, run_dir: str | Path | None = None,
              resume: bool = False, checkpoint_every: int | None = None,
              callbacks: Sequence[Callable[[Trainer], None]] = ()) -> dict[str, torch.Tensor]:
    """Train the toy FRAMES problem; returns the raw and the EMA weights (on the CPU).
    ``run_dir``, ``resume``, ``checkpoint_every`` and ``callbacks`` go to the trainer."""
    rank, world = (context.rank, context.world_size) if context else (0, 1)
    torch.manual_seed(seed)
    model = PairPotential(window=window).to(DTYPE)
    head = ToyDisplacementHead(window, hidden=16).to(DTYPE)
    items = trajectory_windows(toy_trajectory(48, n_atoms=4, seed=seed), window)
    loader = BatchLoader(items, global_batch,
                         lambda chunk: collate_windows(chunk, DTYPE),
                         seed=seed, drop_last=True, rank=rank, world_size=world)
    objective = FramesObjective(ISO17_LOSS_WEIGHTS, head=head)
    config = TrainerConfig(max_steps=steps, lr=1e-2, scheduler="cosine", warmup_steps=2,
                           ema_decay=0.9, grad_clip_norm=10.0, progress=False, seed=seed,
                           checkpoint_every=checkpoint_every)
    trainer = Trainer(model, objective, loader, config=config, distributed=context,
                      device=device, run_dir=run_dir, callbacks=callbacks)
    trainer.fit(resume=resume)
    weights = {f"model.{k}": v.detach().cpu().clone() for k, v in model.state_dict().items()}
    weights.update({f"head.{k}": v.detach().cpu().clone() for k, v in head.state_dict().items()})
    weights.update({f"ema.{i}": s.cpu().clone() for i, s in enumerate(trainer.ema.shadow)})
    return weights


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    if a.keys() != b.keys():
        raise ValueError("the two weight sets have different entries")
    return max((float((a[k] - b[k]).abs().max()) for k in a if a[k].numel()), default=0.0)


def free_local_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (for ``--master_port``)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="auto: CUDA when there is a GPU per rank, else the CPU (gloo)")
    args = parser.parse_args(argv)
    context = init_distributed(None if args.device == "auto" else args.device)
    try:
        weights = train_toy(context, steps=args.steps, global_batch=2 * context.world_size)
        every_rank = gather_objects(weights, context)
        if not context.is_main:
            return 0
        reference = train_toy(None, steps=args.steps, global_batch=2 * context.world_size,
                              device=context.device)
        difference = max(max_difference(w, reference) for w in every_rank)
        ok = difference <= args.tolerance
        print(f"{context.world_size} ranks vs 1 process: max |Δw| = {difference:.3g} "
              f"({'ok' if ok else 'FAIL'}, tolerance {args.tolerance:g})")
        return 0 if ok else 1
    finally:
        shutdown_distributed()


if __name__ == "__main__":
    sys.exit(main())
