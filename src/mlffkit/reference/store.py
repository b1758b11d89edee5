"""Where generated sets live, how their files are written, and how they are checked.

A set is a folder ``<root>/<name>/`` of ``.npz`` files (plus, for some sets, ``split.json``)
and a ``provenance.json`` that lists every file with its sha256. The ``.npz`` files are
written with fixed zip timestamps, so identical arrays give identical bytes: regenerating a set
on the same machine reproduces the committed checksums, and :func:`verify` says so.

Root: ``MLFFKIT_GENERATED_DIR`` if set, else ``data/generated`` of this checkout.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from mlffkit.files import atomic_target, sha256_of
from mlffkit.paths import project_dir

PROVENANCE = "provenance.json"
PARTIAL_SUFFIX = ".partial.npz"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class VerifyError(RuntimeError):
    """A generated set does not match its provenance checksums."""


def default_root() -> Path:
    return project_dir("MLFFKIT_GENERATED_DIR", "data/generated")


def _atomic(path: Path, write: Callable[[Any], None]) -> None:
    with atomic_target(path) as tmp:
        with open(tmp, "wb") as handle:
            write(handle)
        os.chmod(tmp, 0o644)  # a committed data file, readable by all


def write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """A compressed ``.npz`` (readable by :func:`numpy.load`) with reproducible bytes."""

    def write(handle) -> None:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED,
                             compresslevel=9) as archive:
            for name, value in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)

    _atomic(path, write)


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    text = json.dumps(payload, indent=1, allow_nan=False, ensure_ascii=False) + "\n"
    _atomic(path, lambda handle: handle.write(text.encode()))


def read_provenance(set_dir: Path) -> dict[str, Any] | None:
    path = set_dir / PROVENANCE
    return json.loads(path.read_text()) if path.exists() else None


def verify_dir(set_dir: Path, raise_on_error: bool = True) -> dict[str, str]:
    """Status of every file of a set: ``ok``, ``missing``, ``sha256 mismatch``, ``unlisted``
    (an ``.npz``/``.json`` on disk that provenance does not list) or ``partial`` (an
    unfinished checkpoint). Raises :class:`VerifyError` on anything but ``ok``/``partial``;
    without ``raise_on_error`` a set never generated here reads ``{provenance.json: "missing
    (...)"}``."""
    prov = read_provenance(set_dir)
    if prov is None:
        message = f"missing (not generated here: mlffkit data generate {set_dir.name})"
        if raise_on_error:
            raise VerifyError(f"{set_dir / PROVENANCE} is {message}")
        return {PROVENANCE: message}
    status: dict[str, str] = {}
    for rel, entry in prov["files"].items():
        path = set_dir / rel
        if not path.exists():
            status[rel] = "missing"
        elif sha256_of(path) != entry["sha256"]:
            status[rel] = "sha256 mismatch"
        else:
            status[rel] = "ok"
    for path in sorted(set_dir.rglob("*")):
        rel = path.relative_to(set_dir).as_posix()
        if path.name.endswith(PARTIAL_SUFFIX):
            status[rel] = "partial"
        elif path.suffix in {".npz", ".json"} and rel not in status and rel != PROVENANCE:
            status[rel] = "unlisted"
    if not prov.get("complete"):
        status[PROVENANCE] = "incomplete (generation has not finished)"
    bad = {k: v for k, v in status.items() if v not in {"ok", "partial"}}
    if bad and raise_on_error:
        lines = "\n".join(f"  {k}: {v}" for k, v in sorted(bad.items()))
        raise VerifyError(f"generated set {set_dir} does not match its provenance:\n{lines}")
    return status


def file_record(path: Path, positions: np.ndarray, numbers: np.ndarray,
                temperatures, wall_s: float) -> dict[str, Any]:
    """A single-member set's entry under ``files`` in its provenance."""
    return {"sha256": sha256_of(path), "bytes": path.stat().st_size, "frames": len(positions),
            "atoms": len(numbers), "mean_kinetic_temperature_K":
                round(float(np.mean(temperatures)), 1), "wall_time_s": round(wall_s, 1)}


def recomputed_labels(path: Path, arrays: Mapping[str, np.ndarray], calc, cell: np.ndarray,
                      model: str) -> tuple[np.ndarray, np.ndarray]:
    """Energies and forces of every stored frame of ``arrays`` (read from ``path``) by
    ``calc`` (an :class:`~mlffkit.calculators.OpenMMCalculator`, closed afterwards so that no
    OpenMM context is left for forked workers to inherit), checked against the labels stored
    at generation (``check_energy``/``check_forces``); ValueError naming ``model`` if they
    differ (another OpenMM or force field)."""
    from mlffkit.calculators.openmm_engine import openmm

    positions = np.asarray(arrays["positions"], dtype=np.float64)
    energy, forces = calc.evaluate_frames(positions, arrays["numbers"], cell)
    calc.close()
    k = len(arrays["check_energy"])
    if not (np.allclose(energy[:k], arrays["check_energy"], rtol=0, atol=1e-6)
            and np.allclose(forces[:k], arrays["check_forces"], rtol=0, atol=1e-5)):
        raise ValueError(f"{path}: {model} labels recomputed with OpenMM "
                         f"{openmm().__version__} differ from those stored at generation; "
                         "fix: install the OpenMM version in its provenance, or regenerate")
    return energy, forces
