"""The named unit factors (:mod:`mlffkit.units`): ASE's values, and the parsers readers use."""

import pytest
from ase import units

from mlffkit.units import (BOHR_TO_ANGSTROM, EGRAFF_KCAL_MOL_TO_EV, HARTREE_TO_EV,
                           KCAL_MOL_TO_EV, KJ_MOL_TO_EV, energy_factor, force_factor,
                           friction_per_ps_to_ase, fs_to_ase_time)


def test_unit_factors_are_ase_values():
    assert KCAL_MOL_TO_EV == pytest.approx(0.0433641, abs=1e-7)
    assert KCAL_MOL_TO_EV == units.kcal / units.mol
    assert HARTREE_TO_EV == pytest.approx(27.211386, abs=1e-6)
    assert BOHR_TO_ANGSTROM == pytest.approx(0.529177, abs=1e-6)
    assert KJ_MOL_TO_EV == pytest.approx(0.0103643, abs=1e-7)
    assert EGRAFF_KCAL_MOL_TO_EV == 0.04336
    assert force_factor("hartree/bohr") == HARTREE_TO_EV / BOHR_TO_ANGSTROM
    assert force_factor("kcal/mol/Å") == KCAL_MOL_TO_EV
    with pytest.raises(ValueError, match="unknown energy unit"):
        energy_factor("erg")


def test_time_conversions_into_ase():
    assert fs_to_ase_time(1.0) == units.fs
    assert friction_per_ps_to_ase(1.0) == pytest.approx(0.001 / units.fs)
