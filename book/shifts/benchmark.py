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
# # Distribution shifts: radius refinement and test-time training (Tables 1 and 5)
#
# Kreiman & Krishnapriyan {cite}`kreiman2025shifts` evaluate force fields trained on SPICE on
# 10k new SPICEv2 molecules and find errors that grow with three shifts: unseen elements,
# force norms beyond the training distribution, and graph connectivity unlike the training
# graphs (the spectral distance, their Eq. 5). Two test-time remedies lower the errors
# (Table 1): **radius refinement** (RR: per structure, the neighbour-list radius whose graph
# spectrum is closest to the training mean) for MACE-OFF, and **test-time training** (TTT:
# the representation re-trained on a cheap prior's labels of the test structures, the heads
# frozen) for GemNet-T, with an sGDML {cite}`chmiela2018sgdml` prior fitted to ~20 labelled frames per molecule
# (Table 1) or the label-free GFN2-xTB (Table 5).
#
# **Our stand-in.** SPICEv2, MACE-OFF and GemNet-T are out of reach here. We use `xtb-shifts`
# ([Generated sets](../data/generated_sets)): 400 acyclic C/H/N/O training molecules and four
# test pools of 50 molecules that shift one thing at a time (`test_id`: new molecules of the
# same kind; `test_forces`: the same at 1500 K; `test_elements`: molecules with S, Cl, F or P;
# `test_rings`: cyclic molecules), with GFN2-xTB {cite}`bannwarth2019gfn2` as the reference
# and MMFF94 {cite}`halgren1996mmff94` as the label-free prior. The model is `painn_book` with a prior head on the
# features after its first block (the paper's split: "everything before the second
# interaction layer" is the representation), pre-trained on MMFF94 labels and fine-tuned on
# GFN2-xTB labels; the code is `mlffkit.papers.shifts`.
#
# **How that changes the claim.** The reference is a semi-empirical method, not DFT; the
# prior MMFF94 is closer to Table 5's setting (a physical, label-free prior) than to
# Table 1's sGDML; we have ~10^4 training frames instead of 951k and a CPU-size model, so our
# base errors are far above the paper's, and what a remedy can gain is measured against that
# base. Unseen elements are replaced by the nearest known element in the model's input (the
# paper's App. D.1 says "closest known element"; we take the nearest atomic number, so S, Cl,
# # F and P all become O here), while the priors see the true molecule. RR searches the
# official grid (3-9 Å), but every mlffkit backbone's envelope vanishes beyond its trained
# cutoff, as MACE-OFF's does, so RR can only remove edges.
# The `ttt_sgdml` row adapts a prior head pre-trained on MMFF94 labels to the labels of an
# sGDML prior: not the paper's setting, where the head is pre-trained on the prior it is later
# given (the [MD17 transferability chapter](md17_transfer) trains one model per prior); read
# it as a mismatched-prior control.

# %%
from mlffkit.chapters import book_file, text_progress_bars

text_progress_bars()  # before mlffkit's other imports: progress bars as plain text

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns
from IPython.display import Markdown, display

from mlffkit.experiments import NotebookParameters
from mlffkit.models import build_model
from mlffkit.papers.shifts import analysis, benchmark
from mlffkit.plotting import use_book_style

use_book_style()
nb = NotebookParameters("shifts_benchmark", globals())

# %% tags=["parameters"]
profile = "book"            # smoke | book | paper
model = None                # book: painn_book
n_train_molecules = None    # book: 400
n_test_molecules = None     # book: 50 per pool
pretrain_epochs = None
finetune_epochs = None
ttt_steps = None
ttt_lr = None
sgdml_frames = None         # book: 10 labelled frames of each test molecule
threads = None

# %%
result = nb.run(globals())
params = result.record["params"]
molecules = result.tables["molecules"]
pd.Series({k: v for k, v in params.items() if k != "radii"}, name="value").to_frame()

# %% [markdown]
# ## Did the training learn?
#
# The prior head after pre-training (against MMFF94 labels) and the main head after
# fine-tuning (against GFN2-xTB labels), on up to ~500 training frames, beside predicting
# zero forces (the mean force of a molecule): a run that does not beat that baseline has
# learned nothing that the comparisons below could use.

# %%
result.tables["training"].round(1)

