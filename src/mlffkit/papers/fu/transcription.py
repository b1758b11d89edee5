"""Fu et al.'s own numbers, transcribed in ``book/fu/paper_tables.csv`` (one row per table,
system, model and metric; ``std`` where the paper prints one, ``value`` as printed, e.g.
``5/6`` for finished runs)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

COLUMNS = ["table", "molecule", "model", "metric", "value", "std", "note"]


def paper_rows(path: str | Path, table: int) -> pd.DataFrame:
    """The transcribed rows of one of the paper's tables (``table`` as numbered there)."""
    rows = pd.read_csv(path, dtype={"value": str, "std": str})
    if list(rows.columns) != COLUMNS:
        raise ValueError(f"{path}: columns {list(rows.columns)}, expected {COLUMNS}")
    rows = rows[rows["table"] == table]
    if rows.empty:
        raise KeyError(f"{path} has no rows of Table {table}")
    return rows.reset_index(drop=True)


def paper_pivot(rows: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    """The rows as printed, "value (std)", one column per model in the paper's order."""
    shown = rows.assign(value=rows["value"] + rows["std"].map(
        lambda s: "" if pd.isna(s) else f" ({s})"))
    return shown.pivot_table(index=index, columns="model", values="value", aggfunc="first",
                             sort=False)[rows["model"].unique()]
