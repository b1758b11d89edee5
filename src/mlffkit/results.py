"""The results store: expensive results, keyed by everything that determines them.

A record lives in ``<root>/<experiment>/<key>.json`` (+ ``<key>.npz`` for arrays), where
``key`` is a hash of the experiment name, its code version, its parameters and the sha256 of
every data file it reads. The git commit is *not* part of the key (every commit would
invalidate every record); it is stored as provenance, together with the wall time, the machine
and the command that recomputes the record. An experiment bumps its ``version`` when a change
of code changes its numbers.

What the store promises under faults (``tests/test_faults.py`` holds it to them):

- *Nothing untrusted is used.* A record must parse as a JSON object, its key must match its own
  params/datasets/version, its ``record_sha256`` must match everything else in it (tables and
  provenance included: a hand-edited number is caught) and its arrays file must match
  ``arrays_sha256``. A record that fails is reported with a :class:`CorruptRecordWarning`,
  moved aside under a name that never overwrites an earlier set-aside, and recomputed. Where
  computing is off (CI, ``MLFFKIT_NO_COMPUTE``) nothing is moved: :class:`CorruptRecordError`
  names the file.
- *One computation per record.* ``load_or_run`` holds a per-record lock
  (``<root>/.locks/``): a second process asking for the same record waits, then loads it.
- *No lost compute.* Writes are atomic (temporary file beside the target, fsync,
  ``os.replace``; the JSON last, so a killed run leaves no record pointing to missing arrays).
  A folder that cannot be written (read-only, full disk) is reported before computing, and the
  finished record then goes to ``~/.cache/mlffkit/unsaved-results/<experiment>/`` with a
  warning naming the path and the ``mv`` that files it; only if that fails too does
  :class:`ResultNotStoredError` (carrying the result) propagate.
- *No empty record.* A result with no tables and arrays, an empty table, or nothing but NaN is
  refused before anything is written.
- Temporary ``.part`` files left by killed writers are removed before the next write; files get
  the umask's mode.

Environment:
``MLFFKIT_RESULTS_DIR``  another root for the store.
``MLFFKIT_NO_COMPUTE=1`` (implied by ``CI=true``) a missing record raises
                         :class:`ResultMissingError` naming the command that computes it.
``MLFFKIT_RECOMPUTE=1``  ignore stored records and recompute (``make reproduce``).
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import math
import os
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import pandas as pd

from mlffkit.files import atomic_write_bytes, remove_stale_parts, sha256_of
from mlffkit.data.registry import cache_dir
from mlffkit.paths import project_dir
from mlffkit.provenance import code_state as current_code_state
from mlffkit.provenance import machine, utc_now

#: 2: every record carries ``record_sha256`` over all its other contents.
SCHEMA = 2
LOCK_DIR = ".locks"


class ResultMissingError(RuntimeError):
    """A stored result is needed but computing it is not allowed here (CI)."""


class CorruptRecordError(RuntimeError):
    """A stored record cannot be trusted, and computing is off (nothing was moved)."""


class ResultNotStoredError(OSError):
    """Neither the store nor the fallback folder could be written; ``.result`` holds the
    computed result."""

    def __init__(self, message: str, result: "Result"):
        super().__init__(message)
        self.result = result


class CorruptRecordWarning(UserWarning):
    """A stored record could not be trusted and was set aside."""


class UnsavedResultWarning(UserWarning):
    """The store could not be written: the record went to the fallback folder."""


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


def record_checksum(record: Mapping[str, Any]) -> str:
    """sha256 of a record's JSON payload (tables included) without ``record_sha256``."""
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def unsaved_dir() -> Path:
    """Where a record goes when its store cannot be written: the user cache."""
    return cache_dir() / "unsaved-results"


def check_not_empty(result: "Result", experiment: str) -> None:
    """Refuse a degenerate result: nothing in it, an empty table, or only NaN numbers."""
    if not result.tables and not result.arrays:
        raise ValueError(f"{experiment}: the result has no tables and no arrays; nothing "
                         "stored (check the parameters, e.g. seeds >= 1)")
    for name, table in result.tables.items():
        if len(table) == 0:
            raise ValueError(f"{experiment}: table {name!r} has no rows; nothing stored "
                             "(check the parameters)")
    numbers = [t.select_dtypes("number").to_numpy(dtype=float).ravel()
               for t in result.tables.values()]
    numbers += [np.asarray(a, dtype=float).ravel() for a in result.arrays.values()
                if np.issubdtype(np.asarray(a).dtype, np.number)]
    values = np.concatenate(numbers) if numbers else np.empty(0)
    if values.size and not np.isfinite(values).any():
        raise ValueError(f"{experiment}: every number in the result is NaN or infinite; "
                         "nothing stored (the computation diverged: check lr and inputs)")


