"""Objectives: what one training step computes from a model and one sample.

An objective is any callable ``objective(model, sample, step) -> StepOutput``; the trainer
calls it for training (model in train mode) and for validation (eval mode, EMA weights). An
objective that is also an ``nn.Module`` may own parameters (a paper's auxiliary head, e.g.
:class:`mlffkit.papers.frames.objective.FramesObjective`): the trainer optimises, averages,
checkpoints and moves them with the model's.

Model contract (``mlffkit.models.Potential``): ``model(batch, forces=True)`` returns a dict
with ``energy`` (B,) eV, ``forces`` (N, 3) eV/Å (by autograd, with ``create_graph`` in train
mode) and per-atom ``features``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

from mlffkit.data.atoms import AtomsBatch
from mlffkit.training.losses import LossWeights, energy_force_loss, window_average
from mlffkit.training.normalisation import TargetScales


@dataclass
class StepOutput:
    """``loss`` to back-propagate; ``metrics`` (detached scalars) to log; ``weight`` (number of
    structures) for averaging metrics over batches."""

    loss: Tensor
    metrics: dict[str, Tensor]
    weight: int


Objective = Callable[[Any, Any, int], StepOutput]


def _n_atoms(batch: AtomsBatch) -> Tensor:
    return batch.n_atoms.to(batch.energy.dtype)


def split_frames(prediction: dict[str, Tensor], frames: int) -> list[dict[str, Tensor]]:
    """A model's outputs on a frame-major stack of ``frames`` equal batches, split into one
    output dict per frame: every output (per structure or per atom) has ``frames`` equal
    parts along its first dimension."""
    return [dict(zip(prediction, parts)) for parts in
            zip(*(value.tensor_split(frames) for value in prediction.values()))]


class EnergyForceObjective:
    """``λ_E L_E + λ_F L_F`` on one labelled batch (``AtomsBatch`` with ``energy`` and
    ``forces``; errors divided by ``scales``).

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

    def frame_loss(self, prediction: dict, labelled: AtomsBatch
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

    def primary(self, model, frames: list[AtomsBatch], stacked: AtomsBatch | None = None
                ) -> tuple[Tensor, dict[str, Tensor], list[dict]]:
        """The frame losses averaged over ``frames`` (FRAMES Eq. 3 for the T frames of a
        window); also the predictions, one dict per frame. With ``stacked`` (the same frames
        as one batch, frame-major, e.g. ``Window.stacked``) the model runs once on the whole
        window and its outputs are split back into frames."""
        if stacked is not None and len(frames) > 1:
            predictions = split_frames(model(stacked, forces=True), len(frames))
        else:
            predictions = [model(labelled, forces=True) for labelled in frames]
        losses, parts = [], []
        for prediction, labelled in zip(predictions, frames):
            loss, frame_parts = self.frame_loss(prediction, labelled)
            losses.append(loss)
            parts.append(frame_parts)
        metrics = {key: window_average([p[key] for p in parts]).detach() for key in parts[0]}
        return window_average(losses), metrics, predictions

    def __call__(self, model, sample: AtomsBatch, step: int) -> StepOutput:
        loss, metrics, _ = self.primary(model, [sample])
        metrics = {"loss": loss.detach(), "primary": loss.detach(), **metrics}
        return StepOutput(loss=loss, metrics=metrics, weight=sample.n_structures)
