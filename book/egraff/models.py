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
# # EGraFFBench's six force fields: accuracy, cost and simulation (Tables 1–6, 17–19)
#
# EGraFFBench {cite}`bihani2024egraffbench` trains six equivariant force fields — NequIP
# {cite}`batzner2022nequip`, Allegro {cite}`musaelian2023allegro`, BOTNet
# {cite}`batatia2022botnet`, MACE {cite}`batatia2022mace`, Equiformer
# {cite}`liao2023equiformer` and TorchMD-Net {cite}`tholke2022torchmdnet` — on the same
# splits, reports their test errors (Table 1), their training and inference cost (Table 4),
# and runs each forward from reference frames to score the simulations (Tables 2–3). Its
# headline: no model wins everywhere, and a low test error does not promise a faithful
# simulation.
#
# Here every model is trained **through its own package** (`nequip-train` for NequIP and
# Allegro, `mace_run_train` for MACE and BOTNet in a second environment, `torchmd-train` for
# TorchMD-Net; Equiformer is mlffkit's own, the paper's used the official code) behind one
# interface, `mlffkit.papers.egraff.forcefields`, on EGraFFBench's own MD17 splits (950
# training and 50 validation frames; the test file is MD17 frames 0–999, a 0.5 fs trajectory).
#
# **What differs from the paper, and how it changes the claims.**
#
# * *Training budget.* The paper trains each model to convergence on a GPU (up to thousands of
#   epochs); here each gets the `book` settings of
#   `../shared/papers/egraff_models_setup.md`, sized there for ten CPU-minutes on aspirin and
#   measured here at 41-45 minutes (TorchMD-Net 84) on one shared core, all curves still
#   falling. Our Equiformer's 40 epochs, meant as the same budget, took 3.6 hours (about 1.2
#   without the slowdown explained under Table 4): more than the others' CPU time, so its row
#   is not an equal-budget comparison. Our errors are
#   several times the paper's, and a ranking of under-trained models is a ranking of how fast
#   each learns on a CPU, not of what each can reach. The `paper` profile holds MDBENCHGNN's
#   settings for a GPU.
# * *Versions.* The packages are today's (nequip 0.19, nequip-allegro 0.8, mace-torch 0.3.16,
#   torchmd-net 3.1); Allegro 0.8 is a different architecture from the 0.2 the paper used.
# * *Simulations.* As the metrics chapter ({doc}`metrics`) runs them, so that the models sit
#   beside its cheap potentials and its floor: five starts spread over the test trajectory
#   with velocities reconstructed from the neighbouring frames, 400 steps of 0.5 fs at 500 K
#   (Nosé–Hoover chain), scored against the reference frames at the same times. The paper runs
#   1000 steps; h(r) stands in for their molecular RDF.
# * *3BPA and acetylacetone.* Their test files are frames sampled at a temperature, not
#   trajectories, so runs there are scored against the whole set (JSD, WF, h(r) MAE,
#   stability), and EV/FV, which need the reference at the same time, are not computed (see
#   the Tables 5–6 section for what the paper's EV/FV there measure).
# * *Cells run so far.* The table after the parameters lists every cell of the paper's
#   Table 1 (its nine data sets by six models): stored, or why not. A book model takes 40-85
#   minutes of one CPU core on aspirin (our Equiformer 3.6 hours, in workers slowed as Table 4
#   explains), 11-18 minutes on ethanol; `mlffkit run egraff_models --profile book --set
#   models=[...] --set systems=[...]` adds cells, one stored record each.

# %%
from mlffkit.chapters import book_file, text_progress_bars

text_progress_bars()  # before mlffkit's other imports: progress bars as plain text

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns
from IPython.display import Markdown, display

from mlffkit.experiments import NotebookParameters, registry
from mlffkit.papers.egraff import benchmark as eb, figures as efig, metrics as em
from mlffkit.plotting import use_book_style

use_book_style()
nb = NotebookParameters("egraff_models", globals())

# %% tags=["parameters"]
profile = "book"   # smoke | book | paper
models = None      # of nequip, allegro, botnet, mace, equiformer, torchmdnet (book: all six)
systems = None     # of md17/<molecule> and xtb-md17/<molecule>, molecule one of aspirin,
#                    ethanol, naphthalene, salicylic_acid; 3bpa; acac
#                    (book: md17/aspirin, md17/ethanol, md17/naphthalene,
#                    md17/salicylic_acid, xtb-md17/ethanol, acac, 3bpa)

# %%
result = nb.run(globals())
errors, runs = result.tables["errors"], result.tables["runs"]
errors = errors.assign(label=errors["model"].map(eb.LABELS),
                       molecule=errors["system"].str.split("/").str[-1])
runs = runs.assign(label=runs["model"].map(eb.LABELS),
                   molecule=runs["system"].str.split("/").str[-1])
