"""Benchmark: training and MD speed of the mlffkit model presets on MD17 aspirin, and NequIP.

For each config, on real aspirin frames (``egraff/md17/aspirin/test``, 21 atoms, float32):

- train frames/s: one optimiser step = forward + forces (autograd, ``create_graph``) +
  backward + Adam, batch of ``--batch-size`` frames, with mlffkit's own
  ``EnergyForceObjective`` (L1 energy + per-atom L2 force loss). mlffkit builds the radius
  graph inside the model's forward, so it is inside the step; NequIP's neighbour list is a data
  transform, so its batches are built (neighbour list included) before the clock starts, as its
  data loader would.
- MD steps/s: ``mlffkit.md.simulate(..., ensemble="nve", dt_fs=0.5)`` with the config's ASE
  calculator (``mlffkit.md.calculator`` or NequIP's own ``NequIPCalculator``).
- model share / overhead: timers wrapped around the model call inside the calculator (for
  mlffkit: ``Potential.forward`` minus the radius graph it builds; for NequIP:
  ``NequIPCalculator.call_model``), summed over the same MD steps;
  ``overhead = 1 - t_model / t_MD``. The overhead is split into the neighbour list, the rest of
  the calculator (batch construction, conversions, ASE result handling) and everything outside
  the calculator (ASE integrator, ``simulate``'s loop and checks).

The models are untrained, so a long NVE run would let the molecule fly apart and the graph
shrink. MD therefore runs in chunks of at most ``--md-chunk`` steps, each starting from a real
MD17 frame with 300 K Maxwell-Boltzmann velocities; the mean number of edges per MD call is
printed to show that every config sees the same graph size. The calculator is primed on the
starting structure so that a chunk of N steps makes exactly N model calls.

Timing: every config runs in each of ``--rounds`` rounds (order rotated per round), each run
lasting about ``--seconds``; ratios are taken within a round and the median over rounds is
printed, so the machine's load drifts cancel. ``--threads`` sets OMP_NUM_THREADS (before torch
is imported) and ``torch.set_num_threads`` (``mlffkit.runtime.torch_threads``).

NequIP (``pip install -r benchmarks/requirements-nequip.txt``) is built with
``nequip.model.NequIPGNNModel`` at a size chosen to match equiformer_book's parameter count,
under NequIP's own global state (``set_global_state``: float64 default dtype, float32 model),
and timed eagerly in training and MD (its ASE ``NequIPCalculator`` accepts an eager model).
TorchScript compilation is refused by nequip 0.19 on torch >= 2.10; ``--nequip-aoti`` compiles
the same model with AOTInductor (nequip's own ``aot_export_model``, the code path of
``nequip-compile --mode aotinductor --target ase``; ~2 min on this CPU) and adds an MD-only row.
Without nequip installed its rows are skipped with the reason printed.

``--proposed`` adds MD-only rows ``<preset>+fix`` that run the same weights through
:class:`ProposedCalculator` and :func:`dense_radius_graph` below (candidate fixes for the MD
overhead), and prints their speed-up and the largest force difference.

    .venv/bin/python benchmarks/models.py --threads 1
    .venv/bin/python benchmarks/models.py --md17 --nequip-aoti --proposed   # ~6 min
    .venv/bin/python benchmarks/models.py --profile equiformer_book   # cProfile of its MD
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
import warnings

DATASET = "egraff/md17/aspirin/test"
PRESETS = ("equiformer_book", "painn_book", "schnet_book")
REFERENCE = "equiformer_book"
NEQUIP = "nequip"
NEQUIP_AOTI = "nequip_aoti"
# NequIP at equiformer_book's size and irreps (32x0e+16x1o+8x2e, 2 blocks, cutoff 5 Å):
# 2 layers, l_max 2, no odd-parity copies, 40x0e+20x1o+10x2e, radial MLP 1x64 -> 87,844
# parameters (equiformer_book had 87,433 when this was sized; 71,689 since its value tensor
# product took internal weights, as the official model's, in 4c6dfd4).
NEQUIP_CONFIG = dict(num_layers=2, l_max=2, parity=False, num_features=[40, 20, 10],
                     radial_mlp_width=64, radial_mlp_depth=1, r_max=5.0)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="target duration of each timed run (train or MD) per round")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--md-chunk", type=int, default=40,
                        help="MD steps per chunk, each chunk starting from a real frame")
    parser.add_argument("--models", default=",".join(PRESETS),
                        help="comma-separated mlffkit presets")
    parser.add_argument("--md17", action="store_true",
                        help="add equiformer_md17 (paper size; one step per round)")
    parser.add_argument("--no-nequip", action="store_true", help="skip NequIP")
    parser.add_argument("--proposed", action="store_true",
                        help="add MD-only rows '<preset>+fix' with the proposed calculator and "
                             "neighbour-list fast paths (ProposedCalculator, dense_radius_graph)")
    parser.add_argument("--nequip-aoti", action="store_true",
                        help="also AOTInductor-compile the NequIP model for MD (minutes)")
    parser.add_argument("--profile", metavar="CONFIG",
                        help="instead of the benchmark, cProfile CONFIG's MD and print the top")
    parser.add_argument("--profile-steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu",
                        help="torch device of the models, their batches and calculators "
                             "(cuda: scripts/gpu_check.sh)")
    return parser.parse_args(argv)


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:  # before torch / numpy load their thread pools
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.calculators.calculator import Calculator, all_changes  # noqa: E402

import mlffkit.data  # noqa: E402
import mlffkit.models.potential as potential_module  # noqa: E402
from mlffkit.data.atoms import assemble, collate  # noqa: E402
from mlffkit.graph import radius_graph  # noqa: E402
from mlffkit.md import MLFFCalculator, simulate  # noqa: E402
from mlffkit.md import calculator as mlff_calculator  # noqa: E402
from mlffkit.models import build_model  # noqa: E402
from mlffkit.runtime import torch_threads  # noqa: E402
from mlffkit.training.losses import LossWeights, energy_force_loss  # noqa: E402
from mlffkit.training.objectives import EnergyForceObjective  # noqa: E402

DTYPE = torch.float32


@contextlib.contextmanager
def default_dtype(dtype):
    """mlffkit runs under float32, NequIP under its own global float64 default."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


