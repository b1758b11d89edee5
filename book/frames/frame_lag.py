# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Frame lag: does the benefit depend on Δt?
#
# FRAMES {cite}`frames2025` draws its training frames "sequentially with a fixed time lag $\Delta_t$" (§4.1)
# but reports one lag only (MD17 frames are 0.5 fs apart, and 950 of its first 1000 frames
# train, so consecutive frames). The auxiliary target $\Delta p_t=p_{t+1}-p_t$ changes
# character with the lag: at 0.5 fs it is $\approx v_t\,\Delta t$, nearly a copy of the
# velocity the $T=2$ window already encodes; at larger lags it carries the curvature of the
# trajectory, i.e. the force. The paper does not have this study.
#
# Our `xtb-md17` trajectories (GFN2-xTB Langevin MD at 500 K, 5000 frames 0.5 fs apart)
# allow it: for each lag, $T=1$ and $T=2$ train on 950 frames `lag` MD steps apart from the
# start of the trajectory and test on frames from the last 1000 (from 2 ps on). A longer lag
# also spreads the same 950 frames over more of the trajectory, which helps both $T$; the
# question is the *difference* between $T=2$ and $T=1$ at each lag.

# %%
from mlffkit.chapters import text_progress_bars

text_progress_bars()  # before mlffkit's other imports: progress bars as plain text

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from mlffkit.experiments import NotebookParameters
from mlffkit.papers.frames import analysis as fa
from mlffkit.papers.frames import md17 as fm
from mlffkit.papers.frames import training as ft
from mlffkit.plotting import use_book_style

use_book_style()
nb = NotebookParameters("frames_lag", globals())

# %% tags=["parameters"]
profile = "book"    # smoke | book | paper
molecules = None    # book: aspirin, ethanol
seeds = None        # book: 3
model = None        # book: painn_book
epochs = None       # book: 5
variants = None     # book: T = 1, 2 at lags 1 and 4
threads = None

# %%
result = nb.run(globals())
params = result.record["params"]
runs = result.tables["runs"]
runs["Δt (fs)"] = 0.5 * runs["lag"]

# %%
ft.parameter_table(params)

# %% [markdown]
# ## Errors by lag
#
# Force and energy MAE on the test frames, mean ± std over seeds.

# %%
for column, unit in (("force_mae_meV_A", "meV/Å"), ("energy_mae_meV", "meV")):
    display(Markdown(f"**{column.split('_')[0]} MAE ({unit})**"))
    display(fa.mean_std_table(runs, column, ["molecule"]))

# %% [markdown]
# ### Did the runs learn their primary targets?
#
# Every run's test errors against predicting the mean training energy and zero forces on the
# same test frames (a run that beats neither has learned nothing to compare).

# %%
fm.primary_check(runs, params).round(1)

# %% [markdown]
# ### Did the auxiliary head learn?
#
# A verdict on $T \ge 2$ means something only if the auxiliary head learned the
# displacement. Per run, the last epoch's training auxiliary loss (FRAMES Eq. 5, divided by
# the RMS displacement) against two trivial predictors on the same training windows:
# predicting zero displacement, and extrapolating the last motion
# ($\Delta\hat p_t = p_t - p_{t-1}$). "learned": runs below the zero baseline.

# %%
aux = ft.aux_check(runs)
display(fa.aux_summary(aux, ["molecule"]).round(3))

# %% [markdown]
# ## T=2 against T=1 and against its controls, at each lag
#
# Paired by seed within each lag (same training frames): geometric-mean ratio of the MAE,
# 95% Student-t interval. $T=2$ takes batches of 4 windows and $T=1$ of 8 frames, so at equal
# epochs $T=2$ gets twice the optimiser steps; "T=1, 2x epochs" is $T=1$ with as many steps,
# and "T=2, no aux" is $T=2$ on the same windows without the auxiliary loss (the controls of
# the [MD17 chapter](md17)). A trend with the lag in T=2 / T=1 is the second frame's doing
# only if it also shows against the controls: the controls change with the lag too.

# %%
tables = fa.lag_comparisons(runs)
display(Markdown("**force, ratio to T=1**"), tables["force"].round(3),
        Markdown("**energy, ratio to T=1**"), tables["energy"].round(3))
controls = [c for c in fa.LAG_CONTROLS if c in tables]
for c in controls:
    display(Markdown(f"**force, T=2 against {c}**"), tables[c].round(3))

# %% tags=["hide-input"]
force = tables["force"]
panels = [(force[force.variant == "T=2"], "force MAE, T=2 / T=1")]
panels += [(tables[c], f"force MAE, T=2 / ({c})") for c in controls]
fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), sharey=True,
                         squeeze=False)
for ax, (table, title) in zip(axes[0], panels):
    for molecule, t in table.dropna(subset=["ratio"]).groupby("molecule", sort=False):
        ax.errorbar(t["Δt (fs)"], t["ratio"], yerr=[t["ratio"] - t["low"], t["high"] - t["ratio"]],
                    fmt="o-", capsize=3, label=molecule)
    ax.axhline(1, color="k", lw=0.8)
    ax.set_xticks(sorted(runs["Δt (fs)"].unique()))
    ax.set_xlabel("frame lag Δt (fs)")
    ax.set_title(title, fontsize=9)
axes[0][0].set_ylabel("ratio (below 1: T=2 better)")
axes[0][0].legend(fontsize=8)
plt.show()

# %% tags=["hide-input"]
def describe(table: pd.DataFrame, what: str) -> list[str]:
    out = []
    for molecule, t in table.dropna(subset=["ratio"]).groupby("molecule", sort=False):
        parts = [f"Δt = {r['Δt (fs)']:g} fs: {r.ratio:.3f} [{r.low:.3f}, {r.high:.3f}] "
                 f"({r.verdict})" for _, r in t.iterrows()]
        out.append(f"* **{molecule}** ({what}): " + "; ".join(parts))
    return out


lines = describe(force[force.variant == "T=2"], "force, T=2 / T=1")
for c in controls:
    lines += describe(tables[c], f"force, T=2 / ({c})")
hold = fa.aux_hold(aux)
display(Markdown("\n".join(lines) + f"\n\n{fa.lag_verdict(runs)}" + (f"\n\n{hold}" if hold else "")))

# %% [markdown]
# ## Caveats
#
# * Level of theory is GFN2-xTB, not DFT; the trajectories are Langevin (friction 1/ps), so
#   $\Delta p_t$ contains a small random part that no model can predict.
# * Same small-model, short-budget setting as the [MD17 chapter](md17).
#
# ## Provenance

# %%
display(Markdown(result.provenance_markdown()))
