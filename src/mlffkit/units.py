"""mlffkit's units and every conversion factor, in one place. Inside mlffkit: eV, Å, fs, K.

Two kinds of conversion happen at the package's edges, each with a named factor:

- *File formats* (the readers, the calculators): energies and lengths in kcal/mol, kJ/mol,
  hartree or bohr, converted with the factors below (taken from ``ase.units``, CODATA 2014 as
  ASE ships it), so that a reader's docstring can say exactly what it did.
- *ASE's internal time* (the MD driver and the reference-data generators): ASE measures time in
  sqrt(amu Å^2 / eV) (about 10.18 fs); ``ase.units.fs`` is one femtosecond in that unit. Time
  steps (fs), Langevin frictions (1/ps) and velocities (Å/fs) are converted here, once.
"""

from __future__ import annotations

from ase import units as _ase

# -- energy and length (file formats) ------------------------------------------------------
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


def _factor(table: dict[str, float], unit: str, kind: str) -> float:
    try:
        return table[unit.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown {kind} unit {unit!r}; fix: use one of {sorted(table)}") from None


def energy_factor(unit: str) -> float:
    """Factor from ``unit`` (e.g. ``"kcal/mol"``, ``"hartree"``) to eV."""
    return _factor(ENERGY_TO_EV, unit, "energy")


def length_factor(unit: str) -> float:
    """Factor from ``unit`` (``"angstrom"``, ``"bohr"``) to Å."""
    return _factor(LENGTH_TO_ANGSTROM, unit, "length")


def force_factor(unit: str) -> float:
    """Factor from a force unit written ``energy/length`` (``"hartree/bohr"``) to eV/Å."""
    if "/" not in unit:
        raise ValueError(f"force unit {unit!r} is not of the form energy/length; fix: write "
                         "it like 'eV/Å'")
    energy, length = unit.rsplit("/", 1)  # "kcal/mol/Å" -> ("kcal/mol", "Å")
    return energy_factor(energy) / length_factor(length)


# -- time, friction, velocity (ASE's internal units) ---------------------------------------
FS_TO_ASE_TIME = _ase.fs                          # multiply fs by this -> ASE time
PER_PS_TO_ASE_INVERSE_TIME = 1.0 / (1000.0 * _ase.fs)   # multiply 1/ps by this -> 1/ASE time
ANGSTROM_PER_FS_TO_ASE_VELOCITY = 1.0 / _ase.fs   # multiply Å/fs by this -> Å/ASE time
ASE_VELOCITY_TO_ANGSTROM_PER_FS = _ase.fs         # multiply Å/ASE time by this -> Å/fs
FS_PER_PS = 1000.0


def fs_to_ase_time(t_fs: float) -> float:
    """A time or time step in fs, in ASE time units."""
    return t_fs * FS_TO_ASE_TIME


def friction_per_ps_to_ase(friction_per_ps: float) -> float:
    """A Langevin friction coefficient in 1/ps, in ASE's inverse time units."""
    return friction_per_ps / (FS_PER_PS * _ase.fs)
