"""Benchmark: RDFs and h(r) over a long water trajectory, mlffkit against ASE and MDAnalysis.

Same frames, same bins, same process, explicit thread counts: ``--threads`` sets
OMP_NUM_THREADS (numpy's BLAS, vesin, MDAnalysis) before anything is imported and
``torch.set_num_threads`` (mlffkit's metrics run in torch); the counts in effect are printed.
The water is the 64-H2O DeePMD-kit example (12.445 Å box, 400 frames, tiled to ``--frames``)
when the shared data mirror sits beside the checkout, otherwise a synthetic 64-H2O box. ASE is
slow, so it runs on the first ``--ase-frames`` frames; every speed is per frame, and a ratio is
(their time per frame) / (our time per frame).

Every comparison runs in each of ``--rounds`` rounds, ours and theirs back to back; a ratio is
taken within a round and the median over rounds is reported, with the machine's load average
(``os.getloadavg``) at the start and end of each round, so that a shared machine's drifting
load cancels.

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
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu",
                        help="also time our metrics on this torch device (cuda) against our "
                             "metrics on the CPU, the positions a tensor on that device")
    return parser.parse_args(argv)


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:   # before numpy / vesin load their thread pools
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
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


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}/{five:.2f}/{fifteen:.2f}"


def thread_counts() -> str:
    env = ", ".join(f"{v}={os.environ.get(v, '-')}" for v in
                    ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"))
    return (f"torch intra-op {torch.get_num_threads()}, inter-op "
            f"{torch.get_num_interop_threads()}; {env}")


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    positions, species, cells, source = load_water(args.frames)
    edges = uniform_bin_edges(args.r_max, args.dr)
    hr_edges, fu_edges = uniform_bin_edges(10.0, 0.02), np.linspace(1e-6, 10.0, 501)
    n_bins, n_ase, n = edges.size - 1, min(args.ase_frames, args.frames), args.frames
    print(f"data: {source}; {n} frames x {positions.shape[1]} atoms; RDF bins {args.dr} Å to "
          f"{args.r_max} Å ({n_bins}); h(r) 0.02 Å to 10 Å")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {sys.version.split()[0]}, torch {torch.__version__}, numpy {np.__version__}")
    print(f"threads: {thread_counts()}")

    pairs = [None, *PAIRS]
    rdf = dict(pairs=pairs, species=species)
    radial_distributions(positions[:2], edges, cell=cells[:2], **rdf)   # load libraries
    mdanalysis_rdfs(positions[:2], species, cells[:2], edges)
    interatomic_distance_distribution(positions[:20], hr_edges, normalisation="in_range")
    fu_et_al_h_of_r(positions[:20], fu_edges)
    images = [Atoms(species, positions=p, cell=c, pbc=True)
              for p, c in zip(positions[:n_ase], cells[:n_ase])]
    comparisons = {   # name: (ours, theirs, frames theirs ran on)
        "RDFs vs MDAnalysis InterRDF": (
            lambda: radial_distributions(positions, edges, cell=cells, convention="mdanalysis",
                                         **rdf),
            lambda: mdanalysis_rdfs(positions, species, cells, edges), n),
        "RDFs vs ASE get_rdf": (
            lambda: radial_distributions(positions, edges, cell=cells, convention="ase", **rdf),
            lambda: ase_rdfs(images, args.r_max, n_bins), n_ase),
        "h(r) vs N^2 + numpy.histogram": (
            lambda: interatomic_distance_distribution(positions, hr_edges,
                                                      normalisation="in_range"),
            lambda: fu_et_al_h_of_r(positions, fu_edges), n),
    }
    on_accelerator = torch.device(args.device).type != "cpu"
    if on_accelerator:
        # the same functions on device tensors; .cpu() on the results waits for the device
        on_device = torch.as_tensor(positions, device=args.device)
        device_cells = torch.as_tensor(cells, device=args.device)
        radial_distributions(on_device[:2], edges, cell=device_cells[:2], **rdf)   # warm up
        comparisons[f"RDFs on {args.device} vs CPU"] = (
            lambda: {p: g.cpu() for p, g in radial_distributions(
                on_device, edges, cell=device_cells, convention="mdanalysis", **rdf).items()},
            lambda: radial_distributions(positions, edges, cell=cells, convention="mdanalysis",
                                         **rdf), n)
        comparisons[f"h(r) on {args.device} vs CPU"] = (
            lambda: interatomic_distance_distribution(on_device, hr_edges,
                                                      normalisation="in_range").cpu(),
            lambda: interatomic_distance_distribution(positions, hr_edges,
                                                      normalisation="in_range"), n)
    ms = {name: ([], []) for name in comparisons}
    results = {}
    print(f"\n{'round':>5} {'load before':>16} {'load after':>16}  "
          + "  ".join(f"{name:>30}" for name in comparisons))
    for r in range(args.rounds):
        before, ratios = load(), []
        for name, (ours, theirs, n_theirs) in comparisons.items():
            mine, t_mine = timed(ours)
            other, t_other = timed(theirs)
            results[name] = (mine, other)
            ms[name][0].append(1e3 * t_mine / n)
            ms[name][1].append(1e3 * t_other / n_theirs)
            ratios.append(ms[name][1][-1] / ms[name][0][-1])
        print(f"{r:>5} {before:>16} {load():>16}  " + "  ".join(f"{x:>29.2f}x" for x in ratios))
    print(f"\n{'comparison':32s} {'ours ms/frame':>14} {'theirs ms/frame':>16} "
          f"{'median ratio':>13}  (rounds)")
    for name in comparisons:
        ours_ms, theirs_ms = (np.array(v) for v in ms[name])
        print(f"{name:32s} {np.median(ours_ms):14.3f} {np.median(theirs_ms):16.3f} "
              f"{np.median(theirs_ms / ours_ms):12.2f}x  "
              + " ".join(f"{x:.2f}" for x in theirs_ms / ours_ms))

    print("\nagreement (last round), max |ours - theirs| over bins and pairs:")
    mine, theirs = results["RDFs vs MDAnalysis InterRDF"]
    print(f"  vs MDAnalysis (convention 'mdanalysis', float32) "
          f"{max(np.abs(mine[p] - theirs[p]).max() for p in pairs):.2e}")
    _, theirs = results["RDFs vs ASE get_rdf"]
    subset = radial_distributions(positions[:n_ase], edges, cell=cells[:n_ase], **rdf)
    print(f"  vs ASE (convention 'ase', float64, {n_ase} frames)       "
          f"{max(np.abs(subset[p] - theirs[p]).max() for p in pairs):.2e}")
    mine, theirs = results["h(r) vs N^2 + numpy.histogram"]
    print(f"  h(r) vs the recipe                               {np.abs(mine - theirs).max():.2e}"
          " (their first edge is 1e-6 Å, ours 0)")
    if on_accelerator:
        mine, theirs = results[f"RDFs on {args.device} vs CPU"]
        print(f"  RDFs on {args.device} vs on the CPU                   "
              f"{max(np.abs(mine[p].numpy() - theirs[p]).max() for p in pairs):.2e}")
        mine, theirs = results[f"h(r) on {args.device} vs CPU"]
        print(f"  h(r) on {args.device} vs on the CPU                   "
              f"{np.abs(mine.numpy() - theirs).max():.2e}")
    print(f"threads at the end: {thread_counts()}; load {load()}")


if __name__ == "__main__":
    main(ARGS)
