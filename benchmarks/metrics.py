"""Benchmark: RDFs and h(r) over a long water trajectory, mlffkit against ASE and MDAnalysis.

Same frames, same bins, same process, explicit thread counts (``--threads`` sets
OMP_NUM_THREADS, which numpy's BLAS and vesin follow, before either is imported). The water is
the 64-H2O DeePMD-kit example (12.445 Å box, 400 frames, tiled to ``--frames``) when the shared
data mirror sits beside the checkout, otherwise a synthetic 64-H2O box. ASE is slow, so it runs
on the first ``--ase-frames`` frames; every speed is reported per frame, and the ratio is
(their time per frame) / (our time per frame).

    .venv/bin/python benchmarks/metrics.py --frames 1000 --ase-frames 40 --threads 1
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

WATER_DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "deepmd-kit"
              / "examples" / "water" / "data")
PAIRS = [("O", "O"), ("H", "H"), ("O", "H")]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--ase-frames", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--r-max", type=float, default=6.0, help="Å")
    parser.add_argument("--dr", type=float, default=0.02, help="bin width, Å")
    return parser.parse_args(argv)


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:   # before numpy / vesin load their thread pools
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(ARGS.threads)

import numpy as np  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.geometry.rdf import get_rdf  # noqa: E402

from mlffkit.metrics.structure import (interatomic_distance_distribution,  # noqa: E402
                                       radial_distributions, uniform_bin_edges)


def load_water(n_frames: int, seed: int = 0):
    """Positions (F, 192, 3) Å, species, cells (F, 3, 3) Å, and where they came from."""
    if WATER_DATA.is_dir():
        sets = sorted(WATER_DATA.glob("data_*/set.*"))
        system = sets[0].parent
        type_map = (system / "type_map.raw").read_text().split()
        species = [type_map[int(t)] for t in (system / "type.raw").read_text().split()]
        positions = np.concatenate([np.load(s / "coord.npy") for s in sets]).reshape(-1, 192, 3)
        cells = np.concatenate([np.load(s / "box.npy") for s in sets]).reshape(-1, 3, 3)
        source = f"DeePMD-kit water example ({len(positions)} frames, tiled)"
    else:
        positions, species, cells = synthetic_water(400, seed)
        source = "synthetic 64-H2O box (400 frames, tiled)"
    index = np.arange(n_frames) % len(positions)
    return positions[index], species, cells[index], source


def synthetic_water(n_frames: int, seed: int):
    """64 rigid-ish H2O (0.96 Å, 104.5°) on a jittered 4x4x4 grid in a 12.445 Å box."""
    rng = np.random.default_rng(seed)
    box = 12.445
    grid = (np.stack(np.meshgrid(*[np.arange(4)] * 3, indexing="ij"), -1).reshape(-1, 3)
            + 0.5) * box / 4
    half = np.deg2rad(104.5) / 2
    local = 0.96 * np.array([[np.sin(half), np.cos(half), 0], [-np.sin(half), np.cos(half), 0]])
    frames = []
    for _ in range(n_frames):
        rotations = np.linalg.qr(rng.normal(size=(64, 3, 3)))[0]
        oxygens = grid + rng.normal(scale=0.3, size=grid.shape)
        hydrogens = oxygens[:, None] + np.einsum("hk,mjk->mhj", local, rotations)
        frames.append(np.concatenate([oxygens, hydrogens.reshape(-1, 3)]))
    species = ["O"] * 64 + ["H"] * 128
    return np.array(frames), species, np.tile(np.eye(3) * box, (n_frames, 1, 1))


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def ase_rdfs(images, r_max, n_bins):
    return {pair: get_rdf(images, r_max, n_bins, elements=pair, no_dists=True)
            for pair in [None, *PAIRS]}


def mdanalysis_rdfs(positions, species, cells, edges):
    import MDAnalysis as mda
    from MDAnalysis.analysis.rdf import InterRDF
    from MDAnalysis.coordinates.memory import MemoryReader

    universe = mda.Universe.empty(len(species), trajectory=True)
    universe.add_TopologyAttr("types", species)
    lengths = np.linalg.norm(cells, axis=2)
    dimensions = np.hstack([lengths, np.full((len(cells), 3), 90.0)])
    universe.load_new(positions.copy(), format=MemoryReader, dimensions=dimensions)
    groups = {None: universe.atoms, "O": universe.select_atoms("type O"),
              "H": universe.select_atoms("type H")}
    settings = dict(nbins=edges.size - 1, range=(edges[0], edges[-1]))
    result = {None: InterRDF(groups[None], groups[None], exclusion_block=(1, 1),
                             **settings).run().results.rdf}
    for a, b in PAIRS:
        block = (1, 1) if a == b else None
        result[(a, b)] = InterRDF(groups[a], groups[b], exclusion_block=block,
                                  **settings).run().results.rdf
    return result


def fu_et_al_h_of_r(positions, edges):
    """Fu et al.'s recipe (observable.ipynb) in numpy: all N^2 distances of every frame
    (self distances included, below the first edge), one numpy.histogram(density=True)."""
    counts = np.zeros(edges.size - 1)
    for start in range(0, len(positions), 50):
        chunk = positions[start:start + 50]
        distances = np.linalg.norm(chunk[:, :, None] - chunk[:, None], axis=-1)
        counts += np.histogram(distances.ravel(), edges)[0]
    return counts / (counts.sum() * np.diff(edges))


def main(args: argparse.Namespace) -> None:
    positions, species, cells, source = load_water(args.frames)
    edges = uniform_bin_edges(args.r_max, args.dr)
    n_bins, n_ase = edges.size - 1, min(args.ase_frames, args.frames)
    print(f"data: {source}; {args.frames} frames x {positions.shape[1]} atoms; "
          f"bins {args.dr} Å to {args.r_max} Å ({n_bins}); threads {args.threads}; "
          f"{platform.processor() or platform.machine()}, python {sys.version.split()[0]}")

    pairs = [None, *PAIRS]
    warm_up = dict(pairs=pairs, species=species, cell=cells[:2])   # load libraries, fill caches
    radial_distributions(positions[:2], edges, **warm_up)
    mdanalysis_rdfs(positions[:2], species, cells[:2], edges)
    ours, t_ours = timed(radial_distributions, positions, edges, pairs=pairs, species=species,
                         cell=cells, convention="ase")
    images = [Atoms(species, positions=p, cell=c, pbc=True)
              for p, c in zip(positions[:n_ase], cells[:n_ase])]
    theirs_ase, t_ase = timed(ase_rdfs, images, args.r_max, n_bins)
    ours_subset = radial_distributions(positions[:n_ase], edges, pairs=pairs, species=species,
                                       cell=cells[:n_ase], convention="ase")
    ours_mda, t_ours_mda = timed(radial_distributions, positions, edges, pairs=pairs,
                                 species=species, cell=cells, convention="mdanalysis")
    theirs_mda, t_mda = timed(mdanalysis_rdfs, positions, species, cells, edges)
    hr, t_hr = timed(interatomic_distance_distribution, positions, uniform_bin_edges(10.0, 0.02),
                     normalisation="in_range")
    hr_fu, t_hr_fu = timed(fu_et_al_h_of_r, positions, np.linspace(1e-6, 10.0, 501))

    per_frame = {"ours (4 RDFs, one neighbour pass)": t_ours / args.frames,
                 f"ASE get_rdf (4 RDFs, {n_ase} frames)": t_ase / n_ase,
                 "MDAnalysis InterRDF (4 RDFs)": t_mda / args.frames}
    print("\nRDFs total + O-O + H-H + O-H, ms per frame:")
    for name, seconds in per_frame.items():
        print(f"  {name:40s} {1e3 * seconds:9.2f}")
    print(f"  speed-up vs ASE        {t_ase / n_ase / (t_ours / args.frames):8.1f}x")
    print(f"  speed-up vs MDAnalysis {t_mda / t_ours_mda:8.1f}x "
          f"(ours with the 'mdanalysis' convention: {1e3 * t_ours_mda / args.frames:.2f} ms)")
    print("agreement, max |ours - theirs| over bins and pairs:")
    print(f"  vs ASE (convention 'ase', float64)              "
          f"{max(np.abs(ours_subset[p] - theirs_ase[p]).max() for p in pairs):.2e}")
    print(f"  vs MDAnalysis (convention 'mdanalysis', float32) "
          f"{max(np.abs(ours_mda[p] - theirs_mda[p]).max() for p in pairs):.2e}")
    print("\nh(r), 0.02 Å bins to 10 Å, no periodic images, ms per frame:")
    print(f"  ours                               {1e3 * t_hr / args.frames:9.2f}")
    print(f"  Fu et al. recipe (N^2 + histogram) {1e3 * t_hr_fu / args.frames:9.2f}")
    print(f"  speed-up {t_hr_fu / t_hr:.1f}x; max |ours - theirs| "
          f"{np.abs(hr - hr_fu).max():.2e} (their first edge is 1e-6 Å, ours 0)")
    assert ours[None].shape == (n_bins,)


if __name__ == "__main__":
    main(ARGS)