paper = em.paper_tables(book_file("egraff/paper_tables.csv"), tables="all")  # each use filters
# systems with a test trajectory (MD17, xtb-md17) and with sampled test frames (3BPA, acac)
sampled_systems = [s for s in errors["system"].unique() if s in eb.ENSEMBLES]
trajectory_systems = [s for s in errors["system"].unique() if s not in eb.ENSEMBLES]
display(Markdown(f"{len(errors)} trained models ({errors['train_s'].sum() / 3600:.1f} CPU-hours "
                 f"of training), {len(runs)} forward runs. The paper's Table 1 cells:"))
coverage = eb.coverage(errors)
display(coverage)
aspirin_hours = errors.loc[errors["system"] == "md17/aspirin", "train_s"].sum() / 3600
to_run = (f"*to run*: wired, not run yet (CPU time: the six models' training alone took "
          f"{aspirin_hours:.1f} hours on aspirin, stored wall times on shared cores, before "
          "their tests and simulations). ") if (coverage == "to run").any().any() else ""
display(Markdown(to_run + " ".join(
    f"*{label}* ({system}): {why}." for system, (label, why) in eb.NOT_WIRED.items())))

# %% [markdown]
# ## Did each model learn?
#
# Every model's test errors beside the two trivial predictors: zero forces, and the mean
# training energy for every frame. A model that does not beat both has learned nothing worth
# comparing.

# %% tags=["hide-input"]
learned = eb.learned(errors, result.arrays).set_index(["system", "model"])
display(learned.round(1))
failed = learned.index[~learned["beats both"]].tolist()
display(Markdown("Every model beats both trivial predictors." if not failed else
                 f"**Not learned:** {failed}; they are kept in the tables but their rows say "
                 "nothing about the architecture."))
# where a model's energy MAE is mostly a constant offset, say so: the surface may be learned
# when its zero is not
offset = learned[learned["energy_offset_meV"].abs() > 0.5 * learned["energy_mae_meV"]]
offset = offset[offset["energy_mae_meV"] > 2 * offset["energy_mae_offset_removed_meV"]]
others = learned.drop(offset.index)["energy_mae_offset_removed_meV"]


def others_on(system):
    rest = others[others.index.get_level_values("system") == system]
    return f"; others {rest.min():.1f}–{rest.max():.1f}" if len(rest) else ""


if len(offset):
    display(Markdown(
        "Energy errors that are mostly a constant offset (mean signed error; MAE with it "
        "removed, beside the other models' on the same system): " + "; ".join(
            f"{eb.LABELS[model]} on {system} {r['energy_offset_meV']:+.0f} meV "
            f"({r['energy_mae_offset_removed_meV']:.1f} meV left{others_on(system)})"
            for (system, model), r in offset.iterrows()) + ". The shape of the energy surface "
        "is learned there; its zero is not."))

# %% [markdown]
# ## Table 1: energy and force MAE, ours beside the paper's
#
# Energy MAE in meV per molecule, force MAE in meV/Å per component, on the test frames (ours:
# the first 1000 of the file; acetylacetone's has 650). The paper's numbers are transcribed
# (`paper_tables.csv`): their converged models, for scale and for the ranking, not
# reproduced here.

# %% tags=["hide-input"]
theirs = eb.paper_table1(paper)
theirs = theirs[theirs["system"].isin(errors["system"]) & theirs["model"].isin(errors["label"])]
both = pd.concat([
    errors.assign(source="ours (book, CPU)")[["system", "label", "source", "energy_mae_meV",
                                               "force_mae_meV_A"]],
    theirs.rename(columns={"model": "label"}).assign(source="paper")[
        ["system", "label", "source", "energy_mae_meV", "force_mae_meV_A"]]])
table1 = both.pivot_table(index=["system", "source"], columns="label",
                          values=["energy_mae_meV", "force_mae_meV_A"], sort=False)
display(table1.round(1))

tidy = both.melt(id_vars=["system", "label", "source"], var_name="target", value_name="MAE")
grid = sns.catplot(data=tidy, x="label", y="MAE", hue="source", col="target", row="system",
                   kind="bar", sharey=False, height=2.6, aspect=1.6,
                   order=[eb.LABELS[m] for m in eb.MODELS if eb.LABELS[m] in set(tidy.label)])
grid.set_axis_labels("", "MAE (meV; meV/Å)")
grid.set_titles("{row_name}: {col_name}")
for ax in grid.axes.flat:
    ax.tick_params(axis="x", rotation=30)
plt.show()

# %% [markdown]
# ### Do our rankings agree with the paper's?
#
# Spearman's ρ between our models' MAEs and the paper's, per molecule (ρ = 1: the same
# order, −1: reversed). The interval resamples our test frames; it does not hold the spread
# of training (one seed per model), so it is narrower than the truth. `p_agree` is the chance
# that two unrelated rankings of as many models agree at least as well (exact permutation
# test): with four models even ρ = 1 happens by chance 4% of the time (with six, 0.14%), so
# "agrees" needs both a positive interval and `p_agree` < 0.05.

# %% tags=["hide-input"]
agreement = eb.rank_agreement(errors[~errors["system"].str.startswith("xtb-md17/")],
                              result.arrays, paper)
display(agreement.round(2))


