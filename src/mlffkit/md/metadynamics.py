r"""Well-tempered metadynamics on dihedral angles for any ASE calculator (Barducci, Bussi &
Parrinello 2008), as PLUMED's ``METAD`` runs it and as Fu et al. (2023) ran their alanine
dipeptide through ASE + PLUMED.

:class:`Metadynamics` wraps a calculator the way ASE's ``Plumed`` calculator does: each
evaluation at new positions is one MD step; at steps 0, ``pace``, 2 ``pace``, ... a Gaussian
hill is deposited at the current collective variables s,

.. math:: w_k = w_0 \exp(-V(s_k) / (k_B \Delta T)), \quad \Delta T = T(\gamma - 1),

with ``V(s) = sum_k w_k exp(-sum_d wrap(s_d - s_{k,d})^2 / (2 sigma_d^2))`` (periodic CVs on
[-pi, pi), minimum-image differences, as PLUMED and OpenMM's ``Metadynamics``); the calculator
returns the wrapped calculator's energy plus V and its forces minus dV/ds ds/dx. The free
energy is ``F(s) = -gamma / (gamma - 1) V(s)`` (:meth:`Metadynamics.free_energy`; PLUMED's
``sum_hills`` and OpenMM's ``getFreeEnergy`` give the same).

Units: heights in kJ/mol at the interface (PLUMED's and OpenMM's unit; Fu et al.'s PLUMED
``UNITS`` line made theirs eV by mistake, see ``shared/papers/protocols_fu_kreiman.md``),
CVs in radians, the ASE side in eV and Å.

>>> from mlffkit.md import simulate
>>> from mlffkit.md.metadynamics import Metadynamics
>>> biased = Metadynamics(calc, [PHI, PSI], T_K=300, height_kJ_mol=1.2, sigma_rad=0.35,
...                       biasfactor=6, pace=500)
>>> simulate(atoms, biased, ensemble="langevin", T_K=300, dt_fs=2, friction_per_ps=49,
...          steps=500_000)
>>> F = biased.free_energy(grid)     # kJ/mol, on (G, 2) points
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from ase import units
from ase.calculators.calculator import Calculator, all_changes

from mlffkit.ase_state import ExactStateCheck

KJ_MOL_TO_EV = units.kJ / units.mol
TWO_PI = 2 * math.pi


def dihedral_and_gradient(positions: np.ndarray, quadruplet: Sequence[int]
                          ) -> tuple[float, np.ndarray]:
    """Dihedral angle (rad, [-pi, pi], IUPAC sign as :func:`mlffkit.metrics.dihedral_angles`)
    of atoms (a, b, c, d) and its gradient with respect to their positions, ``(4, 3)``
    (Blondel & Karplus 1996). Non-periodic: the four atoms must be whole."""
    x = positions[list(quadruplet)]
    b1, b2, b3 = x[1] - x[0], x[2] - x[1], x[3] - x[2]
    m, n = _cross(b1, b2), _cross(b2, b3)
    b2_norm = math.sqrt(b2 @ b2)
    angle = math.atan2(b2_norm * (b1 @ n), m @ n)
    mm, nn = m @ m, n @ n
    if mm < 1e-20 or nn < 1e-20:
        raise ValueError(f"dihedral {tuple(quadruplet)} is undefined: three of its atoms are "
                         "collinear")
    g0 = -b2_norm / mm * m
    g3 = b2_norm / nn * n
    p, q = (b1 @ b2) / (b2 @ b2), (b3 @ b2) / (b2 @ b2)
    g1 = -(1 + p) * g0 + q * g3
    g2 = -(g0 + g1 + g3)            # translation invariance
    return angle, np.stack([g0, g1, g2, g3])


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of two 3-vectors (np.cross costs more than the product itself here)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                     a[0] * b[1] - a[1] * b[0]])


def wrap_angle(x):
    """Angles folded into [-pi, pi)."""
    return (np.asarray(x) + math.pi) % TWO_PI - math.pi


def angle_grid(bins: int = 60) -> np.ndarray:
    """PLUMED's periodic grid on [-pi, pi): ``-pi + 2 pi k / bins``, k = 0..bins-1 (the
    points of Fu et al.'s ``fes.dat`` with ``--bin 60,60``)."""
    return -math.pi + TWO_PI * np.arange(bins) / bins


