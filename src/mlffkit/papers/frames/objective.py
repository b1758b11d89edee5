"""FRAMES' training objective: the primary energy/force loss over the T frames of a window
plus the decaying auxiliary loss of a head that lives beside the potential (Eq. 2-5)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mlffkit.training.data import Window
from mlffkit.training.losses import LossWeights, displacement_l2
from mlffkit.training.normalisation import TargetScales
from mlffkit.training.objectives import EnergyForceObjective, StepOutput
from mlffkit.training.schedules import linear_decay

AUX_TARGETS = ("displacement", "next_frame")


class FramesObjective(EnergyForceObjective, nn.Module):
    """FRAMES Eq. 2: ``L_primary + λ_aux(step) L_aux`` on a :class:`Window`.

    ``L_primary`` averages the frame loss over the T frames of the window (Eq. 3).
    ``L_aux`` is, with ``aux="displacement"`` (the paper's method), Eq. 5: the per-atom L2 error
    of the predicted displacement ``p_{t+1} - p_t`` (divided by ``scales.displacement``,
    1 in the paper); with ``aux="next_frame"`` (the Table 3 ablation) the frame loss on the
    next frame's energy and forces predicted from the window. ``λ_aux`` starts at
    ``weights.aux`` and decays linearly to 0 at ``total_steps`` (App. A.1); the trainer sets
    ``total_steps`` to its own when left ``None``. A window of T = 1 is the baseline: primary
    loss only (§3.4); so is a window with λ_aux = 0 and no head (the "T = 2 without the
    auxiliary loss" control: the same windows and primary loss). The backbone runs once per
    window (on ``Window.stacked``). A plain labelled batch (``AtomsBatch``) is scored as a
    single frame (use it for validation on static frames). Metrics: those of :class:`EnergyForceObjective` plus
    ``aux`` (unweighted) and ``aux_weight``.

    ``head`` is the auxiliary head (:mod:`mlffkit.papers.frames.heads`; None when T = 1):
    a submodule of the objective, so the trainer optimises, averages and checkpoints it with
    the model, while the potential itself stays free of FRAMES."""

    def __init__(self, weights: LossWeights, scales: TargetScales = TargetScales(),
                 aux: str = "displacement", total_steps: int | None = None,
                 head: nn.Module | None = None, **kwargs):
        nn.Module.__init__(self)
        EnergyForceObjective.__init__(self, weights, scales, **kwargs)
        self.head = head
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
        ``features`` to the auxiliary head, so the backbone runs once per window."""
        if self.head is None:
            raise ValueError("windows of T >= 2 need an auxiliary head: FramesObjective(..., "
                             "head=displacement_head_for(model, T))")
        batches = sample.frames
        features = [prediction["features"] for prediction in predictions]
        if self.aux == "displacement":
            predicted = self.head.displacement(batches, features)
            return displacement_l2(predicted, sample.displacement, self.scales.displacement)
        if sample.next_frame is None:
            raise ValueError("aux='next_frame' needs windows with next_frame labels")
        loss, _ = self.frame_loss(self.head.predict_next_frame(batches, features, model),
                                  sample.next_frame)
        return loss

    def __call__(self, model, sample, step: int) -> StepOutput:
        if not isinstance(sample, Window):
            return EnergyForceObjective.__call__(self, model, sample, step)
        primary, metrics, predictions = self.primary(model, sample.frames, sample.stacked)
        loss = primary
        if len(sample.frames) > 1 and (self.head is not None or self.weights.aux != 0):
            weight = self.aux_weight(step)
            aux = self.aux_loss(model, sample, predictions)
            loss = primary + weight * aux
            metrics.update(aux=aux.detach(), aux_weight=torch.tensor(weight))
        metrics = {"loss": loss.detach(), "primary": primary.detach(), **metrics}
        return StepOutput(loss=loss, metrics=metrics, weight=sample.n_structures)