def amended(record: Mapping[str, Any], reason: str,
            code_state: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``record`` with an ``amended`` note (reason, time, git state) in its provenance."""
    note = {"reason": reason, "utc": utc_now(), **(code_state or current_code_state())}
    provenance = record["provenance"]
    return {**record, "provenance": {**provenance,
                                     "amended": [*provenance.get("amended", []), note]}}


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
        trusted (then a :class:`CorruptRecordWarning` says why and the files are set aside;
        where computing is off, :class:`CorruptRecordError` is raised and nothing moves)."""
        json_path, npz_path = self.paths(experiment, key)
        if not json_path.exists():
            return None
        try:
            return self._read(json_path, npz_path, experiment, key)
        except (ValueError, KeyError, TypeError, OSError) as err:
            if not compute_allowed():
                raise CorruptRecordError(
                    f"results store: record {json_path} is not usable ({err}); nothing was "
                    "moved (computing is off here: CI or MLFFKIT_NO_COMPUTE). Fix: restore it "
                    f"(git checkout -- {json_path}) or recompute it where computing is "
                    "allowed") from err
            moved = self._set_aside(json_path, npz_path)
            warnings.warn(f"results store: record {json_path} is not usable ({err}); "
                          f"moved aside to {moved} and recomputing", CorruptRecordWarning,
                          stacklevel=3)
            return None

    def _read(self, json_path: Path, npz_path: Path, experiment: str, key: str) -> Result:
        record = json.loads(json_path.read_text())
        if not isinstance(record, dict):
            raise ValueError(f"a record is a JSON object, this file holds a "
                             f"{type(record).__name__}")
        if record.get("schema") != SCHEMA:
            raise ValueError(f"schema {record.get('schema')!r}, expected {SCHEMA} (records "
                             "of schema 1 are upgraded by scripts/seal_records.py)")
        own_key = record_key(record["experiment"], record["code_version"], record["params"],
                             record["datasets"])
        if own_key != record["key"] or own_key != key or record["experiment"] != experiment:
            raise ValueError("key does not match the record's own params/datasets/version")
        if record_checksum(record) != record.get("record_sha256"):
            raise ValueError("record_sha256 does not match the record's contents (edited "
                             "by hand or damaged)")
        arrays: dict[str, np.ndarray] = {}
        if record.get("arrays_sha256"):
            if not npz_path.exists():
                raise ValueError(f"arrays file {npz_path.name} is missing")
            if sha256_of(npz_path) != record["arrays_sha256"]:
                raise ValueError(f"arrays file {npz_path.name} has another sha256")
            with np.load(npz_path, allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
        tables = _tables_from_json(record.pop("tables"))
        record.pop("record_sha256")
        return Result(tables=tables, arrays=arrays, record=record)

    @staticmethod
    def _set_aside(*paths: Path) -> Path | None:
        """Rename ``paths`` to ``<name>.corrupt-<UTC time>[-n]``, never over an earlier one."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%f")
        first = None
        for path in paths:
            n, target = 0, path.with_name(f"{path.name}.corrupt-{stamp}")
            while target.exists():
                n += 1
                target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
            try:
                os.replace(path, target)
            except FileNotFoundError:  # absent, or another process set it aside first
                continue
            first = first or target
        return first

    # -- locking -------------------------------------------------------------------------
    @contextmanager
    def lock(self, experiment: str, key: str) -> Iterator[None]:
        """Hold the record's lock (one process computes or writes a record at a time).

        The lock file lives in ``<root>/.locks/``, or, where the store cannot be written,
        in the user cache (keyed by the store's absolute path)."""
        name = f"{experiment}.{key}.lock"
        try:
            (self.root / LOCK_DIR).mkdir(parents=True, exist_ok=True)
            handle = open(self.root / LOCK_DIR / name, "a")
        except OSError:
            folder = cache_dir() / "locks"
            folder.mkdir(parents=True, exist_ok=True)
            tag = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:12]
            handle = open(folder / f"{tag}.{name}", "a")
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print(f"results store: waiting for another process computing {experiment} "
                      f"(key {key})", file=sys.stderr, flush=True)
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- writing -------------------------------------------------------------------------
    def writable(self, experiment: str) -> bool:
        """Whether a record of ``experiment`` can be written here (its folder, or the
        nearest existing parent, is writable)."""
        folder = self.root / experiment
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        return os.access(folder, os.W_OK)

    def save(self, experiment: str, code_version: str, params: Mapping, datasets: Mapping,
             result: Result, *, wall_time_s: float, command: str,
             code_state: Mapping[str, Any] | None = None) -> Result:
        """Store ``result`` (under the record's lock); ``code_state`` is the git state when
        the computation *started* (default: now)."""
        key = record_key(experiment, code_version, params, datasets)
        with self.lock(experiment, key):
            return self._save(experiment, key, code_version, params, datasets, result,
                              wall_time_s=wall_time_s, command=command, code_state=code_state)

    def _save(self, experiment, key, code_version, params, datasets, result, *, wall_time_s,
              command, code_state) -> Result:
        check_not_empty(result, experiment)
        arrays_data = None
        if result.arrays:
            buffer = io.BytesIO()
            np.savez_compressed(buffer, **result.arrays)
            arrays_data = buffer.getvalue()
        record = {
            "schema": SCHEMA, "experiment": experiment, "key": key,
            "code_version": code_version, "params": _plain(params),
            "datasets": _plain(datasets),
            "provenance": {
                **(code_state or current_code_state()),
                "created_utc": utc_now(),
                "wall_time_s": round(wall_time_s, 3), "machine": machine(),
                "command": command,
            },
            "arrays_sha256": hashlib.sha256(arrays_data).hexdigest() if arrays_data else None,
        }
        # the tables as a later load returns them (15 significant digits), so that the run
        # that computes a record and every run that loads it show the same numbers
        tables_json = _tables_to_json(result.tables)
        stored = Result(tables=_tables_from_json(tables_json), arrays=result.arrays,
                        record=record)
        try:
            self._write_files(self.root / experiment, key, record, tables_json, arrays_data)
        except OSError as err:
            fallback = unsaved_dir() / experiment
            try:
                self._write_files(fallback, key, record, tables_json, arrays_data)
            except OSError as second:
                raise ResultNotStoredError(
                    f"results store: could not write {experiment}/{key} to {self.root} "
                    f"({err}) nor to {fallback} ({second}); the result is only in memory "
                    "(this error's .result)", stored) from err
            warnings.warn(
                f"results store: could not write {self.root / experiment} ({err}); the "
                f"result is kept at {fallback}/{key}.json. File it into the store with: "
                f"mv {fallback}/{key}.* {self.root / experiment}/", UnsavedResultWarning,
                stacklevel=3)
            record["unsaved_path"] = str(fallback / f"{key}.json")
        return stored

    @staticmethod
    def _write_files(folder: Path, key: str, record: Mapping, tables_json: Mapping,
                     arrays_data: bytes | None) -> None:
        remove_stale_parts(folder)
        if arrays_data is not None:
            atomic_write_bytes(folder / f"{key}.npz", arrays_data)
        ResultsStore._write(folder / f"{key}.json", record, tables_json)

    @staticmethod
    def _write(json_path: Path, record: Mapping, tables_json: Mapping[str, Any]) -> None:
        """Write ``record`` with its tables (in their JSON form) and its ``record_sha256``."""
        payload = {**record, "tables": tables_json}
        payload["record_sha256"] = record_checksum(payload)
        atomic_write_bytes(json_path, json.dumps(payload, indent=1, allow_nan=True).encode())

    def amend(self, experiment: str, key: str, tables: Mapping[str, pd.DataFrame],
              reason: str, code_state: Mapping[str, Any] | None = None) -> Result:
        """Replace tables of a stored record by ones *derived from it* (e.g. a coarser log),
        keeping its key, params, datasets and arrays; the record's provenance gains an
        ``amended`` entry (reason, time, git state) so that the change is never silent.
        ``code_state``: the git state when a batch of amendments *started* (default: now)."""
        with self.lock(experiment, key):
            stored = self.load(experiment, key)
            if stored is None:
                raise KeyError(f"no usable record {experiment}/{key} to amend")
            record = amended(stored.record, reason, code_state)
            merged = {**stored.tables, **tables}
            check_not_empty(Result(tables=merged, arrays=stored.arrays), experiment)
            self._write(self.paths(experiment, key)[0], record, _tables_to_json(merged))
        return Result(tables=merged, arrays=stored.arrays, record=record)

    # -- the one entry point -------------------------------------------------------------
    def load_or_run(self, experiment: str, params: Mapping, compute: Callable[[dict], Result],
                    *, code_version: str, datasets: Mapping[str, str] | None = None,
                    command: str = "") -> Result:
        """Load the record for these inputs, or compute, store and return it. Two processes
        asking for the same missing record: one computes, the other waits and loads."""
        datasets = dict(datasets or {})
        key = record_key(experiment, code_version, params, datasets)
        recompute = _truthy("MLFFKIT_RECOMPUTE")
        if not recompute:
            stored = self.load(experiment, key)
            if stored is not None:
                return stored
        if not compute_allowed():
            raise ResultMissingError(
                f"no stored result for {experiment} (key {key}) and computing is off here "
                f"(CI or MLFFKIT_NO_COMPUTE); compute and commit it with: {command}")
        with self.lock(experiment, key):
            if not recompute:  # another process may have stored it while we waited
                stored = self.load(experiment, key)
                if stored is not None:
                    return stored
            if not self.writable(experiment):
                warnings.warn(f"results store: {self.root / experiment} is not writable; the "
                              f"result will be kept in {unsaved_dir() / experiment}",
                              UnsavedResultWarning, stacklevel=2)
            code_state, start = current_code_state(), time.perf_counter()
            result = compute(dict(params))
            return self._save(experiment, key, code_version, params, datasets, result,
                              wall_time_s=time.perf_counter() - start, command=command,
                              code_state=code_state)


def load_or_run(experiment: str, params: Mapping, compute: Callable[[dict], Result], *,
                code_version: str, datasets: Mapping[str, str] | None = None,
                command: str = "", root: Path | str | None = None) -> Result:
    """Module-level shortcut for :meth:`ResultsStore.load_or_run`."""
    return ResultsStore(root).load_or_run(experiment, params, compute,
                                          code_version=code_version, datasets=datasets,
                                          command=command)
