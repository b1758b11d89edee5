"""Conversions between mlffkit's physical units (fs, 1/ps, Å/fs) and ASE's internal ones.

ASE measures time in sqrt(amu Å^2 / eV) (about 10.18 fs): ``ase.units.fs`` is one femtosecond
in that unit. Every conversion of time-like quantities into ASE happens here, once (the MD
driver and the reference-data generators both use it). Energy and length factors of file
formats live with the readers, in :mod:`mlffkit.data.units`.
"""

from ase import units

FS_TO_ASE_TIME = units.fs                          # multiply fs by this -> ASE time
PER_PS_TO_ASE_INVERSE_TIME = 1.0 / (1000.0 * units.fs)   # multiply 1/ps by this -> 1/ASE time
ANGSTROM_PER_FS_TO_ASE_VELOCITY = 1.0 / units.fs   # multiply Å/fs by this -> Å/ASE time
ASE_VELOCITY_TO_ANGSTROM_PER_FS = units.fs         # multiply Å/ASE time by this -> Å/fs
FS_PER_PS = 1000.0


def fs_to_ase_time(t_fs: float) -> float:
    """A time or time step in fs, in ASE time units."""
    return t_fs * FS_TO_ASE_TIME


def friction_per_ps_to_ase(friction_per_ps: float) -> float:
    """A Langevin friction coefficient in 1/ps, in ASE's inverse time units."""
    return friction_per_ps / (FS_PER_PS * units.fs)
