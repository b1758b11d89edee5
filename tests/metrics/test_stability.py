"""Bond-length and RDF-window stability, offline and as stop rules."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.neighborlist import NeighborList, natural_cutoffs

from mlffkit.metrics.comparison import integrated_absolute_error
from mlffkit.metrics.stability import (BondLengthRule, RDFWindowRule, bond_stability,
                                       find_bonds, max_bond_deviation, rdf_window_stability)
from mlffkit.metrics.structure import radial_distribution, uniform_bin_edges


@pytest.mark.parametrize("name", ["CH3CH2OH", "C6H6", "CH3COOH", "H2O"])
def test_bonds_match_fu_et_al_ase_natural_cutoffs_neighbour_list(name):
    atoms = molecule(name)
    neighbours = NeighborList(natural_cutoffs(atoms), self_interaction=False)
    neighbours.update(atoms)
    expected = np.transpose(np.nonzero(neighbours.get_connectivity_matrix().todense()))
    expected = np.unique(np.sort(expected, axis=1), axis=0)
    np.testing.assert_array_equal(find_bonds(atoms), expected)



def test_bond_rule_scale_and_tolerance():
    """``d < scale (r_i + r_j) + tolerance``: the generators' rule (1.25, 0) on a dense check."""
    from ase.data import covalent_radii

    atoms = molecule("CH3CH2OH")
    radii = covalent_radii[atoms.numbers]
    d = atoms.get_all_distances()
    dense = d < 1.25 * (radii[:, None] + radii[None, :])
    np.fill_diagonal(dense, False)
    expected = np.transpose(np.nonzero(np.triu(dense)))
    np.testing.assert_array_equal(find_bonds(atoms, scale=1.25, tolerance_A=0.0), expected)

def stretched_water(n_frames, stretch_per_frame):
    """H2O whose first O-H bond grows by ``stretch_per_frame`` Å per frame."""
    water = molecule("H2O")
    frames = np.repeat(water.positions[None], n_frames, axis=0)
    direction = water.positions[1] - water.positions[0]
    direction /= np.linalg.norm(direction)
    frames[:, 1] += np.arange(n_frames)[:, None] * stretch_per_frame * direction
    return frames, list(water.symbols)


def test_bond_stability_finds_the_first_frame_beyond_half_an_angstrom():
    frames, species = stretched_water(80, 0.012)        # 0.012 * 42 = 0.504 > 0.5
    deviation = max_bond_deviation(frames, species=species)
    np.testing.assert_allclose(deviation, 0.012 * np.arange(80), atol=1e-12)
    result = bond_stability(frames, frame_interval_fs=50.0, species=species)
    assert result.first_unstable_frame == 42
    assert result.stable_time_fs == pytest.approx(42 * 50.0)
    calm = bond_stability(frames[:40], frame_interval_fs=50.0, species=species)
    assert calm.stable and calm.stable_time_fs == pytest.approx(39 * 50.0)


def test_reference_lengths_can_come_from_a_reference_trajectory():
    frames, species = stretched_water(10, 0.1)
    bonds = find_bonds(frames[0], species=species)
    shifted = max_bond_deviation(frames, bonds=bonds, reference_lengths=[1.0, 1.0],
                                 species=species)
    assert shifted[0] == pytest.approx(abs(np.linalg.norm(frames[0, 1] - frames[0, 0]) - 1.0))


def test_bonds_across_the_periodic_boundary_use_the_minimum_image():
    atoms = Atoms("H2", positions=[[0.1, 0, 0], [9.6, 0, 0]], cell=[10.0] * 3, pbc=True)
    np.testing.assert_array_equal(find_bonds(atoms), [[0, 1]])
    assert max_bond_deviation([atoms, atoms])[1] == pytest.approx(0.0)


def lattice_then_collapse(n_stable, n_collapsed):
    """Copper frames: an ideal lattice, then the same atoms squeezed towards one corner."""
    crystal = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)
    stable = np.repeat(crystal.positions[None], n_stable, axis=0)
    collapsed = np.repeat(0.8 * crystal.positions[None], n_collapsed, axis=0)
    return np.concatenate([stable, collapsed]), list(crystal.symbols), crystal.cell[:]