NEQUIP_TYPES = ["H", "C", "O"]


def nequip_kwargs(energies, forces, n_atoms: int, structures, seed: int) -> dict:
    """``NequIPGNNModel`` arguments at :data:`NEQUIP_CONFIG`, its energy shift and scale from
    the training labels (mean energy per atom, force RMS) and its average number of neighbours
    from mlffkit's radius graph of ``structures`` (the statistic ``fit_normalisation`` uses)."""
    shift = float(np.mean(energies)) / n_atoms
    scale = float(np.sqrt(np.mean(np.asarray(forces) ** 2)))
    with default_dtype(DTYPE):
        batch = collate(structures, dtype=DTYPE)
        neighbours = radius_graph(batch, NEQUIP_CONFIG["r_max"])[0].shape[1] / len(batch.pos)
    return dict(seed=seed, model_dtype="float32", type_names=NEQUIP_TYPES,
                avg_num_neighbors=neighbours,
                per_type_energy_shifts={t: shift for t in NEQUIP_TYPES},
                per_type_energy_scales={t: scale for t in NEQUIP_TYPES}, **NEQUIP_CONFIG)


def clock(device: str = "cpu") -> float:
    """perf_counter, after the device's queued work has finished (CUDA runs asynchronously)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


class Timer:
    """Accumulated seconds and calls of a wrapped callable (on ``device``'s clock)."""

    def __init__(self, device: str = "cpu"):
        self.seconds, self.calls, self.active = 0.0, 0, True
        self.device = device

    def reset(self):
        self.seconds, self.calls = 0.0, 0

    def wrap(self, fn, on_result=None):
        def timed(*args, **kwargs):
            if not self.active:
                return fn(*args, **kwargs)
            start = clock(self.device)
            out = fn(*args, **kwargs)
            self.seconds += clock(self.device) - start
            self.calls += 1
            if on_result is not None:
                on_result(out)
            return out
        return timed


# ---------------------------------------------------------------------- configs

class Config:
    """A model with a training step, an ASE calculator and timers inside that calculator."""

    name: str
    params: int
    dtype: torch.dtype
    device: str = "cpu"
    trains: bool = True  # False: MD only (a compiled model, or a "+fix" calculator row)

    def train_step(self, step: int) -> int:
        """One optimiser step; returns the number of frames."""
        raise NotImplementedError

    def reset_timers(self):
        for timer in (self.t_calc, self.t_model, self.t_nl):
            timer.reset()
        self.edges = []

    def model_seconds(self) -> float:
        """Model forward + forces, neighbour list excluded."""
        raise NotImplementedError


# ---------------------------------------------------------------------- proposed fixes
# Measured with --proposed (MD-only rows "<preset>+fix"); candidates for
# src/mlffkit/md/calculator.py and src/mlffkit/graph.py, not used by the plain rows.

class ProposedCalculator(MLFFCalculator):
    """MLFFCalculator with a cheap ``check_state`` and a direct batch for molecules."""

    def check_state(self, atoms, tol=1e-15):
        """ASE's ``compare_atoms`` with exact equality instead of ``np.allclose`` (its
        ``tol`` is 1e-15): the same answer, ~10x cheaper. ASE calls it on every property
        access, 5 times per ``simulate`` step."""
        old = self.atoms
        if old is None or len(old) != len(atoms) or old.arrays.keys() != atoms.arrays.keys():
            return super().check_state(atoms, tol)
        changes = []
        if not np.array_equal(old.cell.array, atoms.cell.array):
            changes.append("cell")
        if not np.array_equal(old.pbc, atoms.pbc):
            changes.append("pbc")
        for key in ("positions", "numbers", "initial_charges", "initial_magmoms"):
            if key in old.arrays and not np.array_equal(old.arrays[key], atoms.arrays[key]):
                changes.append(key)
        return [c for c in changes if c not in self.ignored_changes]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        """Molecules: the batch is assembled directly (numbers and batch index cached)
        instead of ``batch_from_atoms``; periodic structures take the original path."""
        Calculator.calculate(self, atoms, properties, system_changes)  # self.atoms = copy
        if np.any(self.atoms.pbc):
            return super().calculate(None, properties, system_changes)
        numbers = self.atoms.arrays["numbers"]
        key = numbers.tobytes()
        if getattr(self, "_static", (None,))[0] != key:
            self._static = (key, torch.as_tensor(numbers, dtype=torch.long, device=self.device),
                            torch.zeros(len(numbers), dtype=torch.long, device=self.device))
        pos = torch.from_numpy(self.atoms.arrays["positions"]).to(self.device, self.dtype)
        batch = assemble(pos, self._static[1], self._static[2], 1)
        out = self.potential(batch, forces=True, stress=False, create_graph=False)
        energy = out["energy"].item()
        self.results = {"energy": energy, "free_energy": energy,
                        "forces": out["forces"].detach().cpu().numpy().astype(np.float64)}


def dense_radius_graph(batch, cutoff: float, fallback=radius_graph):
    """One small molecule: all pairs by a dense distance matrix (the same edges in the same
    order as vesin's, without its per-structure bookkeeping); anything else: ``fallback``."""
    pos = batch.pos
    if batch.n_structures != 1 or batch.cell is not None or pos.shape[0] > 256:
        return fallback(batch, cutoff)
    points = pos.detach()
    d2 = (points[:, None, :] - points[None, :, :]).square().sum(-1)
    d2.fill_diagonal_(float("inf"))
    target, source = torch.nonzero(d2 < cutoff * cutoff, as_tuple=True)
    return torch.stack([source, target]), pos[source] - pos[target]


class MlffkitConfig(Config):
    def __init__(self, name: str, frames, structures, batch_size: int, seed: int,
                 proposed: bool = False, device: str = "cpu"):
        self.name, self.dtype = name + ("+fix" if proposed else ""), DTYPE
        self.device = device
        self.base, self.proposed, self.trains = name, proposed, not proposed
        with default_dtype(DTYPE):
            torch.manual_seed(seed)
            self.model = build_model(name).to(DTYPE)
            energies = frames.energy
            numbers = [frames.numbers] * len(energies)
            self.batches = [collate(structures[i:i + batch_size], dtype=DTYPE)
                            for i in range(0, batch_size * 4, batch_size)]
            self.model.fit_normalisation(energies, numbers, frames.forces,
                                         batches=self.batches[:1])
            self.md_model = build_model(name).to(DTYPE)
            self.md_model.load_state_dict(self.model.state_dict())
            self.model.to(device)
            self.md_model.to(device)
            self.batches = [b.to(device) for b in self.batches]
        self.params = sum(p.numel() for p in self.model.parameters())
        self.objective = EnergyForceObjective()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-4)
        self.calc = (ProposedCalculator(self.md_model, dtype=DTYPE, device=device) if proposed
                     else mlff_calculator(self.md_model, dtype=DTYPE, device=device))
        self.t_calc, self.t_model, self.t_nl = Timer(device), Timer(device), Timer(device)
        self.edges = []
        self.calc.calculate = self.t_calc.wrap(self.calc.calculate)
        self.calc.potential.forward = self.t_model.wrap(self.calc.potential.forward)

    def train_step(self, step: int) -> int:
        with default_dtype(DTYPE):
            self.model.train()
            sample = self.batches[step % len(self.batches)]
            out = self.objective(self.model, sample, step)
            self.optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            self.optimizer.step()
        return sample.n_structures

    @contextlib.contextmanager
    def md_context(self):
        """Time mlffkit's radius graph (called from Potential._features) during MD."""
        original = potential_module.radius_graph
        graph_fn = dense_radius_graph if self.proposed else original
        potential_module.radius_graph = self.t_nl.wrap(
            graph_fn, on_result=lambda out: self.edges.append(out[0].shape[1]))
        try:
            with default_dtype(DTYPE):
                yield
        finally:
            potential_module.radius_graph = original

    def model_seconds(self) -> float:
        return self.t_model.seconds - self.t_nl.seconds


