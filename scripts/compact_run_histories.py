"""Amend the stored FRAMES run records whose ``history`` table still holds one ``train`` row
per optimiser step (runs stored before ``frames_training.epoch_history`` existed): replace it
by the per-epoch table that the current code stores for a new run, computed from the stored
rows themselves. Keys, parameters, errors and arrays are unchanged; each amended record gains
a provenance ``amended`` note (reason, time, commit). Idempotent.

    python scripts/compact_run_histories.py
"""

from __future__ import annotations

import sys

from mlffkit.papers.frames import iso17 as frames_iso17, md17 as frames_md17
from mlffkit.papers.frames.training import epoch_history
from mlffkit.provenance import code_state as current_code_state
from mlffkit.results import ResultsStore

REASON = ("per-step train rows of the history table averaged per epoch "
          "(mlffkit.papers.frames.training.epoch_history); val rows unchanged")


def main() -> int:
    store, amended, code_state = ResultsStore(), 0, current_code_state()
    for experiment in (frames_md17.RUN.name, frames_iso17.RUN.name):
        for path in sorted((store.root / experiment).glob("*.json")):
            stored = store.load(experiment, path.stem)
            history = None if stored is None else stored.tables.get("history")
            if history is None:
                continue
            compact = epoch_history(history)
            if len(compact) < len(history):
                store.amend(experiment, path.stem, {"history": compact}, reason=REASON,
                            code_state=code_state)
                amended += 1
    print(f"amended {amended} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
