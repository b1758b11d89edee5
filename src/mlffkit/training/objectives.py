"""Objectives: what one training step computes from a model and one sample.

An objective is any callable ``objective(model, sample, step) -> StepOutput``; the trainer
calls it for training (model in train mode) and for validation (eval mode, EMA weights), so
the same trainer runs plain energy/force training and FRAMES windows.

Model contract (``mlffkit.models.Potential``): ``model(batch, forces=True)`` returns a dict
with ``energy`` (B,) eV, ``forces`` (N, 3) eV/Å (by autograd, with ``create_graph`` in train
mode) and per-atom ``features``; ``model.predict_displacement(batches, features=features)``
returns the displacement (N, 3) of the atoms of the last of the T ``batches`` to the next
frame, ``features`` being the forward passes' features of those frames;
``model.predict_next_frame(batches, features=...)`` (only for the ablation
``aux="next_frame"``) returns a dict with the next frame's ``energy`` and ``forces``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

from mlffkit.training.data import LabelledBatch, Window
from mlffkit.training.losses import (LossWeights, displacement_l2, energy_force_loss,
                                     window_average)
from mlffkit.training.normalisation import TargetScales
from mlffkit.training.schedules import linear_decay

AUX_TARGETS = ("displacement", "next_frame")


@dataclass
class StepOutput:
    """``loss`` to back-propagate; ``metrics`` (detached scalars) to log; ``weight`` (number of
    structures) for averaging metrics over batches."""

    loss: Tensor
    metrics: dict[str, Tensor]
    weight: int


Objective = Callable[[Any, Any, int], StepOutput]


def _n_atoms(labelled: LabelledBatch) -> Tensor:
    return torch.bincount(labelled.batch.batch, minlength=labelled.n_structures).to(
        labelled.energy.dtype)


class EnergyForceObjective:
    """``λ_E L_E + λ_F L_F`` on one :class:`LabelledBatch` (errors divided by ``scales``).

    ``energy_loss``: ``"l1"`` (FRAMES/Equiformer) or ``"mse"``; ``force_loss``: ``"l2"``
    (per-atom norm, FRAMES) or ``"mse"``; ``per_atom_energy`` divides energy errors by the
    number of atoms. Metrics, besides the loss: ``energy_mae`` (eV per structure) and
    ``force_mae`` (eV/Å per component), in physical units."""

    def __init__(self, weights: LossWeights = LossWeights(), scales: TargetScales = TargetScales(),
                 energy_loss: str = "l1", force_loss: str = "l2",
                 per_atom_energy: bool = False):
        self.weights, self.scales = weights, scales
        self.energy_kind, self.force_kind = energy_loss, force_loss
        self.per_atom_energy = per_atom_energy

    def frame_loss(self, prediction: dict, labelled: LabelledBatch
                   ) -> tuple[Tensor, dict[str, Tensor]]:
        """Weighted primary loss of one frame, and its parts and physical errors."""
        loss, parts = energy_force_loss(
            prediction, labelled.energy, labelled.forces, self.weights, self.scales.energy,
            self.scales.forces, self.energy_kind, self.force_kind,
            _n_atoms(labelled) if self.per_atom_energy else None)
        with torch.no_grad():
            parts["energy_mae"] = (prediction["energy"] - labelled.energy).abs().mean()
            parts["force_mae"] = (prediction["forces"] - labelled.forces).abs().mean()
        return loss, parts

    def primary(self, model, frames: list[LabelledBatch]
                ) -> tuple[Tensor, dict[str, Tensor], list[dict]]:
        """FRAMES Eq. 3: the frame losses averaged over the window; also the predictions."""
        predictions, losses, parts = [], [], []
        for labelled in frames:
            prediction = model(labelled.batch, forces=True)
            loss, frame_parts = self.frame_loss(prediction, labelled)
            predictions.append(prediction)
            losses.append(loss)
            parts.append(frame_parts)
        metrics = {key: window_average([p[key] for p in parts]).detach() for key in parts[0]}
        return window_average(losses), metrics, predictions

    def __call__(self, model, sample: LabelledBatch, step: int) -> StepOutput:
        loss, metrics, _ = self.primary(model, [sample])
        metrics = {"loss": loss.detach(), "primary": loss.detach(), **metrics}
        return StepOutput(loss=loss, metrics=metrics, weight=sample.n_structures)


class FramesObjective(EnergyForceObjective):
    """FRAMES Eq. 2: ``L_primary + λ_aux(step) L_aux`` on a :class:`Window`.

    ``L_primary`` averages the frame loss over the T frames of the window (Eq. 3).
    ``L_aux`` is, with ``aux="displacement"`` (the paper's method), Eq. 5: the per-atom L2 error
    of the predicted displacement ``p_{t+1} - p_t`` (divided by ``scales.displacement``,
    1 in the paper); with ``aux="next_frame"`` (the Table 3 ablation) the frame loss on the
    next frame's energy and forces predicted from the window. ``λ_aux`` starts at
    ``weights.aux`` and decays linearly to 0 at ``total_steps`` (App. A.1); the trainer sets
    ``total_steps`` to its own when left ``None``. A window of T = 1 is the baseline: primary
    loss only (§3.4). A plain :class:`LabelledBatch` is scored as a single frame (use it for
    validation on static frames). Metrics: those of :class:`EnergyForceObjective` plus
    ``aux`` (unweighted) and ``aux_weight``."""

    def __init__(self, weights: LossWeights, scales: TargetScales = TargetScales(),
                 aux: str = "displacement", total_steps: int | None = None, **kwargs):
        super().__init__(weights, scales, **kwargs)
        if aux not in AUX_TARGETS:
            raise ValueError(f"aux must be one of {AUX_TARGETS}, got {aux!r}")
        self.aux, self.total_steps = aux, total_steps

    def set_total_steps(self, total_steps: int) -> None:
        """Called by the trainer; keeps an explicit ``total_steps``."""
        if self.total_steps is None:
            self.total_steps = total_steps

    def aux_weight(self, step: int) -> float:
        """λ_aux at ``step``: ``weights.aux`` decayed linearly to 0 at ``total_steps``."""
        if self.total_steps is None:
            raise RuntimeError("FramesObjective.total_steps is not set")
        return linear_decay(self.weights.aux, step, self.total_steps)

    def aux_loss(self, model, sample: Window, predictions: list[dict]) -> Tensor:
        """L_aux of a window; ``predictions`` (the primary pass's outputs) lend their per-atom
        ``features`` to the auxiliary head, so the backbone runs once per frame."""
        batches = [labelled.batch for labelled in sample.frames]
        features = [prediction["features"] for prediction in predictions]
        if self.aux == "displacement":
            predicted = model.predict_displacement(batches, features=features)
            return displacement_l2(predicted, sample.displacement, self.scales.displacement)
        if sample.next_frame is None:
            raise ValueError("aux='next_frame' needs windows with next_frame labels")
        loss, _ = self.frame_loss(model.predict_next_frame(batches, features=features),
                                  sample.next_frame)
        return loss

    def __call__(self, model, sample: Window | LabelledBatch, step: int) -> StepOutput:
        if isinstance(sample, LabelledBatch):
            return super().__call__(model, sample, step)
        primary, metrics, predictions = self.primary(model, sample.frames)
        loss = primary
        if len(sample.frames) > 1:
            weight = self.aux_weight(step)
            aux = self.aux_loss(model, sample, predictions)
            loss = primary + weight * aux
            metrics.update(aux=aux.detach(), aux_weight=torch.tensor(weight))
        metrics = {"loss": loss.detach(), "primary": primary.detach(), **metrics}
        return StepOutput(loss=loss, metrics=metrics, weight=sample.n_structures)
