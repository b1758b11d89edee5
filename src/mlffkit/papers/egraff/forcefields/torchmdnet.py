"""TorchMD-Net's equivariant transformer through ``torchmd-train`` (torchmd-net 3.1).

Training writes the frames as TorchMD-Net's ``Custom`` data set (positions, atomic numbers,
energies, forces as ``.npy``; training and validation indices in ``splits.npz``) and runs
``torchmd-train`` on a YAML config from the settings. Loss ``y`` (energy) and ``neg_dy``
(forces) weighted as MDBENCHGNN's config, standardised energies, EMA of the validation losses
as the config's ``ema_alpha_*``, ReduceLROnPlateau with warm-up. The checkpoint kept is the
epoch with the lowest validation loss. Periodic frames pass their (fixed) cell as
``box_vecs``; a cell that changes between frames is refused.

On a CPU ``ngpus`` must be 1 (0 and -1 crash in 3.1) and ``save_interval`` at most the number
of epochs (else no checkpoint is written and the final test step fails), as
``../shared/papers/egraff_models_setup.md`` found.

The calculator is TorchMD-Net's ``TMDNETCalculator`` with the training's neighbour limit (32;
its default is 64) and a total charge of 0 when the atoms carry none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from mlffkit.experiments.config import Config, param
from mlffkit.experiments.registry import SEED, at_least, positive

from . import FORCEFIELDS, ForceField, run_trainer, script


@dataclass(frozen=True)
class TorchMDNetSettings(Config):
    cutoff: float = param(positive(float))
    embedding_dimension: int = param(positive(int))
    num_layers: int = param(positive(int))
    num_heads: int = param(positive(int))
    num_rbf: int = param(positive(int))
    max_num_neighbors: int = param(positive(int))
    epochs: int = param(positive(int))
    batch_size: int = param(positive(int))
    lr: float = param(positive(float))
    lr_warmup_steps: int = param(at_least(0, int))
    lr_patience: int = param(positive(int))
    lr_factor: float = param(positive(float))
    energy_weight: float = param(at_least(0.0, float))
    force_weight: float = param(at_least(0.0, float))
    ema_alpha_y: float = param(positive(float))
    ema_alpha_neg_dy: float = param(positive(float))
    early_stopping: int = param(positive(int))
    seed: int = param(SEED)


PAPER = TorchMDNetSettings(cutoff=5.0, embedding_dimension=128, num_layers=6, num_heads=8,
                           num_rbf=32, max_num_neighbors=32, epochs=5000, batch_size=8,
                           lr=1e-3, lr_warmup_steps=1000, lr_patience=30, lr_factor=0.8,
                           energy_weight=0.2, force_weight=0.8, ema_alpha_y=0.05,
                           ema_alpha_neg_dy=1.0, early_stopping=300, seed=0)
BOOK = PAPER.replace(embedding_dimension=64, num_layers=4, num_heads=4, epochs=32, lr=2e-3,
                     lr_warmup_steps=200)
SMOKE = BOOK.replace(embedding_dimension=16, num_layers=1, num_heads=2, num_rbf=8, epochs=1,
                     lr_warmup_steps=0)


def _box(frames) -> list | None:
    if frames.cell is None or not np.any(frames.pbc):
        return None
    if not np.allclose(frames.cell, frames.cell[0]):
        raise ValueError("TorchMD-Net takes one fixed box (box_vecs); these frames' cells "
                         "change")
    return frames.cell[0].tolist()


@FORCEFIELDS.register("torchmdnet")
class TorchMDNet(ForceField):
    name, label, module = "torchmdnet", "TorchMD-Net", "torchmdnet"
    profiles = {"paper": PAPER, "book": BOOK, "smoke": SMOKE}

    def config(self, s: TorchMDNetSettings, directory: Path, box) -> dict:
        data = directory / "data"
        return dict(
            dataset="Custom", coord_files=str(data / "pos.npy"),
            embed_files=str(data / "z.npy"), energy_files=str(data / "energy.npy"),
            force_files=str(data / "forces.npy"), splits=str(data / "splits.npz"),
            log_dir=str(directory / "log"), model="equivariant-transformer",
            embedding_dimension=s.embedding_dimension, num_layers=s.num_layers,
            num_heads=s.num_heads, num_rbf=s.num_rbf, rbf_type="expnorm",
            cutoff_upper=s.cutoff, max_num_neighbors=s.max_num_neighbors,
            batch_size=s.batch_size, inference_batch_size=16, lr=s.lr,
            lr_warmup_steps=s.lr_warmup_steps, lr_patience=s.lr_patience,
            lr_factor=s.lr_factor, num_epochs=s.epochs, save_interval=1, ngpus=1,
            num_workers=0, y_weight=s.energy_weight, neg_dy_weight=s.force_weight,
            derivative=True, standardize=True, seed=s.seed, ema_alpha_y=s.ema_alpha_y,
            ema_alpha_neg_dy=s.ema_alpha_neg_dy, early_stopping_patience=s.early_stopping,
            test_interval=-1, precision=32, box_vecs=box)

    def fit(self, train, val, settings, directory, log) -> Path:
        if not np.array_equal(train.numbers, val.numbers):
            raise ValueError("TorchMD-Net's Custom data set holds one composition; training "
                             "and validation frames differ in their atoms")
        box = _box(train)
        data = directory / "data"
        data.mkdir()
        both = [train, val]
        np.save(data / "pos.npy", np.concatenate([f.positions for f in both]).astype("f4"))
        np.save(data / "z.npy", train.numbers.astype(np.int64))
        np.save(data / "energy.npy",
                np.concatenate([f.energy for f in both]).astype("f4")[:, None])
        np.save(data / "forces.npy", np.concatenate([f.forces for f in both]).astype("f4"))
        n = len(train)
        # the final test step needs a test set: the validation frames again
        np.savez(data / "splits.npz", idx_train=np.arange(n), idx_val=np.arange(n, n + len(val)),
                 idx_test=np.arange(n, n + len(val)))
        (directory / "config.yaml").write_text(
            yaml.safe_dump(self.config(settings, directory, box), sort_keys=False))
        run_trainer([script("torchmd-train"), "--conf", str(directory / "config.yaml")],
                    log, directory, self.label)
        return best_checkpoint(directory / "log")

    def load_calculator(self, trained, device: str):
        from ase.calculators.calculator import Calculator, all_changes
        from torchmdnet.calculators import TMDNETCalculator

        def charged(info: dict) -> dict:
            return {**info, "charge": info.get("charge", 0)}

        class Uncharged(TMDNETCalculator):
            """TMDNETCalculator with a total charge of 0 for atoms that carry none."""

            def check_state(self, atoms, tol: float = 1e-15) -> list:
                state = Calculator.check_state(self, atoms, tol=tol)
                if not state and charged(self.atoms.info) != charged(atoms.info):
                    state.append("info")
                return state

            def calculate(self, atoms=None, properties=None, system_changes=all_changes):
                if atoms is not None and "charge" not in atoms.info:
                    atoms = atoms.copy()
                    atoms.info["charge"] = 0
                super().calculate(atoms, properties, system_changes)

        return Uncharged(str(trained.checkpoint), device=device,
                         max_num_neighbors=trained.settings["max_num_neighbors"])


def best_checkpoint(folder: Path) -> Path:
    """The ``epoch=E-val_loss=V-...ckpt`` with the lowest V (ties: the later epoch)."""
    def key(path: Path):
        fields = dict(part.split("=", 1) for part in path.stem.split("-") if "=" in part)
        return float(fields["val_loss"]), -int(fields["epoch"])

    found = sorted(folder.glob("epoch=*-val_loss=*.ckpt"), key=key)
    if not found:
        raise FileNotFoundError(f"torchmd-train wrote no checkpoint in {folder}")
    return found[0]
