"""Test-time training with a cheap prior (Kreiman & Krishnapriyan §4.2; the official
``ttt_trainer``, ``../shared/papers/protocols_fu_kreiman.md`` §2.3), for any mlffkit backbone.

A :class:`~mlffkit.models.Potential` built with a ``prior_head`` is a Y: the *representation*
θ_R (embeddings and the first ``representation_blocks`` blocks), the *prior head* θ_P (reads
the features after those blocks) and the *main head* θ_M (the remaining blocks and the energy
head); :meth:`~mlffkit.models.Potential.parameter_groups` says which parameter is which, by
module membership. The procedure:

1. :func:`pretrain_on_prior`: θ_R and θ_P on prior labels (the official code pre-trains the
   whole model on them; here the main head is not involved yet);
2. :func:`finetune_main`: θ_M on reference labels, θ_R frozen;
3. :func:`test_time_train`: θ_R on the prior labels of the *test* structures, θ_P and θ_M
   frozen, SGD with momentum (the official optimiser), then predict with the main head. The
   model passed in is never changed: each call adapts a copy, so the representation starts
   from the trained one for every new system (the paper re-adapts per system).

:func:`adapt` does step 3 in one call from ``ase.Atoms`` and a prior ASE calculator and returns
an ASE calculator of the adapted model, e.g. for MD.

The loss is the official one: ``λ_E MAE(E) + λ_F mean_i ||ΔF_i||`` on standardised energies
(``EnergyForceObjective(energy_loss="l1", force_loss="l2")``), λ_F = 1000 in the official
pre-training config; TTT uses the same loss on the prior head.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from mlffkit.data.atoms import AtomsData
from mlffkit.training.losses import LossWeights
from mlffkit.training.fit import collate_as, energy_scales
from mlffkit.training.normalisation import TargetScales
from mlffkit.training.objectives import EnergyForceObjective, StepOutput
from mlffkit.training.trainer import Trainer, TrainerConfig
from mlffkit.training.data import BatchLoader

__all__ = ["TTTConfig", "TTTResult", "PriorObjective", "prior_labels", "pretrain_on_prior",
           "finetune_main", "test_time_train", "adapt", "force_mae", "frame_force_errors",
           "train_with_prior", "zero_force_baseline", "prior_loss"]

#: λ_F of the official pre-training and TTT loss (``force_coefficient``), with λ_E = 1.
OFFICIAL_WEIGHTS = LossWeights(energy=1.0, forces=1000.0)


class PriorObjective(EnergyForceObjective):
    """The energy/force loss of the *prior head* on a batch whose ``energy``/``forces`` hold
    prior labels (:func:`prior_labels`)."""

    def __call__(self, model, sample, step: int) -> StepOutput:
        out = model(sample, forces=True, prior=True, main=False)
        loss, parts = self.frame_loss({"energy": out["prior_energy"],
                                       "forces": out["prior_forces"]}, sample)
        metrics = {"loss": loss.detach(), "primary": loss.detach(),
                   **{k: v.detach() for k, v in parts.items()}}
        return StepOutput(loss=loss, metrics=metrics, weight=sample.n_structures)


def prior_labels(structures: Iterable, prior) -> list[AtomsData]:
    """``structures`` (``ase.Atoms`` or ``AtomsData``) labelled with the energy (eV) and forces
    (eV/Å) of the ASE calculator ``prior``."""
    from ase import Atoms

    labelled = []
    for s in structures:
        atoms = s.copy() if isinstance(s, Atoms) else Atoms(
            numbers=s.numbers.cpu().numpy(), positions=s.pos.detach().cpu().double().numpy(),
            cell=s.cell[0].cpu().numpy() if s.cell is not None else None,
            pbc=s.pbc[0].cpu().numpy() if s.pbc is not None else False)
        atoms.calc = prior
        forces = np.asarray(atoms.get_forces(), dtype=float)
        energy = float(atoms.get_potential_energy())
        if not (np.isfinite(energy) and np.isfinite(forces).all()):
            raise ValueError(f"the prior {type(prior).__name__} gave non-finite labels for "
                             f"{atoms.get_chemical_formula()}")
        atoms.calc = None
        labelled.append(AtomsData.from_arrays(atoms.positions, atoms.numbers, energy=energy,
                                              forces=forces, cell=np.asarray(atoms.cell.array),
                                              pbc=np.asarray(atoms.pbc)))
    return labelled


def force_mae(model, items: Sequence[AtomsData], head: str = "main") -> float:
    """meV/Å over all force components of ``items``, from the main or the prior head."""
    batch = collate_as(model)(list(items))
    prior = head == "prior"
    out = model.eval()(batch, forces=True, prior=prior, main=not prior, create_graph=False)
    predicted = out["prior_forces" if prior else "forces"]
    return 1e3 * float((predicted - batch.forces).abs().mean())


def frame_force_errors(model, items: Sequence[AtomsData]) -> np.ndarray:
    """Force MAE (meV/Å) of each structure of ``items``, from the main head."""
    batch = collate_as(model)(list(items))
    out = model.eval()(batch, forces=True, create_graph=False)
    per_atom = (out["forces"] - batch.forces).abs().mean(dim=1).detach()
    sums = torch.zeros(batch.n_structures, dtype=per_atom.dtype).index_add(0, batch.batch,
                                                                           per_atom)
    return 1e3 * (sums / batch.n_atoms.to(sums.dtype)).cpu().numpy().astype(np.float64)


def _require_prior_head(model) -> None:
    if model.prior_head is None:
        raise ValueError("test-time training needs a model with a prior head: build it with "
                         "config['prior_head'] (e.g. {'hidden': [64]}) and, for the paper's "
                         "split, 'representation_blocks': 1")


def _fit_statistics(head, structures: Sequence[AtomsData]) -> None:
    """Fit an energy head's element energies, shift and scale on labelled ``structures``."""
    head.fit_normalisation([float(s.energy) for s in structures],
                           [s.numbers.numpy() for s in structures],
                           [s.forces.numpy() for s in structures])


