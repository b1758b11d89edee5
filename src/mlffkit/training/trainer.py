"""The trainer: one loop for plain energy/force training and FRAMES windows.

What a step does is the *objective*'s business (:mod:`mlffkit.training.objectives`); the
trainer owns everything around it: the optimiser (Adam/AdamW), the learning-rate schedule
(constant or cosine, both with linear warm-up, or ReduceLROnPlateau on the validation metric),
an EMA of the weights (used for validation and for the exported weights), gradient clipping,
early stopping, logs (``log.jsonl`` + ``log.csv``), a progress bar, and checkpoints.

Resume is exact: ``last.pt`` (written atomically) holds the model (and an objective's own
parameters), optimiser, scheduler, EMA,
early-stopping state, every rank's RNG state and the position in the data (epoch and batch
within the epoch), so a run killed after a checkpoint and resumed with ``fit(resume=True)``
ends with the same weights, bit for bit, as one that never stopped. This needs a training
iterable whose order depends on the epoch only (``BatchLoader``, or any object with
``set_epoch``; with ``iter_from(k)`` it also starts at batch k without collating the first k).

Multi-process: pass a :class:`~mlffkit.training.distributed.DistributedContext`. The model
and the objective are wrapped together (:class:`ObjectiveModule`) in
``DistributedDataParallel``, so a FRAMES step (T forward passes, a displacement head, forces
by autograd with ``create_graph``) is one DDP forward and one backward. DDP averages the
gradients of the ranks' losses; with per-rank mean losses this equals the gradient of the
global-batch loss when the ranks hold equal numbers of structures and atoms (one molecule per
dataset, as MD17 and ISO17; ``BatchLoader`` shards every global batch equally).
Double backward works with DDP's reducer here (gloo, tested): the force graph is built inside
the DDP forward, the parameters' gradients are accumulated once, in the single backward.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from mlffkit.files import save_torch
from mlffkit.training.checkpoint import (capture_rng_state, load_file, restore_rng_state,
                                         seed_everything)
from mlffkit.training.data import move_to
from mlffkit.training.distributed import DistributedContext, gather_objects
from mlffkit.training.early_stopping import EarlyStopping
from mlffkit.training.ema import ExponentialMovingAverage
from mlffkit.training.objectives import Objective
from mlffkit.training.run_log import RunLog
from mlffkit.training.schedules import LinearWarmup, WarmupCosine

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
SCHEDULERS = ("constant", "cosine", "plateau")
CHECKPOINT_FORMAT = 2  # 2: the objective's own parameters (an auxiliary head) too


@dataclass
class TrainerConfig:
    """Knobs of a training run (saved in every checkpoint).

    Length: ``max_steps`` and/or ``max_epochs`` (whichever ends first). ``eval_every``: steps
    between validations (``None``: at the end of each epoch). ``checkpoint_every``: steps
    between checkpoints; one is also written after every validation, every epoch and at the
    end. ``val_metric`` names a metric of the objective (``"primary"``: the primary loss,
    independent of the decaying λ_aux); it drives early stopping, ReduceLROnPlateau and the
    best checkpoint. ``plateau_patience`` and ``early_stopping_patience`` count validations.
    The RNGs are seeded with ``seed + rank`` at the start of a fresh run; ``deterministic``
    also calls ``torch.use_deterministic_algorithms(True, warn_only=True)`` (process-wide).
    ``find_unused_parameters`` is passed to DDP: needed when some parameters get no gradient
    in a step (a displacement head in a T = 1 run, a frozen group)."""

    max_steps: int | None = None
    max_epochs: int | None = None
    optimizer: str = "adam"
    lr: float = 5e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    scheduler: str = "constant"
    warmup_steps: int = 0
    min_lr_factor: float = 0.0
    plateau_factor: float = 0.5
    plateau_patience: int = 5
    min_lr: float = 0.0
    ema_decay: float | None = 0.999
    ema_warmup: bool = False
    grad_clip_norm: float | None = None
    eval_every: int | None = None
    val_metric: str = "primary"
    val_mode: str = "min"
    early_stopping_patience: int | None = None
    early_stopping_min_delta: float = 0.0
    checkpoint_every: int | None = None
    log_every: int = 1
    seed: int = 0
    deterministic: bool = False
    progress: bool = True
    find_unused_parameters: bool = True

    def __post_init__(self):
        if self.max_steps is None and self.max_epochs is None:
            raise ValueError("set max_steps or max_epochs")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {tuple(OPTIMIZERS)}")
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler must be one of {SCHEDULERS}")
        if self.scheduler == "plateau" and self.warmup_steps:
            raise ValueError("warm-up is not supported with the plateau scheduler")
        self.betas = tuple(self.betas)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    """How a run ended. ``val_metrics``: the last validation (EMA weights)."""

    step: int
    epoch: int
    stopped_early: bool
    best_metric: float | None
    best_step: int | None
    val_metrics: dict[str, float] = field(default_factory=dict)
    run_dir: Path | None = None


class ObjectiveModule(nn.Module):
    """``model`` and ``objective`` as one module, so that DDP sees a whole step (however many
    model calls the objective makes) as a single forward."""

    def __init__(self, model: nn.Module, objective: Objective):
        super().__init__()
        self.model = model
        self.objective = objective

    def forward(self, sample, step: int):
        out = self.objective(self.model, sample, step)
        return out.loss, out.metrics, out.weight


def save_weights(model: nn.Module, path: Path) -> None:
    """Default export: ``{"model": state_dict}`` written atomically."""
    save_torch({"model": model.state_dict()}, path)


def _model_device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


class Trainer:
    """Train ``model`` on ``objective`` over ``train_data``; see the module docstring.

    ``train_data``/``val_data``: iterables of samples (``BatchLoader`` recommended). ``device``:
    where to train (default: the distributed context's device, else the model's).
    ``parameters``: the parameters to optimise (default: all that require grad).
    ``run_dir``: where checkpoints and logs go (``None``: nothing is written).
    ``export(model, path)``: writes weights (``best.pt``, ``model.pt``), called with the EMA
    weights swapped in; default :func:`save_weights`. ``callbacks``: functions of the trainer,
    called after every step (after its checkpoint)."""

    def __init__(self, model: nn.Module, objective: Objective, train_data: Iterable,
                 val_data: Iterable | None = None, config: TrainerConfig | None = None,
                 run_dir: str | Path | None = None, device: torch.device | str | None = None,
                 distributed: DistributedContext | None = None,
                 parameters: Iterable[nn.Parameter] | None = None,
                 export: Callable[[nn.Module, Path], None] = save_weights,
                 callbacks: Sequence[Callable[["Trainer"], None]] = ()):
        self.config = config or TrainerConfig(max_epochs=1)
        self.context = distributed or DistributedContext()
        if device is None:
            device = self.context.device if distributed is not None else _model_device(model)
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.objective = objective
        # the model and an objective that owns parameters (an auxiliary head) as one module:
        # optimised, averaged, moved and checkpointed together, one DDP forward per step
        self._step_module: nn.Module = ObjectiveModule(self.model, objective).to(self.device)
        self.train_data, self.val_data = train_data, val_data
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.export, self.callbacks = export, list(callbacks)
        chosen = self._step_module.parameters() if parameters is None else parameters
        self.parameters = [p for p in chosen if p.requires_grad]
        if not self.parameters:
            raise ValueError("no trainable parameters")
        if self.config.scheduler == "plateau" and val_data is None:
            raise ValueError("the plateau scheduler needs validation data")
        self.total_steps = self._resolve_total_steps()
        if hasattr(objective, "set_total_steps"):
            objective.set_total_steps(self.total_steps)
        self.optimizer = self._build_optimizer()
        self.scheduler = self._build_scheduler()
        self.ema = ExponentialMovingAverage(self._step_module.parameters(), self.config.ema_decay,
                                            self.config.ema_warmup) \
            if self.config.ema_decay is not None else None
        self.early_stopping = EarlyStopping(self.config.early_stopping_patience,
                                            self.config.early_stopping_min_delta,
                                            self.config.val_mode)
        self.log = RunLog(self.run_dir) if self.run_dir and self.context.is_main else None
        self.step = self.epoch = self.batch_in_epoch = 0
        self.val_metrics: dict[str, float] = {}
        self._wrapped: nn.Module | None = None

    # ----------------------------------------------------------------- construction
    def _resolve_total_steps(self) -> int:
        config, candidates = self.config, []
        if config.max_steps is not None:
            candidates.append(config.max_steps)
        if config.max_epochs is not None:
            if not hasattr(self.train_data, "__len__"):
                if config.max_steps is None:
                    raise ValueError("max_epochs needs training data with a length")
            else:
                candidates.append(config.max_epochs * len(self.train_data))
        total = min(candidates)
        if total <= 0:
            raise ValueError(f"the run has {total} steps: empty data or max_steps <= 0")
        return total

    def _build_optimizer(self) -> torch.optim.Optimizer:
        config = self.config
        # foreach: one multi-tensor update instead of a loop over the parameters (the same
        # numbers to the bit on a CPU, ~40% less optimiser time)
        return OPTIMIZERS[config.optimizer](self.parameters, lr=config.lr, betas=config.betas,
                                            weight_decay=config.weight_decay, foreach=True)

    def _build_scheduler(self):
        config = self.config
        if config.scheduler == "plateau":
            return torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, mode=config.val_mode, factor=config.plateau_factor,
                patience=config.plateau_patience, min_lr=config.min_lr)
        factor = WarmupCosine(self.total_steps, config.warmup_steps, config.min_lr_factor) \
            if config.scheduler == "cosine" else LinearWarmup(config.warmup_steps)
        return torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)

    @property
    def _per_step_scheduler(self) -> bool:
        return self.config.scheduler != "plateau"

    # ----------------------------------------------------------------- state
    @property
    def last_checkpoint(self) -> Path | None:
        return self.run_dir / "last.pt" if self.run_dir else None

    def state_dict(self) -> dict:
        """Everything a resume needs (collective under DDP: every rank must call it)."""
        return {"format": CHECKPOINT_FORMAT, "model": self.model.state_dict(),
                "objective": self.objective.state_dict()
                if isinstance(self.objective, nn.Module) else None,
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "ema": self.ema.state_dict() if self.ema else None,
                "early_stopping": self.early_stopping.state_dict(),
                "rng": gather_objects(capture_rng_state(), self.context),
                "step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                "total_steps": self.total_steps, "val_metrics": self.val_metrics,
                "world_size": self.context.world_size, "config": self.config.to_dict()}

    def load_state_dict(self, state: dict) -> None:
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"unknown checkpoint format {state.get('format')!r}")
        if state["world_size"] != self.context.world_size:
            raise ValueError(f"checkpoint from {state['world_size']} ranks, resuming on "
                             f"{self.context.world_size}: the RNG streams would differ")
        if state["total_steps"] != self.total_steps:
            raise ValueError(f"checkpoint planned {state['total_steps']} steps, this run "
                             f"{self.total_steps}: schedules would differ")
        self.model.load_state_dict(state["model"])
        if isinstance(self.objective, nn.Module):
            self.objective.load_state_dict(state["objective"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.early_stopping.load_state_dict(state["early_stopping"])
        restore_rng_state(state["rng"][self.context.rank])
        self.step, self.epoch = state["step"], state["epoch"]
        self.batch_in_epoch = state["batch_in_epoch"]
        self.val_metrics = state["val_metrics"]

    def save_checkpoint(self) -> None:
        state = self.state_dict()
        if self.run_dir is not None and self.context.is_main:
            save_torch(state, self.last_checkpoint)

    def averaged_weights(self):
        """Context in which the model holds its EMA weights (raw weights without EMA)."""
        return self.ema.average_parameters() if self.ema else nullcontext()

    def export_model(self, name: str) -> Path | None:
        """Write the EMA weights through ``export`` to ``run_dir/name`` (main rank only)."""
        if self.run_dir is None or not self.context.is_main:
            return None
        with self.averaged_weights():
            self.export(self.model, self.run_dir / name)
        return self.run_dir / name

    # ----------------------------------------------------------------- steps
    def _module(self) -> nn.Module:
        if self._wrapped is None:
            self._wrapped = self._step_module
            if self.context.enabled:
                device_ids = [self.device.index] if self.device.type == "cuda" else None
                self._wrapped = nn.parallel.DistributedDataParallel(
                    self._step_module, device_ids=device_ids,
                    find_unused_parameters=self.config.find_unused_parameters)
        return self._wrapped

    def train_step(self, sample) -> dict[str, Any]:
        """One optimiser step on ``sample``; returns the step's metrics."""
        self._step_module.train()
        loss, metrics, _ = self._module()(move_to(sample, self.device), self.step)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss {loss.item()} at step {self.step}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        metrics = dict(metrics, lr=self.optimizer.param_groups[0]["lr"])
        if self.config.grad_clip_norm is not None:
            metrics["grad_norm"] = nn.utils.clip_grad_norm_(self.parameters,
                                                            self.config.grad_clip_norm)
        self.optimizer.step()
        if self._per_step_scheduler:
            self.scheduler.step()
        if self.ema is not None:
            self.ema.update()
        return metrics

    def evaluate(self, data: Iterable | None = None) -> dict[str, float]:
        """Structure-weighted means of the objective's metrics over ``data`` (default: the
        validation data) with the EMA weights, combined over ranks."""
        data = self.val_data if data is None else data
        sums: dict[str, float] = {}
        weight = 0
        self._step_module.eval()
        with self.averaged_weights(), torch.enable_grad():
            for sample in data:
                out = self.objective(self.model, move_to(sample, self.device), self.step)
                for key, value in out.metrics.items():
                    sums[key] = sums.get(key, 0.0) + float(value) * out.weight
                weight += out.weight
        total_weight, totals = 0, {}
        for rank_sums, rank_weight in gather_objects((sums, weight), self.context):
            total_weight += rank_weight
            for key, value in rank_sums.items():
                totals[key] = totals.get(key, 0.0) + value
        if total_weight == 0:
            raise ValueError("validation data is empty")
        return {key: value / total_weight for key, value in totals.items()}

    def _validate(self) -> bool:
        """Validate, track the best, step the plateau schedule; returns 'stop now'."""
        if self.val_data is None:
            return False
        self.val_metrics = self.evaluate()
        if self.config.val_metric not in self.val_metrics:
            raise KeyError(f"val_metric {self.config.val_metric!r} not among "
                           f"{sorted(self.val_metrics)}")
        value = self.val_metrics[self.config.val_metric]
        if self.early_stopping.update(value, self.step):
            self.export_model("best.pt")
        if not self._per_step_scheduler:
            self.scheduler.step(value)
        self._log("val", self.val_metrics)
        return self.early_stopping.should_stop

    def _log(self, kind: str, metrics: dict) -> None:
        if self.log is not None:
            self.log.append({"kind": kind, "step": self.step, "epoch": self.epoch,
                             **metrics, "time": time.time()})

    # ----------------------------------------------------------------- loop
    def _epoch_batches(self):
        data = self.train_data
        if hasattr(data, "set_epoch"):
            data.set_epoch(self.epoch)
        if hasattr(data, "iter_from"):
            return data.iter_from(self.batch_in_epoch)
        return islice(iter(data), self.batch_in_epoch, None)

    def _start(self, resume: bool) -> None:
        if self.config.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        checkpoint = self.last_checkpoint
        if resume and checkpoint is not None and checkpoint.exists():
            self.load_state_dict(load_file(checkpoint))
            if self.log is not None:
                self.log.truncate_after(self.step)
            return
        seed_everything(self.config.seed + self.context.rank)
        if self.log is not None:
            self.log.truncate_after(-1)

    def fit(self, resume: bool = False) -> TrainResult:
        """Train until ``total_steps``, the epoch limit or early stopping.

        ``resume=True`` continues from ``run_dir/last.pt`` when it exists (else starts
        afresh), so the same call serves a first run and a restart after a kill."""
        self._start(resume)
        config, stop = self.config, False
        bar = tqdm(total=self.total_steps, initial=self.step, unit="step", desc="train",
                   dynamic_ncols=True, disable=not (config.progress and self.context.is_main))
        while not stop and self.step < self.total_steps and (
                config.max_epochs is None or self.epoch < config.max_epochs):
            steps_before = self.step
            for sample in self._epoch_batches():
                if stop or self.step >= self.total_steps:
                    break
                metrics = self.train_step(sample)
                self.step += 1
                self.batch_in_epoch += 1
                bar.update()
                if self.step % config.log_every == 0:
                    self._log("train", metrics)
                    bar.set_postfix(loss=f"{float(metrics['loss']):.4g}")
                validated = config.eval_every is not None and self.step % config.eval_every == 0
                if validated:
                    stop = self._validate()
                if validated or (config.checkpoint_every
                                 and self.step % config.checkpoint_every == 0):
                    self.save_checkpoint()
                for callback in self.callbacks:
                    callback(self)
            else:  # the epoch ran out of batches
                if self.step == steps_before and self.batch_in_epoch == 0:
                    raise ValueError(f"epoch {self.epoch} yielded no training batches")
                self.epoch += 1
                self.batch_in_epoch = 0
                if config.eval_every is None:
                    stop = self._validate()
                self.save_checkpoint()
        bar.close()
        self.save_checkpoint()
        self.export_model("model.pt")
        if self.log is not None:
            self.log.write_csv()
        return TrainResult(step=self.step, epoch=self.epoch,
                           stopped_early=self.early_stopping.should_stop,
                           best_metric=None if self.early_stopping.best_step is None
                           else self.early_stopping.best,
                           best_step=self.early_stopping.best_step,
                           val_metrics=dict(self.val_metrics), run_dir=self.run_dir)