def verdict(row):
    # without an interval (one run per model: Table 4's training), p_agree alone decides
    if (np.isnan(row["low"]) or row["low"] > 0) and row["p_agree"] < 0.05:
        return "agrees"
    return f"no agreement shown (p = {row['p_agree']:.2f} by chance)"


agreement["verdict"] = agreement.apply(verdict, axis=1)
lines = [f"* {r.system}, {r.target}: ρ = {r.spearman:.2f} [{r.low:.2f}, {r.high:.2f}] — "
         f"{r.verdict}" for r in agreement.itertuples()]
display(Markdown("\n".join(lines)))

# %% [markdown]
# ### Table 17: the paper's own models against the literature it quotes
#
# The paper's appendix sets its Table 1 beside MD17 numbers from the models' own papers. Liao &
# Smidt (Equiformer) and Thölke & De Fabritiis (TorchMD-Net) trained on 950 MD17 frames, as
# EGraFFBench and we do; Fu et al. trained NequIP on 9,500, so its numbers are not a like-for-
# like reference. `vs_best_quoted` is EGraFFBench's value over the lowest quoted one; our
# values, where we have the cell, are added.

# %% tags=["hide-input"]
literature = eb.literature_table(paper)
literature = literature[literature["EGraFFBench"].notna()]
ours_long = errors.assign(molecule=errors["system"].str.replace("md17/", "", regex=False)).melt(
    id_vars=["molecule", "label"], value_vars=["energy_mae_meV", "force_mae_meV_A"],
    var_name="metric", value_name="ours")
ours_long["metric"] = ours_long["metric"].map({"energy_mae_meV": "energy_mae",
                                               "force_mae_meV_A": "force_mae"})
literature = literature.merge(ours_long.rename(columns={"label": "model"}),
                              on=["molecule", "model", "metric"], how="left")
display(literature.round(2))
same_split = literature.dropna(subset=["Liao & Smidt (2023)"])
same_split = same_split[same_split["metric"] == "force_mae"].assign(
    ratio=lambda t: t["EGraFFBench"] / t["Liao & Smidt (2023)"])
display(Markdown("EGraFFBench's force MAE over Liao & Smidt's (same 950-frame MD17 setting), "
                 "over the four molecules: " + "; ".join(
                     f"{model} {t['ratio'].min():.2f}–{t['ratio'].max():.2f}x"
                     for model, t in same_split.groupby("model", sort=False)) + "."))

# %% [markdown]
# ## Table 4: training and inference cost on this CPU
#
# Minutes per training epoch (the model's own trainer, validation included, one thread) and
# minutes for 1000 MD steps through ASE, from the forward runs' speed. None of the book runs
# stops early (every patience is at least its epochs). Beside them, the paper's Table 4: its
# models at the paper's sizes, trained on an A100 GPU and simulated on a 16-core AMD EPYC CPU
# (App. A.8). Training times therefore compare only in their order; inference ran on a CPU
# in both. Our MACE and BOTNet run in their own environment (e3nn 0.4.4) behind ASE's socket
# calculator, in float64 as the paper simulated them; the other four run in this process in
# float32. The models' sizes differ too: the paper's Equiformer is Liao & Smidt's MD17 model
# (about 3.2 million parameters in our `equiformer_md17` preset), ours the 72-thousand
# parameter `equiformer_book`.
#
# **These times are upper bounds.** Every run trained in a Dask worker on two cores shared
# with other jobs. The aspirin runs did so before `MALLOC_TRIM_THRESHOLD_=65536`, which Dask
# set in its workers, was removed (`mlffkit.experiments.distributed`): it makes glibc unmap
# and fault in again every large freed array. Measured on our Equiformer, that made a
# training step 2.9x slower (2.1 against 0.72 s for a batch of eight aspirins). The other
# trainers ran as subprocesses of those workers and inherited the setting, by factors not
# measured, so the ratios between models in the aspirin row are uncertain by up to that
# much. The acetylacetone, 3BPA and later MD17 runs trained after the fix (each record's
# provenance names its commit). Our Equiformer's MD speed matches a plain process's
# (17 steps/s on aspirin here and in `benchmarks/models.py`).

# %% tags=["hide-input"]
cost = eb.timing(errors, result.tables["settings"])
cost["label"] = cost["model"].map(eb.LABELS)
paper_cost = eb.paper_table4(paper).rename(columns={"model": "label"})
paper_cost = paper_cost[paper_cost["system"].isin(cost["system"])]
both_costs = pd.concat([cost.assign(source="ours"), paper_cost.assign(source="paper")],
                       ignore_index=True)
for measure, title in (("train_min_per_epoch", "Training, minutes per epoch (ours: one CPU "
                        "thread; paper: an A100 GPU)"),
                       ("md_min_per_1000_steps", "MD, minutes per 1000 steps (both on a CPU)")):
    display(Markdown(f"**{title}**"))
    display(both_costs.pivot_table(index="system", columns=["source", "label"], values=measure,
                                   sort=False).round(2))

