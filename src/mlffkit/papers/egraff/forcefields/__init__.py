"""EGraFFBench's six equivariant force fields behind one interface.

    from mlffkit import data
    from mlffkit.papers.egraff import forcefields as ff

    split = data.egraff_split("md17/aspirin")
    trained = ff.train("nequip", split["train"], split["val"], "run/nequip", profile="book")
    atoms.calc = ff.calculator(trained)            # or ff.calculator("run/nequip")

:func:`train` writes the training set in the model's own format, runs the model's own trainer
(``nequip-train``, ``torchmd-train``, ``mace_run_train``; mlffkit's trainer for our Equiformer)
in a subprocess with its output in ``train.log``, and leaves in the run folder a checkpoint and
``forcefield.json`` (model, settings, data checksums, wall time). :func:`calculator` returns an
ASE calculator for it, so the MD driver, the metrics and the results store treat the six
models like any other potential.

Each model's settings are a frozen :class:`~mlffkit.experiments.config.Config` with ``smoke``,
``book`` and ``paper`` profiles (``SETTINGS[model][profile]``); ``train(..., **overrides)``
changes single fields, checked with a one-line error.

NequIP, Allegro and TorchMD-Net install into the main environment (``pip install
'mlffkit[egraff]'``); MACE and BOTNet need e3nn 0.4.4 and live in a second environment (see
:mod:`.mace`). A missing package raises :class:`MissingPackageError` naming what to install.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlffkit.experiments.config import Config
from mlffkit.files import atomic_write_text
from mlffkit.registries import Registry

__all__ = ["FORCEFIELDS", "ForceField", "MissingPackageError", "TrainedModel", "TrainingError",
           "calculator", "load", "train", "trained"]

#: model name -> its :class:`ForceField` class
FORCEFIELDS: Registry[type["ForceField"]] = Registry("force field")
MANIFEST = "forcefield.json"


class MissingPackageError(ImportError):
    """A force field whose package is not installed (one line naming what to install)."""


class TrainingError(RuntimeError):
    """A model's own trainer failed; the message ends with the tail of its log."""


@dataclass(frozen=True)
class TrainedModel:
    """A trained force field: its run folder and what ``forcefield.json`` records."""

    model: str
    directory: Path
    checkpoint: Path
    settings: dict
    seconds: float
    n_train: int
    n_val: int
    elements: tuple[str, ...]

    @property
    def log(self) -> Path:
        return self.directory / "train.log"