class Metadynamics(ExactStateCheck, Calculator):
    """Well-tempered metadynamics on dihedral angles around any ASE calculator.

    calculator: the unbiased potential (ASE calculator: eV, eV/Å).
    dihedrals: atom quadruplets, one collective variable each (e.g. alanine dipeptide's φ, ψ).
    T_K: the simulation temperature; biasfactor: γ > 1 (ΔT = T(γ - 1)).
    height_kJ_mol: w_0; sigma_rad: Gaussian width, one for all CVs or one per CV.
    pace: MD steps (evaluations at new positions) between hills.

    ``results`` carry ``energy`` and ``forces`` including the bias, ``bias_energy`` (eV),
    ``unbiased_energy`` / ``unbiased_forces`` (the wrapped calculator's) and ``cv`` (rad).
    ``hills`` is ``(K, D + 2)``: step, centres, height (kJ/mol)."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, calculator, dihedrals, *, T_K: float, height_kJ_mol: float,
                 sigma_rad, biasfactor: float, pace: int, **kwargs):
        super().__init__(**kwargs)
        quads = np.asarray(dihedrals, dtype=int).reshape(-1, 4)
        sigma = np.broadcast_to(np.asarray(sigma_rad, dtype=float), (len(quads),)).copy()
        checks = [(T_K, "T_K", "a temperature in K, e.g. 300"),
                  (height_kJ_mol, "height_kJ_mol", "a hill height in kJ/mol, e.g. 1.2"),
                  (biasfactor - 1, "biasfactor - 1", "a bias factor > 1, e.g. 6")]
        for value, name, hint in checks:
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be {hint}, got {value!r}")
        if not (np.isfinite(sigma).all() and (sigma > 0).all()):
            raise ValueError(f"sigma_rad must be positive widths in rad, got {sigma_rad!r}")
        if not (isinstance(pace, int) and pace >= 1):
            raise ValueError(f"pace must be an integer >= 1 (MD steps), got {pace!r}")
        self.calculator, self.dihedrals, self.sigma = calculator, quads, sigma
        self.T_K, self.height, self.biasfactor, self.pace = T_K, height_kJ_mol, biasfactor, pace
        self.kT_delta = units.kB * T_K * (biasfactor - 1) / KJ_MOL_TO_EV  # kJ/mol
        self.steps = 0
        self._centres = np.empty((0, len(quads)))
        self._heights = np.empty(0)
        self._hill_steps: list[int] = []

    @property
    def hills(self) -> np.ndarray:
        return np.column_stack([np.asarray(self._hill_steps, dtype=float), self._centres,
                                self._heights])

    def load_hills(self, hills: np.ndarray) -> None:
        """Continue from stored hills (``hills`` as this class writes them)."""
        hills = np.asarray(hills, dtype=float).reshape(-1, len(self.dihedrals) + 2)
        self._hill_steps = [int(s) for s in hills[:, 0]]
        self._centres, self._heights = hills[:, 1:-1].copy(), hills[:, -1].copy()
        self.steps = int(hills[-1, 0]) + 1 if len(hills) else 0

    def collective_variables(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """CV values ``(D,)`` and their gradients ``(D, 4, 3)``."""
        pairs = [dihedral_and_gradient(positions, q) for q in self.dihedrals]
        return np.array([v for v, _ in pairs]), np.stack([g for _, g in pairs])

    def bias(self, points) -> tuple[np.ndarray, np.ndarray]:
        """V (kJ/mol) at ``points`` ``(P, D)`` and dV/ds ``(P, D)``."""
        s = np.asarray(points, dtype=float).reshape(-1, len(self.dihedrals))
        if not len(self._heights):
            return np.zeros(len(s)), np.zeros_like(s)
        delta = wrap_angle(s[:, None, :] - self._centres[None])          # (P, K, D)
        gauss = self._heights * np.exp(-0.5 * np.sum((delta / self.sigma) ** 2, axis=-1))
        return gauss.sum(axis=1), -np.einsum("pk,pkd->pd", gauss, delta / self.sigma ** 2)

    def free_energy(self, points) -> np.ndarray:
        """``F = -gamma/(gamma-1) V`` (kJ/mol) at ``points`` ``(P, D)``, shifted to min 0."""
        v, _ = self.bias(points)
        f = -self.biasfactor / (self.biasfactor - 1) * v
        return f - f.min()

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        energy, forces = self._unbiased(self.atoms)
        s, grads = self.collective_variables(self.atoms.positions)
        v, dv = self.bias(s[None])
        v, dv = float(v[0]), dv[0]
        bias_forces = np.zeros_like(forces)
        for d, quad in enumerate(self.dihedrals):
            np.add.at(bias_forces, quad, -dv[d] * grads[d] * KJ_MOL_TO_EV)
        self.results = {"energy": energy + v * KJ_MOL_TO_EV, "forces": forces + bias_forces,
                        "bias_energy": v * KJ_MOL_TO_EV, "unbiased_energy": energy,
                        "unbiased_forces": forces, "cv": s}
        if self.steps % self.pace == 0:
            self._deposit(s, v)
        self.steps += 1

    def _unbiased(self, atoms) -> tuple[float, np.ndarray]:
        calc = self.calculator
        if isinstance(calc, Calculator):  # straight to the work: ASE's state checks cost more
            calc.calculate(atoms, ["energy", "forces"], all_changes)
            return float(calc.results["energy"]), np.asarray(calc.results["forces"])
        atoms = atoms.copy()
        atoms.calc = calc
        return atoms.get_potential_energy(), atoms.get_forces()

    def add_hill(self, s, step: int) -> None:
        """Deposit the well-tempered hill a run deposits at CV values ``s`` ``(D,)``: its
        height set by the bias already there. Replaying a run's CVs at its hill steps rebuilds
        its bias (e.g. from a stored trajectory)."""
        s = np.asarray(s, dtype=float).reshape(len(self.dihedrals))
        v = float(self.bias(s[None])[0][0])
        self.steps = int(step)
        self._deposit(s, v)

    def _deposit(self, s: np.ndarray, v: float) -> None:
        height = self.height * math.exp(-v / self.kT_delta)
        self._centres = np.vstack([self._centres, s[None]])
        self._heights = np.append(self._heights, height)
        self._hill_steps.append(self.steps)
