"""The results store: expensive results, keyed by everything that determines them.

A record lives in ``<root>/<experiment>/<key>.json`` (+ ``<key>.npz`` for arrays), where
``key`` is a hash of the experiment name, its code version, its parameters and the sha256 of
every data file it reads. The git commit is *not* part of the key (every commit would
invalidate every record); it is stored as provenance, together with the wall time, the machine
and the command that recomputes the record. An experiment bumps its ``version`` when a change
of code changes its numbers.

Reading is defensive: a record that does not parse, whose key does not match its own
contents, or whose arrays file has another checksum is reported, moved aside (nothing is
deleted) and recomputed; it is never silently used. Writes are atomic (temporary file in the
same folder, then ``os.replace``); the JSON is written last, so a killed run leaves no record
that points to missing arrays.

Environment:
``MLFFKIT_RESULTS_DIR``  another root for the store.
``MLFFKIT_NO_COMPUTE=1`` (implied by ``CI=true``) a missing record raises
                         :class:`ResultMissingError` naming the command that computes it.
``MLFFKIT_RECOMPUTE=1``  ignore stored records and recompute (``make reproduce``).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

import mlffkit
from mlffkit.atomic import atomic_write_bytes
from mlffkit.data.registry import sha256_of
from mlffkit.paths import git_state, project_dir

SCHEMA = 1


class ResultMissingError(RuntimeError):
    """A stored result is needed but computing it is not allowed here (CI)."""


class CorruptRecordWarning(UserWarning):
    """A stored record could not be trusted and was set aside."""


@dataclass
class Result:
    """What an experiment returns: tidy tables, named arrays, and (once stored) its record."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def provenance(self) -> dict[str, Any]:
        return self.record.get("provenance", {})

    def provenance_markdown(self) -> str:
        """One sentence for a chapter's closing cell: where these numbers come from."""
        prov = self.provenance
        if not prov:
            return "Computed in this run (not stored in the results store)."
        dirty = " (with uncommitted changes)" if prov.get("git_dirty") else ""
        return (f"Loaded from the results store: `{self.record['experiment']}` record "
                f"`{self.record['key']}`, computed at commit `{prov['git_commit']}`{dirty} "
                f"on {prov['created_utc']} in {prov['wall_time_s']:.0f} s on "
                f"{prov['machine']['cpu_count']} CPU(s); recompute with `{prov['command']}`.")


