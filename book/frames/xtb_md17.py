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
# # All eight MD17 molecules on our own trajectories
#
# Our data mirror has consecutive MD17 frames for four molecules only (the
# [MD17 chapter](md17)). For all eight, this chapter uses `xtb-md17`: GFN2-xTB
# {cite}`bannwarth2019gfn2` Langevin MD
# of each MD17 molecule at 500 K, 5000 frames 0.5 fs apart, started from an rMD17 geometry
# ([Generated sets](../data/generated_sets)). Training: the first 950 consecutive frames
# (lag 1, as the paper), 50 random validation frames before frame 4000; test: frames from
# 4000 on (1.5 ps after the last training frame). Everything else as in the MD17 chapter.
# As there, $T=1$ also trains for twice the epochs ("T=1, 2x epochs"): as many optimiser
# steps as $T=2$ takes, which separates the second frame from the extra updates.
# The level of theory differs from the paper's (semi-empirical, not DFT), so only the
# *ordering* of $T$ is comparable; the paper's ratios are shown beside ours.

# %%
from mlffkit.chapters import book_file, text_progress_bars

text_progress_bars()  # before mlffkit's other imports: progress bars as plain text

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from mlffkit.experiments import NotebookParameters
from mlffkit.papers.frames import analysis as fa
from mlffkit.papers.frames import md17 as fm
from mlffkit.papers.frames import training as ft
from mlffkit.plotting import PAPER, use_book_style

use_book_style()
nb = NotebookParameters("frames_xtb_md17", globals())

# %% tags=["parameters"]
profile = "book"    # smoke | book | paper
molecules = None    # book: all eight
seeds = None        # book: 3
model = None        # book: painn_book
epochs = None       # book: 5
variants = None
threads = None

# %%
result = nb.run(globals())
params = result.record["params"]
runs = result.tables["runs"]

# %% [markdown]
# ## Errors, mean ± std over seeds

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
# ## The claims, per molecule
#
# Paired by seed, force MAE, 95% Student-t intervals (see the MD17 chapter).

# %%
claims = fa.claims(runs, "force_mae_meV_A", by=["molecule"])
display(claims.round(3))
display(Markdown(fa.claim_summary(claims) + "\n\n"
                 + (fa.aux_hold(aux) or fa.verdict(claims, "on xtb-md17"))))

# %% [markdown]
# ## Ours against the paper's ratios
#
# Force MAE of $T=2$, $T=3$ and the equal-step control relative to $T=1$: ours (geometric mean
# over seeds, 95% interval) and the paper's Equiformer rows of Table 1 (one number each, no
# interval).

# %% tags=["hide-input"]
paper = pd.read_csv(book_file("frames/paper_md17_iso17.csv"))
t1 = paper[(paper.table == "Table 1") & (paper.metric == "force_mae") & paper["T"].notna()]
paper_ratio = t1.pivot(index="molecule", columns="T", values="value")
paper_ratio = paper_ratio.div(paper_ratio[1.0], axis=0)
ours = fa.compare(runs, "force_mae_meV_A", reference="T=1", by=["molecule"])
fig, ax = plt.subplots(figsize=(9, 3.6))
x = np.arange(len(params["molecules"]))
shown = [v for v in ("T=2", "T=3", "T=1, 2x epochs") if v in set(ours.variant)]
for i, label in enumerate(shown):
    offset = (i - (len(shown) - 1) / 2) * 0.25
    t = ours[ours.variant == label].set_index("molecule").reindex(params["molecules"])
    ax.errorbar(x + offset, t["ratio"], yerr=[t["ratio"] - t["low"], t["high"] - t["ratio"]],
                fmt="o", capsize=3, color=f"C{i}", label=f"{label} / T=1 (ours, xtb)")
    T = {"T=2": 2.0, "T=3": 3.0}.get(label)
    if T in paper_ratio.columns:
        p = paper_ratio[T].reindex(params["molecules"])
        ax.scatter(x + offset, p, marker="x", color=PAPER if T == 2 else "darkred",
                   zorder=3, label=f"{label} / T=1 (paper, DFT)")
ax.axhline(1, color="k", lw=0.8)
ax.set_xticks(x, params["molecules"], rotation=20)
ax.set_ylabel("force MAE ratio to T=1")
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
plt.show()

# %% [markdown]
# ## Provenance

# %%
display(Markdown(result.provenance_markdown()))