def _scales(structures: Sequence[AtomsData]) -> TargetScales:
    return energy_scales([float(s.energy) for s in structures])


def _train(model, objective, structures, parameters, config: TrainerConfig, batch_size: int):
    loader = BatchLoader(list(structures), batch_size, collate=collate_as(model),
                         seed=config.seed)
    return Trainer(model, objective, loader, config=config, parameters=parameters).fit()


def pretrain_on_prior(model, structures: Sequence[AtomsData], config: TrainerConfig,
                      batch_size: int = 32, weights: LossWeights = OFFICIAL_WEIGHTS):
    """Train θ_R and θ_P of ``model`` (in place) on ``structures`` labelled by the prior; the
    prior head's energy statistics are fitted on those labels first."""
    _require_prior_head(model)
    _fit_statistics(model.prior_head, structures)
    groups = model.parameter_groups()
    objective = PriorObjective(weights, _scales(structures), energy_loss="l1", force_loss="l2")
    return _train(model, objective, structures, groups["representation"] + groups["prior_head"],
                  config, batch_size)


def finetune_main(model, structures: Sequence[AtomsData], config: TrainerConfig,
                  batch_size: int = 32, weights: LossWeights = OFFICIAL_WEIGHTS):
    """Train θ_M of ``model`` (in place) on ``structures`` with reference labels, the
    representation frozen; the energy head's statistics are fitted on those labels first."""
    _require_prior_head(model)
    _fit_statistics(model.energy_head, structures)
    objective = EnergyForceObjective(weights, _scales(structures), energy_loss="l1",
                                     force_loss="l2")
    return _train(model, objective, structures, model.parameter_groups()["main_head"], config,
                  batch_size)


def zero_force_baseline(items: Sequence[AtomsData]) -> float:
    """meV/Å of predicting zero forces (the mean force of a molecule is zero)."""
    return 1e3 * float(np.mean([s.forces.abs().mean() for s in items]))