def default_root() -> Path:
    """The store's root: ``MLFFKIT_RESULTS_DIR``, else ``data/results`` of this checkout."""
    return project_dir("MLFFKIT_RESULTS_DIR", "data/results")


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def compute_allowed() -> bool:
    """False under CI or ``MLFFKIT_NO_COMPUTE``: expensive results must then be stored."""
    return not (_truthy("CI") or _truthy("MLFFKIT_NO_COMPUTE"))


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace; tuples become lists, numpy scalars plain."""
    return json.dumps(_plain(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"parameters must be finite numbers, got {obj!r}")
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"cannot key a result on a value of type {type(obj).__name__}: {obj!r}")


def record_key(experiment: str, code_version: str, params: Mapping, datasets: Mapping) -> str:
    """The hash that names a record: experiment, code version, params and data checksums."""
    payload = canonical_json(
        {"experiment": experiment, "code_version": code_version, "params": params,
         "datasets": datasets}
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def _machine() -> dict[str, Any]:
    info = {"platform": platform.platform(), "processor": platform.machine(),
            "cpu_count": os.cpu_count(), "python": sys.version.split()[0]}
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:  # pragma: no cover - torch is a hard dependency today
        pass
    return info


def _tables_to_json(tables: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    return {name: json.loads(df.to_json(orient="split", index=False, double_precision=15))
            for name, df in tables.items()}


def _tables_from_json(payload: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    return {name: pd.DataFrame(data=t["data"], columns=t["columns"])
            for name, t in payload.items()}


class ResultsStore:
    """A folder of records; see the module docstring for the rules."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_root()

    def paths(self, experiment: str, key: str) -> tuple[Path, Path]:
        folder = self.root / experiment
        return folder / f"{key}.json", folder / f"{key}.npz"

    # -- reading -------------------------------------------------------------------------
    def load(self, experiment: str, key: str) -> Result | None:
        """The record stored under ``key``, or None if there is none or it is not to be
        trusted (then a :class:`CorruptRecordWarning` says why and the files are set aside)."""
        json_path, npz_path = self.paths(experiment, key)
        if not json_path.exists():
            return None
        try:
            return self._read(json_path, npz_path, experiment, key)
        except (ValueError, KeyError, TypeError, OSError) as err:
            moved = self._set_aside(json_path, npz_path)
            warnings.warn(f"results store: record {json_path} is not usable ({err}); "
                          f"moved aside to {moved} and recomputing", CorruptRecordWarning,
                          stacklevel=3)
            return None

    def _read(self, json_path: Path, npz_path: Path, experiment: str, key: str) -> Result:
        record = json.loads(json_path.read_text())
        if record.get("schema") != SCHEMA:
            raise ValueError(f"schema {record.get('schema')!r}, expected {SCHEMA}")
        own_key = record_key(record["experiment"], record["code_version"], record["params"],
                             record["datasets"])
        if own_key != record["key"] or own_key != key or record["experiment"] != experiment:
            raise ValueError("key does not match the record's own params/datasets/version")
        arrays: dict[str, np.ndarray] = {}
        if record.get("arrays_sha256"):
            if not npz_path.exists():
                raise ValueError(f"arrays file {npz_path.name} is missing")
            if sha256_of(npz_path) != record["arrays_sha256"]:
                raise ValueError(f"arrays file {npz_path.name} has another sha256")
            with np.load(npz_path, allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
        tables = _tables_from_json(record.pop("tables"))
        return Result(tables=tables, arrays=arrays, record=record)

    def _set_aside(self, *paths: Path) -> Path | None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        first = None
        for path in paths:
            if path.exists():
                target = path.with_name(f"{path.name}.corrupt-{stamp}")
                os.replace(path, target)
                first = first or target
        return first

    # -- writing -------------------------------------------------------------------------
    def save(self, experiment: str, code_version: str, params: Mapping, datasets: Mapping,
             result: Result, *, wall_time_s: float, command: str,
             code_state: Mapping[str, Any] | None = None) -> Result:
        """Store ``result``; ``code_state`` is the git state when the computation *started*
        (default: now)."""
        key = record_key(experiment, code_version, params, datasets)
        json_path, npz_path = self.paths(experiment, key)
        arrays_sha = None
        if result.arrays:
            buffer = io.BytesIO()
            np.savez_compressed(buffer, **result.arrays)
            data = buffer.getvalue()
            atomic_write_bytes(npz_path, data)
            arrays_sha = hashlib.sha256(data).hexdigest()
        record = {
            "schema": SCHEMA, "experiment": experiment, "key": key,
            "code_version": code_version, "params": _plain(params),
            "datasets": _plain(datasets),
            "provenance": {
                **(code_state or git_state()), "mlffkit_version": mlffkit.__version__,
                "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "wall_time_s": round(wall_time_s, 3), "machine": _machine(),
                "command": command,
            },
            "arrays_sha256": arrays_sha,
        }
        self._write(json_path, record, result.tables)
        return Result(tables=result.tables, arrays=result.arrays, record=record)

    @staticmethod
    def _write(json_path: Path, record: Mapping, tables: Mapping[str, pd.DataFrame]) -> None:
        text = json.dumps({**record, "tables": _tables_to_json(tables)}, indent=1,
                          allow_nan=True)
        atomic_write_bytes(json_path, text.encode())

    def amend(self, experiment: str, key: str, tables: Mapping[str, pd.DataFrame],
              reason: str, code_state: Mapping[str, Any] | None = None) -> Result:
        """Replace tables of a stored record by ones *derived from it* (e.g. a coarser log),
        keeping its key, params, datasets and arrays; the record's provenance gains an
        ``amended`` entry (reason, time, git state) so that the change is never silent.
        ``code_state``: the git state when a batch of amendments *started* (default: now)."""
        stored = self.load(experiment, key)
        if stored is None:
            raise KeyError(f"no usable record {experiment}/{key} to amend")
        record = dict(stored.record)
        note = {"reason": reason, "utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                **(code_state or git_state())}
        record["provenance"] = {**record["provenance"],
                                "amended": [*record["provenance"].get("amended", []), note]}
        merged = {**stored.tables, **tables}
        self._write(self.paths(experiment, key)[0], record, merged)
        return Result(tables=merged, arrays=stored.arrays, record=record)

    # -- the one entry point -------------------------------------------------------------
    def load_or_run(self, experiment: str, params: Mapping, compute: Callable[[dict], Result],
                    *, code_version: str, datasets: Mapping[str, str] | None = None,
                    command: str = "") -> Result:
        """Load the record for these inputs, or compute, store and return it."""
        datasets = dict(datasets or {})
        key = record_key(experiment, code_version, params, datasets)
        if not _truthy("MLFFKIT_RECOMPUTE"):
            stored = self.load(experiment, key)
            if stored is not None:
                return stored
        if not compute_allowed():
            raise ResultMissingError(
                f"no stored result for {experiment} (key {key}) and computing is off here "
                f"(CI or MLFFKIT_NO_COMPUTE); compute and commit it with: {command}")
        code_state, start = git_state(), time.perf_counter()
        result = compute(dict(params))
        return self.save(experiment, code_version, params, datasets, result,
                         wall_time_s=time.perf_counter() - start, command=command,
                         code_state=code_state)


def load_or_run(experiment: str, params: Mapping, compute: Callable[[dict], Result], *,
                code_version: str, datasets: Mapping[str, str] | None = None,
                command: str = "", root: Path | str | None = None) -> Result:
    """Module-level shortcut for :meth:`ResultsStore.load_or_run`."""
    return ResultsStore(root).load_or_run(experiment, params, compute,
                                          code_version=code_version, datasets=datasets,
                                          command=command)