class NequIPConfig(Config):
    """NequIP 0.19 built from a config dict (no training data needed), eager mode."""

    def __init__(self, frames, structures, batch_size: int, seed: int, aoti: bool = False,
                 name: str = "nequip", device: str = "cpu"):
        from nequip.data import AtomicDataDict, from_ase
        from nequip.integrations.ase import NequIPCalculator
        from nequip.integrations.utils import basic_transforms
        from nequip.model import NequIPGNNModel
        from nequip.utils.global_state import set_global_state

        set_global_state()  # seeds, and torch's default dtype -> float64 (NequIP's convention)
        self.global_dtype = torch.get_default_dtype()
        torch.set_default_dtype(DTYPE)  # mlffkit's sections set their own anyway
        self.name, self.dtype, self.keys, self.trains = name, DTYPE, AtomicDataDict, not aoti
        self.device = device
        if aoti and torch.device(device).type != "cpu":
            raise SystemExit("--nequip-aoti compiles for the CPU only")
        self.type_names = NEQUIP_TYPES
        symbols = {1: "H", 6: "C", 8: "O"}
        numbers = np.asarray(frames.numbers)
        kwargs = nequip_kwargs(frames.energy, frames.forces, len(numbers),
                               structures[:batch_size], seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with default_dtype(self.global_dtype):
                self.model = NequIPGNNModel(**kwargs)
                self.md_model = NequIPGNNModel(**kwargs).eval()  # same seed, same weights
        self.model.to(device)
        self.params = sum(p.numel() for p in self.model.parameters())
        self.transforms = basic_transforms(self.model.metadata, NEQUIP_CONFIG["r_max"],
                                           self.type_names, {t: t for t in self.type_names})
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-4)
        # training batches: built (neighbour lists included) before timing, like a data loader
        self.batches = []
        with default_dtype(self.global_dtype):
            for start in range(0, batch_size * 4, batch_size):
                items = []
                chunk = structures[start:start + batch_size]
                for s in chunk:
                    data = from_ase(Atoms(numbers=s.numbers.numpy(), positions=s.pos.numpy()))
                    for t in self.transforms:
                        data = t(data)
                    items.append(data)
                batch = {k: v.to(device) if torch.is_tensor(v) else v
                         for k, v in AtomicDataDict.batched_from_list(items).items()}
                energy = torch.tensor([float(s.energy) for s in chunk], dtype=DTYPE,
                                      device=device)
                forces = torch.cat([s.forces for s in chunk]).to(device, DTYPE)
                self.batches.append((batch, energy, forces))
        self.weights = LossWeights()
        self.symbols = [symbols[int(z)] for z in numbers]
        self.t_calc, self.t_model, self.t_nl = Timer(device), Timer(device), Timer(device)
        self.edges = []
        self.compile_note = "eager (uncompiled) model"
        model_for_md = self.md_model
        if aoti:
            model_for_md = self._aoti(frames)
        self.calc = NequIPCalculator(model_for_md, device=device, transforms=self.transforms)
        self.calc.calculate = self.t_calc.wrap(self.calc.calculate)
        self.calc.call_model = self.t_model.wrap(self.calc.call_model)
        nl = [i for i, t in enumerate(self.calc.transforms) if type(t).__name__ ==
              "NeighborListTransform"][0]
        self.nl_backend = self.calc.transforms[nl].backend
        self.calc.transforms[nl] = self.t_nl.wrap(
            self.calc.transforms[nl],
            on_result=lambda d: self.edges.append(d[AtomicDataDict.EDGE_INDEX_KEY].shape[1]))

    def _aoti(self, frames):
        """AOTInductor-compile md_model for the ASE target, as ``nequip-compile`` does."""
        import tempfile

        from nequip.data import from_ase
        from nequip.model.inference_models import load_compiled_model
        from nequip.scripts._compile_utils import COMPILE_TARGET_DICT
        from nequip.utils.aot import aot_export_model
        from nequip.utils.aoti_metadata import (NEQUIP_AOTI_INPUTS_KEY,
                                                NEQUIP_AOTI_OUTPUTS_KEY, serialize_aoti_keys)
        from nequip.utils.global_state import get_latest_global_state

        target = COMPILE_TARGET_DICT["ase"]
        with default_dtype(self.global_dtype):
            # a box (pbc False) so that the compile check's stress is finite, not 0/0
            data = from_ase(Atoms(numbers=frames.numbers, positions=frames.positions[0],
                                  cell=np.eye(3) * 30.0, pbc=False))
            for t in self.transforms:
                data = t(data)
            data = target["data_settings"](data)
            dim = torch.export.dynamic_shapes.Dim
            batch_map = target["batch_map_settings"](
                {"graph": dim("num_frames", min=2, max=torch.inf),
                 "node": dim("num_nodes", min=2, max=torch.inf),
                 "edge": dim("num_edges", min=2, max=torch.inf)})
            metadata = {**self.md_model.metadata,
                        **get_latest_global_state(only_metadata_related=True)}
            metadata = {k: str(int(v)) if isinstance(v, bool) else str(v)
                        for k, v in metadata.items()}
            metadata[NEQUIP_AOTI_INPUTS_KEY] = serialize_aoti_keys(target["input"])
            metadata[NEQUIP_AOTI_OUTPUTS_KEY] = serialize_aoti_keys(target["output"])
            path = os.path.join(tempfile.mkdtemp(prefix="nequip-aoti-"), "model.nequip.pt2")
            start = time.perf_counter()
            aot_export_model(model=self.md_model, device="cpu", input_fields=target["input"],
                             output_fields=target["output"], data=data, batch_map=batch_map,
                             output_path=path,
                             inductor_configs={"aot_inductor.metadata": metadata}, seed=1)
            model, _ = load_compiled_model(path, "cpu", list(target["input"]),
                                           list(target["output"]))
        self.compile_note = f"AOTInductor-compiled ({time.perf_counter() - start:.0f} s)"
        return model

    def train_step(self, step: int) -> int:
        keys = self.keys
        with default_dtype(self.global_dtype):
            self.model.train()
            batch, energy, forces = self.batches[step % len(self.batches)]
            out = self.model(batch)
            prediction = {"energy": out[keys.TOTAL_ENERGY_KEY].reshape(-1).to(DTYPE),
                          "forces": out[keys.FORCE_KEY].to(DTYPE)}
            loss, _ = energy_force_loss(prediction, energy, forces, self.weights)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        return int(energy.shape[0])

    @contextlib.contextmanager
    def md_context(self):
        with default_dtype(self.global_dtype):
            yield

    def model_seconds(self) -> float:
        return self.t_model.seconds


