"""Early stopping on a validation metric."""

from __future__ import annotations

import math


class EarlyStopping:
    """Stop after ``patience`` evaluations without an improvement of more than ``min_delta``.

    ``mode="min"`` for losses and errors, ``"max"`` for scores. :meth:`update` returns whether
    the value is a new best; :attr:`should_stop` turns true once patience runs out
    (``patience=None`` never stops, but still tracks the best)."""

    def __init__(self, patience: int | None = None, min_delta: float = 0.0, mode: str = "min"):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if patience is not None and patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {patience}")
        self.patience, self.min_delta, self.mode = patience, min_delta, mode
        self.best = math.inf if mode == "min" else -math.inf
        self.best_step: int | None = None
        self.bad_evaluations = 0

    def is_improvement(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, value: float, step: int | None = None) -> bool:
        if math.isnan(value):
            raise ValueError("validation metric is NaN")
        if self.is_improvement(value):
            self.best, self.best_step, self.bad_evaluations = value, step, 0
            return True
        self.bad_evaluations += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.bad_evaluations >= self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "best_step": self.best_step,
                "bad_evaluations": self.bad_evaluations}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_step = state["best"], state["best_step"]
        self.bad_evaluations = state["bad_evaluations"]
