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
# # Spring-mass: is two frames "less is more"?
#
# FRAMES {cite}`frames2025` (§4.3, Table 4, Figure 2) motivates its temporal auxiliary loss with a toy: a
# harmonic oscillator, a network that sees a window of $T$ consecutive positions
# $[x_{t-T+1},\dots,x_t]$ and predicts the force $F_t$, and an auxiliary linear head that
# predicts the next displacement $\Delta x_t = x_{t+1}-x_t$ from the same hidden
# representation. The paper reports the force MSE (in units of $10^{-9}$) for $T=1\dots6$ and
# concludes that $T=2$ is best: one frame carries no dynamics, more than two are redundant.
#
# This chapter re-runs the experiment with `mlffkit.papers.frames.spring_mass` and tests that
# claim with paired statistics over seeds.
#
# **Physics first.** For $m=k=1$ the force is $F_t=-x_t$: it is a function of the *current*
# position alone. Whatever the window adds is redundant for the primary target by
# construction; any benefit must come through the auxiliary task shaping the representation.

# %%
from mlffkit.chapters import book_file, text_progress_bars

text_progress_bars()  # before mlffkit's other imports: progress bars as plain text

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns
from IPython.display import Markdown, display

from mlffkit.experiments import NotebookParameters
from mlffkit.papers.frames import spring_mass as sm
from mlffkit.plotting import MODEL_COLORS, PAPER, use_book_style

use_book_style()
nb = NotebookParameters("spring_mass", globals())

# %% tags=["parameters"]
profile = "book"    # smoke | book | paper
seeds = None        # None: the profile's value (book: 10)
max_T = None        # longest window (book: 6)
models = None       # ["mlp", "linear"]
epochs = None
batch_size = None
hidden = None
lr = None
aux_weight = None   # initial λ_aux, decayed linearly to 0
dt = None           # time between frames (oscillator period 2π)
substeps = None     # velocity-Verlet steps per frame
noise_std = None    # Gaussian noise on the input positions
n_train = None
n_test = None
n_traj = None
n_frames = None
test_trajectories = None  # oscillators held out for testing only
control_T = None    # T of the no-aux control (0: none)
data_seed = None
threads = None

# %%
result = nb.run(globals())
params = result.record["params"]
runs = result.tables["runs"]

# %% [markdown]
# ## What the paper leaves open, and what we chose
#
# The paper fixes $m=k=1$, numerical integration, 8000 training and 2000 test samples, and an
# MLP with two hidden layers. It does not give the time step, how trajectories and windows
# are sampled, noise, widths, optimiser schedule, $\lambda_{\text{aux}}$, the number of seeds,
# nor the linear model's exact form. Our choices (this run's parameters):
#
# * trajectories: `n_traj` oscillators with amplitude uniform in [0.5, 1.5] and random phase,
#   velocity Verlet with `substeps` steps per frame, frames `dt` apart;
# * samples: distinct random (trajectory, time) pairs, the *same* pairs for every $T$ and model
#   within a seed (so comparisons are paired); training samples from the first
#   `n_traj - test_trajectories` oscillators, test samples from the other `test_trajectories`,
#   so no test window shares a frame with a training window;
# * a control: $T=$ `control_T` trained *without* the auxiliary loss ("T=2, no aux"), which
#   separates what the second frame does from what the auxiliary task does;
# * loss: $\mathrm{MSE}(F)+\lambda_{\text{aux}}(s)\,\mathrm{MSE}(\Delta x)$ on targets scaled by
#   their training standard deviation, $\lambda_{\text{aux}}$ decayed linearly to 0 (FRAMES
#   App. A.1); $T=1$ is the baseline without the auxiliary loss (FRAMES §3.4);
# * networks: the MLP has two SiLU hidden layers; the "linear regressor" has the same shape with
#   identity activations, so that its auxiliary head also shapes a shared representation;
# * Adam with cosine decay from `lr`; seed $s$ fixes the data and the initialisation.

# %%
pd.Series(params, name="value").to_frame()

# %% [markdown]
# ## Table 4: force MSE ($\times 10^{-9}$), mean ± std over seeds
#
# Ours (computed above, or loaded from the results store with its provenance) beside the
# paper's MLP row, transcribed in `paper_tables.csv`. The paper's text has no linear-model row
# (its Figure 2 shows the linear predictors, but the values are not in the text).

# %%
ours = sm.summary(runs)
ours["ours"] = [f"{m:.3g} ± {s:.2g}" for m, s in zip(ours["mean"], ours["std"])]
order = [label for label, _, _ in sm.variants(params)]
table = ours.pivot(index="model", columns="variant", values="ours")[order]
paper = pd.read_csv(book_file("frames/paper_tables.csv")).query("table == 'Table 4'")
paper_row = {f"T={T}": f"{v:.3g} ± {s:.2g}"
             for T, v, s in zip(paper["T"], paper["value"], paper["std"])}
