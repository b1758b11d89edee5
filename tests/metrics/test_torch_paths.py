"""The metrics on torch tensors: the numbers of the numpy metrics they replaced (stored in
``data/numpy_reference.npz``), tensors back on the input's device, and bounded memory
(chunked pair distances) for any number of frames, atoms or periodic images."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from mlffkit.metrics import StabilityResult, pairs, structure
from numpy_reference_cases import STORE, cases, flatten

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
STORED = dict(np.load(STORE))


def assert_matches_numpy_reference(name, result):
    values = flatten(result, name)
    assert set(values) == {k for k in STORED if k == name or k.startswith(name + "/")}
    for key, value in values.items():
        np.testing.assert_allclose(value, STORED[key], rtol=1e-6, atol=1e-12, err_msg=key)


def assert_on_device(result, device):
    """Arrays come back as float64 (or int64 index) tensors on ``device``; scalars as floats."""
    if isinstance(result, dict):
        for value in result.values():
            assert_on_device(value, device)
    elif isinstance(result, (StabilityResult, float)):
        return
    else:
        assert isinstance(result, torch.Tensor), type(result)
        assert result.device.type == device
        assert result.dtype in (torch.float64, torch.long)


@pytest.mark.parametrize("name", sorted(cases()))
def test_numpy_input_gives_the_numbers_of_the_numpy_metrics(name):
    result = cases()[name](np.asarray)
    assert not isinstance(result, torch.Tensor)
    assert_matches_numpy_reference(name, result)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(cases()))
def test_tensor_input_gives_the_same_numbers_as_tensors_on_its_device(name, device):
    result = cases()[name](lambda x: torch.as_tensor(np.asarray(x), device=device))
    assert_on_device(result, device)
    assert_matches_numpy_reference(name, result)


def test_float32_tensors_are_computed_in_float64():
    from mlffkit.metrics import interatomic_distance_distribution

    positions = np.random.default_rng(0).normal(size=(4, 6, 3)).astype(np.float32)
    h = interatomic_distance_distribution(torch.from_numpy(positions))
    assert h.dtype == torch.float64
    np.testing.assert_array_equal(h.numpy(), interatomic_distance_distribution(
        positions.astype(float)))


# -- chunks --------------------------------------------------------------------------------
def water(n_frames=3, n_molecules=24, box=9.3, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.uniform(0, box, size=(n_frames, 3 * n_molecules, 3))), \
        np.array([0] * n_molecules + [1] * 2 * n_molecules)


CELLS = {
    "cubic": np.eye(3) * 9.3,
    "triclinic": np.array([[9.0, 0, 0], [2.5, 8.5, 0], [-1.5, 1.0, 9.5]]),
    "slab": np.eye(3) * 9.3,            # periodic in x and y only
}


def histograms(positions, kinds, cell_name, r_max, **options):
    cells = torch.from_numpy(np.broadcast_to(CELLS[cell_name], (len(positions), 3, 3)).copy())
    pbc = [True, True, cell_name != "slab"]
    edges = np.linspace(0.3, r_max, 61)
    return structure.pair_histograms(positions, cells, pbc, edges, "right", kinds=kinds,
                                     per_frame=True, **options)


@pytest.mark.parametrize("cell_name", sorted(CELLS))
@pytest.mark.parametrize("r_max", [4.0, 14.0])
def test_chunk_sizes_and_methods_do_not_change_the_counts(monkeypatch, cell_name, r_max):
    """Tiny chunks (pair blocks, shift batches, one frame at a time), the plane-by-plane shift
    stream and the neighbour list all give the counts of one big brute-force chunk."""
    positions, kinds = water(n_frames=2, n_molecules=6)
    expected = histograms(positions, kinds, cell_name, r_max, method="brute_force")
    assert expected.sum() > 0
    if cell_name != "slab":
        np.testing.assert_array_equal(
            histograms(positions, kinds, cell_name, r_max, method="neighbour_list"), expected)
    for budget in (40, 333, 70_000):
        monkeypatch.setattr(pairs, "PAIR_CHUNK_ELEMENTS", budget)
        np.testing.assert_array_equal(histograms(positions, kinds, cell_name, r_max), expected)
    monkeypatch.setattr(pairs, "_MAX_SHIFT_GRID", 1)
    np.testing.assert_array_equal(histograms(positions, kinds, cell_name, r_max), expected)


@pytest.mark.parametrize("budget", [10, 100, 5_000])
def test_no_chunk_holds_more_distances_than_the_budget(budget):
    positions, _ = water(n_frames=3, n_molecules=4)
    cells = torch.from_numpy(np.broadcast_to(np.eye(3) * 9.3, (3, 3, 3)).copy())
    for cell, r_max in ((None, 10.0), (cells, 4.0), (cells, 12.0)):
        sizes = [chunk.distances.numel() for chunk in pairs.pair_distance_chunks(
            positions, cell, [True] * 3, r_max, max_elements=budget)]
        assert max(sizes) <= budget and sum(sizes) >= 3 * 12 * 11 // 2


def test_auto_uses_the_neighbour_list_only_where_few_pairs_are_near():
    assert not pairs._neighbour_list_pays(192, torch.eye(3)[None].double() * 12.4, [True] * 3,
                                          6.0)
    assert pairs._neighbour_list_pays(3000, torch.eye(3)[None].double() * 31.0, [True] * 3,
                                      6.0)


LATTICE_RDF = textwrap.dedent("""
    import sys
    import numpy as np
    import torch
    from mlffkit.metrics import radial_distribution

    def status_kb(field):
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field))

    torch.set_num_threads(1)
    spacing, n, r_max = 2.5, 4, float(sys.argv[1])
    grid = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
    positions = spacing * grid[None].astype(float)
    edges = np.linspace(0.05, r_max + 0.05, int(round(r_max / 0.1)) + 1)
    radial_distribution(positions, edges[:5], cell=[spacing * n] * 3)     # warm up
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")                                # peak RSS := current RSS
    before = status_kb("VmRSS:")
    g = radial_distribution(positions, edges, cell=[spacing * n] * 3)
    np.save(sys.argv[2], g)
    print((status_kb("VmHWM:") - before) / 1024)
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc")
def test_rdf_far_beyond_the_cell_stays_in_a_small_memory_budget_and_is_exact(tmp_path):
    """A simple cubic lattice (64 atoms, 10 Å cell) to r_max = 150 Å: 3.4e7 pair-image
    distances, which as one neighbour list would take about 1 GB (ijd) and as one brute-force
    batch several GB. In chunks its peak memory grows by less than 150 MB (27 MB here; 360 MB
    with 16 times larger chunks), and every bin holds
    64 x the lattice vectors of that length, counted here independently."""
    r_max, spacing = 150.0, 2.5
    out = tmp_path / "g.npy"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", LATTICE_RDF, str(r_max), str(out)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    grown_mb = float(run.stdout.split()[-1])
    assert grown_mb < 150, f"peak memory grew by {grown_mb:.0f} MB"

    edges = np.linspace(0.05, r_max + 0.05, int(round(r_max / 0.1)) + 1)
    m = int(r_max / spacing) + 1
    n = np.arange(-m, m + 1)
    squared = (n[:, None, None] ** 2 + n[None, :, None] ** 2 + n[None, None, :] ** 2).ravel()
    lengths = spacing * np.sqrt(squared[squared > 0].astype(float))
    nearest = np.clip(np.searchsorted(edges, lengths), 1, edges.size - 1)
    gap = np.minimum(np.abs(lengths - edges[nearest]), np.abs(lengths - edges[nearest - 1]))
    assert gap.min() > 1e-9                                    # no length lies on an edge
    per_atom = np.histogram(lengths, edges)[0]
    shells = 4 / 3 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    expected = 64 * per_atom * 1000.0 / (64 * 64 * shells)
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-12, atol=0)
