"""Multi-process training with ``torch.distributed`` (gloo on CPU, nccl on CUDA).

Launch with ``torchrun --nproc_per_node N your_script.py`` (or
``python -m torch.distributed.run``), call :func:`init_distributed` in every process and hand
the returned :class:`DistributedContext` to the trainer, which wraps the objective in
``DistributedDataParallel``. :func:`init_distributed` reads the variables torchrun sets
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``) unless given an
explicit ``init_method``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands: ``rank`` of ``world_size`` and the device it trains on."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def default_backend(device: torch.device | str) -> str:
    """``nccl`` for CUDA devices, ``gloo`` otherwise."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def init_distributed(device_type: str | None = None, backend: str | None = None,
                     init_method: str = "env://", rank: int | None = None,
                     world_size: int | None = None, local_rank: int | None = None
                     ) -> DistributedContext:
    """Join the process group and pick this process's device.

    ``device_type`` defaults to ``cuda`` when there is a GPU for every rank on this machine
    (torchrun's ``LOCAL_WORLD_SIZE``), else ``cpu`` (so all ranks agree); on CUDA the device
    is ``cuda:<local_rank>``, and asking for more ranks than GPUs is an error that says so.
    ``rank``/``world_size``/``local_rank`` default to torchrun's environment variables."""
    rank = int(os.environ.get("RANK", 0)) if rank is None else rank
    world_size = int(os.environ.get("WORLD_SIZE", 1)) if world_size is None else world_size
    local_rank = int(os.environ.get("LOCAL_RANK", rank)) if local_rank is None else local_rank
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", local_rank + 1))
    gpus = torch.cuda.device_count()
    device_type = device_type or ("cuda" if 0 < local_world <= gpus else "cpu")
    if device_type == "cuda" and local_rank >= gpus:
        raise RuntimeError(f"local rank {local_rank} needs cuda:{local_rank}, but torch sees "
                           f"{gpus} CUDA device(s): start at most {gpus} ranks per machine, "
                           "or train on the CPU (device_type='cpu', gloo)")
    device = torch.device(device_type, local_rank) if device_type == "cuda" \
        else torch.device(device_type)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend or default_backend(device), init_method=init_method,
                                rank=rank, world_size=world_size)
    return DistributedContext(rank=rank, world_size=world_size, local_rank=local_rank,
                              device=device)


def shutdown_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(tensor: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """Sum of ``tensor`` over ranks (a no-op in a single process)."""
    if context.enabled:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def gather_objects(obj: Any, context: DistributedContext) -> list[Any]:
    """Every rank's ``obj``, indexed by rank (picklable objects; ``[obj]`` alone)."""
    if not context.enabled:
        return [obj]
    gathered: list[Any] = [None] * context.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def broadcast_object(obj: Any, context: DistributedContext, source: int = 0) -> Any:
    """Rank ``source``'s ``obj`` on every rank."""
    if not context.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=source)
    return box[0]


def barrier(context: DistributedContext) -> None:
    if context.enabled:
        dist.barrier()
