"""The priors of test-time training: which consume reference labels, and an sGDML prior fitted
on a few labelled frames."""

import numpy as np
import pytest
from ase.build import molecule
from ase.calculators.lj import LennardJones

from mlffkit.papers.shifts.priors import PRIORS, prior, train_sgdml


def test_only_sgdml_consumes_reference_labels():
    assert sorted(PRIORS) == ["emt", "gfn2-xtb", "lennard-jones", "mmff94", "sgdml"]
    assert [n for n, p in PRIORS.items() if p.uses_reference_labels] == ["sgdml"]
    with pytest.raises(KeyError, match="valid: emt"):
        prior("uff")


@pytest.mark.parametrize("name", ["emt", "lennard-jones", "mmff94"])
def test_label_free_priors_give_forces_on_a_molecule(name):
    atoms = molecule("CH3CH2OH")
    atoms.calc = prior(name)
    assert atoms.get_forces().shape == (9, 3) and np.isfinite(atoms.get_potential_energy())


def frames(n, seed=0):
    atoms = molecule("CH3CH2OH")
    atoms.calc = LennardJones(sigma=1.2, epsilon=0.05, rc=6.0)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        atoms.positions = molecule("CH3CH2OH").positions + rng.normal(scale=0.03, size=(9, 3))
        out.append((atoms.positions.copy(), atoms.get_potential_energy(), atoms.get_forces()))
    return atoms.numbers, [np.array(x) for x in zip(*out)]


def test_sgdml_prior_learns_its_molecule_from_few_frames():
    numbers, (positions, energies, forces) = frames(25)
    calc = train_sgdml(positions[:15], numbers, energies[:15], forces[:15], sigmas=(2, 5, 10))
    test = molecule("CH3CH2OH")
    errors = []
    for pos, f in zip(positions[15:], forces[15:]):
        test.positions = pos
        test.calc = calc
        errors.append(np.abs(test.get_forces() - f).mean())
    assert np.mean(errors) < 0.2 * np.abs(forces).mean()
    with pytest.raises(ValueError, match="another molecule"):
        other = molecule("CH4")
        other.calc = calc
        other.get_forces()
    with pytest.raises(ValueError, match="frames"):
        train_sgdml(positions[:2], numbers, energies[:2], forces[:2])


def test_an_sgdml_prior_starts_no_worker_processes():
    import multiprocessing

    numbers, (positions, energies, forces) = frames(8)
    before = len(multiprocessing.active_children())
    train_sgdml(positions, numbers, energies, forces, sigmas=(5, 10))
    assert len(multiprocessing.active_children()) == before