# the order of the models' cost against the paper's: MD resamples the forward runs; training
# is one run per model, so it has no interval and is judged by p_agree alone
cost_agreement = eb.timing_rank_agreement(cost, runs, paper)
cost_agreement = cost_agreement[cost_agreement["models"] >= 3].copy()
cost_agreement["verdict"] = cost_agreement.apply(verdict, axis=1)
display(cost_agreement.round(2))
slowest_md = both_costs.loc[both_costs.groupby(["source", "system"])["md_min_per_1000_steps"]
                            .idxmax(), ["source", "system", "label"]]
md_ratio = (both_costs.pivot_table(index=["source", "system"], columns="label",
                                   values="md_min_per_1000_steps")
            .eval("Equiformer / NequIP").dropna().groupby("source").agg(["min", "max"]))
display(Markdown("Slowest in MD, per system: " + "; ".join(
    f"{source} " + ", ".join(f"{r.system} {r.label}" for r in t.itertuples())
    for source, t in slowest_md.groupby("source")) + ". Equiformer's MD time over NequIP's: "
    + "; ".join(f"{source} {r['min']:.1f}–{r['max']:.1f}x" for source, r in md_ratio.iterrows())
    + "."))
if profile != "smoke":
    # the zero-shot task trains the same models on the same inputs again, outside the slowed
    # Dask workers (on cores shared with other jobs): a measured view of the slowdown
    retrained, _ = eb.stored_runs(registry.resolve("egraff_zero_shots", profile),
                                  "egraff_zero_shot")
    if retrained is not None:
        again = retrained.tables["errors"][["system", "model", "train_s"]].merge(
            errors[["system", "model", "train_s"]], on=["system", "model"],
            suffixes=("_again", "_table1"))
        display(Markdown(
            "The same trainings repeated for the zero-shot task, without Dask's malloc setting "
            "(cores still shared): " + "; ".join(
                f"{eb.LABELS[r.model]} {r.train_s_table1 / 60:.0f} → {r.train_s_again / 60:.0f} "
                f"min ({r.train_s_table1 / r.train_s_again:.1f}x)"
                for r in again.itertuples()) + "."))

# %% [markdown]
# **Reading it.** The order of the models' cost does not carry over from the paper's setup to
# ours (the verdicts above). Two differences we know of: our MACE and BOTNet pay for the socket
# and for float64, and the paper's Equiformer, at its paper size, is its slowest model in MD,
# where our book-size one is not (the ratio line above).

# %% [markdown]
# ## Tables 2 and 3: the simulations
#
# Per model and molecule, the mean (standard deviation) over the five forward runs of JSD and
# WF on h(r), and the geometric means of EV and FV over each run, beside the paper's values and
# beside the **time-shifted reference** of the metrics chapter: the DFT trajectory scored
# against itself 200 fs later, a perfect potential that has decorrelated. A metric that reads
# the same for a model as for that floor cannot tell the model from a perfect one.

# %% tags=["hide-input"]
floor_record = registry.run("egraff_metrics", profile)   # the same starts and steps
floor = floor_record.tables["runs"]
floor = floor[floor["potential"] == em.SHIFTED].assign(label="reference, time-shifted")
SIM = {"jsd": "JSD", "wf_percent": "WF (%)", "ev_raw_gm": "EV (×1e-5)", "fv_gm": "FV",
       "stable_time_fs": "stable (fs)"}
scale = {"ev_raw_gm": 1e-5}
pooled = pd.concat([runs, floor.assign(system="md17/" + floor["molecule"])], ignore_index=True)
pooled = pooled[pooled["system"].isin(trajectory_systems)]
rows = []
for (system, label), t in pooled.groupby(["system", "label"], sort=False):
    row = {"system": system, "model": label}
    for key, name in SIM.items():
        v = t[key].to_numpy(float) / scale.get(key, 1.0)
        row[name] = f"{np.mean(v):.3g} ({np.std(v, ddof=1):.2g})"
    rows.append(row)
display(pd.DataFrame(rows).set_index(["system", "model"]))

paper_sim = paper[paper["table"].isin(["Table 2", "Table 3"])].copy()
paper_sim = paper_sim[("md17/" + paper_sim["molecule"]).isin(errors["system"])
                      & paper_sim["model"].isin(errors["label"])]
display(Markdown("**The paper's values (their models, 1000-step runs, RDF-based JSD/WF):**"))
display(paper_sim.pivot_table(index=["molecule", "model"], columns="metric", values="value",
                              sort=False).round(3))

# %% [markdown]
# ### Do our simulation rankings agree with the paper's?
#
# As for Table 1: Spearman's ρ between our models' means over their five runs and the
# paper's Tables 2-3 values, per molecule and metric, with an interval from resampling the
# start frames (shared by the models) and the chance of agreeing this well by luck. The
# paper's JSD and WF are on RDFs, ours on h(r); only the orders are compared.

# %% tags=["hide-input"]
sim_agreement = eb.simulation_rank_agreement(runs[runs["system"].isin(trajectory_systems)],
                                             paper)
sim_agreement = sim_agreement[sim_agreement["models"] >= 3]
sim_agreement["verdict"] = sim_agreement.apply(verdict, axis=1)
display(sim_agreement.round(2))

