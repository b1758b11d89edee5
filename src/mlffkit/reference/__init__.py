"""Reference-data generators: GFN2-xTB (tblite) Langevin MD with ASE, and SPC/Fw water in
OpenMM, written with provenance.

A layer above ``data`` and ``calculators``, which it uses (``data`` never imports it).

Sets (``SETS``): ``xtb-md17``, ``xtb-iso17``, ``xtb-shifts``, and ``openmm-water`` (SPC/Fw
water in OpenMM, :mod:`.water`); the data folder's README documents their files and keys.

>>> generate("xtb-md17")                           # doctest: +SKIP
>>> generate("xtb-md17", molecules=["ethanol"], n_frames=100, out_dir="/tmp/gen")  # +SKIP
>>> verify("xtb-md17")                             # doctest: +SKIP

:func:`generate` is resumable: a finished member whose file still matches its recorded
checksum and inputs is skipped, an unfinished one continues from its ``.partial.npz``
checkpoint, bit for bit. It runs on one core: set ``OMP_NUM_THREADS`` before the process
starts (it is set to 1 here if unset, which only takes effect if tblite is not loaded yet).
"""

from __future__ import annotations

import os
import shlex
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from mlffkit.data.frames import Frames
from mlffkit.files import sha256_of
from mlffkit.metrics import kinetic_temperature
from mlffkit.provenance import code_state, machine, utc_now

from . import ala2, iso17, md17, shifts, water
from .base import SETS, MDConfig, Member, SetSpec
from .md import (REMOVED_DOF, checkpoint_run_hash, connectivity_changes, run_hash,
                 run_langevin)
from .store import (PARTIAL_SUFFIX, PROVENANCE, VerifyError, default_root,
                    read_provenance, verify_dir, write_json, write_npz)

__all__ = ["SETS", "generate", "verify", "load", "load_frames", "checksums", "members", "set_dir",
           "VerifyError"]

SCHEMA = 1


def spec(name: str) -> SetSpec:
    return SETS[name]


def set_dir(name: str, out_dir: Path | str | None = None) -> Path:
    """The folder of set ``name`` under ``out_dir`` (default: :func:`store.default_root`)."""
    spec(name)
    return Path(out_dir or default_root()) / name


def command(name: str, overrides: dict[str, Any]) -> str:
    sets = "".join(f" --set {shlex.quote(f'{k}={v!r}')}" for k, v in sorted(overrides.items()))
    return f"mlffkit data generate {name}{sets}"


def generate(name: str, out_dir: Path | str | None = None, resume: bool = True,
             progress: bool = True, **overrides: Any) -> Path:
    """Generate (or finish) set ``name`` under ``out_dir``/``name``; returns that folder.

    ``overrides`` replace the set's settings (e.g. ``n_frames=100``, ``molecules=["ethanol"]``;
    unknown names raise ``TypeError``). ``resume=False`` discards checkpoints and finished
    members and starts over.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    the_spec = spec(name)
    config = the_spec.config_type.with_overrides(**overrides)
    folder = set_dir(name, out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if the_spec.runner is not None:
        the_spec.runner(config, folder, resume=resume, progress=progress)
        return folder
    old = (read_provenance(folder) or {}) if resume else {}
    old_files = old.get("files", {})
    members = the_spec.members(config)
    prov = _provenance_head(name, the_spec, config, overrides)
    for member in members:
        rel = f"{member.key}.npz"
        entry = _finished(folder, rel, member, config, old_files.get(rel))
        if entry is None:
            entry = _run_member(folder, rel, member, config, resume, progress)
        prov["files"][rel] = entry
        for total in ("wall_time_s", "cpu_time_s"):
            prov[total] = round(sum(e.get(total, 0) for e in prov["files"].values()), 1)
        write_json(folder / PROVENANCE, prov)
    if the_spec.extra_files is not None:
        for rel in the_spec.extra_files(config, members, folder):
            path = folder / rel
            prov["files"][rel] = {"sha256": sha256_of(path), "bytes": path.stat().st_size}
    prov["complete"] = True
    prov["finished_utc"] = utc_now()
    write_json(folder / PROVENANCE, prov)
    return folder


def verify(name: str, out_dir: Path | str | None = None,
           raise_on_error: bool = True) -> dict[str, str]:
    """Check every file of set ``name`` against the sha256 in its provenance; returns each
    file's status and raises :class:`VerifyError` on a missing, changed or unlisted file."""
    return verify_dir(set_dir(name, out_dir), raise_on_error=raise_on_error)


