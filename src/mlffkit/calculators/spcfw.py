"""Flexible SPC/Fw water (Wu, Tepper & Voth 2006) in OpenMM: the water ground truth of Fu et
al. (their "SPC/E-fw"), as an OpenMM ``System`` and as an ASE calculator.

Parameters (Wu et al. 2006, Table 1): q_O = -0.82 e, q_H = +0.41 e; O-O Lennard-Jones
σ = 3.165492 Å, ε = 0.1554253 kcal/mol (none on H); bonds ``(k_b/2)(r - r0)²`` with
k_b = 1059.162 kcal/mol/Å², r0 = 1.012 Å; angles ``(k_θ/2)(θ - θ0)²`` with
k_θ = 75.90 kcal/mol/rad², θ0 = 113.24° (LAMMPS inputs write the same as 529.581 and 37.95,
without the 1/2). Intramolecular pairs carry no non-bonded terms. Electrostatics by PME,
Lennard-Jones cut at ``cutoff_A`` with the long-range dispersion correction.

Atoms come as O, H, H per molecule. Units at the interface: Å, eV, eV/Å.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .openmm_engine import KCAL_TO_KJ, OpenMMCalculator, make_context, openmm

#: Wu, Tepper & Voth 2006
SPCFW = {"q_O": -0.82, "q_H": 0.41, "sigma_A": 3.165492, "epsilon_kcal_mol": 0.1554253,
         "k_bond_kcal_mol_A2": 1059.162, "r0_A": 1.012, "k_angle_kcal_mol_rad2": 75.90,
         "theta0_deg": 113.24}
MASSES = {8: 15.999, 1: 1.008}


def spcfw_system(n_molecules: int, box_A: float, cutoff_A: float = 6.0):
    """The OpenMM ``System`` of ``n_molecules`` SPC/Fw waters in a cubic box of edge ``box_A``."""
    mm = openmm()

    if cutoff_A >= box_A / 2:
        raise ValueError(f"cutoff_A={cutoff_A} must be below half the box ({box_A / 2:.2f} Å)")
    p = SPCFW
    system = mm.System()
    edge = box_A / 10
    system.setDefaultPeriodicBoxVectors(mm.Vec3(edge, 0, 0), mm.Vec3(0, edge, 0),
                                        mm.Vec3(0, 0, edge))
    nonbonded = mm.NonbondedForce()
    nonbonded.setNonbondedMethod(mm.NonbondedForce.PME)
    nonbonded.setCutoffDistance(cutoff_A / 10)
    nonbonded.setUseDispersionCorrection(True)
    bonds, angles = mm.HarmonicBondForce(), mm.HarmonicAngleForce()
    k_bond = p["k_bond_kcal_mol_A2"] * KCAL_TO_KJ * 100  # kJ/mol/nm²
    k_angle = p["k_angle_kcal_mol_rad2"] * KCAL_TO_KJ
    for m in range(n_molecules):
        o = 3 * m
        system.addParticle(MASSES[8])
        nonbonded.addParticle(p["q_O"], p["sigma_A"] / 10, p["epsilon_kcal_mol"] * KCAL_TO_KJ)
        for _ in range(2):
            system.addParticle(MASSES[1])
            nonbonded.addParticle(p["q_H"], 1.0, 0.0)
        for h in (o + 1, o + 2):
            bonds.addBond(o, h, p["r0_A"] / 10, k_bond)
        angles.addAngle(o + 1, o, o + 2, math.radians(p["theta0_deg"]), k_angle)
        for i, j in ((o, o + 1), (o, o + 2), (o + 1, o + 2)):
            nonbonded.addException(i, j, 0.0, 1.0, 0.0)
    for force in (nonbonded, bonds, angles):
        system.addForce(force)
    return system


def water_numbers(n_molecules: int) -> np.ndarray:
    return np.tile([8, 1, 1], n_molecules)


def box_for_density(n_molecules: int, density_g_cm3: float) -> float:
    """Cubic box edge (Å) holding ``n_molecules`` waters at ``density_g_cm3``."""
    grams = n_molecules * (MASSES[8] + 2 * MASSES[1]) / 6.02214076e23
    return (grams / density_g_cm3 * 1e24) ** (1 / 3)


class SPCFw(OpenMMCalculator):
    """ASE calculator of SPC/Fw water (OpenMM's double-precision Reference platform by
    default: deterministic; ``platform="CPU"`` is faster, in mixed precision).

    The Atoms must be ``n`` waters as O, H, H in a cubic periodic cell."""

    def __init__(self, cutoff_A: float = 6.0, platform: str = "Reference", **kwargs):
        super().__init__(None, platform, **kwargs)
        self.cutoff_A = cutoff_A
        self._layout: tuple | None = None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "model": "SPC/Fw", "parameters": SPCFW,
                "cutoff_A": self.cutoff_A, "electrostatics": "PME"}

    def context_for(self, numbers: np.ndarray, cell: np.ndarray):
        """The context of this many waters in this box (rebuilt when size or box change)."""
        n = len(numbers)
        if n % 3 or not np.array_equal(numbers, water_numbers(n // 3)):
            raise ValueError("SPCFw needs water molecules as O, H, H atoms in order")
        box = float(cell[0, 0])
        if not np.allclose(cell, box * np.eye(3)):
            raise ValueError(f"SPCFw needs a cubic cell, got {cell.tolist()}")
        layout = (n // 3, round(box, 10))
        if self._context is None or self._layout != layout:
            self.system = spcfw_system(n // 3, box, self.cutoff_A)
            self._context = make_context(self.system, openmm().VerletIntegrator(0.001),
                                         self.platform)
            self._layout = layout
        return self._context
