"""``openmm-ala2``: alanine dipeptide (Amber ff14SB + GBn2 implicit solvent) under OpenMM's
own well-tempered metadynamics on φ and ψ: the reference free-energy surface of Fu et al.'s
Table 5 on a potential we can also hand to ML models, and their training frames.

Fu et al. train on 50,000 frames of alanine dipeptide in explicit water (forces only) and
compare the φ/ψ free-energy surfaces of ML metadynamics against a GROMACS AMBER03 reference
(the mirrored ``fes.dat``). Neither that trajectory nor its solvent is reachable by an ML model
of the 22 solute atoms, so here the ground truth is a potential of the solute alone: ff14SB
with GBn2 (:class:`mlffkit.calculators.AmberGBn2`), simulated with OpenMM's
``LangevinMiddleIntegrator`` at Fu's settings (300 K, 2 fs without constraints, friction
0.5 in ASE units = 49.1 ps⁻¹) and OpenMM's ``Metadynamics`` with Fu's PLUMED settings read as
kJ/mol (height 1.2 kJ/mol, σ = 0.35 rad, bias factor 6, a hill every 500 steps = 1 ps) for
``time_ps`` (Fu: 5 ns).

Stored: the frames every ``save_fs`` (positions float32, Å; from the *biased* run, so they
cover the φ/ψ plane rather than the Boltzmann distribution of the basins), φ and ψ of every
frame, and OpenMM's free energy on PLUMED's 60 x 60 grid (points ``-pi + 2 pi k / 60``;
kJ/mol, minimum 0). Labels are not stored: :func:`load_frames` recomputes the *unbiased*
ff14SB + GBn2 energies and forces on OpenMM's Reference platform and checks the first frames
against values stored at generation.

The run uses OpenMM's CPU platform (one thread; the Reference platform is about 5x slower for
this force field): repeatable in distribution, not bit for bit. It resumes from
``ala2.partial.npz`` (frames, OpenMM checkpoint and the bias grid, written every
``checkpoint_ps``) on the machine that wrote it.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlffkit.calculators.amber import (PHI, PSI, AmberGBn2, ala2_numbers, ala2_pdb,
                                       ala2_system)
from mlffkit.calculators.openmm_engine import openmm
from mlffkit.data.frames import Frames
from mlffkit.provenance import code_state, machine, utc_now

from .base import Overridable, SetSpec, register_set
from .store import (PARTIAL_SUFFIX, PROVENANCE, file_record, recomputed_labels, write_json,
                    write_npz)

NAME = "openmm-ala2"
MEMBER = "ala2"
CHECK_FRAMES = 3
FES_BINS = 60
#: Fu et al.'s ASE Langevin friction 0.5 (per ASE time unit, 10.18 fs) in 1/ps
FU_FRICTION_PER_PS = 0.5 * 1000 / 10.180505671156723


@dataclass(frozen=True)
class Ala2Config(Overridable):
    temperature_K: float = 300.0
    timestep_fs: float = 2.0
    friction_per_ps: float = FU_FRICTION_PER_PS
    equil_ps: float = 20.0
    time_ps: float = 5000.0
    save_fs: float = 500.0
    height_kJ_mol: float = 1.2
    sigma_rad: float = 0.35
    biasfactor: float = 6.0
    pace: int = 500
    checkpoint_ps: float = 250.0
    seed: int = 0
    platform: str = "CPU"

    def steps(self, fs: float) -> int:
        return max(1, int(round(fs / self.timestep_fs)))

    @property
    def n_frames(self) -> int:
        return int(round(self.time_ps * 1000 / (self.steps(self.save_fs) * self.timestep_fs)))


def torsion_variable(quadruplet, sigma_rad: float):
    """OpenMM's ``BiasVariable`` of one dihedral on a periodic grid of ``FES_BINS + 1`` points
    (OpenMM's periodic grids repeat their first point last), so its points are PLUMED's."""
    mm = openmm()
    from openmm.app.metadynamics import BiasVariable

    force = mm.CustomTorsionForce("theta")
    force.addTorsion(*quadruplet)
    return BiasVariable(force, -math.pi, math.pi, sigma_rad, periodic=True,
                        gridWidth=FES_BINS + 1)


def openmm_metadynamics(config: Ala2Config):
    """OpenMM ``Simulation`` and ``Metadynamics`` of alanine dipeptide under ``config``."""
    mm = openmm()
    from openmm import app
    from openmm.app.metadynamics import Metadynamics

    unit = mm.unit
    system = ala2_system()
    meta = Metadynamics(system, [torsion_variable(PHI, config.sigma_rad),
                                 torsion_variable(PSI, config.sigma_rad)],
                        config.temperature_K * unit.kelvin, config.biasfactor,
                        config.height_kJ_mol * unit.kilojoule_per_mole, config.pace)
    integrator = mm.LangevinMiddleIntegrator(config.temperature_K * unit.kelvin,
                                             config.friction_per_ps / unit.picosecond,
                                             config.timestep_fs * unit.femtosecond)
    integrator.setRandomNumberSeed(config.seed + 1)  # 0 would mean "pick one at random"
    platform = mm.Platform.getPlatformByName(config.platform)
    simulation = app.Simulation(ala2_pdb().topology, system, integrator, platform,
                                {"Threads": "1"} if config.platform == "CPU" else {})
    return simulation, meta


def openmm_free_energy(meta) -> np.ndarray:
    """OpenMM's free energy (kJ/mol, min 0) on the ``FES_BINS`` x ``FES_BINS`` grid, axes
    (φ, ψ) (OpenMM's array has the last variable first and the periodic point repeated)."""
    grid = np.asarray(meta.getFreeEnergy().value_in_unit(
        openmm().unit.kilojoule_per_mole))[:FES_BINS, :FES_BINS].T
    return grid - grid.min()


def _restore_bias(meta, bias: np.ndarray, context) -> None:
    """Put a stored bias grid back into OpenMM's ``Metadynamics`` (its private state: OpenMM
    has no public call for it) and into the context."""
    meta._selfBias[...] = bias
    meta._totalBias[...] = bias
    meta._table.setFunctionParameters(*meta._widths, meta._totalBias.flatten(), *meta._limits)
    meta._force.updateParametersInContext(context)


def generate(config: Ala2Config, folder: Path, resume: bool = True,
             progress: bool = True) -> dict[str, Any]:
    """Run the metadynamics and write ``ala2.npz`` and the provenance into ``folder``."""
    from tqdm.auto import tqdm

    mm = openmm()
    unit = mm.unit
    folder.mkdir(parents=True, exist_ok=True)
    path, partial = folder / f"{MEMBER}.npz", folder / f"{MEMBER}{PARTIAL_SUFFIX}"
    settings_key = json.dumps(asdict(config), sort_keys=True)
    started = time.perf_counter()
    simulation, meta = openmm_metadynamics(config)
    context = simulation.context
    frames: list[np.ndarray] = []
    cvs: list[np.ndarray] = []
    if resume and partial.exists():
        with np.load(partial, allow_pickle=False) as saved:
            if str(saved["settings"]) != settings_key:
                raise ValueError(f"{partial} was written under other settings: delete it or "
                                 "generate with the same settings")
            frames, cvs = list(saved["positions"]), list(saved["cv"])
            context.loadCheckpoint(saved["checkpoint"].tobytes())
            simulation.currentStep = int(saved["step"])
            _restore_bias(meta, saved["bias"], context)
    else:
        simulation.context.setPositions(ala2_pdb().positions)
        mm.LocalEnergyMinimizer.minimize(context)
        context.setVelocitiesToTemperature(config.temperature_K * unit.kelvin, config.seed + 1)
        simulation.step(config.steps(config.equil_ps * 1000))
        simulation.currentStep = 0
    save_every = config.steps(config.save_fs)
    per_checkpoint = max(1, int(round(config.checkpoint_ps * 1000 / config.save_fs)))
    bar = tqdm(total=config.n_frames, initial=len(frames), unit="frame", desc=NAME,
               disable=not progress)
    temperatures = []
    n_dof = 3 * context.getSystem().getNumParticles()
    gas_constant = unit.MOLAR_GAS_CONSTANT_R.value_in_unit(unit.kilojoule_per_mole / unit.kelvin)
    while len(frames) < config.n_frames:
        meta.step(simulation, save_every)
        state = context.getState(getPositions=True, getEnergy=True)
        frames.append(np.asarray(state.getPositions(asNumpy=True).value_in_unit(
            unit.angstrom), dtype=np.float32))
        cvs.append(np.asarray(meta.getCollectiveVariables(simulation), dtype=np.float64))
        kinetic = state.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
        temperatures.append(2 * kinetic / (n_dof * gas_constant))
        bar.update()
        if len(frames) % per_checkpoint == 0 and len(frames) < config.n_frames:
            write_npz(partial, {"positions": np.stack(frames), "cv": np.stack(cvs),
                                "settings": np.array(settings_key),
                                "step": np.array(simulation.currentStep),
                                "bias": meta._totalBias.copy(),
                                "checkpoint": np.frombuffer(context.createCheckpoint(),
                                                            dtype=np.uint8)})
    bar.close()
    positions = np.stack(frames)
    numbers = ala2_numbers()
    check = AmberGBn2("Reference")
    check_energy, check_forces = check.evaluate_frames(positions[:CHECK_FRAMES], numbers,
                                                       np.zeros((3, 3)))
    write_npz(path, {"numbers": numbers.astype(np.int64), "positions": positions,
                     "cv": np.stack(cvs), "free_energy_kJ_mol": openmm_free_energy(meta),
                     "time_fs": (np.arange(1, len(positions) + 1) * save_every
                                 * config.timestep_fs),
                     "check_energy": check_energy, "check_forces": check_forces})
    partial.unlink(missing_ok=True)
    wall = time.perf_counter() - started
    provenance = {
        "schema": 1, "set": NAME, "summary": SUMMARY, "complete": True,
        "created_utc": utc_now(), "finished_utc": utc_now(), **code_state(),
        "command": f"mlffkit data generate {NAME}",
        "engine": {**check.describe(), "md_platform": config.platform},
        "md": {"driver": "openmm.LangevinMiddleIntegrator + openmm.app.Metadynamics "
                         "(well-tempered, phi and psi)",
               "start": "ala2.pdb, LocalEnergyMinimizer, Maxwell-Boltzmann velocities",
               "equilibration": "equil_ps without bias, not stored",
               "collective_variables": {"phi": list(PHI), "psi": list(PSI)}},
        "settings": asdict(config), "seed": config.seed, "environment": machine(),
        "storage": {"positions": "float32, Å, frames of the biased run",
                    "cv": "phi, psi (rad) of each frame",
                    "free_energy_kJ_mol": "OpenMM's well-tempered free energy, (phi, psi) "
                                          "on -pi + 2 pi k / 60, min 0",
                    "labels": "unbiased ff14SB + GBn2, recomputed on load (Reference "
                              "platform, float64), eV and eV/Å"},
        "wall_time_s": round(wall, 1),
        "files": {f"{MEMBER}.npz": file_record(path, positions, numbers, temperatures,
                                               wall)},
    }
    write_json(folder / PROVENANCE, provenance)
    return provenance


def reference_free_energy(folder: Path) -> np.ndarray:
    """OpenMM's stored free energy (kJ/mol), ``(60, 60)`` over (φ, ψ)."""
    with np.load(folder / f"{MEMBER}.npz", allow_pickle=False) as npz:
        return npz["free_energy_kJ_mol"].copy()


def load_frames(folder: Path, member: str = MEMBER) -> Frames:
    """The stored frames with unbiased ff14SB + GBn2 energies (eV) and forces (eV/Å)
    recomputed on the Reference platform; raises ValueError if the first frames disagree with
    the labels stored at generation (another OpenMM or force-field version)."""
    if member != MEMBER:
        raise KeyError(f"{NAME} has one member, {MEMBER!r}; got {member!r}")
    with np.load(folder / f"{MEMBER}.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    positions = arrays["positions"].astype(np.float64)
    energy, forces = recomputed_labels(folder / f"{MEMBER}.npz", arrays,
                                       AmberGBn2("Reference"), np.zeros((3, 3)),
                                       "ff14SB + GBn2")
    n = len(positions)
    interval = float(arrays["time_fs"][1] - arrays["time_fs"][0]) if n > 1 else None
    return Frames(positions=positions, numbers=arrays["numbers"], energy=energy, forces=forces,
                  trajectory=np.zeros(n, np.int64), time=np.arange(n, dtype=np.int64),
                  source=str(folder / f"{MEMBER}.npz"),
                  extras={"phi": arrays["cv"][:, 0], "psi": arrays["cv"][:, 1]},
                  metadata={"frame_interval_fs": interval, "sampling": "well-tempered "
                            "metadynamics on phi, psi (biased)"})


SUMMARY = ("alanine dipeptide, Amber ff14SB + GBn2 (OpenMM), well-tempered metadynamics on "
           "phi/psi: reference FES and biased-run frames; labels recomputed on load")

SPEC = register_set(SetSpec(NAME, SUMMARY, Ala2Config, runner=generate, loader=load_frames))
