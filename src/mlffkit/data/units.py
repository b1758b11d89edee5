"""Unit factors used by the readers. Inside mlffkit: eV, Å, fs, K.

Every conversion a reader makes uses one of these named factors (taken from ``ase.units``,
CODATA 2014 as ASE ships it), so that a reader's docstring can say exactly what it did.
"""

from __future__ import annotations

from ase import units as _ase

#: kcal/mol -> eV (0.0433641...); MD17, rMD17 and sGDML files are in kcal/mol (and kcal/mol/Å).
KCAL_MOL_TO_EV: float = _ase.kcal / _ase.mol
#: kJ/mol -> eV (0.0103643...); the PLUMED free-energy surface of Fu et al. is in kJ/mol.
KJ_MOL_TO_EV: float = _ase.kJ / _ase.mol
#: hartree -> eV (27.2113...); SPICE and ANI hdf5 energies.
HARTREE_TO_EV: float = _ase.Hartree
#: bohr -> Å (0.529177...); SPICE coordinates.
BOHR_TO_ANGSTROM: float = _ase.Bohr
#: The rounded kcal/mol -> eV factor EGraFFBench used to write its MD17 ``nequip_npz.npz``
#: files. Readers keep those files' eV values as they are; multiply by
#: ``KCAL_MOL_TO_EV / EGRAFF_KCAL_MOL_TO_EV`` to restate them with ASE's factor.
EGRAFF_KCAL_MOL_TO_EV: float = 0.04336

#: Energy units a reader may be told a file uses -> factor to eV (keys are lower case).
ENERGY_TO_EV: dict[str, float] = {
    "ev": 1.0,
    "kcal/mol": KCAL_MOL_TO_EV,
    "kj/mol": KJ_MOL_TO_EV,
    "hartree": HARTREE_TO_EV,
}
#: Length units -> factor to Å.
LENGTH_TO_ANGSTROM: dict[str, float] = {
    "angstrom": 1.0,
    "ang": 1.0,
    "a": 1.0,
    "å": 1.0,
    "bohr": BOHR_TO_ANGSTROM,
}


def energy_factor(unit: str) -> float:
    """Factor from ``unit`` (e.g. ``"kcal/mol"``, ``"hartree"``) to eV."""
    try:
        return ENERGY_TO_EV[unit.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown energy unit {unit!r}; fix: use one of "
                         f"{sorted(ENERGY_TO_EV)}") from None


def length_factor(unit: str) -> float:
    """Factor from ``unit`` (``"angstrom"``, ``"bohr"``) to Å."""
    try:
        return LENGTH_TO_ANGSTROM[unit.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown length unit {unit!r}; fix: use one of "
                         f"{sorted(LENGTH_TO_ANGSTROM)}") from None


def force_factor(unit: str) -> float:
    """Factor from a force unit written ``energy/length`` (``"hartree/bohr"``) to eV/Å."""
    if "/" not in unit:
        raise ValueError(f"force unit {unit!r} is not of the form energy/length; fix: write "
                         "it like 'eV/Å'")
    energy, length = unit.rsplit("/", 1)  # "kcal/mol/Å" -> ("kcal/mol", "Å")
    return energy_factor(energy) / length_factor(length)