def members(name: str, out_dir: Path | str | None = None) -> list[str]:
    """The member keys of a generated set, from its provenance (``aspirin``,
    ``train/00_C2H6O``, ...)."""
    prov = read_provenance(set_dir(name, out_dir))
    if prov is None:
        raise FileNotFoundError(f"set {name} has no {PROVENANCE}; generate it first")
    return [rel[: -len(".npz")] for rel in prov["files"] if rel.endswith(".npz")]


def load(name: str, member: str, out_dir: Path | str | None = None) -> dict[str, np.ndarray]:
    """All arrays of one member as a dict (strings as ``str``)."""
    with np.load(set_dir(name, out_dir) / f"{member}.npz", allow_pickle=False) as npz:
        return {k: (str(npz[k]) if npz[k].dtype.kind == "U" else npz[k]) for k in npz.files}


def load_frames(name: str, member: str, out_dir: Path | str | None = None) -> Frames:
    """One member as :class:`~mlffkit.data.Frames` (float64, eV, Å), ``time`` = frame index
    (consecutive frames: one stored frame per ``stride`` MD steps), ``trajectory`` = 0, the
    time step between frames in ``metadata["frame_interval_fs"]``. A set with its own loader
    (``openmm-water``: labels recomputed on load) is read by it."""
    loader = spec(name).loader
    if loader is not None:
        return loader(set_dir(name, out_dir), member)
    arrays = load(name, member, out_dir)
    n = len(arrays["energy"])
    interval = float(arrays["time_fs"][1] - arrays["time_fs"][0]) if n > 1 else None
    return Frames(positions=arrays["positions"].astype(np.float64), numbers=arrays["numbers"],
                  energy=arrays["energy"].astype(np.float64),
                  forces=arrays["forces"].astype(np.float64),
                  trajectory=np.zeros(n, np.int64), time=np.arange(n, dtype=np.int64),
                  source=str(set_dir(name, out_dir) / f"{member}.npz"),
                  metadata={"frame_interval_fs": interval,
                            **({"smiles": arrays["smiles"]} if "smiles" in arrays else {})})


def checksums(name: str, members_: list[str] | None = None,
              out_dir: Path | str | None = None) -> dict[str, str]:
    """{``<set>/<member>.npz``: sha256} from the set's provenance (for result-store keys)."""
    prov = read_provenance(set_dir(name, out_dir))
    if prov is None:
        raise FileNotFoundError(f"set {name} has no {PROVENANCE}; generate it first")
    wanted = None if members_ is None else {f"{m}.npz" for m in members_}
    return {f"{name}/{rel}": entry["sha256"] for rel, entry in prov["files"].items()
            if rel.endswith(".npz") and (wanted is None or rel in wanted)}


