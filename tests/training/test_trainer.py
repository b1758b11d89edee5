import copy
import json
import subprocess
import sys
import textwrap

import pytest
import torch

from mlffkit.training.checkpoint import load_file
from mlffkit.training.data import BatchLoader
from mlffkit.papers.frames.ddp_check import max_difference, train_toy
from mlffkit.training.losses import LossWeights
from mlffkit.training.normalisation import fit_target_scales
from mlffkit.papers.frames.heads import ToyDisplacementHead
from mlffkit.papers.frames.objective import FramesObjective
from mlffkit.training.objectives import EnergyForceObjective
from mlffkit.training.trainer import Trainer, TrainerConfig

BASE = dict(max_epochs=3, lr=3e-2, scheduler="cosine", warmup_steps=2, ema_decay=0.9,
            grad_clip_norm=5.0, eval_every=4, checkpoint_every=5, progress=False, seed=7)


class Killed(Exception):
    """Stands for the process dying: nothing after it runs, only the files remain."""


class NoisyFramesObjective(FramesObjective):
    """Scales the training loss by a random factor, so that an exact resume also needs the
    global torch RNG state back (as dropout would)."""

    def __call__(self, model, sample, step):
        out = super().__call__(model, sample, step)
        if model.training:
            out.loss = out.loss * (1 + 0.1 * torch.rand((), dtype=out.loss.dtype))
        return out


def kill_at(step):
    def callback(trainer):
        if trainer.step == step:
            raise Killed
    return callback


@pytest.fixture
def build(tmp_path, make_model, window_loaders, trajectory):
    scales = fit_target_scales([s.energy for s in trajectory], [s.forces for s in trajectory],
                               force_scale="force_rms")

    def make(run_dir="run", model_seed=0, callbacks=(), **overrides):
        train, val = window_loaders()
        model = make_model(seed=model_seed)
        head = ToyDisplacementHead(2, hidden=8).to(torch.float64)
        objective = NoisyFramesObjective(LossWeights(energy=1, forces=10, aux=0.5), scales,
                                         head=head)
        return Trainer(model, objective, train, val,
                       TrainerConfig(**{**BASE, **overrides}),
                       run_dir=run_dir and tmp_path / run_dir, device="cpu",
                       callbacks=callbacks)
    return make


def full_state(trainer):
    return {**{f"model.{k}": v for k, v in trainer.model.state_dict().items()},
            **{f"objective.{k}": v for k, v in trainer.objective.state_dict().items()},
            **{f"ema.{i}": s for i, s in enumerate(trainer.ema.shadow)},
            **{f"adam.{i}.{k}": v for i, state in trainer.optimizer.state_dict()["state"].items()
               for k, v in state.items()}}


def log_without_time(trainer):
    return [{k: v for k, v in row.items() if k != "time"} for row in trainer.log.rows()]


@pytest.mark.parametrize("scheduler", ["cosine", "plateau"])
def test_kill_and_resume_gives_identical_results(build, scheduler):
    overrides = dict(scheduler=scheduler, warmup_steps=2)
    if scheduler == "plateau":  # on a metric that never improves, so the schedule acts
        overrides.update(warmup_steps=0, plateau_patience=0, val_metric="aux_weight",
                         val_mode="max")
    straight = build("straight", **overrides)
    straight.fit()
    assert straight.step == 18

    killed = build("resumed", callbacks=[kill_at(11)], **overrides)
    with pytest.raises(Killed):
        killed.fit()
    assert load_file(killed.last_checkpoint)["step"] == 10  # mid-epoch checkpoint survives

    resumed = build("resumed", model_seed=99, **overrides)  # fresh objects, other init
    resumed.fit(resume=True)
    a, b = full_state(straight), full_state(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert resumed.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]
    assert log_without_time(resumed) == log_without_time(straight)
    if scheduler == "plateau":
        assert straight.optimizer.param_groups[0]["lr"] == BASE["lr"] / 2 ** 3


