"""Schedules of loss weights and learning rates (plain functions of the step)."""

from __future__ import annotations

import math


def linear_decay(initial: float, step: int, total_steps: int) -> float:
    """``initial`` at step 0 falling linearly to 0 at ``total_steps`` (FRAMES App. A.1)."""
    if total_steps <= 0:
        raise ValueError(f"total_steps must be positive, got {total_steps}")
    return initial * max(0.0, 1.0 - step / total_steps)


def warmup_cosine_factor(step: int, total_steps: int, warmup_steps: int = 0,
                         min_factor: float = 0.0) -> float:
    """Learning-rate multiplier: linear warm-up from ~0 to 1 over ``warmup_steps``, then a
    half cosine from 1 down to ``min_factor`` at ``total_steps`` (held there afterwards).

    Step ``s`` of warm-up gives ``(s + 1) / warmup_steps`` so that the first step already
    moves the weights."""
    if total_steps <= 0:
        raise ValueError(f"total_steps must be positive, got {total_steps}")
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_steps must lie in [0, total_steps), got {warmup_steps}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class WarmupCosine:
    """``warmup_cosine_factor`` as a picklable callable for ``torch.optim.lr_scheduler.LambdaLR``
    (its attributes travel in the scheduler's ``state_dict``)."""

    def __init__(self, total_steps: int, warmup_steps: int = 0, min_factor: float = 0.0):
        warmup_cosine_factor(0, total_steps, warmup_steps, min_factor)  # validates
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.min_factor = min_factor

    def __call__(self, step: int) -> float:
        return warmup_cosine_factor(step, self.total_steps, self.warmup_steps, self.min_factor)


class LinearWarmup:
    """Multiplier ``(step + 1) / warmup_steps`` during warm-up, 1 afterwards (a constant
    learning rate when ``warmup_steps`` is 0)."""

    def __init__(self, warmup_steps: int = 0):
        if warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
        self.warmup_steps = warmup_steps

    def __call__(self, step: int) -> float:
        return min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps else 1.0