def test_rdf_window_stability_fails_at_the_first_window_past_the_threshold():
    """With identical stable frames the window error grows linearly with the number m of
    collapsed frames it holds: error = m / W * E_c. A threshold of 0.45 E_c with W = 10 fails
    first with m = 5, i.e. at the window starting 5 frames before the collapse."""
    frames, species, cell = lattice_then_collapse(30, 20)
    edges = uniform_bin_edges(5.0, 0.05)
    g_ref = radial_distribution(frames[:1], edges, cell=cell)
    g_collapsed = radial_distribution(frames[-1:], edges, cell=cell)
    e_c = integrated_absolute_error(g_collapsed, g_ref, edges)
    result = rdf_window_stability(frames, {None: g_ref}, edges, frame_interval_fs=100.0,
                                  threshold=0.45 * e_c, window_fs=1000.0, cell=cell,
                                  species=species)
    assert result.first_unstable_frame == 30 - 5
    assert result.stable_time_fs == pytest.approx(25 * 100.0)
    assert rdf_window_stability(frames[:30], {None: g_ref}, edges, 100.0, threshold=0.01,
                                cell=cell).stable


def test_rdf_window_rule_fires_when_the_failing_window_is_complete():
    frames, species, cell = lattice_then_collapse(30, 20)
    edges = uniform_bin_edges(5.0, 0.05)
    g_ref = radial_distribution(frames[:1], edges, cell=cell)
    e_c = integrated_absolute_error(radial_distribution(frames[-1:], edges, cell=cell), g_ref,
                                    edges)
    rule = RDFWindowRule({None: g_ref}, edges, threshold=0.45 * e_c, dt_fs=100.0,
                         window_fs=1000.0)
    images = [Atoms(species, positions=p, cell=cell, pbc=True) for p in frames]
    rule.start(images[0])
    fired = [step for step, atoms in enumerate(images)
             if rule.check(atoms, step, step * 100.0) is not None]
    assert fired[0] == 25 + 10 - 1       # the window starting at frame 25 ends at frame 34


def test_bond_length_rule_reports_the_bond_and_its_deviation():
    frames, species = stretched_water(60, 0.012)
    rule = BondLengthRule()
    images = [Atoms(species, positions=p) for p in frames]
    rule.start(images[0])
    assert rule.check(images[41], 41, 41.0) is None
    reason = rule.check(images[42], 42, 42.0)
    assert "bond 0-1" in reason and "0.504" in reason


def test_bond_length_rule_measures_against_the_mean_over_reference_frames():
    """Fu et al.'s rule: bonds of the start, reference lengths averaged over the reference
    frames. The reference frames stretch O-H(1) by 0 .. 0.21 Å (mean +0.105 Å), so the rule
    fires where that bond passes 0.605 Å beyond the start (frame 51), not 0.5 Å (frame 42)."""
    frames, species = stretched_water(60, 0.012)
    reference = stretched_water(22, 0.01)[0]
    rule = BondLengthRule(reference_frames=reference)
    images = [Atoms(species, positions=p) for p in frames]
    rule.start(images[0])
    np.testing.assert_allclose(rule.reference_lengths[0],
                               np.linalg.norm(frames[0, 1] - frames[0, 0]) + 0.105, atol=1e-12)
    fired = [k for k, atoms in enumerate(images) if rule.check(atoms, k, float(k))]
    assert fired[0] == 51                 # 0.012 * 51 - 0.105 = 0.507; frame 50: 0.495
    with pytest.raises(ValueError, match="hold 2 atoms, the structure 3"):
        BondLengthRule(reference_frames=reference[:, :2]).start(images[0])
    with pytest.raises(ValueError, match="not both"):
        BondLengthRule(reference_frames=reference, reference_lengths=[1.0])


@pytest.mark.parametrize("call, message", [
    (lambda: bond_stability(np.zeros((3, 2, 3)), 1.0), "species"),
    (lambda: bond_stability(np.full((3, 2, 3), np.nan), 1.0, species=["H", "H"]), "NaN"),
    (lambda: bond_stability(np.zeros((3, 2, 3)) + [[0, 0, 0], [0, 0, 5]], 1.0,
                            species=["H", "H"]), "no bonds"),
    (lambda: bond_stability([], 1.0), "empty"),
    (lambda: rdf_window_stability(np.zeros((3, 2, 3)), {None: np.ones(2)}, [0, 1, 2], 1.0,
                                  threshold=1.0, window_fs=2.0), "needs a simulation cell"),
    (lambda: rdf_window_stability(np.zeros((3, 2, 3)), {None: np.ones(2)}, [0, 1, 2], 1.0,
                                  threshold=1.0, window_fs=10.0, cell=[5] * 3), "fewer than"),
    (lambda: RDFWindowRule({None: np.ones(2)}, [0, 1, 2], threshold=1, dt_fs=1).start(
        Atoms("H2", positions=[[0, 0, 0], [0, 0, 1]])), "needs a simulation cell"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
