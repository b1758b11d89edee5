"""Training logs: one JSON object a line (``log.jsonl``), mirrored to ``log.csv``."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import pandas as pd

from mlffkit.files import atomic_target, atomic_write_text


def _plain(value):
    """JSON-safe scalars (tensors and numpy numbers to floats, non-finite floats to None)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class RunLog:
    """Append-only rows ``{"kind": "train"|"val"|..., "step": ..., ...}``.

    The CSV is rewritten from the JSON lines by :meth:`write_csv` (its columns are the union
    of all keys, in order of appearance). :meth:`truncate_after` drops rows logged after a
    checkpoint, so a resumed run does not repeat the steps a killed run logged."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.jsonl = self.folder / "log.jsonl"
        self.csv = self.folder / "log.csv"

    def append(self, row: dict) -> None:
        with open(self.jsonl, "a") as handle:
            handle.write(json.dumps({k: _plain(v) for k, v in row.items()}) + "\n")

    def rows(self) -> list[dict]:
        if not self.jsonl.exists():
            return []
        rows = []
        for line in self.jsonl.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a kill
                continue
        return rows

    def truncate_after(self, step: int) -> None:
        kept = [row for row in self.rows() if row.get("step", 0) <= step]
        atomic_write_text(self.jsonl, "".join(json.dumps(row) + "\n" for row in kept))

    def write_csv(self) -> None:
        rows = self.rows()
        columns = list(dict.fromkeys(key for row in rows for key in row))
        with atomic_target(self.csv) as tmp, open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)


def epoch_history(log: pd.DataFrame) -> pd.DataFrame:
    """The trainer's log (a ``train`` row per step, a ``val`` row per epoch) with one ``train``
    row per epoch: the mean of each metric over the epoch's steps, ``step``/``time`` of its
    last one. ``val`` rows are kept as they are; rows stay in step order. A stored run keeps
    this (a few rows) rather than thousands of per-step rows."""
    if log.empty or "kind" not in log:
        return log
    train, val = log[log["kind"] == "train"], log[log["kind"] != "train"]
    last = {"step": "max", "time": "max"}
    how = {c: last.get(c, "mean") for c in train.columns if c not in ("kind", "epoch")}
    per_epoch = train.groupby("epoch", sort=True).agg(how).reset_index()
    per_epoch.insert(0, "kind", "train")
    out = pd.concat([per_epoch[log.columns], val], ignore_index=True)
    return out.sort_values(["step", "kind"], kind="stable", ignore_index=True)
