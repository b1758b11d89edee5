"""NequIP and Allegro through the ``nequip`` framework (nequip 0.19, nequip-allegro 0.8).

Training runs ``nequip-train`` on a Hydra config written from the settings: ``ASEDataModule``
on extended-xyz files, ``EMALightningModule``, ``EnergyForceLoss`` with a per-atom energy
term, Adam (amsgrad) and ReduceLROnPlateau on the validation loss, as MDBENCHGNN's configs.
The per-type energy shifts, force scales and average neighbour count come from the training
set (nequip's ``training_data_stats``). The checkpoint is Lightning's ``best.ckpt`` (lowest
validation loss, EMA weights).

Profiles: ``paper`` is MDBENCHGNN's ``configs/nequip/md17/aspirin/aspirin.yaml`` (6 layers,
l_max 2, 32 features, batch 1, lr 0.005, up to 10,000 epochs, early stopping after 50);
``book`` is what the setup notes size for about 10 CPU-minutes on aspirin
(``../shared/papers/egraff_models_setup.md``; measured here: about 43 minutes on one shared
core); ``smoke`` seconds.

Allegro: the paper used allegro 0.2.0, whose architecture differs from 0.8.3's (two-body MLP
widths [128, 256, 512, 1024] and latent [1024] x 3 there; scalar/tensor tracks here). The
``paper`` profile maps those widths onto 0.8.3's fields (scalar features 1024, tensor
features 64, two-body MLP 3 x 512, readout 1 x 128): the nearest 0.8.3 model, not the same.

The calculator is nequip's own ``NequIPCalculator`` loaded from the checkpoint. nequip sets
torch's default dtype to float64 when it loads a model; the calculator restores the caller's
default afterwards and evaluates under nequip's.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from mlffkit.experiments.config import Config, param
from mlffkit.experiments.registry import SEED, at_least, positive

from . import FORCEFIELDS, ForceField, run_trainer, script


@dataclass(frozen=True)
class NequIPTraining(Config):
    """The training fields that NequIP and Allegro share (nequip's Lightning module)."""

    epochs: int = param(positive(int))
    batch_size: int = param(positive(int))
    lr: float = param(positive(float))
    ema_decay: float = param(at_least(0.0, float))
    energy_weight: float = param(at_least(0.0, float))
    force_weight: float = param(at_least(0.0, float))
    lr_patience: int = param(positive(int))
    lr_factor: float = param(positive(float))
    early_stopping: int = param(positive(int))
    seed: int = param(SEED)


@dataclass(frozen=True)
class NequIPSettings(NequIPTraining):
    cutoff: float = param(positive(float))
    num_layers: int = param(positive(int))
    l_max: int = param(positive(int))
    num_features: int = param(positive(int))
    parity: bool = param()
    radial_mlp_depth: int = param(positive(int))
    radial_mlp_width: int = param(positive(int))
    num_bessels: int = param(positive(int))


@dataclass(frozen=True)
class AllegroSettings(NequIPTraining):
    cutoff: float = param(positive(float))
    num_layers: int = param(positive(int))
    l_max: int = param(positive(int))
    num_scalar_features: int = param(positive(int))
    num_tensor_features: int = param(positive(int))
    two_body_mlp_depth: int = param(positive(int))
    two_body_mlp_width: int = param(positive(int))
    allegro_mlp_depth: int = param(positive(int))
    allegro_mlp_width: int = param(positive(int))
    readout_mlp_depth: int = param(positive(int))
    readout_mlp_width: int = param(positive(int))
    num_bessels: int = param(positive(int))


_TRAINING = dict(ema_decay=0.99, energy_weight=1.0, force_weight=1.0, lr_patience=5,
                 lr_factor=0.8, seed=0)
NEQUIP_PAPER = NequIPSettings(cutoff=5.0, num_layers=6, l_max=2, num_features=32, parity=True,
                              radial_mlp_depth=3, radial_mlp_width=64, num_bessels=8,
                              epochs=10000, batch_size=1, lr=0.005, early_stopping=50,
                              **_TRAINING)
NEQUIP_BOOK = NEQUIP_PAPER.replace(num_layers=3, l_max=1, radial_mlp_depth=2, epochs=30,
                                   batch_size=4, lr=0.01, early_stopping=30)
ALLEGRO_PAPER = AllegroSettings(cutoff=5.0, num_layers=2, l_max=2, num_scalar_features=1024,
                                num_tensor_features=64, two_body_mlp_depth=3,
                                two_body_mlp_width=512, allegro_mlp_depth=3,
                                allegro_mlp_width=1024, readout_mlp_depth=1,
                                readout_mlp_width=128, num_bessels=8, epochs=10000,
                                batch_size=1, lr=0.005, early_stopping=50, **_TRAINING)
ALLEGRO_BOOK = ALLEGRO_PAPER.replace(l_max=1, num_scalar_features=64, num_tensor_features=16,
                                     two_body_mlp_depth=1, two_body_mlp_width=64,
                                     allegro_mlp_depth=1, allegro_mlp_width=64,
                                     readout_mlp_width=32, epochs=41, batch_size=4,
                                     early_stopping=41)


class _NequIPFramework(ForceField):
    module = "nequip"

    def model_config(self, s: Config, types: list[str]) -> dict:
        raise NotImplementedError

    def config(self, s: Config, types: list[str], directory: Path) -> dict:
        loader = {"_target_": "torch.utils.data.DataLoader", "batch_size": s.batch_size}
        monitor = "val0_epoch/weighted_sum"
        return {
            "run": ["train"],
            "seed": s.seed,
            "data": {
                "_target_": "nequip.data.datamodule.ASEDataModule",
                "seed": s.seed,
                "train_file_path": str(directory / "train.xyz"),
                "val_file_path": str(directory / "val.xyz"),
                "transforms": [
                    {"_target_": "nequip.data.transforms.ChemicalSpeciesToAtomTypeMapper",
                     "model_type_names": types,
                     "chemical_species_to_atom_type_map": {t: t for t in types}},
                    {"_target_": "nequip.data.transforms.NeighborListTransform",
                     "r_max": s.cutoff}],
                "train_dataloader": {**loader, "shuffle": True},
                "val_dataloader": {**loader, "batch_size": 16},
                "stats_manager": {"_target_": "nequip.data.CommonDataStatisticsManager",
                                  "type_names": types,
                                  "dataloader_kwargs": {"batch_size": 16}}},
            "trainer": {
                "_target_": "lightning.Trainer",
                "max_epochs": s.epochs,
                "accelerator": "auto",
                "enable_progress_bar": False,
                "log_every_n_steps": 1,
                "logger": {"_target_": "lightning.pytorch.loggers.CSVLogger",
                           "save_dir": str(directory), "name": "", "version": "log"},
                "callbacks": [
                    {"_target_": "lightning.pytorch.callbacks.ModelCheckpoint",
                     "monitor": monitor, "dirpath": str(directory), "filename": "best",
                     "save_top_k": 1},
                    {"_target_": "lightning.pytorch.callbacks.EarlyStopping",
                     "monitor": monitor, "patience": s.early_stopping}]},
            "training_module": {
                "_target_": "nequip.train.EMALightningModule",
                "ema_decay": s.ema_decay,
                "loss": {"_target_": "nequip.train.EnergyForceLoss", "per_atom_energy": True,
                         "coeffs": {"total_energy": s.energy_weight,
                                    "forces": s.force_weight}},
                "val_metrics": {"_target_": "nequip.train.EnergyForceMetrics",
                                "coeffs": {"total_energy_mae": s.energy_weight,
                                           "forces_mae": s.force_weight}},
                "optimizer": {"_target_": "torch.optim.Adam", "lr": s.lr, "amsgrad": True},
                "lr_scheduler": {
                    "scheduler": {"_target_": "torch.optim.lr_scheduler.ReduceLROnPlateau",
                                  "factor": s.lr_factor, "patience": s.lr_patience},
                    "monitor": monitor, "interval": "epoch", "frequency": 1},
                "model": {"seed": s.seed, "model_dtype": "float32", "type_names": types,
                          "r_max": s.cutoff,
                          "avg_num_neighbors": "${training_data_stats:num_neighbors_mean}",
                          "per_type_energy_shifts":
                              "${training_data_stats:per_atom_energy_mean}",
                          "per_type_energy_scales":
                              "${training_data_stats:per_type_forces_rms}",
                          **self.model_config(s, types)}}}

    def fit(self, train, val, settings, directory, log) -> Path:
        from mlffkit.data import write_extxyz
        from . import elements

        write_extxyz(train, directory / "train.xyz")
        write_extxyz(val, directory / "val.xyz")
        types = list(elements(train))
        (directory / "config.yaml").write_text(
            yaml.safe_dump(self.config(settings, types, directory), sort_keys=False))
        run_trainer([script("nequip-train"), "-cp", str(directory), "-cn", "config.yaml",
                     f"hydra.run.dir={directory / 'hydra'}"], log, directory, self.label)
        return directory / "best.ckpt"

    def load_calculator(self, trained, device: str):
        from nequip.integrations.ase import NequIPCalculator

        with _global_state_kept():
            calc = NequIPCalculator._from_saved_model(
                str(trained.checkpoint), device=device, chemical_species_to_atom_type_map=True)
            own = torch.get_default_dtype()
        return _in_dtype(calc, own)


@contextlib.contextmanager
def _global_state_kept():
    """Loading a model runs nequip's ``set_global_state``, which sets torch's default dtype
    to float64, e3nn's ``jit_mode`` to "script" (later e3nn modules, ours included, then hold
    TorchScript functions and cannot be deep-copied) and seeds every global RNG with 123: all
    restored for the caller."""
    import random

    import e3nn

    dtype, e3nn_defaults = torch.get_default_dtype(), e3nn.get_optimization_defaults()
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        torch.set_default_dtype(dtype)
        e3nn.set_optimization_defaults(**e3nn_defaults)
        np.random.set_state(numpy_state)
        random.setstate(python_state)


def _in_dtype(calc, dtype: torch.dtype):
    """``calc`` whose ``calculate`` runs with torch's default dtype ``dtype``."""
    calculate = calc.calculate

    def wrapped(*args, **kwargs):
        caller = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            return calculate(*args, **kwargs)
        finally:
            torch.set_default_dtype(caller)

    calc.calculate = wrapped
    return calc


@FORCEFIELDS.register("nequip")
class NequIP(_NequIPFramework):
    name, label = "nequip", "NequIP"
    profiles = {"paper": NEQUIP_PAPER, "book": NEQUIP_BOOK,
                "smoke": NEQUIP_BOOK.replace(num_layers=1, num_features=8, radial_mlp_width=8,
                                             epochs=1, batch_size=4)}

    def model_config(self, s: NequIPSettings, types: list[str]) -> dict:
        return {"_target_": "nequip.model.NequIPGNNModel", "l_max": s.l_max,
                "parity": s.parity, "num_layers": s.num_layers,
                "num_features": s.num_features, "num_bessels": s.num_bessels,
                "radial_mlp_depth": s.radial_mlp_depth, "radial_mlp_width": s.radial_mlp_width}


@FORCEFIELDS.register("allegro")
class Allegro(_NequIPFramework):
    name, label = "allegro", "Allegro"
    module = "allegro"
    profiles = {"paper": ALLEGRO_PAPER, "book": ALLEGRO_BOOK,
                "smoke": ALLEGRO_BOOK.replace(num_layers=1, num_scalar_features=8,
                                              num_tensor_features=4, two_body_mlp_width=8,
                                              allegro_mlp_width=8, readout_mlp_width=8,
                                              epochs=1)}

    def model_config(self, s: AllegroSettings, types: list[str]) -> dict:
        return {"_target_": "allegro.model.AllegroModel", "l_max": s.l_max, "parity": True,
                "radial_chemical_embed": {"_target_": "allegro.nn.TwoBodyBesselScalarEmbed",
                                          "num_bessels": s.num_bessels},
                "radial_chemical_embed_dim": s.num_scalar_features,
                "scalar_embed_mlp_hidden_layers_depth": s.two_body_mlp_depth,
                "scalar_embed_mlp_hidden_layers_width": s.two_body_mlp_width,
                "num_layers": s.num_layers,
                "num_scalar_features": s.num_scalar_features,
                "num_tensor_features": s.num_tensor_features,
                "allegro_mlp_hidden_layers_depth": s.allegro_mlp_depth,
                "allegro_mlp_hidden_layers_width": s.allegro_mlp_width,
                "readout_mlp_hidden_layers_depth": s.readout_mlp_depth,
                "readout_mlp_hidden_layers_width": s.readout_mlp_width}
