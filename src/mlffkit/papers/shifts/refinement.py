"""Radius refinement (Kreiman & Krishnapriyan §4.1; ``radius_refinement_maceoff.py``): for
each test structure, the neighbour-list radius ``r*`` whose radius graph has the spectrum
closest to the mean training spectrum (at the training cutoff), then a prediction with that
radius and the model's weights unchanged.

Only the edge list changes: every mlffkit backbone multiplies its radial weights (and
Equiformer its attention) by an envelope that is zero at and beyond the trained ``cutoff``, so
a radius above it adds edges that contribute nothing (the prediction equals the one at the
trained cutoff) and a radius below it removes edges. The same holds for MACE-OFF, whose
envelope vanishes beyond its ``r_max``: in the paper's Table 1 radius refinement can only
prune edges.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd

from mlffkit.data.atoms import collate

from .spectral import laplacian_spectrum, spectral_distance

__all__ = ["RADII", "neighbour_cutoff", "refine_radius", "refined_radii", "predict_refined"]

#: The official MACE-OFF grid, ``np.linspace(3, 9, 10)`` Å.
RADII = tuple(float(r) for r in np.linspace(3.0, 9.0, 10))


@contextmanager
def neighbour_cutoff(model, radius: float | None):
    """Evaluate ``model`` (a ``Potential``) with a neighbour-list radius of ``radius`` Å
    inside the block (None: its own cutoff); restored afterwards."""
    if radius is not None and not radius > 0:
        raise ValueError(f"radius must be positive, got {radius}")
    old = model.neighbour_cutoff
    model.neighbour_cutoff = radius
    try:
        yield model
    finally:
        model.neighbour_cutoff = old


def refine_radius(structure, reference: np.ndarray, radii: Sequence[float] = RADII
                  ) -> tuple[float, np.ndarray]:
    """``(r*, D)``: the radius of ``radii`` whose radius graph of ``structure`` has the smallest
    spectral distance to ``reference`` (the mean training spectrum, e.g.
    :func:`~mlffkit.papers.shifts.spectral.mean_spectrum` at the training cutoff), and the
    distance at every radius. Ties go to the first radius, as ``numpy.argmin``."""
    radii = np.asarray(radii, dtype=float)
    if radii.ndim != 1 or not len(radii) or not (radii > 0).all():
        raise ValueError("radii must be a non-empty sequence of positive radii")
    distances = np.array([spectral_distance(laplacian_spectrum(structure, r), reference)
                          for r in radii])
    return float(radii[int(np.argmin(distances))]), distances


def refined_radii(structures: Iterable, reference: np.ndarray, cutoff: float,
                  radii: Sequence[float] = RADII) -> pd.DataFrame:
    """One row per structure: its refined radius ``r_star`` and its spectral distance to
    ``reference`` at the trained ``cutoff`` and at ``r*`` (the paper's Fig. 10 compares the
    two). Geometry only: no model is needed to choose ``r*``."""
    rows = []
    for k, structure in enumerate(structures):
        r_star, distances = refine_radius(structure, reference, radii)
        rows.append({"structure": k, "r_star": r_star,
                     "distance_trained": spectral_distance(
                         laplacian_spectrum(structure, cutoff), reference),
                     "distance_refined": float(distances.min())})
    return pd.DataFrame(rows)


def predict_refined(model, structures: Iterable, reference: np.ndarray,
                    radii: Sequence[float] = RADII) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """Radius-refined predictions of ``model`` for ``structures`` (``AtomsData``): a table
    (:func:`refined_radii` at the model's cutoff, and the energy in eV) and the forces (eV/Å)
    of each structure."""
    structures = list(structures)
    table = refined_radii(structures, reference, model.cutoff, radii)
    dtype = next(model.parameters()).dtype
    energies, forces = [], []
    for structure, r_star in zip(structures, table["r_star"]):
        with neighbour_cutoff(model, r_star):
            out = model(collate([structure], dtype=dtype), forces=True, create_graph=False)
        energies.append(float(out["energy"][0].detach()))
        forces.append(out["forces"].detach().cpu().numpy().astype(np.float64))
    return table.assign(energy=energies), forces
