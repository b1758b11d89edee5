"""EGraFFBench's summary figures, drawn from a sweep's tables (``egraff_models``):

- Figure 4: the geometric means of energy and force violation (EV, FV) over each forward run,
  per model and system, with a 95% interval over the runs (:func:`violations`);
- Figure 6: every metric of a system divided by its largest value over the models, x 100, on
  one radar per system (:func:`radar`);
- Figure 7: pairs of related metrics (EV-FV, JSD-WF, training-inference time, energy-force
  MAE), each divided by its largest value over every model and system (:func:`pairs`).

:func:`summary` gathers the numbers behind all three: one row per (system, model) with the
test errors, the means of the run metrics and the Table 4 costs. Metrics a system does not
have (EV and FV on 3BPA and acac, whose test sets are sampled frames, not trajectories) are
NaN there, and the figures leave them out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .benchmark import LABELS, timing

__all__ = ["METRICS", "PAIRS", "summary", "normalised", "violations", "radar", "pairs"]

#: column -> axis name, in the paper's Figure 6 order (lower is better for every one)
METRICS = {
    "energy_mae_meV": "energy MAE",
    "force_mae_meV_A": "force MAE",
    "jsd": "JSD",
    "wf_percent": "WF",
    "ev_raw_gm": "EV",
    "fv_gm": "FV",
    "train_min_per_epoch": "training time",
    "md_min_per_1000_steps": "inference time",
}
#: Figure 7's panels: (x, y)
PAIRS = (("ev_raw_gm", "fv_gm"), ("jsd", "wf_percent"),
         ("train_min_per_epoch", "md_min_per_1000_steps"), ("energy_mae_meV", "force_mae_meV_A"))
_RUN_METRICS = ["ev_raw_gm", "fv_gm", "jsd", "wf_percent"]


def summary(errors: pd.DataFrame, runs: pd.DataFrame, settings: pd.DataFrame) -> pd.DataFrame:
    """One row per (system, model): the :data:`METRICS` (test MAEs, means over the forward runs,
    Table 4's minutes per epoch and per 1000 MD steps) and the paper's model ``label``."""
    run_means = runs.groupby(["system", "model"], sort=False)[_RUN_METRICS].mean().reset_index()
    cost = timing(errors, settings)[["system", "model", "train_min_per_epoch",
                                     "md_min_per_1000_steps"]]
    out = (errors[["system", "model", "energy_mae_meV", "force_mae_meV_A"]]
           .merge(run_means, on=["system", "model"], how="left", validate="one_to_one")
           .merge(cost, on=["system", "model"], how="left", validate="one_to_one"))
    out.insert(2, "label", out["model"].map(LABELS))
    return out[["system", "model", "label", *METRICS]]


def normalised(table: pd.DataFrame, by: str | None = "system", scale: float = 1.0) -> pd.DataFrame:
    """``table``'s :data:`METRICS` divided by their largest value within each ``by`` group
    (``None``: over the whole table), times ``scale`` (Figure 6: per system, x 100; Figure 7:
    over everything, x 1). A metric whose values are all NaN or zero stays NaN."""
    out = table.copy()
    cols = [c for c in METRICS if c in out]
    if by is None:
        largest = out[cols].max()                                   # one value per column
    else:
        largest = out.groupby(by, sort=False)[cols].transform("max")  # aligned to the rows
    out[cols] = scale * out[cols] / largest.where(largest > 0)
    return out


def violations(runs: pd.DataFrame, axes=None):
    """Figure 4: bars of the runs' geometric-mean EV and FV per model and system, with
    seaborn's bootstrap 95% interval of the mean over the runs. Returns the two axes."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    data = runs.dropna(subset=["ev_raw_gm", "fv_gm"]).assign(model=lambda t: t["model"].map(LABELS))
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
    for ax, column, name in zip(axes, ["ev_raw_gm", "fv_gm"], ["EV", "FV"]):
        sns.barplot(data, x="system", y=column, hue="model", errorbar=("ci", 95), ax=ax,
                    legend=ax is axes[-1])
        ax.set(ylabel=f"geometric mean {name}", xlabel="")
    if axes[-1].get_legend() is not None:
        sns.move_legend(axes[-1], "upper left", bbox_to_anchor=(1, 1), title="")
    return axes


def radar(table: pd.DataFrame, ax, system: str):
    """Figure 6 for one system: each model's :data:`METRICS` in percent of the largest over the
    models (``normalised(summary, scale=100)``), one closed line per model. Metrics the system
    lacks are left off the axes."""
    rows = table[table["system"] == system]
    cols = [c for c in METRICS if rows[c].notna().any()]
    angles = np.linspace(0, 2 * np.pi, len(cols), endpoint=False)
    closed = np.append(angles, angles[0])
    for _, row in rows.iterrows():
        values = row[cols].to_numpy(float)
        ax.plot(closed, np.append(values, values[0]), lw=1.3, label=row["label"])
    ax.set_xticks(angles, [METRICS[c] for c in cols], fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_yticks([25, 50, 75, 100], ["25", "50", "75", "100"], fontsize=7)
    ax.set_title(system, pad=14)
    return ax


def pairs(table: pd.DataFrame, axes=None):
    """Figure 7: the :data:`PAIRS` of metrics, each divided by its largest value over every
    model and system (``normalised(summary, by=None)``); colour = model, marker = system."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if axes is None:
        _, axes = plt.subplots(2, 2, figsize=(9, 7), layout="constrained")
    axes = np.ravel(axes)
    table = table.rename(columns={"label": "model", "model": "name"})
    for k, (ax, (x, y)) in enumerate(zip(axes, PAIRS)):
        data = table.dropna(subset=[x, y])
        sns.scatterplot(data, x=x, y=y, hue="model", style="system", s=60, ax=ax,
                        legend=k == len(PAIRS) - 1)
        ax.set(xlabel=METRICS[x], ylabel=METRICS[y], xlim=(0, 1.05), ylim=(0, 1.05))
        ax.set_title(f"({'abcd'[k]})", loc="left")
    if axes[-1].get_legend() is not None:
        sns.move_legend(axes[-1], "upper left", bbox_to_anchor=(1, 1), title="")
    return axes
