"""h(r) and RDF: analytic cases, the ideal gas, and agreement with ASE and MDAnalysis."""

import numpy as np
import pytest
from ase import Atoms
from ase.geometry.analysis import Analysis
from ase.geometry.rdf import get_rdf

from mlffkit.metrics.structure import (bin_centers, interatomic_distance_distribution,
                                       radial_distribution, radial_distributions,
                                       uniform_bin_edges)


def random_rotations(rng, n):
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], axis=1)


def test_h_of_r_of_a_rigid_square_is_two_spikes_with_weights_two_thirds_and_one_third():
    rng = np.random.default_rng(0)
    side = 1.51
    square = np.array([[0, 0, 0], [side, 0, 0], [side, side, 0], [0, side, 0]])
    frames = np.einsum("nj,fij->fni", square, random_rotations(rng, 50)) + \
        rng.normal(size=(50, 1, 3))
    edges = uniform_bin_edges(10.0, 0.02)
    h = interatomic_distance_distribution(frames, edges)
    width = 0.02
    expected = np.zeros_like(h)
    expected[np.searchsorted(edges, side) - 1] = (2 / 3) / width
    expected[np.searchsorted(edges, side * np.sqrt(2)) - 1] = (1 / 3) / width
    np.testing.assert_allclose(h, expected, atol=1e-9)
    assert np.sum(h * width) == pytest.approx(1.0)


def test_h_of_r_of_a_uniformly_stretched_pair_is_flat():
    rng = np.random.default_rng(1)
    d = rng.uniform(1.0, 3.0, size=100_000)
    frames = np.zeros((d.size, 2, 3))
    frames[:, 1, 0] = d
    edges = uniform_bin_edges(4.0, 0.1)
    h = interatomic_distance_distribution(frames, edges)
    inside = (bin_centers(edges) > 1.0) & (bin_centers(edges) < 3.0)
    # 5000 samples per bin: 1.4 % relative noise, tolerance 5 sigma
    np.testing.assert_allclose(h[inside], 0.5, atol=0.035)
    assert np.all(h[~inside] == 0)


def test_h_of_r_normalisations_differ_only_by_pairs_outside_the_bins():
    frames = np.array([[[0, 0, 0], [1.0, 0, 0], [20.0, 0, 0]]])
    edges = uniform_bin_edges(10.0, 0.02)
    per_pair = interatomic_distance_distribution(frames, edges, normalisation="pairs")
    in_range = interatomic_distance_distribution(frames, edges, normalisation="in_range")
    assert np.sum(per_pair * 0.02) == pytest.approx(1 / 3)
    assert np.sum(in_range * 0.02) == pytest.approx(1.0)


def test_ideal_gas_rdf_is_one_with_distinct_pairs_and_n_minus_one_over_n_with_ase():
    """Uniform random points in a periodic box: g = 1 (N(N-1) normalisation) and g = (N-1)/N
    (ASE's N^2). Per-bin tolerance 5 sigma of the counts; the mean over r > 1 Å to 0.4 %."""
    rng = np.random.default_rng(2)
    n_frames, n_atoms, box = 300, 100, 10.0
    positions = rng.uniform(0, box, size=(n_frames, n_atoms, 3))
    edges = uniform_bin_edges(4.5, 0.1)
    r = bin_centers(edges)
    expected_pairs = n_frames * n_atoms * (n_atoms - 1) / 2 / box ** 3 * \
        4 / 3 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    sigma = 1 / np.sqrt(expected_pairs)
    far = r > 1.0
    for convention, ideal in (("mdanalysis", 1.0), ("ase", (n_atoms - 1) / n_atoms)):
        g = radial_distribution(positions, edges, cell=[box] * 3, convention=convention)
        assert np.all(np.abs(g[far] - ideal) < 5 * sigma[far] * ideal), convention
        assert np.mean(g[far]) == pytest.approx(ideal, abs=0.004), convention


def dyadic_water_box(n_frames=6, seed=3):
    """Positions on a 1/16 Å grid in a 199/16 Å box, exact in float32 as in float64, so
    MDAnalysis (float32) and we (float64) see the same distances sqrt(n)/16 Å."""
    rng = np.random.default_rng(seed)
    box = 199 / 16
    positions = rng.integers(0, 199, size=(n_frames, 96, 3)) / 16
    species = ["O"] * 32 + ["H"] * 64
    return positions, species, box


@pytest.mark.filterwarnings("ignore:Use `ase.geometry.rdf.get_rdf` instead:FutureWarning")
def test_rdf_equals_ase_get_rdf_total_and_partial():
    positions, species, box = dyadic_water_box()
    images = [Atoms(species, positions=p, cell=[box] * 3, pbc=True) for p in positions]
    r_max, n_bins = 6.0, 192
    edges = np.linspace(0, r_max, n_bins + 1)
    ase_total = np.mean(Analysis(images).get_rdf(r_max, n_bins), axis=0)
    ours = radial_distribution(images, edges, convention="ase")
    np.testing.assert_allclose(ours, ase_total, rtol=0, atol=1e-6)
    for pair in [("O", "O"), ("H", "H"), ("O", "H"), ("H", "O")]:
        reference = get_rdf(images, r_max, n_bins, elements=pair, no_dists=True)
        ours = radial_distribution(positions, edges, pair=pair, species=species,
                                   cell=[box] * 3, convention="ase")
        np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6, err_msg=str(pair))


