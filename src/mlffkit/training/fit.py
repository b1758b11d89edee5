"""Train an energy/force potential on labelled structures in one call.

>>> from mlffkit.models import build_model
>>> from mlffkit.training import fit_potential
>>> model = build_model("painn_book")
>>> fit = fit_potential(model, frames.to_data_list(), epochs=20, lr=1e-3)
>>> fit.history.tail()

The recipe: the energy head's statistics (and an Equiformer's average number of neighbours)
fitted on the training labels, errors scaled by the energy spread
(:func:`~mlffkit.training.fit_target_scales`), ``λ_E L1(E) + λ_F L2(F)`` (FRAMES/Equiformer's
loss) with Adam, a cosine schedule and optional EMA, whose weights the model keeps at the end.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlffkit.data.atoms import AtomsData, collate
from mlffkit.training.data import BatchLoader
from mlffkit.training.losses import LossWeights
from mlffkit.training.normalisation import TargetScales, fit_target_scales
from mlffkit.training.objectives import EnergyForceObjective
from mlffkit.training.run_log import epoch_history
from mlffkit.training.trainer import Trainer, TrainerConfig

#: force-weighted, as the MD17 recipes of FRAMES/Equiformer (energy 1, forces 80)
DEFAULT_WEIGHTS = LossWeights(energy=1.0, forces=80.0)


@dataclass
class FitSummary:
    """What :func:`fit_potential` did: optimiser steps, wall time (s), the last validation
    metrics, and the per-epoch training log (:func:`~mlffkit.training.run_log.epoch_history`;
    ``energy_mae`` in eV per structure, ``force_mae`` in eV/Å per component)."""

    steps: int
    train_s: float
    val_metrics: dict
    history: pd.DataFrame
    #: ``{epoch: state_dict}`` taken at the end of each requested epoch (EMA weights if any)
    snapshots: dict = field(default_factory=dict)


def fit_potential(model, train: Sequence[AtomsData], val: Sequence[AtomsData] = (), *,
                  epochs: int, lr: float, batch_size: int = 32, seed: int = 0,
                  weights: LossWeights = DEFAULT_WEIGHTS, energy_loss: str = "l1",
                  force_loss: str = "l2", warmup_steps: int = 0,
                  ema_decay: float | None = None, snapshot_epochs: Sequence[int] = (),
                  progress: bool = True, device=None) -> FitSummary:
    """Train ``model`` (an mlffkit :class:`~mlffkit.models.Potential`, in place) on ``train``
    (``AtomsData`` with ``energy`` and ``forces``) for ``epochs`` epochs; ``val`` is evaluated
    after each epoch. With ``ema_decay`` the model ends holding its EMA weights.
    ``snapshot_epochs``: epochs after which a copy of the weights is kept
    (``FitSummary.snapshots``), e.g. to score a model part-way through its training."""
    if len(train) == 0:
        raise ValueError("fit_potential needs at least one training structure")
    missing = [k for k, s in enumerate(train) if s.energy is None or s.forces is None]
    if missing:
        raise ValueError(f"training structures {missing[:5]} lack energy or forces labels")
    bad = [e for e in snapshot_epochs if not 1 <= e <= epochs]
    if bad:
        raise ValueError(f"snapshot_epochs {bad} lie outside 1..{epochs}")
    energies = np.array([float(s.energy) for s in train])
    as_batch = collate_as(model)
    model.fit_normalisation(energies, [s.numbers.numpy() for s in train],
                            [s.forces.numpy() for s in train],
                            batches=(as_batch(train[k:k + 64]) for k in range(0, len(train), 64)))
    objective = EnergyForceObjective(weights, energy_scales(energies), energy_loss=energy_loss,
                                     force_loss=force_loss)
    loader = BatchLoader(list(train), batch_size, collate=as_batch, seed=seed)
    val_loader = BatchLoader(list(val), batch_size, collate=as_batch, shuffle=False) \
        if len(val) else None
    config = TrainerConfig(max_epochs=epochs, lr=lr, scheduler="cosine",
                           warmup_steps=warmup_steps, ema_decay=ema_decay,
                           ema_warmup=ema_decay is not None, seed=seed, progress=progress)
    snapshots: dict[int, dict] = {}
    at_step = {e * len(loader): e for e in snapshot_epochs}

    def snapshot(trainer: Trainer) -> None:
        if trainer.step in at_step:
            with trainer.averaged_weights():
                snapshots[at_step[trainer.step]] = _copy(model.state_dict())

    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(model, objective, loader, val_loader, config, run_dir=run_dir,
                          device=device, callbacks=[snapshot] if at_step else ())
        started = time.perf_counter()
        result = trainer.fit()
        train_s = time.perf_counter() - started
        with trainer.averaged_weights():
            averaged = _copy(model.state_dict())
        model.load_state_dict(averaged)
        history = epoch_history(pd.DataFrame(trainer.log.rows()))
    model.eval()
    return FitSummary(result.step, train_s, dict(result.val_metrics), history, snapshots)


def collate_as(model):
    """A collate function that batches structures in ``model``'s dtype."""
    dtype = next(model.parameters()).dtype
    return lambda items: collate(items, dtype=dtype)


def energy_scales(energies) -> TargetScales:
    """Target scales from training energies (:func:`fit_target_scales`), or unit scales when
    there is no spread to fit (one structure, or equal energies)."""
    energies = np.asarray(energies, dtype=float)
    return fit_target_scales(energies) if len(energies) > 1 and energies.std() > 0 \
        else TargetScales()


def _copy(state: dict) -> dict:
    return {k: v.detach().clone() for k, v in state.items()}


def predict(model, structures, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Energies (n,) in eV and forces (n, N, 3) in eV/Å of ``structures`` (``AtomsData`` of
    one size), predicted in batches of ``batch_size``."""
    energies, forces = [], []
    model.eval()
    parameter = next(model.parameters())
    for start in range(0, len(structures), batch_size):
        batch = collate(structures[start:start + batch_size],
                        dtype=parameter.dtype).to(parameter.device)
        out = model(batch, forces=True)
        energies.append(out["energy"].detach().cpu().numpy())
        forces.append(out["forces"].detach().cpu().numpy().reshape(batch.n_structures, -1, 3))
    return np.concatenate(energies), np.concatenate(forces)