# %% [markdown]
# ## Did test-time training learn its own task?
#
# TTT trains the representation on the prior head's loss on the prior's labels of the test
# molecule. A TTT row whose prior loss did not fall says nothing about the remedy, only about
# the optimiser settings. With the official code's learning rate (1e-5, SGD with momentum 0.9,
# force weight 1000) an earlier record of this chapter saw the prior loss *rise* on most
# `test_id` molecules (the scan below shows it again). So every record now holds a
# **label-free scan**: TTT on the MMFF94
# labels of the first molecules of each pool at four rates, with the prior loss over the
# molecule's frames before and after. No reference label is read, so looking at the test
# molecules is fair: TTT itself does. The book profile's rate is the largest scanned rate whose
# prior loss fell on every scanned molecule; the cell checks that against the scan.

# %%
scan = result.tables["ttt_lr_scan"].assign(
    ratio=lambda t: t["prior_loss_after"] / t["prior_loss_before"])
scan_table = scan.groupby(["lr", "pool"], sort=False).agg(
    fell=("ratio", lambda r: f"{(r < 1).sum()} of {len(r)}"),
    median_ratio=("ratio", "median")).unstack("pool")
display(scan_table.round(3))
always = scan.groupby("lr")["ratio"].apply(lambda r: bool((r < 1).all()))
chosen = max(always[always].index, default=None)
display(Markdown(
    f"Largest scanned rate at which the prior loss fell on every scanned molecule: "
    f"**{chosen:g}**; this record's rate: **{params['ttt_lr']:g}**"
    + (" (the same)." if chosen == params["ttt_lr"] else
       " (**not** the scan's choice: read the TTT rows with that in mind).")
    if chosen is not None else "No scanned rate lowered the prior loss on every molecule."))

# %% [markdown]
# And in the benchmark itself, at the record's rate: per pool and TTT row, the median ratio
# of the prior loss over the molecule's frames after TTT to before, and in how many molecules
# it fell.

# %%
ttt_rows = molecules.dropna(subset=["prior_loss_before"])
ttt_rows.assign(ratio=ttt_rows["prior_loss_after"] / ttt_rows["prior_loss_before"]).groupby(
    ["pool", "method"], sort=False).agg(
    median_ratio=("ratio", "median"),
    fell=("ratio", lambda r: f"{(r < 1).sum()} of {len(r)}")).round(3)

# %% [markdown]
# ## Table 1 and Table 5, our analogue: force MAE (meV/Å) per pool
#
# Mean over the pool's molecules ± the half-width of a 95% t interval (molecules as the
# unit, as the paper's Table 1). `base_sgdml_frames` is the base model on the frames the sGDML
# prior did not see, the fair reference for `ttt_sgdml`. `prior_mmff94` is the prior itself:
# MMFF94's forces against GFN2-xTB's on the same frames (the paper's Table 2 asks whether TTT
# beats the prior it was given). The paper's numbers follow, from `paper_tables.csv`.

# %%
prior_rows = benchmark.prior_force_errors(
    molecules.loc[molecules["method"] == "base", ["pool", "member"]].itertuples(index=False,
                                                                               name=None))
scored = pd.concat([molecules, prior_rows], ignore_index=True)
summary = benchmark.summary(scored)
summary["value"] = [f"{m:.1f} ± {h:.1f}" if np.isfinite(h) else f"{m:.1f}"
                    for m, h in zip(summary["force_mae"], summary["ci95"])]
summary.pivot(index="method", columns="pool", values="value").loc[
    [m for m in ("prior_mmff94", "base", "rr", "ttt_mmff94", "base_sgdml_frames", "ttt_sgdml")
     if m in set(summary["method"])], list(params["pools"])]

# %%
paper = pd.read_csv(book_file("shifts/paper_tables.csv")).query("table in ['1', '5']")
paper["shown"] = [f"{m:g} ± {c:g}" for m, c in zip(paper["value"], paper["ci95"])]
paper.pivot_table(index=["table", "model", "method"], columns="column", values="shown",
                  aggfunc="first").fillna("")

# %% [markdown]
# ## Does each remedy help? Paired per molecule
#
# For each pool: the geometric-mean ratio of a method's force MAE to its reference over the
# molecules, with a paired t interval on the log ratios, and how many molecules improved.
# The verdict is *yes* when the whole interval lies below 1, *no* when it lies at or above 1,
# and *not resolved* otherwise.

# %%
verdicts = analysis.verdicts(scored)
display(verdicts[["claim", "pool", "units", "ratio", "low", "high", "improved",
                  "verdict"]].round(3))

