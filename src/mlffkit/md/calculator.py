"""An ASE calculator for any mlffkit potential, so every model runs in ASE's MD and optimisers.

>>> from mlffkit.md.calculator import calculator
>>> atoms.calc = calculator(model)              # or calculator("run/model.pt")
>>> atoms.get_forces()

Energies in eV, forces in eV/Å, stress in eV/Å^3 (ASE's Voigt order and sign). The cutoff
comes from the model. Stress is offered for periodic structures only.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from ..ase_state import ExactStateCheck
from ..data.atoms import batch_from_atoms

__all__ = ["MLFFCalculator", "calculator"]


class MLFFCalculator(ExactStateCheck, Calculator):
    """ASE calculator wrapping a :class:`~mlffkit.models.Potential` (in eval mode).

    Args:
        potential: the model, or a checkpoint path (loaded with
            :func:`~mlffkit.models.load_checkpoint`).
        device: where to evaluate; default: the model's device.
        dtype: floating dtype of the positions; default: the model's.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, potential, device=None, dtype: torch.dtype | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(potential, (str, os.PathLike)):
            from ..models import load_checkpoint

            potential = load_checkpoint(potential, map_location=device)
        param = next(potential.parameters(), None)
        self.device = torch.device(device) if device is not None else (param.device if param is not None else None)
        self.dtype = dtype or (param.dtype if param is not None else torch.get_default_dtype())
        self.potential = potential.to(self.device).eval()
        self.cutoff = float(potential.cutoff)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        periodic = bool(np.any(self.atoms.pbc))
        if "stress" in properties and not periodic:
            raise PropertyNotImplementedError("stress needs a periodic structure")
        batch = batch_from_atoms([self.atoms], dtype=self.dtype, device=self.device)
        want_stress = periodic and "stress" in properties
        out = self.potential(batch, forces=True, stress=want_stress, create_graph=False)
        energy = float(out["energy"].detach()[0])
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "forces": out["forces"].detach().cpu().double().numpy(),
        }
        if want_stress:
            stress = out["stress"].detach()[0].cpu().double().numpy()
            self.results["stress"] = full_3x3_to_voigt_6_stress(stress)


def calculator(potential, device=None, dtype: torch.dtype | None = None, **kwargs) -> MLFFCalculator:
    """An ASE calculator for ``potential`` (a model or a checkpoint path); see
    :class:`MLFFCalculator`."""
    return MLFFCalculator(potential, device=device, dtype=dtype, **kwargs)
