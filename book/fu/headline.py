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
# # Forces are not enough: the headline across systems (Fig. 3)
#
# Fu et al.'s {cite}`fu2023forces` message is one comparison: models ranked by force error are
# not ranked the same way by their simulations. This page pools the stored results of the four
# Fu chapters, [MD17](md17.ipynb), [water](water.ipynb),
# [alanine dipeptide](alanine_dipeptide.ipynb) and [LiPS](lips.ipynb), into one view: each
# point is a model on a system (on MD17 also at a training checkpoint), its force error beside
# how much of its runs stayed stable and how far its structure (h(r), RDF or free-energy
# profiles) is from the reference. Spearman's ρ of force error against instability and against
# the structural error within each system, and over ranks taken within systems, with 95%
# bootstrap intervals: ρ = +1 would mean the force error ranks simulations perfectly.
#
# **How to read it.** The points are our book-size models on our stand-in data (each chapter
# says how its stand-in changes the paper's claim); with two or three models per system, a
# within-system ρ is undefined or rests on three points, and the pooled one on a few more.
# These are observations on our models, not a test of the paper's seven.

# %%
from mlffkit.chapters import text_progress_bars

text_progress_bars()  # before mlffkit's other imports: progress bars as plain text

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from mlffkit.experiments import run
from mlffkit.papers import fu
from mlffkit.plotting import use_book_style

use_book_style()

# %% tags=["parameters"]
profile = "book"            # smoke | book | paper: the profile of all four records

# %%
if profile not in ("smoke", "book", "paper"):
    raise ValueError(f"unknown profile {profile!r}; valid: smoke, book, paper")
results = {name: run(name, profile) for name in ("fu_md17", "fu_water", "fu_ala2", "fu_lips")}
pts = fu.system_points(results)
pts.round(3)

# %% [markdown]
# ## Force error against simulation
#
# Force MAE as a fraction of the system's zero-force baseline (so that systems share an axis),
# against the mean stable fraction of each model's runs and against its structural error
# divided by the mean of that system's models.

# %% tags=["hide-input"]
shown = pts.assign(
    relative_force_error=pts["force_mae"] / pts["zero_force_baseline"],
    relative_structure_error=pts["structure_error"]
    / pts.groupby("system")["structure_error"].transform("mean"))
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for ax, (y, label) in zip(axes, (("stable_fraction", "stable fraction of the run"),
                                 ("relative_structure_error",
                                  "structural error / system mean"))):
    sns.scatterplot(shown, x="relative_force_error", y=y, hue="system", style="model",
                    size="final", sizes={True: 90, False: 40}, ax=ax, legend=ax is axes[1])
    ax.set_xscale("log")
    ax.set_xlabel("force MAE / zero-force baseline")
    ax.set_ylabel(label)
axes[1].legend(bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8)
fig.tight_layout()
plt.show()

# %%
correlations = fu.rank_correlations(pts, group="system", metrics=fu.headline.SYSTEM_METRICS)
correlations.round(2)

# %% [markdown]
# ## Provenance

# %%
display(Markdown("\n\n".join(f"**{name}**: {result.provenance_markdown()}"
                             for name, result in results.items())))