# %% [markdown]
# ### Which simulation metric tells a trained model from the perfect-but-decorrelated one?
#
# Paired by start frame (each model's run and the shifted reference share the reference
# window), the geometric-mean ratio of the metric to the floor's, with a bootstrap 95%
# interval over the five starts.

# %% tags=["hide-input"]
asked = {"fv_gm": "FV", "ev_raw_gm": "EV", "jsd": "JSD", "wf_percent": "WF",
         "hr_mae": "h(r) MAE"}
cells = []
for system in trajectory_systems:
    molecule = system.split("/")[-1]
    both_runs = pooled[pooled["system"] == system].assign(
        molecule=molecule,
        potential=lambda t: np.where(t["label"] == "reference, time-shifted", em.SHIFTED,
                                     t["label"]))
    for metric, name in asked.items():
        vs = em.versus(both_runs, metric)
        for r in vs.itertuples():
            cells.append({"system": system, "model": r.potential, "metric": name,
                          "verdict": r.verdict,
                          "cell": f"{r.ratio:.3g} [{r.ci_low:.3g}, {r.ci_high:.3g}] {r.verdict}"})
cells = pd.DataFrame(cells)
display(cells.pivot_table(index=["system", "model"], columns="metric", values="cell",
                          aggfunc="first", sort=False))


def tell(metrics):
    return f"{', '.join(metrics)} tell{'s' * (len(metrics) == 1)}"


lines = []
for system, t in cells.assign(apart=cells["verdict"] != "indistinguishable").groupby(
        "system", sort=False):
    apart = t.groupby("metric", sort=False)["apart"].sum()
    n_models = t["model"].nunique()
    every = [m for m, k in apart.items() if k == n_models]
    none = [m for m, k in apart.items() if k == 0]
    lines.append(f"* {system}: " + (f"{tell(every)} every model from the floor"
                                     if every else "no metric tells every model from the floor")
                 + (f"; {tell(none)} none of the {n_models} from it" if none else "")
                 + ".")
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## FV and EV over time
#
# The force violation of every model's runs over the 200 fs, beside the time-shifted
# reference's (the floor once trajectories have decorrelated) — the paper's Figure 5 layout.

# %% tags=["hide-input"]
time_fs = np.arange(runs["n_frames"].max()) * em.MD17_TIMESTEP_FS
fig, axes = plt.subplots(1, len(trajectory_systems), figsize=(11, 3.4), squeeze=False)
for ax, system in zip(axes[0], trajectory_systems):
    for model in errors.loc[errors["system"] == system, "model"]:
        fv = result.arrays[f"{system}.{model}.fv"]
        ax.plot(time_fs[:fv.shape[1]], np.nanmean(fv, axis=0), label=eb.LABELS[model])
    if system.startswith("md17/"):   # the floor is DFT's own trajectory
        shifted = floor_record.arrays[f"{system.split('/')[-1]}.{em.SHIFTED}.fv"]
        ax.plot(time_fs[:shifted.shape[1]], np.nanmean(shifted, axis=0), "k--",
                label="reference, time-shifted")
    ax.set(title=system, xlabel="time (fs)", ylabel="FV (mean over runs)")
axes[0][-1].legend(fontsize=7, loc="lower right")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Structure and divergence: h(r) and RMSD (the paper's Figures 3 and 9)
#
# Left, each model's h(r) (the distribution of interatomic distances over its five runs)
# beside the reference frames' over the same windows. Right, the RMSD (Kabsch-aligned)
# between each run and the reference trajectory at the same time, mean and standard deviation
# over the five runs; dashed, the time-shifted reference's: a perfect potential that has
# decorrelated, the level every run reaches once chaos has separated it from the reference.

# %% tags=["hide-input"]
fig, axes = plt.subplots(len(trajectory_systems), 2,
                         figsize=(11, 3.2 * len(trajectory_systems)), squeeze=False)
for (ax_hr, ax_rmsd), system in zip(axes, trajectory_systems):
    models_here = list(errors.loc[errors["system"] == system, "model"])
    edges = result.arrays[f"{system}.{models_here[0]}.hr_bin_edges"]
    centres = 0.5 * (edges[1:] + edges[:-1])
    ax_hr.plot(centres, result.arrays[f"{system}.{models_here[0]}.hr_ref"].mean(axis=0), "k--",
               lw=1.2, label="reference")
    tidy = []
    for model in models_here:
        ax_hr.plot(centres, result.arrays[f"{system}.{model}.hr"].mean(axis=0), lw=1,
                   label=eb.LABELS[model])
        rmsd = result.arrays[f"{system}.{model}.rmsd"]
        for run_index, series in enumerate(rmsd):
            tidy.append(pd.DataFrame({"time (fs)": time_fs[:len(series)], "RMSD (Å)": series,
                                      "model": eb.LABELS[model], "run": run_index}))
    sns.lineplot(pd.concat(tidy, ignore_index=True), x="time (fs)", y="RMSD (Å)", hue="model",
                 errorbar="sd", ax=ax_rmsd, lw=1)
    if system.startswith("md17/"):   # the floor is DFT's own trajectory
        shifted = floor_record.arrays[f"{system.split('/')[-1]}.{em.SHIFTED}.rmsd"]
        ax_rmsd.plot(time_fs[:shifted.shape[1]], shifted.mean(axis=0), "k--", lw=1.2,
                     label="reference, time-shifted")
    ax_hr.set(title=f"{system}: h(r)", xlabel="r (Å)", ylabel="h(r)", xlim=(0.8, 8))
    ax_rmsd.set(title=f"{system}: RMSD from the reference at the same time")
    ax_hr.legend(fontsize=7)
    ax_rmsd.legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Summary figures (the paper's Figures 4, 6 and 7)
#
# Figure 4: the geometric means of EV and FV over each run, per model, with a bootstrap 95%
# interval over the five runs. Figure 6: every metric of a system in percent of its largest
# value over the models (lower is better on every axis). Figure 7: pairs of related metrics,
# each divided by its largest value over every model and system. The training times are the
# Table 4 upper bounds (see there); EV and FV exist only for systems with a test trajectory.

# %% tags=["hide-input"]
overview = efig.summary(result.tables["errors"], result.tables["runs"], result.tables["settings"])
efig.violations(result.tables["runs"][result.tables["runs"]["system"].isin(trajectory_systems)])
plt.show()
percent = efig.normalised(overview, scale=100)
fig, radar_axes = plt.subplots(1, overview["system"].nunique(), squeeze=False,
                               subplot_kw={"projection": "polar"},
                               figsize=(5.5 * overview["system"].nunique(), 5))
for ax, system in zip(radar_axes[0], overview["system"].unique()):
    efig.radar(percent, ax, system)
radar_axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.15, 1.05), fontsize=8)
plt.show()
efig.pairs(efig.normalised(overview, by=None))
plt.show()

