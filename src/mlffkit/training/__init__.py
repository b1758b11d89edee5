"""Training: losses, the FRAMES objective, schedules and the trainer.

- :mod:`~mlffkit.training.losses`: energy/force/displacement losses as plain functions.
- :mod:`~mlffkit.training.objectives`: ``EnergyForceObjective`` (FRAMES' objective lives in
  :mod:`mlffkit.papers.frames.objective`)
  (FRAMES Eq. 2-5, λ_aux decayed linearly to 0).
- :mod:`~mlffkit.training.data`: labelled batches, FRAMES windows, a resumable loader.
- :mod:`~mlffkit.training.fit`: ``fit_potential``, an energy/force potential trained in one
  call.
- :mod:`~mlffkit.training.trainer`: ``Trainer`` and ``TrainerConfig`` (EMA, schedules, early
  stopping, exact resume, DistributedDataParallel).
- :mod:`~mlffkit.training.distributed`: process-group set-up (gloo on CPU, nccl on CUDA).
"""

from mlffkit.training.data import BatchLoader, Window, collate_windows, trajectory_windows
from mlffkit.training.fit import FitSummary, fit_potential
from mlffkit.training.distributed import DistributedContext, init_distributed
from mlffkit.training.losses import LossWeights
from mlffkit.training.normalisation import TargetScales, fit_target_scales
from mlffkit.training.objectives import EnergyForceObjective, StepOutput
from mlffkit.training.trainer import Trainer, TrainerConfig, TrainResult

__all__ = [
    "BatchLoader", "DistributedContext", "EnergyForceObjective", "FitSummary", "fit_potential",
    "LossWeights", "StepOutput",
    "TargetScales", "TrainResult", "Trainer", "TrainerConfig", "Window",
    "collate_windows", "fit_target_scales",
    "init_distributed", "trajectory_windows",
]
