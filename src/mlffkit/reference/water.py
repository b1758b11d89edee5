"""``openmm-water``: 64 flexible SPC/Fw waters at 300 K (Fu et al.'s water ground truth),
simulated with OpenMM, positions stored, labels recomputed on load.

Fu et al. sample 100,000 frames 10 fs apart from 1 ns of 64 SPC/Fw waters at 300 K and train
on 1k/10k/90k of them. Here: a cubic box at 0.997 g/cm³ (12.42 Å), waters placed on a grid
with seeded random orientations, energy-minimised, Maxwell-Boltzmann velocities, ``equil_ps``
of equilibration, then ``time_ps`` of production with OpenMM's ``LangevinMiddleIntegrator``
(``friction_per_ps``, ``timestep_fs``), a frame every ``save_fs``. The book size (500 ps,
a frame every 100 fs: 5,000 frames) keeps the set within the repository's data budget; the
positions are stored *unwrapped* (molecules whole, no jumps across the box), float32.

Labels are not stored: :func:`load_frames` recomputes energies and forces of every stored
frame with the SPC/Fw calculator on OpenMM's double-precision Reference platform
(:class:`mlffkit.calculators.SPCFw`), and checks the first frames against values stored at
generation (``check_energy``, ``check_forces``), so a different OpenMM or a changed force field
is an error, not silently different labels.

Generation runs on OpenMM's Reference platform (double precision): the same settings give the
same frames bit for bit. (The CPU platform is about three times faster but not repeatable: two
runs differ in the last bits, and molecular chaos makes the trajectories diverge; pass
``platform="CPU"`` for a statistically equivalent set.) It is resumable: every
``checkpoint_ps`` the frames so far and an OpenMM checkpoint (positions, velocities, the
integrator's random state) are written to ``water.partial.npz``; a rerun with the same settings
continues from there, to the same frames as an uninterrupted run (OpenMM checkpoints belong to
the platform and machine that wrote them).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlffkit.calculators.openmm_engine import make_context, openmm
from mlffkit.calculators.spcfw import SPCFw, box_for_density, spcfw_system, water_numbers
from mlffkit.data.frames import Frames
from mlffkit.provenance import code_state, machine, utc_now

from .base import Overridable, SetSpec, register_set
from .store import (PARTIAL_SUFFIX, PROVENANCE, file_record, recomputed_labels, write_json,
                    write_npz)

NAME = "openmm-water"
MEMBER = "water"
CHECK_FRAMES = 3


@dataclass(frozen=True)
class WaterConfig(Overridable):
    n_molecules: int = 64
    density_g_cm3: float = 0.997
    temperature_K: float = 300.0
    timestep_fs: float = 1.0
    friction_per_ps: float = 1.0
    equil_ps: float = 20.0
    time_ps: float = 500.0
    save_fs: float = 100.0
    cutoff_A: float = 6.0
    checkpoint_ps: float = 50.0
    seed: int = 0
    platform: str = "Reference"

    @property
    def box_A(self) -> float:
        return box_for_density(self.n_molecules, self.density_g_cm3)

    @property
    def save_every(self) -> int:
        return max(1, int(round(self.save_fs / self.timestep_fs)))

    @property
    def n_frames(self) -> int:
        return int(round(self.time_ps * 1000 / (self.save_every * self.timestep_fs)))


def initial_positions(c: WaterConfig) -> np.ndarray:
    """Waters on the smallest cubic grid that holds them, each at its equilibrium geometry
    with a seeded random orientation (Å, O H H per molecule)."""
    from mlffkit.calculators.spcfw import SPCFW

    rng = np.random.default_rng(c.seed)
    per_side = int(np.ceil(c.n_molecules ** (1 / 3) - 1e-9))
    spacing = c.box_A / per_side
    grid = (np.indices((per_side,) * 3).reshape(3, -1).T + 0.5) * spacing
    half = np.radians(SPCFW["theta0_deg"]) / 2
    r0 = SPCFW["r0_A"]
    local = np.array([[0, 0, 0], [r0 * np.sin(half), r0 * np.cos(half), 0],
                      [-r0 * np.sin(half), r0 * np.cos(half), 0]])
    out = []
    for centre in grid[: c.n_molecules]:
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        out.append(centre + local @ q.T)
    return np.concatenate(out)


def generate(config: WaterConfig, folder: Path, resume: bool = True,
             progress: bool = True) -> dict[str, Any]:
    """Simulate and write ``water.npz`` and the provenance into ``folder``; returns the
    provenance."""
    from tqdm.auto import tqdm

    mm = openmm()
    unit = mm.unit
    folder.mkdir(parents=True, exist_ok=True)
    path, partial = folder / f"{MEMBER}.npz", folder / f"{MEMBER}{PARTIAL_SUFFIX}"
    settings_key = json.dumps(asdict(config), sort_keys=True)
    started = time.perf_counter()
    system = spcfw_system(config.n_molecules, config.box_A, config.cutoff_A)
    integrator = mm.LangevinMiddleIntegrator(config.temperature_K * unit.kelvin,
                                             config.friction_per_ps / unit.picosecond,
                                             config.timestep_fs * unit.femtosecond)
    integrator.setRandomNumberSeed(config.seed + 1)  # 0 would mean "pick one at random"
    context = make_context(system, integrator, config.platform)
    frames: list[np.ndarray] = []
    if resume and partial.exists():
        with np.load(partial, allow_pickle=False) as saved:
            if str(saved["settings"]) != settings_key:
                raise ValueError(f"{partial} was written under other settings: delete it or "
                                 "generate with the same settings")
            frames = list(saved["positions"])
            context.loadCheckpoint(saved["checkpoint"].tobytes())
    else:
        context.setPositions(initial_positions(config) / 10)
        mm.LocalEnergyMinimizer.minimize(context)
        context.setVelocitiesToTemperature(config.temperature_K * unit.kelvin, config.seed + 1)
        integrator.step(int(round(config.equil_ps * 1000 / config.timestep_fs)))
    per_checkpoint = max(1, int(round(config.checkpoint_ps * 1000 / config.save_fs)))
    bar = tqdm(total=config.n_frames, initial=len(frames), unit="frame", desc=NAME,
               disable=not progress)
    temperatures = []
    n_dof = 3 * system.getNumParticles() - 3  # the integrator keeps the total momentum
    while len(frames) < config.n_frames:
        integrator.step(config.save_every)
        state = context.getState(getPositions=True, getEnergy=True)
        frames.append(np.asarray(state.getPositions(asNumpy=True).value_in_unit(
            unit.angstrom), dtype=np.float32))
        kinetic = state.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
        temperatures.append(2 * kinetic / (n_dof * unit.MOLAR_GAS_CONSTANT_R.value_in_unit(
            unit.kilojoule_per_mole / unit.kelvin)))
        bar.update()
        if len(frames) % per_checkpoint == 0 and len(frames) < config.n_frames:
            write_npz(partial, {"positions": np.stack(frames), "settings": np.array(settings_key),
                                "checkpoint": np.frombuffer(context.createCheckpoint(),
                                                            dtype=np.uint8)})
    bar.close()
    positions = np.stack(frames)
    numbers = water_numbers(config.n_molecules)
    cell = config.box_A * np.eye(3)
    check = SPCFw(cutoff_A=config.cutoff_A)
    check_energy, check_forces = check.evaluate_frames(positions[:CHECK_FRAMES], numbers, cell)
    write_npz(path, {"numbers": numbers.astype(np.int64), "positions": positions,
                     "cell": cell, "time_fs": np.arange(len(positions)) * config.save_every
                     * config.timestep_fs,
                     "check_energy": check_energy, "check_forces": check_forces})
    partial.unlink(missing_ok=True)
    wall = time.perf_counter() - started
    provenance = {
        "schema": 1, "set": NAME, "summary": SUMMARY, "complete": True,
        "created_utc": utc_now(), "finished_utc": utc_now(), **code_state(),
        "command": f"mlffkit data generate {NAME}",
        "engine": {**check.describe(), "md_platform": config.platform},
        "md": {"driver": "openmm.LangevinMiddleIntegrator", "start": "grid of waters, seeded "
               "random orientations, LocalEnergyMinimizer, Maxwell-Boltzmann velocities",
               "equilibration": "equil_ps, not stored"},
        "settings": asdict(config), "box_A": config.box_A, "seed": config.seed,
        "environment": machine(), "storage": {"positions": "float32, Å, unwrapped",
                                              "labels": "recomputed on load (Reference "
                                                        "platform, float64), eV and eV/Å"},
        "wall_time_s": round(wall, 1),
        "files": {f"{MEMBER}.npz": file_record(path, positions, numbers, temperatures,
                                               wall)},
    }
    write_json(folder / PROVENANCE, provenance)
    return provenance


def load_frames(folder: Path, member: str = MEMBER) -> Frames:
    """The stored frames with SPC/Fw energies (eV) and forces (eV/Å) recomputed (Reference
    platform); raises ValueError if the first frames disagree with the labels stored at
    generation (another OpenMM, another force field)."""
    if member != MEMBER:
        raise KeyError(f"{NAME} has one member, {MEMBER!r}; got {member!r}")
    with np.load(folder / f"{MEMBER}.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    positions = arrays["positions"].astype(np.float64)
    cell = arrays["cell"]
    settings = json.loads((folder / PROVENANCE).read_text())["settings"]
    energy, forces = recomputed_labels(folder / f"{MEMBER}.npz", arrays,
                                       SPCFw(cutoff_A=settings["cutoff_A"]), cell, "SPC/Fw")
    n = len(positions)
    interval = float(arrays["time_fs"][1] - arrays["time_fs"][0]) if n > 1 else None
    return Frames(positions=positions, numbers=arrays["numbers"], energy=energy, forces=forces,
                  cell=cell, pbc=(True, True, True), trajectory=np.zeros(n, np.int64),
                  time=np.arange(n, dtype=np.int64), source=str(folder / f"{MEMBER}.npz"),
                  metadata={"frame_interval_fs": interval, "positions": "unwrapped"})


SUMMARY = ("64 flexible SPC/Fw waters at 300 K (OpenMM, Langevin), Fu et al.'s water ground "
           "truth; positions only, labels recomputed on load")

SPEC = register_set(SetSpec(NAME, SUMMARY, WaterConfig, runner=generate, loader=load_frames))
