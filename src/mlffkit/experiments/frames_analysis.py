"""Tables and verdicts from the runs of the FRAMES sweeps (one row per run: a ``label`` naming
the variant, ``seed``, grouping columns such as ``molecule``, and error columns).

- :func:`summary`: mean ± std over seeds per group and variant.
- :func:`compare`: each variant against a reference variant, paired by seed: the geometric
  mean ratio of the error with a Student-t 95% interval on the mean log ratio, and a verdict.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlffkit.metrics.statistics import paired_t_ci


def summary(runs: pd.DataFrame, metrics: list[str], by: list[str]) -> pd.DataFrame:
    """Mean, std (ddof 1) and number of seeds of each metric per ``by`` + ``label``."""
    grouped = runs.groupby([*by, "label"], sort=False)[metrics]
    out = pd.concat([grouped.mean().add_suffix("_mean"), grouped.std(ddof=1).add_suffix("_std"),
                     grouped.size().rename("n_seeds")], axis=1)
    return out.reset_index()


def mean_std_table(runs: pd.DataFrame, metric: str, by: list[str], digits: int = 3
                   ) -> pd.DataFrame:
    """``"mean ± std"`` strings, rows ``label``, columns ``by`` (in run order)."""
    s = summary(runs, [metric], by)
    s["cell"] = [f"{m:.{digits}g} ± {d:.2g}" if np.isfinite(d) else f"{m:.{digits}g}"
                 for m, d in zip(s[f"{metric}_mean"], s[f"{metric}_std"])]
    table = s.pivot(index="label", columns=by, values="cell")
    labels = list(dict.fromkeys(runs["label"]))
    columns = list(dict.fromkeys(map(tuple, runs[by].to_numpy())))
    table = table.loc[labels]
    return table[[c[0] for c in columns] if len(by) == 1 else columns]


def compare(runs: pd.DataFrame, metric: str, reference: str, by: list[str],
            level: float = 0.95) -> pd.DataFrame:
    """Every variant against ``reference`` within each ``by`` group, paired by seed.

    ``ratio``: geometric mean over seeds of ``metric(variant) / metric(reference)``;
    ``low``/``high``: its ``level`` Student-t interval; ``verdict``: ``"<variant> better"``
    when the interval is below 1, ``"<reference> better"`` when above, else
    ``"indistinguishable"``."""
    rows = []
    for key, group in runs.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        ref = group[group["label"] == reference].set_index("seed")[metric]
        for label in dict.fromkeys(group["label"]):
            if label == reference:
                continue
            other = group[group["label"] == label].set_index("seed")[metric]
            seeds = ref.index.intersection(other.index)
            if len(seeds) < 2:
                rows.append({**dict(zip(by, key)), "variant": label, "n_seeds": len(seeds),
                             "ratio": np.nan, "low": np.nan, "high": np.nan,
                             "verdict": "too few seeds"})
                continue
            mean, low, high = paired_t_ci(other[seeds].to_numpy(), ref[seeds].to_numpy(),
                                          level=level)
            verdict = (f"{label} better" if high < 0 else f"{reference} better" if low > 0
                       else "indistinguishable")
            rows.append({**dict(zip(by, key)), "variant": label, "n_seeds": len(seeds),
                         "ratio": np.exp(mean), "low": np.exp(low), "high": np.exp(high),
                         "verdict": verdict})
    return pd.DataFrame(rows)