def test_resume_after_sigkill_in_another_process(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal, torch
        torch.set_num_threads(1)
        from mlffkit.papers.frames.ddp_check import train_toy
        def die(trainer):
            if trainer.step == 5:
                os.kill(os.getpid(), signal.SIGKILL)
        train_toy(steps=8, run_dir={str(tmp_path / 'run')!r}, checkpoint_every=3,
                  callbacks=[die])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == -9, done.stderr
    assert load_file(tmp_path / "run" / "last.pt")["step"] == 3
    resumed = train_toy(steps=8, run_dir=tmp_path / "run", checkpoint_every=3, resume=True)
    straight = train_toy(steps=8)
    assert max_difference(resumed, straight) == 0.0


def test_resume_refuses_another_plan(build):
    build("run", max_epochs=1).fit()
    with pytest.raises(ValueError, match="planned 6 steps"):
        build("run", max_epochs=2).fit(resume=True)


def test_training_lowers_validation_loss_and_exports_ema_weights(build, tmp_path):
    trainer = build("run")
    before = trainer.evaluate()["primary"]
    result = trainer.fit()
    assert result.val_metrics["primary"] < 0.9 * before
    assert result.best_metric == min(row["primary"] for row in trainer.log.rows()
                                     if row["kind"] == "val")
    exported = torch.load(tmp_path / "run" / "model.pt")["model"]
    names = [name for name, _ in trainer.model.named_parameters()]
    for name, shadow in zip(names, trainer.ema.shadow):
        assert torch.equal(exported[name], shadow)
    assert (tmp_path / "run" / "best.pt").exists()
    header = (tmp_path / "run" / "log.csv").read_text().splitlines()[0].split(",")
    assert {"kind", "step", "loss", "primary", "aux", "aux_weight", "lr"} <= set(header)
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").open()]
    assert [r["step"] for r in rows if r["kind"] == "train"] == list(range(1, 19))


def test_evaluation_uses_the_ema_weights(build, window_loaders):
    trainer = build(None)
    trainer.config.max_epochs = 1
    trainer.fit()
    averaged = copy.deepcopy(trainer.model)
    trainer.ema.copy_to(list(averaged.parameters()))
    _, val = window_loaders()
    sample = next(iter(val))
    expected = trainer.objective(averaged.eval(), sample, trainer.step).metrics["primary"]
    assert trainer.evaluate()["primary"] == pytest.approx(expected.item(), rel=1e-12)
    assert not torch.equal(trainer.model.pair_energy[0].weight, averaged.pair_energy[0].weight)


def test_early_stopping_ends_the_run(build):
    result = build("run", lr=0.0, eval_every=2, early_stopping_patience=2).fit()
    assert result.stopped_early and result.step == 6 and result.best_step == 2


def test_plain_energy_force_training(trajectory, make_model, collate_frames):
    train = BatchLoader(trajectory[:24], 8, collate_frames, seed=0)
    val = BatchLoader(trajectory[24:], 16, collate_frames, shuffle=False)
    objective = EnergyForceObjective(LossWeights(energy=1, forces=10), energy_loss="mse",
                                     force_loss="mse")
    trainer = Trainer(make_model(), objective, train, val,
                      TrainerConfig(max_steps=9, lr=1e-2, optimizer="adamw", ema_decay=None,
                                    weight_decay=1e-4, progress=False))
    before = trainer.evaluate()["loss"]
    result = trainer.fit()
    assert result.epoch == 3 and result.val_metrics["loss"] < before


@pytest.mark.parametrize("kwargs, message", [
    (dict(), "max_steps or max_epochs"),
    (dict(max_steps=5, scheduler="plateau", warmup_steps=2), "warm-up"),
    (dict(max_steps=5, optimizer="sgd"), "optimizer"),
])
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainerConfig(**kwargs)


def test_trainer_refuses_plateau_without_validation_and_empty_parameter_sets(make_model,
                                                                            window_loaders):
    train, _ = window_loaders()
    objective = FramesObjective(LossWeights(aux=0.5))
    with pytest.raises(ValueError, match="validation data"):
        Trainer(make_model(), objective, train, None,
                TrainerConfig(max_steps=2, scheduler="plateau"))
    with pytest.raises(ValueError, match="no trainable parameters"):
        Trainer(make_model(), objective, train, None, TrainerConfig(max_steps=2),
                parameters=[])


def test_only_the_given_parameter_group_moves(make_model, window_loaders):
    model = make_model()
    head = model.parameter_groups()["main_head"]
    frozen = [p.detach().clone() for p in model.parameter_groups()["representation"]]
    train, _ = window_loaders()
    aux_head = ToyDisplacementHead(2, hidden=8).to(torch.float64)
    Trainer(model, FramesObjective(LossWeights(aux=0.5), head=aux_head), train, None,
            TrainerConfig(max_steps=2, progress=False), parameters=head).fit()
    for before, after in zip(frozen, model.parameter_groups()["representation"]):
        assert torch.equal(before, after)