# %% [markdown]
# ## Tables 5 and 6: 3BPA and acetylacetone at 300 K and 600 K
#
# The models are trained on 300 K frames and run at 300 K and at 600 K, from random frames
# of each temperature's reference set with Maxwell–Boltzmann velocities, at the paper's time
# steps (1 fs; acetylacetone at 600 K 0.5 fs), and each run is scored against the whole set:
# JSD and WF of h(r) (Table 6), h(r) MAE and bond stability; mean (standard deviation) over
# the five runs. The reference sets are EGraFFBench's 3BPA validation (300 K) and test
# (600 K) files and BOTNet's acetylacetone MD test sets (EGraFFBench's acetylacetone test
# file is the 300 K one).

# %% tags=["hide-input"]
if not sampled_systems:
    display(Markdown("*No 3BPA or acetylacetone runs in this run of the chapter.*"))
else:
    ensemble_runs = runs[runs["system"].isin(sampled_systems)]
    ENS = {"jsd": "JSD", "wf_percent": "WF (%)", "hr_mae": "h(r) MAE",
           "stable_time_fs": "stable (fs)"}
    rows = []
    for (system, T, label), t in ensemble_runs.groupby(["system", "T_K", "label"], sort=False):
        row = {"system": system, "T (K)": int(T), "model": label}
        for key, name in ENS.items():
            v = t[key].to_numpy(float)
            row[name] = f"{np.mean(v):.3g} ({np.std(v, ddof=1):.2g})"
        rows.append(row)
    display(pd.DataFrame(rows).set_index(["system", "T (K)", "model"]))
    longest = ensemble_runs.groupby(["system", "T_K", "start_frame"])["stable_time_fs"].max()
    at_start = longest[longest == 0]
    if len(at_start):
        display(Markdown(
            "Runs that no model keeps stable past t = 0, where the sampled start frame itself "
            "breaks the bond rule: " + ", ".join(f"{s} at {T:.0f} K from frame {f}"
                                                 for s, T, f in at_start.index)
            + ". They count as unstable for every model alike."))
    table6 = paper[(paper["table"] == "Table 6") & paper["molecule"].isin(sampled_systems)
                   & paper["model"].isin(errors["label"])]
    display(Markdown("**The paper's Table 6 (their models, 1000-step runs, RDF-based):**"))
    display(table6.pivot_table(index=["molecule", "T_K", "model"], columns="metric",
                               values="value", sort=False).round(3))

# %% [markdown]
# The paper's Table 5 also gives EV and FV for these runs. Both compare a run with the
# reference *at the same time*, and these reference files are frames sampled at a
# temperature, not trajectories (our frame-order check refuses them), so we do not compute
# them. What such a comparison reads is measurable without a model: the FV between
# unrelated frames of the same set.

# %% tags=["hide-input"]
from mlffkit import data
from mlffkit.metrics import force_violation, geometric_mean

rng = np.random.default_rng(0)
unrelated = []
for system, ensembles in eb.ENSEMBLES.items():   # the data alone, whichever models ran
    for ensemble in ensembles:
        frames = data.load(ensemble.frames)
        i, j = rng.integers(len(frames), size=(2, 2000))
        i, j = i[i != j], j[i != j]
        unrelated.append({
            "system": system, "T (K)": int(ensemble.T_K),
            "FV, random pairs of frames": geometric_mean(
                force_violation(frames.forces[i], frames.forces[j])),
            "FV, neighbouring frames of the file": geometric_mean(
                force_violation(frames.forces[1:], frames.forces[:-1]))})