# ---------------------------------------------------------------------- timing

def time_training(config: Config, seconds: float, min_steps: int, step0: int) -> float:
    """Frames per second over at least ``min_steps`` steps lasting about ``seconds``."""
    frames, steps, start = 0, 0, clock(config.device)
    while steps < min_steps or clock(config.device) - start < seconds:
        frames += config.train_step(step0 + steps)
        steps += 1
    return frames / (clock(config.device) - start)


def md_starts(frames, n: int) -> list[Atoms]:
    """n starting structures spread over the test frames."""
    idx = np.linspace(0, len(frames.positions) - 1, n).astype(int)
    return [Atoms(numbers=frames.numbers, positions=frames.positions[k]) for k in idx]


def run_md(config: Config, starts: list[Atoms], chunk: int, seconds: float, seed: int,
           first: int = 0, min_chunks: int = 1) -> dict:
    """MD chunks from ``starts`` until about ``seconds``; timings summed over chunks."""
    config.reset_timers()
    wall, steps, calls, k = 0.0, 0, 0, 0
    with config.md_context():
        while k < min_chunks or wall < seconds:
            atoms = starts[(first + k) % len(starts)]
            primed = atoms.copy()
            config.t_calc.active = config.t_model.active = config.t_nl.active = False
            primed.calc = config.calc
            primed.get_forces()  # cache: the chunk's first step reuses these forces
            config.t_calc.active = config.t_model.active = config.t_nl.active = True
            result = simulate(atoms, config.calc, ensemble="nve", dt_fs=0.5, steps=chunk,
                              T_K=300.0, seed=seed + k, progress=False)
            if result.stop is not None:
                raise RuntimeError(f"{config.name}: MD stopped: {result.stop}")
            wall += result.wall_time_s
            steps += result.steps_completed
            k += 1
    calls = config.t_model.calls
    if calls != steps:
        raise RuntimeError(f"{config.name}: {calls} model calls for {steps} MD steps")
    return {
        "steps_per_s": steps / wall,
        "model": config.model_seconds() / wall,
        "nl": config.t_nl.seconds / wall,
        "calc_other": (config.t_calc.seconds - config.model_seconds() - config.t_nl.seconds)
        / wall,
        "outside": (wall - config.t_calc.seconds) / wall,
        "edges": float(np.mean(config.edges)) if config.edges else float("nan"),
        "ms_per_step": 1e3 * wall / steps,
        "model_ms": 1e3 * config.model_seconds() / steps,
        "other_ms": 1e3 * (wall - config.model_seconds()) / steps,
    }


