"""Schedules of loss weights (plain functions of the step)."""

from __future__ import annotations


def linear_decay(initial: float, step: int, total_steps: int) -> float:
    """``initial`` at step 0 falling linearly to 0 at ``total_steps`` (FRAMES App. A.1)."""
    if total_steps <= 0:
        raise ValueError(f"total_steps must be positive, got {total_steps}")
    return initial * max(0.0, 1.0 - step / total_steps)