def test_rdf_equals_ase_get_rdf_in_a_triclinic_cell():
    rng = np.random.default_rng(4)
    cell = np.array([[11.0, 0, 0], [3.0, 10.5, 0], [-2.0, 1.5, 12.0]])
    images = [Atoms("Ar40", scaled_positions=rng.uniform(size=(40, 3)), cell=cell, pbc=True)
              for _ in range(4)]
    edges = np.linspace(0, 4.5, 91)
    reference = get_rdf(images, 4.5, 90, no_dists=True)
    np.testing.assert_allclose(radial_distribution(images, edges), reference, atol=1e-6)


def test_rdf_equals_mdanalysis_interrdf():
    mda = pytest.importorskip("MDAnalysis")
    from MDAnalysis.analysis.rdf import InterRDF
    from MDAnalysis.coordinates.memory import MemoryReader

    positions, species, box = dyadic_water_box()
    universe = mda.Universe.empty(len(species), trajectory=True)
    universe.add_TopologyAttr("types", species)
    dimensions = np.tile([box, box, box, 90.0, 90.0, 90.0], (len(positions), 1))
    universe.load_new(positions.copy(), format=MemoryReader, dimensions=dimensions)
    # bin edges at (4k + 1)/64 Å can never equal sqrt(n)/16 Å and stay >= 2e-5 Å away from
    # it, 30 times MDAnalysis's float32 rounding, so no distance is binned differently
    r_min, r_max = 1 / 64, 6 + 1 / 64
    edges = np.linspace(r_min, r_max, 97)
    groups = {e: universe.select_atoms(f"type {e}") for e in ("O", "H")}
    for a, b in [("O", "O"), ("H", "H"), ("O", "H")]:
        block = (1, 1) if a == b else None
        reference = InterRDF(groups[a], groups[b], nbins=96, range=(r_min, r_max),
                             exclusion_block=block).run().results.rdf
        ours = radial_distribution(positions, edges, pair=(a, b), species=species,
                                   cell=[box] * 3, convention="mdanalysis")
        np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6, err_msg=f"{a}-{b}")


def test_partial_rdfs_sum_to_the_total_with_atomic_fractions():
    positions, species, box = dyadic_water_box(n_frames=2)
    edges = np.linspace(0, 6.0, 61)
    g = radial_distributions(positions, edges, pairs=[None, ("O", "O"), ("H", "H"), ("O", "H")],
                             species=species, cell=[box] * 3)
    c_o, c_h = 1 / 3, 2 / 3
    combined = c_o ** 2 * g[("O", "O")] + c_h ** 2 * g[("H", "H")] + 2 * c_o * c_h * g[("O", "H")]
    np.testing.assert_allclose(g[None], combined, atol=1e-12)


def test_periodic_images_beyond_half_the_cell_are_counted():
    """One atom in a cubic cell of 2 Å: its images are at 2, 2.83, 3.46 Å (6, 12, 8 of them)."""
    edges = np.array([0.0, 1.9, 2.1, 2.7, 2.9, 3.3, 3.6])
    counts_per_shell = np.array([0, 6, 0, 12, 0, 8])
    g = radial_distribution(np.zeros((1, 1, 3)), edges, cell=[2.0] * 3)
    shells = 4 / 3 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    np.testing.assert_allclose(g, counts_per_shell * 8.0 / shells)


@pytest.mark.parametrize("call, message", [
    (lambda: radial_distribution(np.zeros((2, 3, 3)), [0, 1, 2]), "needs a simulation cell"),
    (lambda: radial_distribution(np.zeros((0, 3, 3)), [0, 1], cell=[5] * 3), "empty"),
    (lambda: radial_distribution([], [0, 1], cell=[5] * 3), "empty"),
    (lambda: radial_distribution(np.full((1, 2, 3), np.nan), [0, 1], cell=[5] * 3), "NaN"),
    (lambda: radial_distribution(np.zeros((1, 2, 3)), [0, 1], cell=[5] * 3, pair=("O", "O")),
     "species"),
    (lambda: radial_distribution(np.zeros((1, 2, 3)), [0, 1], cell=[5] * 3, species=["O"]),
     "1 species for 2 atoms"),
    (lambda: radial_distribution(np.zeros((1, 2, 3)), [1, 0], cell=[5] * 3), "increasing"),
    (lambda: radial_distribution(np.zeros((1, 2, 4)), [0, 1], cell=[5] * 3), "shape"),
    (lambda: radial_distribution(np.zeros((2, 2, 3)), [0, 1], cell=np.ones((3, 3, 3))),
     "cell must be"),
    (lambda: radial_distribution(np.zeros((1, 2, 3)), [0, 1], cell=[5] * 3, convention="x"),
     "unknown RDF convention"),
    (lambda: interatomic_distance_distribution(np.zeros((1, 1, 3))), "two atoms"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