def median(values):
    values = [v for v in values if v == v]  # NaN: not measured
    return statistics.median(values) if values else float("nan")


def fmt_ratio(x: float) -> str:
    return "-" if x != x else f"{x:.2f}x"


def fmt_rate(x: float) -> str:
    return "-" if x != x else f"{x:.2f}"


# ---------------------------------------------------------------------- main

def nequip_status() -> tuple[bool, str]:
    try:
        import nequip  # noqa: F401
        from nequip import __version__
    except Exception as error:  # ImportError, or a broken install
        return False, (f"NequIP skipped: `import nequip` failed ({type(error).__name__}: "
                       f"{error}); install with `.venv/bin/pip install -r "
                       "benchmarks/requirements-nequip.txt`")
    return True, f"nequip {__version__}"


def build_configs(args, frames, structures) -> tuple[list[Config], list[str]]:
    notes = []
    names = [n for n in args.models.split(",") if n]
    if args.md17 and "equiformer_md17" not in names:
        names.append("equiformer_md17")
    configs: list[Config] = []
    for n in names:  # a "+fix" row right after its base, so that they run back to back
        configs.append(MlffkitConfig(n, frames, structures, args.batch_size, args.seed,
                                     device=args.device))
        if args.proposed and n != "equiformer_md17":
            configs.append(MlffkitConfig(n, frames, structures, args.batch_size, args.seed,
                                         proposed=True, device=args.device))
    if args.profile is None or args.profile == NEQUIP:
        if args.no_nequip:
            notes.append("NequIP skipped (--no-nequip)")
        else:
            ok, message = nequip_status()
            if ok:
                configs.append(NequIPConfig(frames, structures, args.batch_size, args.seed,
                                            device=args.device))
                notes.append(f"NequIP: {message}, NequIPGNNModel({NEQUIP_CONFIG}), eager "
                             "(uncompiled) model in training and MD, ASE NequIPCalculator with "
                             f"the '{configs[-1].nl_backend}' neighbour list")
                if args.nequip_aoti:
                    configs.append(NequIPConfig(frames, structures, args.batch_size, args.seed,
                                                aoti=True, name=NEQUIP_AOTI, device=args.device))
                    notes.append(f"{NEQUIP_AOTI}: the same model {configs[-1].compile_note} "
                                 "for ASE (nequip-compile --mode aotinductor --target ase), "
                                 "loaded with nequip's load_compiled_model; MD only")
            else:
                notes.append(message)
    return configs, notes