table.loc["mlp (paper)"] = pd.Series(paper_row)
table.index.name = "model \\ run"
table

# %% [markdown]
# The paper's own Table 4 does not separate its values either: $T=1$ scores
# $1.24 \pm 1.02$ and $T=2$ $0.83 \pm 0.44$ ($\times 10^{-9}$), intervals that overlap; its
# "T=2 is best" rests on means whose spreads cover each other.

# %% [markdown]
# ## Figure 2: force MSE against window length

# %% tags=["hide-input"]
per_seed = runs.assign(mse=runs["test_mse"] / 1e-9)
models = list(params["models"])
ax = sns.barplot(per_seed, x="variant", y="mse", hue="model", hue_order=models, order=order,
                 palette=MODEL_COLORS, errorbar="sd", capsize=0.15, err_kws={"linewidth": 1},
                 alpha=0.8)
sns.stripplot(per_seed, x="variant", y="mse", hue="model", hue_order=models, order=order,
              dodge=True, palette=["k"] * len(models), size=2.5, alpha=0.5, legend=False, ax=ax)
shown = paper[[f"T={T}" in order for T in paper["T"]]]
ax.errorbar([order.index(f"T={T}") for T in shown["T"]], shown["value"], yerr=shown["std"],
            fmt="D", color=PAPER, ms=5, capsize=3, label="mlp (paper, Table 4)")
ax.set_yscale("log")
ax.set_xlabel("run (window length T; the last without the auxiliary loss)")
ax.set_ylabel(r"test force MSE ($10^{-9}$)")
ax.set_title("Spring-mass: force MSE vs T (bars: mean ± std over seeds; dots: seeds)")
ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
plt.show()

# %% [markdown]
# ## Is $T=2$ best? Paired t intervals over seeds, corrected
#
# For each model and each run other than $T=2$: the geometric-mean ratio
# $\mathrm{MSE}(\text{run})/\mathrm{MSE}(T=2)$ over seeds, with a paired Student-t interval on
# the log ratios (the pairs share data and sample times). All the comparisons of the table
# are tested together: each interval is Bonferroni-widened (level $1-0.05/m$ for $m$
# comparisons), so the whole table holds at 95%. An interval entirely above 1 means $T=2$ is
# better than that run; entirely below 1, worse. The "T=2, no aux" row asks whether the
# auxiliary loss, rather than the second frame, makes $T=2$ what it is.

# %% tags=["hide-input"]
comparison = sm.compare_to_reference(runs, reference="T=2")
display(comparison.round(4))

display(Markdown(sm.verdict(runs)))

# %% [markdown]
# ### Reading the verdict
#
# The statements above are computed from the stored runs. Two facts of the toy frame them:
#
# * The target $F_t=-x_t$ is an exact linear function of the last input. A linear model with
#   any $T$ contains the exact solution (weight $-1$ on $x_t$, 0 elsewhere), so its error
#   sits at the float32 floor whatever $T$ is; "multicollinearity" makes the *coefficients*
#   of an unregularised least-squares fit ill-determined, not its in-distribution
#   predictions. Differences between $T$ for the linear model are differences at that floor.
# * For the MLP, a longer window only adds inputs the primary target does not need; the
#   auxiliary task asks the shared representation to also encode the velocity. Whether that
#   helps or hurts the force is what the experiment measures, and the paper's claim is
#   that $T=2$ is best. Where our verdict disagrees, the difference is ours to report, not to
#   tune away: the paper does not give the time step, widths, schedule, $\lambda_{\text{aux}}$
#   or number of seeds, so the setting is ours (listed above) and may differ from theirs.
#
# ## Learning curves
#
# Test force MSE after each epoch: median over seeds, the band spans the middle half of the
# seeds (25th to 75th percentile), to show whether the comparison is made at convergence.

# %% tags=["hide-input"]
curves = result.arrays["test_mse_curves"]  # (model, run, seed, epoch)
model_ix, run_ix, seed_ix, epoch_ix = np.indices(curves.shape).reshape(4, -1)
curve_table = pd.DataFrame({"model": np.asarray(params["models"])[model_ix],
                            "run": np.asarray(order)[run_ix], "seed": seed_ix,
                            "epoch": epoch_ix + 1, "test force MSE": curves.ravel()}).dropna()
grid = sns.relplot(curve_table, kind="line", x="epoch", y="test force MSE", hue="run",
                   hue_order=order,
                   col="model", palette="viridis", legend="full", estimator="median", errorbar=("pi", 50),
                   height=3.4, aspect=1.3, facet_kws={"sharey": True})
grid.set(yscale="log")
grid.set_titles("{col_name}")
plt.show()

# %% [markdown]
# ## Provenance

# %%
display(Markdown(result.provenance_markdown()))
