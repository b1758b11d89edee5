"""MD17 transferability with test-time training (Kreiman & Krishnapriyan Fig. 8, Tables 6 and
14): a model trained on aspirin, benzene and uracil (rMD17 DFT labels) predicts naphthalene
and toluene, molecules it never saw, before and after test-time training with each prior;
then NVT (Langevin) and NVE simulations from a test frame say whether it stays stable.

Setting, as the paper's: for each prior, a model pre-trained on that prior's labels of the
training frames and fine-tuned on rMD17; TTT on ``ttt_frames`` frames of the test molecule
labelled by the same prior (the paper: 1k sGDML-labelled frames), SGD with momentum. An sGDML
prior is fitted to ``sgdml_frames`` reference-labelled frames of each molecule (the paper: 50;
15 suffice, its Fig. 9a) and so consumes reference labels; MMFF94 and GFN2-xTB do not. NVT at
500 K, 0.5 fs, Langevin friction 0.01 (ASE units in the paper; here 1/ps as stated in the
table), several seeds; the bond-length rule of Fu et al. (0.5 Å) stops a run.

Differences: the paper trains GemNet-dT on 10k frames per molecule and simulates 100 ps; the
book profile trains a CPU-size model on fewer frames and simulates a few ps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlffkit import data
from mlffkit.data.atoms import AtomsData
from mlffkit.experiments.config import Config, param
from mlffkit.experiments.registry import (SEED, Experiment, names_from, one_of, positive,
                                          register)
from mlffkit.models import PRESETS
from mlffkit.results import Result
from mlffkit.runtime import torch_threads

TRAIN_MOLECULES = ("aspirin", "benzene", "uracil")
TEST_MOLECULES = ("naphthalene", "toluene")
TTT_PRIORS = ("sgdml", "mmff94", "gfn2-xtb")


@dataclass(frozen=True)
class TransferConfig(Config):
    model: str = param(one_of(*PRESETS))
    prior_hidden: int = param(positive())
    representation_blocks: int = param(positive())
    train_molecules: tuple = param(names_from(TRAIN_MOLECULES + TEST_MOLECULES))
    test_molecules: tuple = param(names_from(TRAIN_MOLECULES + TEST_MOLECULES))
    n_train: int = param(positive())       # frames per training molecule (rMD17 split 1)
    n_test: int = param(positive())        # test frames per test molecule
    pretrain_epochs: int = param(positive())
    finetune_epochs: int = param(positive())
    lr: float = param(positive())
    batch_size: int = param(positive())
    priors: tuple = param(names_from(TTT_PRIORS))
    ttt_frames: int = param(positive())     # prior-labelled frames of the test molecule
    ttt_steps: int = param(positive())
    ttt_lr: float = param(positive())
    sgdml_frames: int = param(positive())
    md_seeds: int = param(positive())
    md_steps: int = param(positive())
    temperature_K: float = param(positive())
    dt_fs: float = param(positive())
    friction_per_ps: float = param(positive())
    seed: int = param(SEED)
    threads: int = param(positive())
    progress: bool = param()


BOOK = TransferConfig(
    model="painn_book", prior_hidden=32, representation_blocks=1,
    train_molecules=TRAIN_MOLECULES, test_molecules=TEST_MOLECULES, n_train=1000, n_test=200,
    pretrain_epochs=5, finetune_epochs=10, lr=1e-3, batch_size=32, priors=TTT_PRIORS,
    ttt_frames=200, ttt_steps=100, ttt_lr=1e-5, sgdml_frames=50, md_seeds=3, md_steps=2000,
    temperature_K=500.0, dt_fs=0.5, friction_per_ps=1.0, seed=0, threads=1, progress=True)
PROFILES = {
    "smoke": BOOK.replace(model="schnet_book", train_molecules=("benzene",),
                          test_molecules=("toluene",), n_train=16, n_test=8, pretrain_epochs=1,
                          finetune_epochs=1, priors=("sgdml", "mmff94"), ttt_frames=8,
                          ttt_steps=2, sgdml_frames=6, md_seeds=1, md_steps=10, threads=1,
                          progress=False),
    "book": BOOK,
    "paper": BOOK.replace(model="equiformer_md17", n_train=10000, n_test=1000,
                          pretrain_epochs=250, finetune_epochs=250, ttt_frames=1000,
                          ttt_steps=500, md_steps=200000),
}


def _frames(molecule: str, split: str, n: int) -> data.Frames:
    frames = data.rmd17_split(molecule, 1)[split]
    return frames[np.arange(min(n, len(frames)))]


def _atoms(frames: data.Frames, k: int):
    from ase import Atoms

    return Atoms(numbers=frames.numbers, positions=frames.positions[k])


def _labelled(frames: data.Frames, prior=None) -> list[AtomsData]:
    """``frames`` as ``AtomsData`` with their reference labels, or with ``prior``'s (an ASE
    calculator of this molecule)."""
    if prior is None:
        return frames.to_data_list()
    from .ttt import prior_labels

    return prior_labels([_atoms(frames, k) for k in range(len(frames))], prior)


def _prior(name: str, frames: data.Frames, c: TransferConfig):
    """The ASE calculator of prior ``name`` for one molecule (sGDML: fitted to the first
    ``sgdml_frames`` reference-labelled ``frames``)."""
    from .priors import prior, train_sgdml

    if name == "sgdml":
        k = c.sgdml_frames
        return train_sgdml(frames.positions[:k], frames.numbers, frames.energy[:k],
                           frames.forces[:k])
    if name == "mmff94":
        return prior("mmff94", reference=_atoms(frames, 0))
    return prior(name)


def _simulate(model, start, c: TransferConfig, ensemble: str, seed: int) -> dict:
    from mlffkit.md import calculator, simulate
    from mlffkit.metrics.stability import BondLengthRule

    langevin = ensemble == "langevin"
    run = simulate(start, calculator(model.eval()), ensemble=ensemble, dt_fs=c.dt_fs,
                   steps=c.md_steps, T_K=c.temperature_K,
                   friction_per_ps=c.friction_per_ps if langevin else None, seed=seed,
                   stop_rules=[BondLengthRule()], progress=False)
    return {"ensemble": ensemble, "md_seed": seed, "steps": run.steps_completed,
            "stable_ps": run.steps_completed * c.dt_fs / 1000, "stopped": run.stop is not None,
            "steps_per_s": run.steps_per_second}


def compute(c: TransferConfig) -> Result:
    """One model per prior, its prior head pre-trained on that prior's labels of the training
    molecules (as the paper: the head TTT uses must have learned the prior it is given), then
    for each test molecule its error and simulations before (``base_<prior>``) and after
    (``ttt_<prior>``) test-time training with the same prior of the test molecule."""
    from .ttt import TTTConfig, frame_force_errors, test_time_train, train_with_prior

    with torch_threads(c.threads):
        train = {m: _frames(m, "train", c.n_train) for m in c.train_molecules}
        reference = [s for frames in train.values() for s in _labelled(frames)]
        ttt = TTTConfig(steps=c.ttt_steps, lr=c.ttt_lr, batch_size=c.batch_size,
                        patience=None, seed=c.seed)
        tests = {m: _frames(m, "test", c.n_test) for m in c.test_molecules}
        test_items = {m: _labelled(test) for m, test in tests.items()}
        # TTT frames: from the training split of the test molecule, disjoint from the test
        # frames; sGDML is fitted to the first sgdml_frames and TTT adapts on the next ones
        pools = {m: _frames(m, "train", c.sgdml_frames + c.ttt_frames) for m in c.test_molecules}
        errors, per_frame, md, training = [], [], [], []
        for name in c.priors:
            prior_set = [s for frames in train.values()
                         for s in _labelled(frames, _prior(name, frames, c))]
            model, table = train_with_prior(c, prior_set, reference)
            training.append(table.assign(prior=name))
            for molecule, test in tests.items():
                pool = pools[molecule]
                offset = c.sgdml_frames if name == "sgdml" else 0
                frames = pool[np.arange(offset, offset + c.ttt_frames)]
                result = test_time_train(model, _labelled(frames, _prior(name, pool, c)), ttt)
                adapted, losses = result.model, result.history["prior_loss"]
                start = _atoms(test, 0)
                for method, m in ((f"base_{name}", model), (f"ttt_{name}", adapted)):
                    frame_errors = frame_force_errors(m, test_items[molecule])
                    per_frame += [{"molecule": molecule, "method": method, "frame": k,
                                   "force_mae": e} for k, e in enumerate(frame_errors)]
                    errors.append({"molecule": molecule, "prior": name, "method": method,
                                   "force_mae": float(frame_errors.mean()),
                                   "zero_force_baseline":
                                       1e3 * float(np.abs(test.forces).mean()),
                                   # did TTT lower the loss it trains on? (first, last batch)
                                   "prior_loss_first": float(losses.iloc[0])
                                   if m is adapted else np.nan,
                                   "prior_loss_last": float(losses.iloc[-1])
                                   if m is adapted else np.nan})
                    for ensemble in ("langevin", "nve"):
                        for seed in range(c.md_seeds):
                            md.append({"molecule": molecule, "method": method,
                                       **_simulate(m, start, c, ensemble, seed)})
    return Result(tables={"training": pd.concat(training, ignore_index=True),
                          "errors": pd.DataFrame(errors), "frames": pd.DataFrame(per_frame),
                          "md": pd.DataFrame(md)})


def datasets(c: TransferConfig) -> dict[str, str]:
    out = {}
    for molecule in (*c.train_molecules, *c.test_molecules):
        for split in ("train", "test"):
            out.update(data.checksums(f"rmd17/{molecule}/{split}_01"))
    return out


TRANSFER = register(Experiment(
    name="shifts_md17_transfer",
    version="3",
    compute=compute,
    datasets=datasets,
    description="MD17 transferability: train on aspirin, benzene, uracil; test naphthalene "
                "and toluene with and without TTT (sGDML, MMFF94, GFN2-xTB priors); force MAE "
                "and NVT/NVE stability",
    profiles=PROFILES,
))