class ForceField:
    """One model family. Subclasses set the class attributes and implement :meth:`fit` and
    :meth:`load_calculator`."""

    #: registry name, our label for it, the module its package provides, the extra
    name: str = ""
    label: str = ""
    #: its name in the paper's tables (the label where it is the same)
    paper_name: str = ""
    module: str = ""
    install: str = "pip install 'mlffkit[egraff]'"
    #: profile name -> settings (a Config)
    profiles: dict[str, Config] = {}
    #: the paper's per-data-set departures from its ``paper`` settings, by data-set family
    #: (``"gete"``, ``"lips"``, ...: the part of an EGraFFBench system name before any "/")
    paper_by_system: dict[str, dict] = {}

    def available(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def require(self) -> None:
        if not self.available():
            raise MissingPackageError(f"{self.label} needs the {self.module!r} package: "
                                      f"{self.install}")

    def settings(self, profile: str = "book", system: str | None = None,
                 **overrides: Any) -> Config:
        """The ``profile``'s settings (for ``paper``: as the paper set them for ``system``),
        with ``overrides``, checked."""
        if profile not in self.profiles:
            raise ValueError(f"unknown profile {profile!r} for {self.name}; valid: "
                             f"{', '.join(self.profiles)}")
        settings = self.profiles[profile]
        if profile == "paper" and system is not None:
            settings = settings.replace(**self.paper_by_system.get(system.split("/")[0], {}))
        settings = settings.replace(**overrides)
        for name, spec in settings.specs().items():
            problem = spec.problem(getattr(settings, name)) if spec is not None else None
            if problem:
                raise ValueError(f"{self.name} setting {name!r}: {problem}, got "
                                 f"{getattr(settings, name)!r}")
        return settings

    def fit(self, train, val, settings: Config, directory: Path, log) -> Path:
        """Train on ``train``/``val`` (Frames) in ``directory``, writing the trainer's output
        to the open file ``log``; return the checkpoint path."""
        raise NotImplementedError

    def load_calculator(self, trained: TrainedModel, device: str):
        raise NotImplementedError


def run_trainer(command: list[str], log, cwd: Path, what: str) -> None:
    """Run a model's own trainer (one thread per process unless the caller set more), its
    output appended to ``log``; a failure raises :class:`TrainingError` with the log's tail."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "PYTHONWARNINGS": "ignore", "WANDB_MODE": "disabled"}
    log.write(f"$ {' '.join(command)}\n")
    log.flush()
    code = subprocess.run(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                          env=env).returncode
    if code:
        log.flush()
        tail = Path(log.name).read_text(errors="replace").splitlines()[-15:]
        raise TrainingError(f"{what} failed (exit {code}); last lines of {log.name}:\n"
                            + "\n".join(tail))


def script(name: str) -> str:
    """A console script of the running environment (``nequip-train``, ``torchmd-train``)."""
    return str(Path(sys.executable).with_name(name))


def elements(frames) -> tuple[str, ...]:
    from ase.data import chemical_symbols

    return tuple(chemical_symbols[z] for z in sorted(set(np.asarray(frames.numbers).ravel())))


def train(model: str, train_frames, val_frames, directory, profile: str = "book",
          system: str | None = None, **overrides: Any) -> TrainedModel:
    """Train ``model`` (a :data:`FORCEFIELDS` name) on ``train_frames``, validating on
    ``val_frames`` (both :class:`~mlffkit.data.Frames` with energy and forces, eV and Å), in
    the new or empty folder ``directory``; ``system`` (an EGraFFBench name such as
    ``"gete"``) selects the paper's per-data-set settings. Returns the :class:`TrainedModel`."""
    forcefield = FORCEFIELDS[model]()
    forcefield.require()
    settings = forcefield.settings(profile, system, **overrides)
    for name, frames in (("training", train_frames), ("validation", val_frames)):
        if len(frames) == 0 or frames.energy is None or frames.forces is None:
            raise ValueError(f"{model}: the {name} frames need energy and force labels")
    directory = Path(directory).resolve()
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(f"{directory} is not empty; train into a new folder")
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(directory / "train.log", "w") as log:
        checkpoint = forcefield.fit(train_frames, val_frames, settings, directory, log)
    seconds = time.perf_counter() - started
    manifest = dict(model=model, checkpoint=str(checkpoint.relative_to(directory)),
                    settings=settings.as_dict(), seconds=round(seconds, 1),
                    n_train=len(train_frames), n_val=len(val_frames),
                    elements=list(elements(train_frames)),
                    data=dict(train=train_frames.digest(), val=val_frames.digest()))
    atomic_write_text(directory / MANIFEST, json.dumps(manifest, indent=1))
    return load(directory)


def trained(model: str, train_frames, val_frames, directory, profile: str = "book",
            system: str | None = None, **overrides: Any) -> TrainedModel:
    """The model :func:`train` would give, reused from ``directory`` when that folder holds
    a finished training of the same model and settings on the same frames (its manifest
    says so: settings, and the digests of the training and validation frames); otherwise
    ``directory`` (an unfinished or different training, e.g. one killed midway) is emptied
    and the model trained there. ``seconds`` is the original training's."""
    directory = Path(directory)
    if (directory / MANIFEST).exists():
        m = json.loads((directory / MANIFEST).read_text())
        settings = FORCEFIELDS[model]().settings(profile, system, **overrides).as_dict()
        if (m.get("model"), m.get("settings"), m.get("data")) == (
                model, json.loads(json.dumps(settings)),
                dict(train=train_frames.digest(), val=val_frames.digest())):
            return load(directory)
    if directory.exists():
        shutil.rmtree(directory)
    return train(model, train_frames, val_frames, directory, profile, system, **overrides)


def load(directory) -> TrainedModel:
    """The :class:`TrainedModel` in a run folder written by :func:`train`."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{directory} holds no {MANIFEST}: not a trained force field "
                                f"(train one with mlffkit.papers.egraff.forcefields.train)")
    m = json.loads(path.read_text())
    return TrainedModel(model=m["model"], directory=directory,
                        checkpoint=directory / m["checkpoint"], settings=m["settings"],
                        seconds=m["seconds"], n_train=m["n_train"], n_val=m["n_val"],
                        elements=tuple(m["elements"]))


def calculator(trained, device: str = "cpu"):
    """An ASE calculator (eV, eV/Å) for a :class:`TrainedModel` or its run folder."""
    if not isinstance(trained, TrainedModel):
        trained = load(trained)
    forcefield = FORCEFIELDS[trained.model]()
    forcefield.require()
    return forcefield.load_calculator(trained, device)


from . import equiformer, mace, nequip, torchmdnet  # noqa: E402,F401  (register the models)
