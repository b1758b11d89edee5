"""Kreiman & Krishnapriyan, distribution shifts in MLFFs: shift diagnostics, radius refinement
and test-time training with cheap priors, for any mlffkit backbone.

- :mod:`~mlffkit.papers.shifts.spectral`: the graph-Laplacian spectrum of a structure, the
  mean training spectrum and the spectral distance (the paper's Eq. 5), for any structures;
- :mod:`~mlffkit.papers.shifts.diagnostics`: force-norm shift and element shift (with the
  nearest-known-element swap made explicit);
- :mod:`~mlffkit.papers.shifts.refinement`: radius refinement (per-structure neighbour radius
  from the spectral distance);
- :mod:`~mlffkit.papers.shifts.priors`: the priors as ASE calculators (MMFF94, GFN2-xTB,
  EMT, Lennard-Jones, sGDML on k labelled frames), each saying whether it consumes reference
  labels;
- :mod:`~mlffkit.papers.shifts.ttt`: prior pre-training, main-head fine-tuning and test-time
  training of the representation on a prior's labels; :func:`adapt` returns an ASE calculator.

Importing this package registers the ``shifts_benchmark`` (:mod:`.benchmark`) and
``shifts_md17_transfer`` (:mod:`.transfer`) experiments.
"""

from . import benchmark, transfer  # noqa: F401  (register the experiments)
from .diagnostics import (force_norm, force_norm_shift, nearest_known_element,
                          swap_unseen_elements, unseen_elements)
from .priors import PRIORS, prior, train_sgdml
from .refinement import RADII, neighbour_cutoff, predict_refined, refine_radius
from .spectral import laplacian_spectrum, mean_spectrum, spectral_distance, spectral_distances
from .ttt import (PriorObjective, TTTConfig, TTTResult, adapt, finetune_main, force_mae,
                  prior_loss, pretrain_on_prior, prior_labels, test_time_train)

__all__ = [
    "laplacian_spectrum", "mean_spectrum", "spectral_distance", "spectral_distances",
    "force_norm", "force_norm_shift", "unseen_elements", "nearest_known_element",
    "swap_unseen_elements", "PRIORS", "prior", "train_sgdml", "RADII", "neighbour_cutoff",
    "refine_radius", "predict_refined",
    "TTTConfig", "TTTResult", "PriorObjective", "prior_labels", "pretrain_on_prior",
    "finetune_main", "test_time_train", "adapt", "force_mae", "prior_loss",
]
