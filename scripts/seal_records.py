"""Upgrade stored records of schema 1 to schema 2: add ``record_sha256``, the checksum over
everything else in the record (tables and provenance included), so that a hand-edited number
is caught on load. The tables are not re-serialised (the payload is hashed as stored); each
record gains a provenance ``amended`` note. A record that fails the schema-1 checks (its key,
its arrays' sha256) is left as it is and reported. Idempotent.

    python scripts/seal_records.py [ROOT]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mlffkit.files import atomic_write_bytes, sha256_of
from mlffkit.provenance import code_state as current_code_state
from mlffkit.results import SCHEMA, ResultsStore, amended, record_checksum, record_key

REASON = "sealed: record_sha256 added over the record as stored (schema 1 -> 2)"


def schema1_problem(path: Path, record: dict) -> str | None:
    """What makes a schema-1 record untrustworthy, or None."""
    key = record_key(record["experiment"], record["code_version"], record["params"],
                     record["datasets"])
    if key != record["key"] or key != path.stem or record["experiment"] != path.parent.name:
        return "key does not match its params/datasets/version"
    npz = path.with_suffix(".npz")
    if record.get("arrays_sha256") and (not npz.exists()
                                        or sha256_of(npz) != record["arrays_sha256"]):
        return "arrays file missing or with another sha256"
    return None


def main(argv: list[str]) -> int:
    store = ResultsStore(argv[0] if argv else None)
    code_state, sealed, refused = current_code_state(), 0, []
    for path in sorted(store.root.glob("*/*.json")):
        record = json.loads(path.read_text())
        if record.get("schema") != 1:
            continue
        problem = schema1_problem(path, record)
        if problem:
            refused.append(f"{path}: {problem}")
            continue
        payload = amended({**record, "schema": SCHEMA}, REASON, code_state)
        payload["record_sha256"] = record_checksum(payload)
        atomic_write_bytes(path, json.dumps(payload, indent=1, allow_nan=True).encode())
        if store.load(path.parent.name, path.stem) is None:
            refused.append(f"{path}: does not load after sealing")
        sealed += 1
    print(f"sealed {sealed} records; refused {len(refused)}")
    for line in refused:
        print("  " + line)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