# %%
lines = []
for (method, claim), group in verdicts.groupby(["method", "claim"], sort=False):
    counts = group["verdict"].value_counts().to_dict()
    per_pool = ", ".join(f"{p}: {v} ({r:.2f})" for p, v, r in
                         zip(group["pool"], group["verdict"], group["ratio"]))
    lines.append(f"- **{claim}**: {per_pool}.")
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## Error against the shift (Figs. 2, 6, 7 and 11)
#
# Each point is one test molecule: its force MAE against how far it lies from the training
# set, by force norm (its mean per-atom |F| in standard deviations of the training molecules',
# Fig. 2/6) and by connectivity (the spectral distance at the trained cutoff, Fig. 7/11),
# before and after test-time training on MMFF94 labels.

# %% tags=["hide-input"]
shown = molecules[molecules["method"].isin(["base", "ttt_mmff94", "rr"])]
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, x, label in ((axes[0], "force_norm_z", "force-norm shift z = (f − μ_train) / σ_train"),
                     (axes[1], "spectral_distance", "spectral distance at the trained cutoff")):
    sns.scatterplot(shown, x=x, y="force_mae", hue="pool", style="method", ax=ax, s=28,
                    alpha=0.75, legend=ax is axes[1])
    ax.set_xlabel(label)
    ax.set_yscale("log")
