"""Exponential moving average of model weights (evaluated and exported instead of the raw
weights)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

import torch
from torch import nn


class ExponentialMovingAverage:
    """``shadow <- d * shadow + (1 - d) * param`` after every optimiser step.

    With ``warmup=True`` the decay of update n (1-based) is ``min(decay, (1 + n) / (10 + n))``,
    so early averages are not dominated by the random initial weights. The shadow copies are
    matched to parameters by position: build the EMA and load its state on the same model."""

    def __init__(self, parameters: Iterable[nn.Parameter], decay: float = 0.999,
                 warmup: bool = False):
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"decay must lie in [0, 1], got {decay}")
        self.parameters = list(parameters)
        self.shadow = [p.detach().clone() for p in self.parameters]
        self.decay, self.warmup, self.num_updates = decay, warmup, 0
        self._backup: list[torch.Tensor] | None = None

    def current_decay(self) -> float:
        """The decay the next :meth:`update` will use."""
        n = self.num_updates + 1
        return min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay

    @torch.no_grad()
    def update(self) -> None:
        decay = self.current_decay()
        for shadow, param in zip(self.shadow, self.parameters):
            shadow.mul_(decay).add_(param.detach(), alpha=1.0 - decay)
        self.num_updates += 1

    @torch.no_grad()
    def copy_to(self, parameters: Iterable[nn.Parameter] | None = None) -> None:
        """Write the averages into ``parameters`` (default: the tracked ones)."""
        for shadow, param in zip(self.shadow, parameters or self.parameters):
            param.copy_(shadow)

    @contextmanager
    def average_parameters(self) -> Iterator[None]:
        """Swap the averages into the tracked parameters for the ``with`` block."""
        if self._backup is not None:
            raise RuntimeError("average_parameters() is not re-entrant")
        self._backup = [p.detach().clone() for p in self.parameters]
        try:
            self.copy_to()
            yield
        finally:
            with torch.no_grad():
                for backup, param in zip(self._backup, self.parameters):
                    param.copy_(backup)
            self._backup = None

    def state_dict(self) -> dict:
        return {"decay": self.decay, "warmup": self.warmup, "num_updates": self.num_updates,
                "shadow": [s.clone() for s in self.shadow]}

    def load_state_dict(self, state: dict) -> None:
        if len(state["shadow"]) != len(self.shadow):
            raise ValueError(f"EMA state has {len(state['shadow'])} tensors, model "
                             f"{len(self.shadow)}")
        self.decay, self.warmup = state["decay"], state["warmup"]
        self.num_updates = state["num_updates"]
        self.shadow = [s.to(device=p.device, dtype=p.dtype).clone()
                       for s, p in zip(state["shadow"], self.parameters)]