unrelated = pd.DataFrame(unrelated)
display(unrelated.set_index(["system", "T (K)"]).round(4))
fv5 = paper.loc[(paper["table"] == "Table 5") & (paper["metric"] == "fv"), "value"]
pairs = unrelated["FV, random pairs of frames"]
display(Markdown(
    f"The paper's Table 5 FV, every model at both temperatures: {fv5.min():.3f}–"
    f"{fv5.max():.3f}. Random pairs of unrelated frames of the same sets: "
    f"{pairs.min():.3f}–{pairs.max():.3f}. An FV at that level says that the compared "
    "configurations are unrelated; it cannot rank the models."))

# %% [markdown]
# ## Zero-shot: benzene (the paper's Tables 18–19)
#
# The paper runs the models trained on each MD17 molecule on benzene, which none of them
# saw, and reports EV/FV (Table 18) and JSD/WF (Table 19). Ours: each model trained on
# aspirin (the model of its Table 1 run where the model cache kept it, else trained again
# with the same inputs) predicts 1000 random benzene frames of MD17 (rMD17's frames with the
# original MD17 labels) and runs five times for 200 fs from random frames at MD17's 500 K,
# scored against all 9,633 frames: JSD, WF and h(r) MAE, and stability. EV and FV need the
# reference at the same time, which sampled frames do not have. A model trained on one
# composition cannot know how its energy splits over the elements, so its benzene energies
# are off by a constant: the table gives that offset, and the error around it beside the
# spread of the benzene energies (what predicting their mean would score).

# %% tags=["hide-input"]
if profile == "smoke":   # computed here
    shots, zs_pending = registry.run("egraff_zero_shots", profile), []
else:                    # what is stored; the rest trains in the background
    shots, zs_pending = eb.stored_runs(registry.resolve("egraff_zero_shots", profile),
                                       "egraff_zero_shot")
if zs_pending:
    display(Markdown("*Not stored yet: " + ", ".join(eb.LABELS[u.model] for u in zs_pending)
                     + f" (`mlffkit run egraff_zero_shots --profile {profile}`).*"))
if shots is not None:
    shot_errors = shots.tables["errors"].assign(label=lambda t: t["model"].map(eb.LABELS))
    zs_runs = shots.tables["runs"].groupby(["system", "model"], sort=False).agg(
        JSD=("jsd", "mean"), WF=("wf_percent", "mean"), hr_MAE=("hr_mae", "mean"),
        stable=("stable", lambda s: f"{int(s.sum())} of {len(s)}")).reset_index()
    zs_table = shot_errors.merge(zs_runs, on=["system", "model"]).set_index(["system", "label"])
    display(zs_table[["force_mae_meV_A", "zero_force_baseline_meV_A", "energy_offset_meV",
                      "energy_mae_centred_meV", "energy_spread_baseline_meV", "JSD", "WF",
                      "hr_MAE", "stable"]].round(3))
    zs_ratio = shot_errors["force_mae_meV_A"] / shot_errors["zero_force_baseline_meV_A"]
    zs_stable = shots.tables["runs"]["stable"]
    display(Markdown(
        "The paper finds that on benzene \"all the models suffer very high errors in force and "
        f"energy\". Ours, trained on aspirin ({len(shot_errors)} of {len(eb.MODELS)} models so "
        f"far): force MAE {shot_errors['force_mae_meV_A'].min():.0f}–"
        f"{shot_errors['force_mae_meV_A'].max():.0f} meV/Å, {zs_ratio.min():.2f}–"
        f"{zs_ratio.max():.2f} of what zero forces score; energy error around the constant "
        f"offset {shot_errors['energy_mae_centred_meV'].min():.1f}–"
        f"{shot_errors['energy_mae_centred_meV'].max():.1f} meV against "
        f"{shot_errors['energy_spread_baseline_meV'].iloc[0]:.0f} meV for predicting the mean "
        f"benzene energy; {int(zs_stable.sum())} of {len(zs_stable)} runs stable. The "
        "constant energy offset (in the table) is what no model trained on one composition "
        "can know."))
    zs_trained_on = [s.split("/", 1)[1] for s in shot_errors["system"].unique()]
    zs_paper = paper[paper["table"].isin(["Table 18", "Table 19"])
                     & paper["molecule"].isin(zs_trained_on)]
    display(Markdown("**The paper's Tables 18–19 (trained on the molecule named, run on "
                     "benzene; as printed):**"))
    display(zs_paper.pivot_table(index=["molecule", "model"], columns="metric",
                                 values="value", sort=False))