axes[0].set_ylabel("force MAE (meV/Å)")
axes[1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
fig.suptitle("Force error against the distance from the training distribution")
plt.show()

# %% [markdown]
# ## Are the shifts independent, and does the prior see them? (Figs. 17 and 19)
#
# Left (Fig. 19): each test molecule's force-norm shift against its connectivity shift: the
# paper finds the two independent on SPICEv2. Right (Fig. 17): per frame, the force norm of
# the MMFF94 prior against GFN2-xTB's: TTT can only help where the prior ranks structures by
# their forces as the reference does (the paper: sGDML against DFT on aspirin, highly
# correlated). Spearman's ρ and Pearson's r over the points shown.

# %% tags=["hide-input"]
from scipy import stats

per_molecule = molecules[molecules["method"] == "base"]
norms = benchmark.prior_and_reference_force_norms(
    per_molecule[["pool", "member"]].itertuples(index=False, name=None))
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
sns.scatterplot(per_molecule, x="spectral_distance", y="force_norm_z", hue="pool", s=26,
                ax=axes[0], legend=False)
axes[0].set(xlabel="spectral distance at the trained cutoff",
            ylabel="force-norm shift z", title="Fig. 19: force norm against connectivity")
sns.scatterplot(norms, x="reference", y="prior", hue="pool", s=8, alpha=0.5, ax=axes[1])
lim = [0, float(max(norms["reference"].max(), norms["prior"].max()))]
axes[1].plot(lim, lim, "k--", lw=0.8)
axes[1].set(xlabel="GFN2-xTB force norm (eV/Å)", ylabel="MMFF94 force norm (eV/Å)",
            title="Fig. 17: prior against reference force norm")
axes[1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
plt.tight_layout()
plt.show()
rho19 = stats.spearmanr(per_molecule["spectral_distance"], per_molecule["force_norm_z"])
rho17 = stats.spearmanr(norms["reference"], norms["prior"])
r17 = stats.pearsonr(norms["reference"], norms["prior"])
display(Markdown(
    f"Force-norm shift against spectral distance, over {len(per_molecule)} molecules: "
    f"ρ = {rho19.statistic:.2f} (p = {rho19.pvalue:.2g}). Prior against reference force norm, "
    f"over {len(norms)} frames: ρ = {rho17.statistic:.2f}, r = {r17.statistic:.2f}; per pool: "
    + ", ".join(f"{pool} ρ = {stats.spearmanr(t['reference'], t['prior']).statistic:.2f}"
                for pool, t in norms.groupby("pool", sort=False)) + "."))

# %% [markdown]
# ## Radius refinement: which radius, and what it does
#
# The radius chosen per frame (mean per molecule) and the change of the force MAE it brings.
# Radii above the trained cutoff add edges whose envelope is zero, so the prediction does not
# change; only radii below it act.

# %% tags=["hide-input"]
wide = molecules.pivot_table(index=["pool", "member"], columns="method", values="force_mae")
radius = molecules[molecules["method"] == "base"].set_index(["pool", "member"])["r_star_mean"]
frame = pd.DataFrame({"r_star_mean": radius, "rr / base": wide["rr"] / wide["base"]}).reset_index()
ax = sns.scatterplot(frame, x="r_star_mean", y="rr / base", hue="pool", s=28)
ax.axhline(1, color="k", lw=0.8, ls="--")
ax.axvline(build_model(params["model"]).cutoff, color="0.5", lw=0.8, ls=":",
           label="trained cutoff")
ax.set_xlabel("mean refined radius r* of the molecule's frames (Å)")
ax.set_ylabel("force MAE ratio, RR / base")
ax.set_title("Radius refinement: radius against gain")
plt.show()

# %% [markdown]
# ### What RR does to the graphs (Figs. 3 and 10)
#
# The refined radius depends on the geometry only, so the graphs can be recomputed from the
# data set: the Laplacian eigenvalues of the training graphs, and of the test graphs at the
# trained cutoff and at each frame's `r*` (Fig. 3), and each frame's spectral distance to the
# mean training spectrum before and after refinement (Fig. 10; the dotted line is the
# training frames' own mean distance plus one standard deviation, the paper's shift
# threshold). The last line checks the recomputed distances against the record's.

# %% tags=["hide-input"]
from mlffkit import reference as generated_sets
from mlffkit.papers.shifts import refinement, spectral

cutoff = build_model(params["model"]).cutoff
train_positions = [p for m in benchmark.pool_members("train")[: params["n_train_molecules"]]
                   for p in generated_sets.load(benchmark.SET, m)["positions"]]
train_spectra = [spectral.laplacian_spectrum(p, cutoff) for p in train_positions]
mean_train = spectral.mean_spectrum(train_spectra)
train_distance = np.array([spectral.spectral_distance(x, mean_train) for x in train_spectra])
frames, eigenvalues = [], [pd.DataFrame({"graph": "training", "eigenvalue": np.concatenate(train_spectra)})]
for pool, member in per_molecule[["pool", "member"]].itertuples(index=False, name=None):
    positions = generated_sets.load(benchmark.SET, member)["positions"]
    table = refinement.refined_radii(positions, mean_train, cutoff, params["radii"])
    frames.append(table.assign(pool=pool, member=member))
    for graph, radii in (("test, trained cutoff", [cutoff] * len(positions)),
                         ("test, r*", table["r_star"])):
        eigenvalues.append(pd.DataFrame({"graph": graph, "eigenvalue": np.concatenate(
            [spectral.laplacian_spectrum(p, r) for p, r in zip(positions, radii)])}))
frames = pd.concat(frames, ignore_index=True)
eigenvalues = pd.concat(eigenvalues, ignore_index=True)
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
sns.histplot(eigenvalues, x="eigenvalue", hue="graph", stat="density", common_norm=False,
             element="step", fill=False, bins=60, ax=axes[0])
axes[0].set_title("Fig. 3: Laplacian eigenvalues")
long = frames.melt(id_vars=["pool"], value_vars=["distance_trained", "distance_refined"],
                   var_name="radius", value_name="spectral distance")
long["radius"] = long["radius"].map({"distance_trained": "trained cutoff",
                                     "distance_refined": "r*"})
sns.boxplot(long, x="pool", y="spectral distance", hue="radius", ax=axes[1], fliersize=2)
axes[1].axhline(train_distance.mean() + train_distance.std(), color="k", ls=":", lw=1)
axes[1].set_title("Fig. 10: distance to the mean training spectrum")
axes[1].tick_params(axis="x", labelsize=8)
plt.tight_layout()
plt.show()
recomputed = frames.groupby(["pool", "member"])["distance_trained"].mean()
stored = per_molecule.set_index(["pool", "member"])["spectral_distance"]
display(Markdown(
    f"Median distance at the trained cutoff → at r*: " + ", ".join(
        f"{pool} {t['distance_trained'].median():.1f} → {t['distance_refined'].median():.1f}"
        for pool, t in frames.groupby("pool", sort=False))
    + f"; training frames {np.median(train_distance):.1f}. Largest difference between the "
    f"recomputed and the stored per-molecule distances: "
    f"{np.abs(recomputed - stored.reindex(recomputed.index)).max():.2g}."))

# %% [markdown]
# ## Provenance

# %%
display(Markdown(result.provenance_markdown()))
