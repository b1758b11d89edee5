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
# # LiPS: stability, RDF and Li diffusivity (Table 6)
#
# Fu et al. {cite}`fu2023forces` train seven models on 19,000 frames of LiPS, a lithium
# phosphorus sulfide solid electrolyte (Li₂₇P₁₂S₄₄ in a triclinic cell, 83 atoms, ab initio MD
# at 520 K), and simulate each five times for 50 ps (Nosé-Hoover, 0.25 fs). A run is stable
# until the RDF of all atoms over a 1 ps window departs from the reference's by more than 1.0;
# Table 6 adds the RDF error and the Li diffusivity against the reference's
# 1.35 × 10⁻⁹ m²/s. On LiPS most models are stable for the whole 50 ps and recover the RDF; the
# point there is the contrast with water and alanine dipeptide, and DeepPot-SE's collapse.
#
# **Ours, "LiPS-1k".** The data mirror holds only EGraFFBench's LiPS validation split, 1,000
# frames not in time order (`egraff/lips/val`). Models train on `sizes` of them (95/5
# training/validation) and are tested on `n_test` others; the RDF reference is all 1,000, as
# Fu's is all reference frames. The protocol is MDsim's (`mlffkit.papers.fu.protocol`:
# Nosé-Hoover with τ = 20 dt, 520 K, 0.25 fs, random test frames as starts, all starts of a
# model as one batch), the rule and RDF as Fu's (all atoms together, N_a N_b pairs, 500 bins to
# 6 Å, 80 frames per 1 ps window, threshold 1.0). Code: `mlffkit.papers.fu.lips`, on the
# runner that water uses (`mlffkit.papers.fu.condensed`).
#
# **How that changes the claim.** 750 training frames instead of 19,000, CPU-size SchNet and
# PaiNN, runs of `md_ps` (5 ps) instead of 50 ps: stability is capped there. The Li
# diffusivity is the MSD slope over lags of 1-2.5 ps; the reference trajectory is not mirrored,
# so Fu's 1.35 × 10⁻⁹ m²/s (at a 35 ps lag) stands beside ours for scale only, not as a score.
# Our Equiformer (`equiformer_book`, in the MD17 chapter) is left out: a training step on LiPS
# costs about 13 times painn_book's (`benchmarks/system_cost.py`), about 8 hours of one core
# for the book's 15 epochs.

# %%
from mlffkit.chapters import book_file, text_progress_bars

text_progress_bars()  # before mlffkit's other imports: progress bars as plain text

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from mlffkit.experiments import NotebookParameters
from mlffkit.papers import fu
from mlffkit.papers.fu import lips
from mlffkit.plotting import use_book_style

use_book_style()
nb = NotebookParameters("fu_lips", globals())

# %% tags=["parameters"]
profile = "book"            # smoke | book | paper
models = None               # book: schnet_book, painn_book
epochs = None               # one per model; book: 30, 15
sizes = None                # training + validation frames; book: 750 (Fu: 20,000)
starts = None               # runs per model; book: 3 (Fu: 5)
md_ps = None                # book: 5 ps per run (Fu: 50 ps)
workers = None

# %%
result = nb.run(globals())
params = result.record["params"]
pd.Series(params, name="value").to_frame()

# %% [markdown]
# ## Did each model learn?
#
# Test errors beside two predictors that learned nothing: zero forces and the training set's
# mean energy.

# %%
result.tables["training"].merge(fu.learned(result.tables["errors"], ["model", "size"]),
                                 on=["model", "size"]).round(1)

# %% [markdown]
# ## Table 6, ours and the paper's
#
# Ours per model: force MAE (meV/Å), stability (ps, mean and standard deviation over runs,
# capped at `md_ps`), collapsed runs, RDF MAE (all atoms, mean over runs), Li D over short lags
# beside Fu's reference (10⁻⁹ m²/s), steps per second (one replica, one CPU thread). The
# paper's diffusivity row is an error against its reference; its FPS is on a V100.

# %%
ours = lips.table6(result)
ours.round(3)

# %%
fu.paper_pivot(fu.paper_rows(book_file("fu/paper_tables.csv"), 6), index=["metric"])

# %% [markdown]
# ## The radial distribution function
#
# Each model's RDF (all atoms) pooled over the stable frames of its runs, beside the
# reference's.

# %%
rdf = result.tables["rdf"]
fig, ax = plt.subplots(figsize=(7, 3.4))
for (name, size), curve in rdf.groupby(["model", "size"], sort=False):
    ref = name == "reference"
    ax.plot(curve["r"], curve["g"], color="k" if ref else None, lw=2 if ref else 1,
            label="reference (LiPS-1k frames)" if ref else f"{name}, {size} frames")
ax.set_xlim(1.5, 6)
ax.set_xlabel("r (Å)")
ax.set_ylabel("g(r), all atoms")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Each run

# %%
result.tables["runs"].round(3)

# %% [markdown]
# ## Reading it
#
# The verdicts below are computed from the tables above.

# %%
display(Markdown(lips.summary(ours, params)))

# %% [markdown]
# ## Provenance

# %%
display(Markdown(result.provenance_markdown()))
