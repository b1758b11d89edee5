"""Metric calls whose results were stored from the numpy metrics (commit 078d5e4) in
``data/numpy_reference.npz``, so that today's torch-inside metrics are held to the numbers of
the numpy implementation they replaced (``test_torch_paths.py``).

Every case is ``case(to) -> result``: ``to`` turns an array input into what the metric is
given (``numpy.asarray`` for the stored run; ``torch.as_tensor`` on a device in the tests).
Regenerate (only to add cases; the stored numbers are the numpy reference) with
``.venv/bin/python tests/metrics/numpy_reference_cases.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

STORE = Path(__file__).parent / "data" / "numpy_reference.npz"


def molecule_frames(n_frames=30, n_atoms=12, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(scale=1.6, size=(n_atoms, 3))
    return base + rng.normal(scale=0.15, size=(n_frames, n_atoms, 3))


def water_box(n_frames=5, seed=1, box=9.3):
    """24 O + 48 H at random in a cubic box (distances spread over every bin)."""
    rng = np.random.default_rng(seed)
    positions = rng.uniform(0, box, size=(n_frames, 72, 3))
    return positions, ["O"] * 24 + ["H"] * 48, box


def triclinic_frames(n_frames=3, seed=2):
    rng = np.random.default_rng(seed)
    cell = np.array([[8.0, 0, 0], [2.5, 7.5, 0], [-1.5, 1.0, 8.5]])
    scaled = rng.uniform(size=(n_frames, 30, 3))
    return scaled @ cell, ["Li"] * 10 + ["S"] * 20, cell


def npt_cells(n_frames, box, seed=3):
    rng = np.random.default_rng(seed)
    return np.stack([np.diag(box * (1 + 0.03 * rng.normal(size=3))) for _ in range(n_frames)])


RDF_PAIRS = [None, ("O", "O"), ("H", "H"), ("O", "H"), ("H", "O")]
RDF_CONVENTIONS = ["ase", "egraffbench", "mdanalysis", "fu2023"]


def _cases():
    from mlffkit import metrics
    from mlffkit.metrics import stability, structure

    cases = {}
    mol = molecule_frames()
    hr_edges = structure.uniform_bin_edges(10.0, 0.02)
    uneven = np.concatenate([np.linspace(0.5, 2.0, 16), np.linspace(2.2, 5.0, 8)])
    for norm in ("pairs", "in_range"):
        cases[f"hr_default_{norm}"] = lambda to, n=norm: \
            metrics.interatomic_distance_distribution(to(mol), normalisation=n)
        cases[f"hr_short_{norm}"] = lambda to, n=norm: metrics.interatomic_distance_distribution(
            to(mol), structure.uniform_bin_edges(3.0, 0.05, r_min=0.4), normalisation=n)
        cases[f"hr_uneven_{norm}"] = lambda to, n=norm: \
            metrics.interatomic_distance_distribution(to(mol), uneven, normalisation=n)
    cases["hr_explicit_default_edges"] = lambda to: metrics.interatomic_distance_distribution(
        to(mol), hr_edges)

    water, species, box = water_box()
    edges = structure.uniform_bin_edges(4.5, 0.05)
    wide = structure.uniform_bin_edges(12.0, 0.1)        # beyond half the box: images
    cells = npt_cells(len(water), box)
    for convention in RDF_CONVENTIONS:
        for per_frame in (False, True):
            key = f"{convention}_{'frames' if per_frame else 'mean'}"
            cases[f"rdf_{key}"] = lambda to, c=convention, p=per_frame: metrics.radial_distributions(
                to(water), edges, pairs=RDF_PAIRS, species=species, cell=[box] * 3,
                convention=c, per_frame=p)
            cases[f"rdf_images_{key}"] = lambda to, c=convention, p=per_frame: \
                metrics.radial_distributions(to(water[:2]), wide, pairs=RDF_PAIRS,
                                             species=species, cell=[box] * 3, convention=c,
                                             per_frame=p)
            cases[f"rdf_npt_{key}"] = lambda to, c=convention, p=per_frame: \
                metrics.radial_distributions(to(water), edges, pairs=RDF_PAIRS, species=species,
                                             cell=to(cells), convention=c, per_frame=p)
    tri, tri_species, tri_cell = triclinic_frames()
    tri_edges = np.linspace(0.0, 7.0, 71)
    for convention in RDF_CONVENTIONS:
        cases[f"rdf_triclinic_{convention}"] = lambda to, c=convention: \
            metrics.radial_distributions(to(tri), tri_edges, pairs=[None, ("Li", "S"),
                                                                    ("S", "S")],
                                         species=tri_species, cell=to(tri_cell), convention=c)
    cases["rdf_uneven_edges"] = lambda to: metrics.radial_distribution(
        to(water), uneven, pair=("O", "H"), species=species, cell=[box] * 3)
    cases["rdf_one_atom_images"] = lambda to: metrics.radial_distribution(
        to(np.zeros((1, 1, 3))), np.linspace(0.5, 7.0, 14), cell=[2.0, 2.5, 3.0])

    rng = np.random.default_rng(4)
    e_ref = -rng.uniform(100, 200, size=40)
    e_hat = e_ref * rng.uniform(0.9, 1.1, size=40)
    f_ref, f_hat = rng.normal(size=(2, 40, 9, 3))
    cases["ev"] = lambda to: metrics.energy_violation(to(e_hat), to(e_ref))
    cases["fv"] = lambda to: metrics.force_violation(to(f_hat), to(f_ref))
    cases["ev_with_zero"] = lambda to: metrics.energy_violation(to([0.0, 1.0, -2.0]),
                                                                to([0.0, -1.0, -1.5]))
    cases["geometric_mean_fv"] = lambda to: metrics.geometric_mean(
        metrics.force_violation(to(f_hat), to(f_ref)))
    cases["errors"] = lambda to: metrics.energy_force_errors(to(e_hat), to(e_ref), to(f_hat),
                                                             to(f_ref), n_atoms=9)

    walk = np.cumsum(rng.normal(scale=0.3, size=(60, 16, 3)), axis=0)
    walk_species = ["O"] * 6 + ["H"] * 10
    cases["rmsd"] = lambda to: metrics.rmsd(to(mol))
    cases["rmsd_aligned"] = lambda to: metrics.rmsd(to(mol), align=True)
    cases["rmsd_reference"] = lambda to: metrics.rmsd(to(mol), to(mol[5]), align=True)
    cases["msd_all"] = lambda to: metrics.mean_squared_displacement(to(walk))
    cases["msd_first"] = lambda to: metrics.mean_squared_displacement(to(walk),
                                                                      time_origins="first")
    cases["msd_o_drift"] = lambda to: metrics.mean_squared_displacement(
        to(walk), atoms="O", species=walk_species, remove_drift=True)
    cases["msd_indices"] = lambda to: metrics.mean_squared_displacement(
        to(walk), atoms=[1, 4, 7], remove_drift=False)
    cases["diffusivity_slope"] = lambda to: metrics.diffusivity(
        metrics.mean_squared_displacement(to(walk)), 2.0, window_fs=(10, 80))
    cases["diffusivity_end"] = lambda to: metrics.diffusivity(
        metrics.mean_squared_displacement(to(walk)), 2.0, window_fs=(0, 80),
        method="msd_over_6t")
    cases["unwrap"] = lambda to: metrics.unwrap_positions(to(walk % 4.0), cell=[4.0] * 3)

    from ase.build import molecule
    ethanol = molecule("CH3CH2OH")
    shake = ethanol.positions + rng.normal(scale=0.08, size=(50, len(ethanol), 3))
    shake[30:, 0] += np.linspace(0, 1.2, 20)[:, None]
    eth_species = list(ethanol.symbols)
    cases["bonds"] = lambda to: metrics.find_bonds(to(shake[0]), species=eth_species)
    cases["bonds_scaled"] = lambda to: metrics.find_bonds(to(shake[0]), species=eth_species,
                                                          scale=1.25, tolerance_A=0.0)
    cases["bond_deviation"] = lambda to: stability.max_bond_deviation(to(shake),
                                                                      species=eth_species)
    cases["bond_lengths_periodic"] = lambda to: stability.bond_lengths(
        to(walk % 4.0), [[0, 1], [2, 9], [5, 15]], cell=[4.0] * 3)
    cases["bond_stability"] = lambda to: metrics.bond_stability(to(shake), 0.5,
                                                                species=eth_species)
    cases["bond_stability_reference"] = lambda to: metrics.bond_stability(
        to(shake), 0.5, species=eth_species, threshold_A=0.3,
        bonds=metrics.find_bonds(shake[0], species=eth_species),
        reference_lengths=stability.bond_lengths(shake[:10], metrics.find_bonds(
            shake[0], species=eth_species)).mean(axis=0))
    g_ref = metrics.radial_distributions(water[:1], edges, pairs=[None, ("H", "H")],
                                         species=species, cell=[box] * 3)
    drift = water.copy()
    drift[3:] *= 0.8
    cases["rdf_window_stability"] = lambda to: metrics.rdf_window_stability(
        to(drift), g_ref, edges, 100.0, threshold=3.01, window_fs=200.0, species=species,
        cell=[box] * 3)
    return cases


def flatten(result, prefix: str) -> dict[str, np.ndarray]:
    """Every number in a case's result, as float64 arrays keyed ``prefix/...``."""
    from mlffkit.metrics import StabilityResult

    if isinstance(result, dict):
        out = {}
        for key, value in result.items():
            name = "total" if key is None else ("-".join(key) if isinstance(key, tuple)
                                                  else str(key))
            out.update(flatten(value, f"{prefix}/{name}"))
        return out
    if isinstance(result, StabilityResult):
        first = -1 if result.first_unstable_frame is None else result.first_unstable_frame
        return {prefix: np.array([first, result.stable_time_fs, result.n_frames], float)}
    if hasattr(result, "detach"):
        result = result.detach().cpu().numpy()
    return {prefix: np.asarray(result, dtype=float)}


CASES = None


def cases():
    global CASES
    if CASES is None:
        CASES = _cases()
    return CASES


if __name__ == "__main__":
    stored = {}
    for name, case in cases().items():
        stored.update(flatten(case(np.asarray), name))
    STORE.parent.mkdir(exist_ok=True)
    np.savez_compressed(STORE, **stored)
    print(f"{len(stored)} arrays from {len(cases())} cases -> {STORE}")