# %% tags=["hide-input"]
jsd19 = paper.loc[(paper["table"] == "Table 19") & (paper["metric"] == "jsd"), "value"]
ev18 = paper.loc[(paper["table"] == "Table 18") & (paper["metric"] == "ev"), "value"]
ev3 = paper.loc[(paper["table"] == "Table 3") & (paper["metric"] == "ev"), "value"]
display(Markdown(
    f"As printed, the paper's Table 19 JSD values run from {jsd19.min():,.0f} to "
    f"{jsd19.max():,.0f}. A Jensen–Shannon divergence lies between 0 and ln 2 ≈ 0.69, so "
    f"these are not JSDs as the paper defines them. Its Table 18 EV values "
    f"({ev18.min():,.0f}–{ev18.max():,.0f}) are four orders of magnitude and more above "
    f"its Table 3 EV for the same models on MD17 ({ev3.min():.3g}–{ev3.max():.3g}). Neither "
    "table can be compared with ours."))

# %% [markdown]
# ## The well-posed variant: the engine labels the models' own trajectories
#
# On MD17 the FV of a run compares the model's forces with DFT's *at the same time* along two
# different trajectories; once chaos has separated them (within some tens of femtoseconds,
# see the floor above) it measures the separation, not the model. On our GFN2-xTB
# trajectories of the same molecules (`xtb-md17`, the same split layout: 950 + 50 frames from
# the first 2 ps, the last 1000 frames as the test trajectory) the reference engine is at
# hand, so every 4th frame of each run is labelled by GFN2-xTB itself: FV and the force MAE
# *at the configurations the model visits*. If the models' test errors rank their simulations,
# the force MAE on their own trajectories should follow the static test MAE.

# %% tags=["hide-input"]
xtb = errors[errors["system"].str.startswith("xtb-md17/")]
if xtb.empty:
    display(Markdown("*No xtb-md17 systems in this run of the chapter.*"))
else:
    own = runs[runs["system"].isin(xtb["system"])].groupby(["system", "label"], sort=False)[
        ["fv_gm", "fv_self_gm", "force_mae_self_meV_A", "stable"]].mean()
    static = xtb.set_index(["system", "label"])[["force_mae_meV_A"]]
    wellposed = static.join(own)
    wellposed["own / test MAE"] = wellposed["force_mae_self_meV_A"] / wellposed["force_mae_meV_A"]
    display(wellposed.round(3))
    from scipy.stats import spearmanr

    lines = []
    for system, t in wellposed.groupby(level="system", sort=False):
        rho_self = spearmanr(t["force_mae_meV_A"], t["force_mae_self_meV_A"]).statistic
        rho_time = spearmanr(t["force_mae_meV_A"], t["fv_gm"]).statistic
        lines.append(f"* {system}: Spearman ρ of the test force MAE against the force MAE on "
                     f"the models' own frames {rho_self:.2f}, against FV at the same time "
                     f"{rho_time:.2f} ({len(t)} models).")
    display(Markdown("\n".join(lines)))

# %% [markdown]
# ## What this chapter shows
#
# The summary below is computed from the tables above.

# %% tags=["hide-input"]
from scipy.stats import binom

best_force = errors.loc[errors.groupby("system")["force_mae_meV_A"].idxmin(), ["system", "label"]]
paper_best = theirs.loc[theirs.groupby("system")["force_mae_meV_A"].idxmin(),
                        ["system", "model"]]
verdicts = pd.concat([agreement["verdict"], sim_agreement["verdict"]])
n_tests, n_agree = len(verdicts), int((verdicts == "agrees").sum())
fastest = cost.loc[cost.groupby("system")["md_min_per_1000_steps"].idxmin(), ["system", "label"]]
text = ["* Lowest force error, ours: " + ", ".join(f"{r.system} {r.label}"
                                                    for r in best_force.itertuples())
        + "; paper: " + ", ".join(f"{r.system} {r.model}" for r in paper_best.itertuples()) + ".",
        "* Fastest MD here: " + ", ".join(f"{r.system} {r.label}" for r in fastest.itertuples())
        + ".",
        "* Rank agreement with the paper's Table 1: " + "; ".join(
            f"{r.system} {r.target} ρ = {r.spearman:.2f} ({r.verdict})"
            for r in agreement.itertuples()) + ".",
        "* Rank agreement with the paper's Tables 2-3: " + "; ".join(
            f"{r.system} {r.metric} ρ = {r.spearman:.2f} ({r.verdict})"
            for r in sim_agreement.itertuples()) + ".",
        f"* Of these {n_tests} rank comparisons, {n_agree} agree{'s' * (n_agree == 1)}; at "
        f"p < 0.05 each, about {n_tests / 20:.1f} would agree by chance alone (binomial "
        f"chance of {n_agree} or more: "
        f"{binom.sf(n_agree - 1, n_tests, 0.05):.2f}).",
        "* Cost (Table 4, not counted above), the order of the models against the "
        "paper's: " + "; ".join(
            f"{r.system} {r.measure.split('_')[0].replace('md', 'MD')} ρ = {r.spearman:.2f} "
            f"({r.verdict})" for r in cost_agreement.itertuples()) + ".",
        "* The paper's own force MAEs against the literature it quotes (Table 17, same split): "
        + "; ".join(f"{model} {t['ratio'].min():.1f}–{t['ratio'].max():.1f}x Liao & Smidt's"
                    for model, t in same_split.groupby("model", sort=False)) + "."]
display(Markdown("\n".join(text)))
