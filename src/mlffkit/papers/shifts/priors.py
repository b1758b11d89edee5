"""The cheap priors of test-time training, as ASE calculators, each saying whether it consumes
reference labels of the test system (Kreiman & Krishnapriyan §4.2, App. C;
``../shared/papers/protocols_fu_kreiman.md`` §2.3):

=================  ========================  =============================================
name               reference labels?         what
=================  ========================  =============================================
``mmff94``         no                        RDKit MMFF94 (the ``xtb-shifts`` prior)
``gfn2-xtb``       no                        GFN2-xTB by tblite (the paper's Table 5 prior)
``emt``            no                        ASE's EMT (the paper's OC20 prior)
``lennard-jones``  no                        ASE's Lennard-Jones (the paper's Theorem 4.1)
``sgdml``          yes: k frames             sGDML trained on k (15-50) reference-labelled
                                             frames of the test molecule (MD17, SPICE)
=================  ========================  =============================================

An sGDML prior is "cheap" only in that k is small: it is fitted to reference labels of the
very molecule it then helps to predict, so a TTT result with it is not label-free.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from mlffkit.registries import Registry

__all__ = ["Prior", "PRIORS", "prior", "SGDMLPrior", "train_sgdml"]


@dataclass(frozen=True)
class Prior:
    """A prior: ``build(**kwargs)`` returns its ASE calculator (for ``sgdml``, from labelled
    frames: :func:`train_sgdml`)."""

    name: str
    build: Callable[..., Calculator]
    uses_reference_labels: bool
    summary: str


def _mmff94(**kwargs):
    from mlffkit.calculators import MMFF94

    return MMFF94(**kwargs)


def _xtb(**kwargs):
    from mlffkit.calculators import GFN2xTB

    return GFN2xTB(**kwargs)


def _emt(**kwargs):
    from ase.calculators.emt import EMT

    return EMT(**kwargs)


def _lennard_jones(**kwargs):
    from ase.calculators.lj import LennardJones

    return LennardJones(**kwargs)


PRIORS: Registry[Prior] = Registry("prior")
for _prior in (
    Prior("mmff94", _mmff94, False, "RDKit MMFF94; the topology of the first structure"),
    Prior("gfn2-xtb", _xtb, False, "GFN2-xTB (tblite)"),
    Prior("emt", _emt, False, "ASE's EMT (metals; H, C, N, O with test parameters)"),
    Prior("lennard-jones", _lennard_jones, False, "ASE's Lennard-Jones (one sigma, epsilon)"),
    Prior("sgdml", lambda **kw: train_sgdml(**kw), True,
          "sGDML on k reference-labelled frames of the test molecule"),
):
    PRIORS.add(_prior.name, _prior)


def prior(name: str, **kwargs: Any) -> Calculator:
    """The ASE calculator of prior ``name`` (unknown names: one line listing the valid ones)."""
    return PRIORS[name].build(**kwargs)


def _sgdml():
    """Import sgdml without its side effects on logging: it installs a logger class for every
    logger created afterwards (each with its own stderr handler at DEBUG) and logs every solve;
    we restore the standard class and keep its own loggers at ERROR (its energy-vs-force
    consistency warning fires for every fit on few frames)."""
    import sys

    if "sgdml.train" not in sys.modules:
        disabled = logging.root.manager.disable
        logging.disable(logging.INFO)  # what imports log meanwhile (torch's DSL registry)
        try:
            import sgdml.predict  # noqa: F401
            import sgdml.train  # noqa: F401
        finally:
            logging.setLoggerClass(logging.Logger)
            logging.disable(disabled)
    logging.getLogger("sgdml").setLevel(logging.ERROR)  # loggers sgdml creates later inherit
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("sgdml."):
            logging.getLogger(name).setLevel(logging.ERROR)
    return sys.modules["sgdml.train"], sys.modules["sgdml.predict"]


class SGDMLPrior(Calculator):
    """An sGDML model (``sgdml.predict.GDMLPredict``) as an ASE calculator, in the units it
    was trained in (here eV and eV/Å); only the molecule it was trained on (same atoms in the
    same order)."""

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, model: dict, **kwargs: Any):
        super().__init__(**kwargs)
        self.model = model
        self.numbers = np.asarray(model["z"])
        # one process: with more, sGDML forks a worker pool per predictor that outlives it
        self._predict = _sgdml()[1].GDMLPredict(model, max_processes=1,
                                                log_level=logging.WARNING)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if not np.array_equal(self.atoms.numbers, self.numbers):
            raise ValueError("this sGDML prior was trained on another molecule (or atom order)")
        energy, forces = self._predict.predict(self.atoms.positions.reshape(1, -1))
        self.results = {"energy": float(energy[0]), "free_energy": float(energy[0]),
                        "forces": forces.reshape(-1, 3)}


def train_sgdml(positions, numbers, energies, forces, n_valid: int | None = None,
                sigmas=(2, 5, 10, 20, 40, 80), seed: int = 0) -> SGDMLPrior:
    """Train an sGDML prior on labelled frames of one molecule (positions (k, N, 3) Å, energies
    (k,) eV, forces (k, N, 3) eV/Å) and return it as an ASE calculator. The kernel length
    scale is chosen from ``sigmas`` by the force error on ``n_valid`` further frames (default:
    a quarter of them, at least one, taken from the end); the final model is refitted on the
    training frames only, as sGDML's own cross-validation does."""
    GDMLTrain = _sgdml()[0].GDMLTrain
    positions = np.asarray(positions, dtype=float)
    energies = np.asarray(energies, dtype=float)
    forces = np.asarray(forces, dtype=float)
    k = len(positions)
    n_valid = max(1, k // 4) if n_valid is None else int(n_valid)
    if k - n_valid < 2 or positions.shape != forces.shape or energies.shape != (k,):
        raise ValueError(f"sGDML needs >= {n_valid + 2} frames with matching energies and forces "
                         f"(got {k} frames)")
    # sGDML reads its datasets from .npz files: strings as numpy arrays
    base = {**{key: np.array(value) for key, value in (
        ("type", "d"), ("name", "mlffkit"), ("theory", "reference"), ("r_unit", "Ang"),
        ("e_unit", "eV"))}, "z": np.asarray(numbers, dtype=int)}
    train = {**base, "R": positions[:k - n_valid], "E": energies[:k - n_valid],
             "F": forces[:k - n_valid]}
    valid = {**base, "R": positions[k - n_valid:], "E": energies[k - n_valid:],
             "F": forces[k - n_valid:]}
    trainer = GDMLTrain(max_processes=1)
    best = None
    for sigma in sigmas:
        np.random.seed(seed)
        task = trainer.create_task(train, k - n_valid, valid, n_valid, sig=sigma, lam=1e-10)
        calc = SGDMLPrior(trainer.train(task))
        _, pred = calc._predict.predict(valid["R"].reshape(n_valid, -1))
        error = float(np.abs(pred.reshape(valid["F"].shape) - valid["F"]).mean())
        if best is None or error < best[0]:
            best = (error, calc)
    best[1].validation_force_mae = best[0]
    return best[1]