def train_with_prior(c, prior: Sequence[AtomsData], reference: Sequence[AtomsData]):
    """A model with a prior head, pre-trained on ``prior`` labels and fine-tuned on
    ``reference`` labels; ``c`` (an experiment config) gives ``model`` (a preset),
    ``prior_hidden``, ``representation_blocks``, ``seed``, ``pretrain_epochs``,
    ``finetune_epochs``, ``lr``, ``batch_size`` and ``progress``. Returns the model and a
    table of each stage's training force MAE (on at most ~500 frames) beside the zero-force
    baseline: a stage that does not beat it learned nothing."""
    from mlffkit.models import build_model
    from mlffkit.training.trainer import TrainerConfig

    torch.manual_seed(c.seed)
    model = build_model({"preset": c.model, "prior_head": {"hidden": [c.prior_hidden]},
                         "representation_blocks": c.representation_blocks})
    trainer = dict(lr=c.lr, ema_decay=None, progress=c.progress, seed=c.seed)
    pre = pretrain_on_prior(model, prior, TrainerConfig(max_epochs=c.pretrain_epochs, **trainer),
                            batch_size=c.batch_size)
    fine = finetune_main(model, reference, TrainerConfig(max_epochs=c.finetune_epochs,
                                                         **trainer), batch_size=c.batch_size)
    every = max(1, len(reference) // 500)
    rows = [{"stage": "pretrain: prior head on prior labels", "steps": pre.step,
             "train_force_mae": force_mae(model, prior[::every], head="prior"),
             "zero_force_baseline": zero_force_baseline(prior[::every])},
            {"stage": "finetune: main head on reference labels", "steps": fine.step,
             "train_force_mae": force_mae(model, reference[::every]),
             "zero_force_baseline": zero_force_baseline(reference[::every])}]
    return model, pd.DataFrame(rows)


@dataclass(frozen=True)
class TTTConfig:
    """Test-time training settings. Defaults: the paper's MD17 optimiser (SGD, lr 1e-3,
    momentum 0.9, weight decay 1e-3; the official configs use lr 1e-5 with 500 steps), the
    official batch of 32, errors in eV and eV/Å divided by ``scales`` (fixed, not fitted on the
    few test structures: the official code keeps the training normaliser), and an early stop the paper applied on SPICE: after ``patience``
    steps without the prior loss falling by ``min_delta`` (relative), or once it reaches
    ``target_loss`` (e.g. its in-distribution level). ``patience=None``: all ``steps``."""

    steps: int = 50
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 1e-3
    batch_size: int = 32
    patience: int | None = 10
    min_delta: float = 1e-3
    target_loss: float | None = None
    weights: LossWeights = field(default_factory=lambda: OFFICIAL_WEIGHTS)
    scales: TargetScales = field(default_factory=TargetScales)
    seed: int = 0

    def __post_init__(self):
        for name in ("steps", "batch_size"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"TTTConfig.{name} must be an integer >= 1, got {value!r}")
        for name in ("lr", "momentum", "weight_decay", "min_delta"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0) or (name == "lr" and value == 0):
                raise ValueError(f"TTTConfig.{name} must be finite and "
                                 f"{'> 0' if name == 'lr' else '>= 0'}, got {value!r}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"TTTConfig.patience must be >= 1 or None, got {self.patience!r}")


@dataclass
class TTTResult:
    """The adapted copy of the model, the prior loss per step (``history``: ``step``,
    ``prior_loss``, the loss of the minibatch before that step's update), why it stopped
    (``"steps"``, ``"patience"`` or ``"target"``), and the prior loss over all the structures
    before and after the adaptation (:func:`prior_loss`): ``loss_after < loss_before`` says
    that TTT learned the task it was given, whatever it did to the main head's error."""

    model: torch.nn.Module
    history: pd.DataFrame
    stopped: str
    loss_before: float = np.nan
    loss_after: float = np.nan

    def calculator(self, **kwargs):
        """An ASE calculator of the adapted model (main head)."""
        from mlffkit.md import calculator

        return calculator(self.model, **kwargs)


def prior_loss(model, structures: Sequence[AtomsData], config: TTTConfig = TTTConfig()) -> float:
    """The test-time objective (the prior head's loss with ``config``'s weights and scales) over
    all ``structures``, in batches of ``config.batch_size``, weighted by structure."""
    objective = PriorObjective(config.weights, config.scales, energy_loss="l1", force_loss="l2")
    structures = list(structures)
    total, collate = 0.0, collate_as(model)
    training = model.training
    model.eval()
    try:
        for start in range(0, len(structures), config.batch_size):
            chunk = structures[start:start + config.batch_size]
            total += len(chunk) * float(objective(model, collate(chunk), 0).loss.detach())
    finally:
        model.train(training)
    return total / len(structures)


def test_time_train(model, structures: Sequence[AtomsData], config: TTTConfig = TTTConfig()
                    ) -> TTTResult:
    """Adapt a copy of ``model``'s representation to ``structures`` (labelled by the prior,
    :func:`prior_labels`) on the prior head's loss; heads unchanged (bitwise). ``model`` itself
    is not modified."""
    _require_prior_head(model)
    structures = list(structures)
    if not structures:
        raise ValueError("test-time training needs at least one structure")
    adapted = copy.deepcopy(model)
    groups = adapted.parameter_groups()
    trained = groups["representation"]
    if not trained:
        raise ValueError("the model's representation has no parameters to adapt")
    frozen = groups["main_head"] + groups["prior_head"]
    requires = [p.requires_grad for p in frozen]
    for p in frozen:
        p.requires_grad_(False)
    objective = PriorObjective(config.weights, config.scales, energy_loss="l1", force_loss="l2")
    optimiser = torch.optim.SGD(trained, lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    loader = BatchLoader(structures, min(config.batch_size, len(structures)),
                         collate=collate_as(adapted), seed=config.seed, drop_last=False)
    losses, best, waited, stopped = [], np.inf, 0, "steps"
    adapted.train()
    batches = iter(())
    epoch = 0
    try:
        for step in range(config.steps):
            sample = next(batches, None)
            if sample is None:
                loader.set_epoch(epoch)
                epoch += 1
                batches = iter(loader)
                sample = next(batches)
            out = objective(adapted, sample, step)
            loss = float(out.loss.detach())
            if not np.isfinite(loss):
                raise FloatingPointError(f"test-time training diverged at step {step} "
                                         f"(prior loss {loss}); lower TTTConfig.lr")
            losses.append(loss)
            if config.target_loss is not None and loss <= config.target_loss:
                stopped = "target"
                break
            if loss < best * (1 - config.min_delta):
                best, waited = loss, 0
            else:
                waited += 1
                if config.patience is not None and waited >= config.patience:
                    stopped = "patience"
                    break
            optimiser.zero_grad(set_to_none=True)
            out.loss.backward()
            optimiser.step()
    finally:
        for p, flag in zip(frozen, requires):
            p.requires_grad_(flag)
        adapted.eval()
    history = pd.DataFrame({"step": np.arange(len(losses)), "prior_loss": losses})
    return TTTResult(model=adapted, history=history, stopped=stopped,
                     loss_before=prior_loss(model, structures, config),
                     loss_after=prior_loss(adapted, structures, config))


def adapt(model, structures: Iterable, prior, config: TTTConfig = TTTConfig(), **calc_kwargs):
    """Test-time training in one call: label ``structures`` (``ase.Atoms`` of the system to
    simulate, e.g. a few frames or one relaxed structure) with the ``prior`` ASE calculator,
    adapt a copy of ``model`` to them and return an ASE calculator of the adapted model. The
    adaptation's :class:`TTTResult` is the calculator's ``ttt`` attribute."""
    result = test_time_train(model, prior_labels(structures, prior), config)
    calc = result.calculator(**calc_kwargs)
    calc.ttt = result
    return calc