def profile(args, configs, starts):
    import cProfile
    import pstats

    config = next((c for c in configs if c.name == args.profile), None)
    if config is None:
        sys.exit(f"--profile {args.profile}: not among {[c.name for c in configs]}")
    run_md(config, starts, args.md_chunk, 0.5, args.seed)  # warm-up
    profiler = cProfile.Profile()
    chunks = max(1, args.profile_steps // args.md_chunk)
    profiler.enable()
    stats = run_md(config, starts, args.md_chunk, 0.0, args.seed, min_chunks=chunks)
    profiler.disable()
    print(f"{config.name}: {stats['ms_per_step']:.2f} ms/step under cProfile "
          f"(model {stats['model']:.1%}, neighbour list {stats['nl']:.1%}, calculator other "
          f"{stats['calc_other']:.1%}, outside calculator {stats['outside']:.1%})")
    for key in ("tottime", "cumulative"):
        print(f"\n--- top 30 by {key} ---")
        pstats.Stats(profiler).sort_stats(key).print_stats(30)


def main(args):
    load_start = os.getloadavg()
    frames = mlffkit.data.load(DATASET)
    structures = frames.to_data_list()
    configs, notes = build_configs(args, frames, structures)
    starts = md_starts(frames, 16)
    if args.profile:
        return profile(args, configs, starts)

    started = time.perf_counter()
    # warm-up (and the per-config minimums: the paper-size model gets one step per round)
    for config in configs:
        for k in range(2 if config.trains else 0):
            config.train_step(k)
        run_md(config, starts, min(args.md_chunk, 5), 0.0, args.seed)
    slow = {"equiformer_md17"}
    train, md = {c.name: [] for c in configs}, {c.name: [] for c in configs}
    for r in range(args.rounds):
        order = configs[r % len(configs):] + configs[:r % len(configs)]
        for config in order:
            seconds = 0.0 if config.name in slow else args.seconds
            train[config.name].append(time_training(config, seconds, 1, 100 * r)
                                      if config.trains else float("nan"))
            chunk = 3 if config.name in slow else args.md_chunk
            md[config.name].append(run_md(config, starts, chunk, seconds, args.seed,
                                          first=r))
    elapsed = time.perf_counter() - started

    # ---------------------------------------------------------------- report
    names = [c.name for c in configs]
    has_nequip = NEQUIP in names

    def ratio(name, ref, table, key=None):
        if ref not in names:
            return float("nan")
        get = (lambda row: row) if key is None else (lambda row: row[key])
        return median([get(a) / get(b) for a, b in zip(table[name], table[ref])])

    print(f"MD17 aspirin ({DATASET}, 21 atoms), float32 on {args.device}, batch "
          f"{args.batch_size}, {args.threads} thread(s), {args.rounds} rounds x "
          f"~{args.seconds:g} s per run, "
          f"NVE dt 0.5 fs in chunks of {args.md_chunk} steps from real frames")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {load_start[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end; "
          f"torch {torch.__version__}; python {platform.python_version()}")
    for note in notes:
        print(note)
    print()
    header = (f"{'config':<19} {'params':>9} {'train fr/s':>10} {'MD steps/s':>10} "
              f"{'model share':>11} {'overhead':>8} | {'train/eqf':>9} {'MD/eqf':>7}")
    if has_nequip:
        header += f" | {'train/nqp':>9} {'MD/nqp':>7}"
    print(header)
    print("-" * len(header))
    for config in configs:
        n = config.name
        rows = md[n]
        share = median([row["model"] for row in rows])
        line = (f"{n:<19} {config.params:>9,d} {fmt_rate(median(train[n])):>10} "
                f"{median([row['steps_per_s'] for row in rows]):>10.2f} {share:>11.1%} "
                f"{1 - share:>8.1%} | {fmt_ratio(ratio(n, REFERENCE, train)):>9} "
                f"{fmt_ratio(ratio(n, REFERENCE, md, 'steps_per_s')):>7}")
        if has_nequip:
            line += (f" | {fmt_ratio(ratio(n, NEQUIP, train)):>9} "
                     f"{fmt_ratio(ratio(n, NEQUIP, md, 'steps_per_s')):>7}")
        print(line)
    print()
    print("MD step breakdown (median over rounds, share of the MD wall time):")
    print(f"{'config':<19} {'ms/step':>8} {'model':>7} {'nbr list':>8} {'calc other':>10} "
          f"{'ASE+loop':>8} {'edges/call':>10}")
    for config in configs:
        rows = md[config.name]
        print(f"{config.name:<19} {median([r['ms_per_step'] for r in rows]):>8.2f} "
              f"{median([r['model'] for r in rows]):>7.1%} "
              f"{median([r['nl'] for r in rows]):>8.1%} "
              f"{median([r['calc_other'] for r in rows]):>10.1%} "
              f"{median([r['outside'] for r in rows]):>8.1%} "
              f"{median([r['edges'] for r in rows]):>10.1f}")
    print("model: forward + forces (mlffkit: Potential.forward minus its radius graph; NequIP: "
          "NequIPCalculator.call_model); nbr list: mlffkit.graph.radius_graph (vesin) / "
          "NequIP's NeighborListTransform; calc other: the rest of calculate() (batch_from_atoms"
          " / from_ase, conversions, results); ASE+loop: integrator, ASE property cache checks,"
          " simulate's loop. overhead = 1 - model share. Ratios (eqf: equiformer_book, nqp: "
          "eager nequip): median over rounds of this config's rate / the reference's rate in "
          "the same round.")
    if REFERENCE in names:
        share = median([row["model"] for row in md[REFERENCE]])
        verdict = "PASS" if 1 - share < 0.15 else "FAIL"
        print(f"acceptance: {REFERENCE} MD overhead {1 - share:.1%} (< 15%: {verdict})")
    fixed = [c for c in configs if getattr(c, "proposed", False)]
    if fixed:
        print("proposed fixes (ProposedCalculator + dense_radius_graph): time outside the model "
              "per MD step (median over rounds), and the MD speed-up it gives at the current "
              "model time; measured: paired ratio of MD steps/s (noisier: the model's own time "
              "drifts with the machine's load)")
        for c in fixed:
            base_other = median([r["other_ms"] for r in md[c.base]])
            fix_other = median([r["other_ms"] for r in md[c.name]])
            model_ms = median([r["model_ms"] for r in md[c.base]])
            print(f"  {c.base:<16} outside the model {base_other:.2f} -> {fix_other:.2f} ms/step"
                  f", speed-up {(model_ms + base_other) / (model_ms + fix_other):.2f}x at "
                  f"{model_ms:.2f} ms model time (measured "
                  f"{ratio(c.name, c.base, md, 'steps_per_s'):.2f}x)")
        # numerical check: the same forces
        for c in fixed:
            base = next(b for b in configs if b.name == c.base)
            a1, a2 = starts[1].copy(), starts[1].copy()
            with base.md_context():
                a1.calc = base.calc
                f1 = a1.get_forces()
            with c.md_context():
                a2.calc = c.calc
                f2 = a2.get_forces()
            print(f"  {c.name}: max |F_fix - F_current| = {np.abs(f1 - f2).max():.2e} eV/Å")
    print(f"benchmark time {elapsed:.0f} s")


if __name__ == "__main__":
    with torch_threads(ARGS.threads):  # torch.set_num_threads, restored on exit
        main(ARGS)
