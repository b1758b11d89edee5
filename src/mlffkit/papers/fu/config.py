"""The settings every Fu et al. experiment shares (:class:`FuConfig`): the models and their
training, the simulations, the timing, the seed and the processes. Each system's experiment
adds its own (molecules and NVE scans for MD17, training-set sizes for the condensed phases,
the training frames for alanine dipeptide)."""

from __future__ import annotations

from dataclasses import dataclass

from mlffkit.experiments.config import Config, param
from mlffkit.experiments.registry import SEED, Param, names_from, positive
from mlffkit.models import PRESETS

__all__ = ["FuConfig", "check_epochs", "positive_ints"]


def positive_ints(values) -> str | None:
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                             for v in values):
        return "expected a non-empty list of positive ints"
    return None


def check_epochs(c) -> None:
    """One epoch count per model (a one-line error before anything is computed)."""
    if len(c.epochs) != len(c.models):
        raise ValueError(f"epochs gives {len(c.epochs)} values for {len(c.models)} models: "
                         "give one per model, in the order of models")


@dataclass(frozen=True)
class FuConfig(Config):
    models: tuple = param(names_from(PRESETS))
    epochs: tuple = param(Param(list, check=positive_ints))  # one per model
    n_test: int = param(positive())
    lr: float = param(positive())
    batch_size: int = param(positive())
    starts: int = param(positive())          # simulations per model and system (Fu: 5)
    md_ps: float = param(positive())         # simulated time per run
    speed_steps: int = param(positive())     # single-replica steps timed for steps/s
    seed: int = param(SEED)
    threads: int = param(positive())         # torch threads per process
    workers: int = param(positive())         # processes, one task each
    progress: bool = param()