def _provenance_head(name: str, the_spec: SetSpec, config: MDConfig,
                     overrides: dict[str, Any]) -> dict[str, Any]:
    import ase

    from .molecules import rdkit_version

    calc = config.calculator()
    return {
        "schema": SCHEMA, "set": name, "summary": the_spec.summary, "complete": False,
        "created_utc": utc_now(), **code_state(),
        "command": command(name, overrides),
        "python_call": f"mlffkit.reference.generate({name!r}, **{overrides!r})",
        "engine": calc.describe(),
        "md": {"driver": f"ase.md.langevin.Langevin (ASE {ase.__version__})",
               "constraint": "ase.constraints.FixCom",
               "initial_velocities": "Maxwell-Boltzmann at temperature_K, then Stationary and "
                                     "ZeroRotation",
               "friction_units": "1/ps (converted by mlffkit.units.friction_per_ps_to_ase)",
               "equilibration": "n_equil steps at equil_friction_per_ps, not stored"},
        "settings": asdict(config),
        "seed": config.seed,
        "seed_rule": "numpy.random.default_rng([seed, zlib.crc32(key)]) per member (key: the "
                     "member name for xtb-md17 and xtb-shifts, the SMILES for xtb-iso17); "
                     "ETKDG randomSeed = crc32(SMILES) & 0x7fffffff",
        "environment": machine(rdkit=rdkit_version()),
        "storage": {"positions, forces, velocities": config.dtype,
                    "energy, time_fs, mmff_energy": "float64",
                    "units": "Å, eV, eV/Å, Å/fs, fs"},
        "wall_time_s": 0.0, "cpu_time_s": 0.0, "files": {},
    }


def _finished(folder: Path, rel: str, member: Member, config: MDConfig,
              entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """The old provenance entry if that member is done and unchanged, else None."""
    path = folder / rel
    if entry is None or not path.exists():
        return None
    key = run_hash(member.numbers, member.positions, member.settings, member.seed,
                   config.calculator().describe())
    if entry.get("run_hash") != key or entry.get("dtype") != config.dtype:
        return None
    return entry if sha256_of(path) == entry["sha256"] else None


def _run_member(folder: Path, rel: str, member: Member, config: MDConfig, resume: bool,
                progress: bool) -> dict[str, Any]:
    path = folder / rel
    checkpoint = path.with_name(path.name[: -len(".npz")] + PARTIAL_SUFFIX)
    calculator = config.calculator()
    key = run_hash(member.numbers, member.positions, member.settings, member.seed,
                   calculator.describe())
    if checkpoint.exists() and (not resume or checkpoint_run_hash(checkpoint) != key):
        if resume:
            warnings.warn(f"{checkpoint} was written under other settings; starting over",
                          stacklevel=3)
        checkpoint.unlink()
    traj = run_langevin(member.numbers, member.positions, member.settings, seed=member.seed,
                        calculator=calculator, checkpoint=checkpoint, resume=resume,
                        progress=f"{folder.name}/{member.key}" if progress else False)
    frames = traj.frames
    arrays: dict[str, np.ndarray] = {"numbers": np.asarray(member.numbers, dtype=np.int64)}
    for k in ("positions", "energy", "forces", "velocities", "time_fs"):
        arrays[k] = frames[k].astype(config.dtype if frames[k].ndim == 3 else np.float64)
    if member.labels is not None:
        for k, v in member.labels(frames).items():
            arrays[k] = v.astype(config.dtype if v.ndim == 3 else np.float64)
    arrays.update(member.static)
    write_npz(path, arrays)
    checkpoint.unlink(missing_ok=True)
    temps = kinetic_temperature(member.numbers, frames["velocities"], removed_dof=REMOVED_DOF)
    return {
        "sha256": sha256_of(path), "bytes": path.stat().st_size,
        "frames": int(len(frames["energy"])), "atoms": int(len(member.numbers)),
        "md_steps": traj.steps, "wall_time_s": round(traj.wall_time_s, 2),
        "cpu_time_s": round(traj.cpu_time_s, 2),
        "cpu_seconds_per_step": round(traj.cpu_time_s / max(traj.steps, 1), 5),
        "seed": member.seed,
        "run_hash": key,
        "dtype": config.dtype, "temperature_K": member.settings.temperature_K,
        "mean_kinetic_temperature_K": round(float(temps.mean()), 1),
        "connectivity_changed_frames": connectivity_changes(member.numbers, member.positions,
                                                            frames["positions"]),
        **member.info,
    }
