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
# # EGraFFBench's simulation metrics on MD17: what do EV, FV, JSD and WF measure?
#
# EGraFFBench {cite}`bihani2024egraffbench` (§4.2) scores a force field by running it forward from the *same* configuration
# and velocities as a ground-truth simulation and comparing the two trajectories at the same
# times, with four numbers:
#
# * **Wright's factor** (Eq. 2) and the **Jensen–Shannon divergence** (Eq. 3) between the
#   simulated and reference radial distribution functions (structure);
# * the **energy violation** and **force violation** (Eq. 4), per time step, summarised by
#   their geometric mean over the run (dynamics):
#
# $$\mathrm{EV}(t)=\frac{(\hat E(t)-E(t))^2}{\hat E(t)^2+E(t)^2},\qquad
#   \mathrm{FV}(t)=\frac{\lVert\mathcal F(t)-\hat{\mathcal F}(t)\rVert_2}
#   {\lVert\mathcal F(t)\rVert_2+\lVert\hat{\mathcal F}(t)\rVert_2}.$$
#
# Tables 2 and 3 report them for six equivariant models on MD17 (500 K, 0.5 fs, NVT, App. A.3
# Table 10; five runs of 1000 steps).
#
# This chapter asks what these numbers can tell apart. The reference is the MD17 DFT
# trajectory itself (EGraFFBench's MD17 test files are MD17 frames 0–999, consecutive at
# 0.5 fs). From several reference frames we run two cheap potentials that are certainly *not*
# DFT — **MMFF94** {cite}`halgren1996mmff94` (RDKit {cite}`rdkit`) and **GFN2-xTB**
# {cite}`bannwarth2019gfn2` (tblite {cite}`tblite`) — from the same positions and
# velocities, and we add a third "potential": the **reference shifted in time**, i.e. DFT
# compared with itself some hundreds of femtoseconds later. That is a *perfect* potential
# whose trajectory has simply decorrelated from the reference; whatever the metrics read for
# it is the floor for any potential, however accurate, once chaos has separated the
# trajectories.
#
# **Not in this chapter yet:** trained mlffkit models (Equiformer {cite}`liao2023equiformer`,
# PaiNN {cite}`schutt2021painn`, SchNet {cite}`schutt2017schnet`). The scoring
# function used here, `mlffkit.papers.egraff.metrics.compare_trajectories`, takes plain
# arrays, so their trajectories will be scored the same way once they exist.

# %%
from mlffkit.chapters import book_file, text_progress_bars

text_progress_bars()  # before mlffkit's other imports: progress bars as plain text

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from mlffkit.experiments import NotebookParameters
from mlffkit.papers.egraff import metrics as em
from mlffkit.metrics import bin_centers, energy_violation, force_violation
from mlffkit.plotting import PAPER, use_book_style

use_book_style()
nb = NotebookParameters("egraff_metrics", globals())

# %% tags=["parameters"]
profile = "book"          # smoke | book | paper
molecules = None          # MD17 molecules (book: aspirin, ethanol, naphthalene, salicylic_acid)
potentials = None         # ["mmff94", "gfn2-xtb"]
n_starts = None           # forward runs per molecule and potential (book: 5)
steps = None              # MD steps per run (book: 400, i.e. 200 fs)
shift_steps = None        # time shift of the reference baseline, steps (book: 400)
dt_fs = None              # 0.5 fs (EGraFFBench Table 10)
T_K = None                # 500 K (EGraFFBench Table 10)
tdamp_fs = None           # Nosé-Hoover chain damping time
velocity_method = None    # "central" or "verlet" (reference velocities from positions)
offset_stride = None      # every k-th reference frame fits the energy offsets
hr_bin_A = None           # h(r) bin width (Fu et al.: 0.02 Å)
hr_max_A = None           # h(r) range (Fu et al.: 10 Å)
bond_threshold_A = None   # stability threshold (Fu et al.: 0.5 Å)
threads = None            # BLAS/OpenMP threads (tblite)

# %%
result = nb.run(globals())
params = result.record["params"]
runs = result.tables["runs"]
static = result.tables["static"]
reference = result.tables["reference"]
mol_info = result.tables["molecules"].set_index("molecule")
arrays = result.arrays
time_fs = arrays["time_fs"]
MOLS = list(params["molecules"])
POTS = [*params["potentials"], em.SHIFTED]
COLORS = {"mmff94": "#2ca02c", "gfn2-xtb": "#1f77b4", em.SHIFTED: "#7f7f7f"}
NAMES = {"aspirin": "Aspirin", "ethanol": "Ethanol", "naphthalene": "Naphthalene",
         "salicylic_acid": "Salicylic acid"}
paper = em.paper_tables(book_file("egraff/paper_tables.csv"),
                        tables=["Table 1", "Table 2", "Table 3"]).query("molecule in @MOLS")
PAPER_MODELS = list(dict.fromkeys(paper["model"]))

# %% [markdown]
# ## The metrics in two small pictures
#
# **EV depends on the absolute energy.** For a fixed error $\delta=\hat E-E$, Eq. 4 gives
# $\mathrm{EV}\approx\delta^2/(2E^2)$: the same error reads a hundred times smaller on a molecule
# whose total energy is ten times larger, and a potential whose energy zero differs from DFT's
# (any force field, any model trained on energies referenced to atoms) gets an EV near 1
# whatever its dynamics. With opposite signs ($\hat E>0>E$, e.g. MMFF's strain energy against a
# DFT total energy) EV even exceeds 1. Left: EV against $|\delta|$ at each molecule's mean DFT
# energy, with the standard deviation of the DFT energy along the reference (the thermal
# fluctuation) marked, and the band of the paper's MD17 EV values (Table 3).
#
# **FV of decorrelated forces is about $1/\sqrt2$.** For two force vectors of equal norm and
# correlation $\rho$, $\mathrm{FV}=\sqrt{(1-\rho)/2}$: 0 when equal, $1/\sqrt2\approx0.71$ when
# unrelated, 1 when opposite. Right: the formula and FV of random force sets with a chosen
# correlation (computed with `mlffkit.metrics.force_violation`).

# %% tags=["hide-input"]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
delta = np.logspace(-3, 3, 200)
for mol in MOLS:
    e = mol_info.loc[mol, "energy_mean_eV"]
    line, = ax1.loglog(delta, energy_violation(e + delta, np.full_like(delta, e)),
                       label=f"{NAMES[mol]} (E = {e:.0f} eV)")
    ax1.axvline(mol_info.loc[mol, "energy_std_eV"], color=line.get_color(), ls=":", lw=1)
ev_paper = paper.query("metric == 'ev'")["value"] * 1e-5
ax1.axhspan(ev_paper.min(), ev_paper.max(), color=PAPER, alpha=0.2,
            label="paper's MD17 EV (Table 3)")
ax1.set_xlabel(r"$|\hat E - E|$ (eV)")
ax1.set_ylabel("EV")
ax1.set_title("EV of a fixed energy error (dotted: DFT energy std)")
ax1.legend(fontsize=7)

rng = np.random.default_rng(0)
rho = np.linspace(-1, 1, 21)
a = rng.standard_normal((rho.size, 21, 3))
b = rng.standard_normal((rho.size, 21, 3))
b = rho[:, None, None] * a + np.sqrt(1 - rho[:, None, None] ** 2) * b
ax2.plot(rho, np.sqrt((1 - rho) / 2), "k-", label=r"$\sqrt{(1-\rho)/2}$")
ax2.plot(rho, force_violation(b, a), "o", color=COLORS["gfn2-xtb"],
         label="random forces, 21 atoms")
ax2.axhline(1 / np.sqrt(2), color="k", ls=":", lw=1)
ax2.set_xlabel(r"correlation $\rho$ between predicted and reference forces")
ax2.set_ylabel("FV")
ax2.set_title("FV of correlated random forces")
ax2.legend()
plt.show()

# %% [markdown]
# ## Setup
#
# * **Reference**: the EGraFFBench MD17 test file of each molecule (DFT energies and forces,
#   eV and eV/Å as in the file). Naphthalene's file breaks after frame 3, so its reference is
#   the unbroken run that follows (`mlffkit.data.segments`).
# * **Start frames**: `n_starts` frames spread evenly so that each run and its shifted window
#   fit in the reference; every run has the same number of steps, so curves can be averaged
#   over start frames.
# * **Initial velocities** are not stored in MD17; they are rebuilt from positions,
#   $v_t=(x_{t+1}-x_{t-1})/(2\Delta t)$ (`velocity_method="central"`). The alternative
#   $v_t=(x_{t+1}-x_t)/\Delta t-\Delta t\,F_t/(2m)$ with the DFT forces (`"verlet"`) is the same
#   to the extent the reference was integrated by velocity Verlet; the table below gives their
#   relative difference at each start.
# * **Dynamics**: deterministic NVT, Nosé–Hoover chain (ASE {cite}`larsen2017ase`) at `T_K` with time step `dt_fs`,
#   as EGraFFBench's Table 10. MMFF94's bonds and atom types are perceived once from the first
#   reference frame (`mlffkit.calculators.MMFF94`); GFN2-xTB solves every geometry from the same
#   SCF guess (`mlffkit.calculators.GFN2xTB`), so runs are reproducible.
# * **Energies on other scales**: MMFF94 returns a strain energy of a few eV, GFN2-xTB a
#   valence-electron energy, DFT an all-electron total energy. We report EV twice: **raw**
#   (each potential's own energies, as Eq. 4 is written) and **aligned** (each potential's
#   energies plus one constant per molecule, $\langle E_\mathrm{DFT}-E_\mathrm{pot}\rangle$ over
#   every `offset_stride`-th reference frame).
# * **Structure**: MD17 molecules have no cell, so instead of a periodic RDF we use Fu et al.'s
#   {cite}`fu2023forces`
#   interatomic distance distribution $h(r)$ (all pairs, `hr_bin_A` bins up to `hr_max_A`) for
#   JSD, WF (Eq. 2 × 100, as EGraFFBench's code prints it) and the h(r) MAE, each against the
#   reference frames of the same time window.
# * **Time-shifted reference**: reference frames $s+\Delta,\dots,s+\Delta+n$ scored against
#   $s,\dots,s+n$ with $\Delta$ = `shift_steps` ≥ $n$ = `steps` (disjoint windows).

# %%
display(pd.Series(params, name="value").to_frame())
display(Markdown(
    f"This run: {len(MOLS)} molecule(s), potentials {', '.join(params['potentials'])}, "
    f"{params['n_starts']} start frames, {params['steps']} steps of {params['dt_fs']} fs "
    f"({params['steps'] * params['dt_fs']:.0f} fs) per run, shifted baseline "
    f"{params['shift_steps'] * params['dt_fs']:.0f} fs later. EGraFFBench runs 1000 steps; "
    f"with {params['n_starts']} start frames and a disjoint shifted window, a 1000-frame "
    "reference cannot hold runs that long."))
display(mol_info.round(3))
display(reference.round(4))

# %% [markdown]
# ## How good are the cheap potentials on the reference geometries?
#
# Before any dynamics: each potential evaluated on reference frames (every `offset_stride`-th).
# The offset is the constant that aligns its energies with DFT; energy MAE is after that
# alignment. `fv_static_gm` is the force violation on the *reference's own* geometries — what FV
# would read if the trajectories never separated.

# %%
display(static.round(4))

# %% [markdown]
# ## Structure: h(r) of the forward runs against the reference
#
# Mean over start frames of each run's h(r), against the h(r) of the whole reference
# trajectory.

# %% tags=["hide-input"]
edges = arrays["hr_bin_edges"]
r = bin_centers(edges)
ncol = min(len(MOLS), 2)
nrow = int(np.ceil(len(MOLS) / ncol))
fig, axes = plt.subplots(nrow, ncol, figsize=(5.5 * ncol, 3.5 * nrow), squeeze=False)
for ax, mol in zip(axes.flat, MOLS):
    ax.plot(r, arrays[f"{mol}.hr_reference_all"], "k-", lw=2, label="reference (DFT, all frames)")
    for pot in POTS:
        ax.plot(r, arrays[f"{mol}.{pot}.hr"].mean(axis=0), color=COLORS[pot], lw=1,
                label=em.LABELS[pot])
    ax.set_xlim(0.8, 7.0)
    ax.set_title(NAMES[mol])
    ax.set_xlabel("r (Å)")
    ax.set_ylabel("h(r) (1/Å)")
for ax in axes.flat[len(MOLS):]:
    ax.set_visible(False)
axes.flat[0].legend(fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Dynamics: FV(t) and EV(t) with 95% intervals over start frames
#
# Mean over start frames with a Student-t 95% interval (shaded). Top: FV(t); the dotted line is
# $1/\sqrt2$. Bottom: aligned EV(t), geometric mean and interval on a log scale (the paper's
# Figure 5 shows the same curves for its models).

# %% tags=["hide-input"]
def curve_grid(names, ylabels, height=6.0, log_rows=()):
    """One column per molecule, one row per series: mean over start frames, 95% interval
    (geometric mean and interval, on a log axis, for the rows in ``log_rows``)."""
    fig, axes = plt.subplots(len(names), len(MOLS), figsize=(3.6 * len(MOLS) + 1, height),
                             squeeze=False, sharex=True)
    for j, mol in enumerate(MOLS):
        axes[0, j].set_title(NAMES[mol])
        axes[-1, j].set_xlabel("time (fs)")
        for i, name in enumerate(names):
            for pot in POTS:
                if f"{mol}.{pot}.{name}" not in arrays:
                    continue
                mean, low, high = em.mean_ci(arrays[f"{mol}.{pot}.{name}"],
                                             log=name in log_rows)
                axes[i, j].plot(time_fs, mean, color=COLORS[pot], lw=1, label=em.LABELS[pot])
                axes[i, j].fill_between(time_fs, low, high, color=COLORS[pot], alpha=0.2, lw=0)
            if name in log_rows:
                axes[i, j].set_yscale("log")
    for i, label in enumerate(ylabels):
        axes[i, 0].set_ylabel(label)
    axes[0, 0].legend(fontsize=7)
    return fig, axes


fig, axes = curve_grid(["fv", "ev_aligned"], ["FV(t)", "EV(t), aligned energies"],
                       log_rows=("ev_aligned",))
for j in range(len(MOLS)):
    axes[0, j].axhline(1 / np.sqrt(2), color="k", ls=":", lw=1)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## A perfect potential, out of phase
#
# The time-shifted baseline above uses one lag. Here is every lag: FV and EV of the reference
# against itself $L$ later, geometric mean over all frame pairs $(t, t+L)$ of the reference
# (computed with the experiment). The shaded band is the range of the paper's six models' FV
# for that molecule (Table 3); the dotted line $1/\sqrt2$; the dashed line the lag of our
# shifted baseline.

# %% tags=["hide-input"]
LAG_MIN_FS = 50.0  # lags from here on count as "out of phase" in the conclusions
fig, axes = plt.subplots(2, len(MOLS), figsize=(3.6 * len(MOLS) + 1, 5.5), squeeze=False,
                         sharex=True)
fv_band = {}
for j, mol in enumerate(MOLS):
    lag_fs = arrays[f"{mol}.lag_steps"] * params["dt_fs"]
    fv_lag, ev_lag = arrays[f"{mol}.fv_by_lag"], arrays[f"{mol}.ev_by_lag"]
    fv_band[mol] = fv_lag[lag_fs >= LAG_MIN_FS]
    axes[0, j].plot(lag_fs, fv_lag, "k-", lw=0.8)
    axes[1, j].semilogy(lag_fs[1:], ev_lag[1:], "k-", lw=0.8)
    p = paper[(paper.molecule == mol) & (paper.metric == "fv")]["value"]
    if len(p):
        axes[0, j].axhspan(p.min(), p.max(), color=PAPER, alpha=0.25, label="paper's six models")
    axes[0, j].axhline(1 / np.sqrt(2), color="k", ls=":", lw=1)
    for ax in axes[:, j]:
        ax.axvline(params["shift_steps"] * params["dt_fs"], color=COLORS[em.SHIFTED], ls="--",
                   lw=1)
    axes[0, j].set_title(NAMES[mol])
    axes[1, j].set_xlabel("lag L (fs)")
axes[0, 0].set_ylabel("FV of reference vs itself")
axes[1, 0].set_ylabel("EV of reference vs itself")
axes[0, 0].legend(fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Divergence, temperature and stability
#
# Top: RMSD between the run and the reference at the same time, after optimal superposition of
# each pair of frames. Bottom: instantaneous temperature of the forward runs (the thermostat's
# target dotted). Then Fu et al.'s bond-length stability (first time any bond deviates more than
# `bond_threshold_A` from its mean reference length).

# %% tags=["hide-input"]
fig, axes = curve_grid(["rmsd", "temperature"], ["RMSD to reference (Å)", "temperature (K)"])
for j in range(len(MOLS)):
    axes[1, j].axhline(params["T_K"], color="k", ls=":", lw=1)
fig.tight_layout()
plt.show()

stability = runs.groupby(["molecule", "potential"], sort=False).agg(
    runs=("stable", "size"), stable_runs=("stable", "sum"),
    stable_time_fs=("stable_time_fs", "mean"), steps_per_s=("steps_per_s", "mean"),
    T_mean_K=("T_mean_K", "mean"))
display(stability.round(1))

# %% [markdown]
# ## Tables 2 and 3, ours beside the paper's
#
# Rows are molecules. Our columns: mean (standard deviation) over start frames. The paper's six
# models are EGraFFBench's numbers for MD17 (`paper_tables.csv`, transcribed from Tables 2 and
# 3); they are *their* models on *their* runs, shown for scale, not produced here. Caveats: our
# structure metrics use h(r), theirs an RDF computed with ASE on a molecule in a box (h(r)
# weighted by $1/r^2$), so JSD and WF are not on the same footing; their JSD's scale is not
# stated (Table 2's acetylacetone values exceed $\ln 2$); our runs are shorter than their 1000
# steps.

# %% tags=["hide-input"]
ours = em.summary(runs)


def fmt(mean, std, digits=3):
    if not np.isfinite(mean):
        return "–"
    return f"{mean:.{digits}g}" + ("" if not np.isfinite(std) else f" ({std:.2g})")


def ours_columns(metrics):
    """{label: (metric, scale)} -> columns (our potential, label) of "mean (std)" strings."""
    cols = {}
    for pot in POTS:
        o = ours[ours.potential == pot].set_index("molecule")
        for label, (metric, scale) in metrics.items():
            cols[(f"{em.LABELS[pot]} (ours)", label)] = {
                NAMES[m]: fmt(o.loc[m, f"{metric}_mean"] / scale, o.loc[m, f"{metric}_std"] / scale)
                for m in o.index}
    return cols


def paper_columns(metrics):
    cols = {}
    for model in PAPER_MODELS:
        p = paper[paper.model == model]
        for label, metric in metrics.items():
            q = p[p.metric == metric].set_index("molecule")
            cols[(f"{model} (paper)", label)] = {
                NAMES[m]: fmt(q.loc[m, "value"], q.loc[m, "std"]) for m in q.index}
    return cols


table2 = pd.DataFrame({**ours_columns({"JSD": ("jsd", 1.0), "WF (%)": ("wf_percent", 1.0)}),
                       **paper_columns({"JSD": "jsd", "WF (%)": "wf"})})
table2.index.name = "Table 2"
display(Markdown("**Table 2 layout: JSD (ours: nats, on h(r)) and WF (%)**"))
display(table2)

table3 = pd.DataFrame({**ours_columns({"EV raw": ("ev_raw_gm", 1e-5),
                                        "EV aligned": ("ev_aligned_gm", 1e-5),
                                        "FV": ("fv_gm", 1.0)}),
                       **paper_columns({"EV": "ev", "FV": "fv"})})
table3.index.name = "Table 3"
display(Markdown("**Table 3 layout: geometric mean of EV (× 1e-5) and FV over a run**"))
display(table3)

# %% [markdown]
# ## What can the metrics tell apart?
#
# For each metric, molecule and cheap potential: the geometric-mean ratio of the metric to the
# time-shifted reference's, paired by start frame (they share the reference window), with a
# bootstrap 95% interval over start frames. "higher" means the metric tells the potential apart
# from a perfect potential that has decorrelated; "indistinguishable" means it does not. The
# same comparison between the two cheap potentials follows.

# %% tags=["hide-input"]
METRICS_ASKED = {"fv_gm": "FV", "ev_aligned_gm": "EV (aligned)", "ev_raw_gm": "EV (raw)",
                 "jsd": "JSD", "wf_percent": "WF", "hr_mae": "h(r) MAE",
                 "rmsd_mean_A": "mean RMSD"}


def verdict_table(vs):
    """Rows (molecule, potential), columns metrics: "ratio [95% interval] verdict"."""
    cell = [f"{r:.3g} [{lo:.3g}, {hi:.3g}] {v}" for r, lo, hi, v in
            zip(vs["ratio"], vs["ci_low"], vs["ci_high"], vs["verdict"])]
    wide = vs.assign(cell=cell).pivot(index=["molecule", "potential"], columns="metric",
                                      values="cell")
    return wide[[m for m in METRICS_ASKED if m in wide]].rename(columns=METRICS_ASKED)


vs_shifted = pd.concat([em.versus(runs, m) for m in METRICS_ASKED], ignore_index=True)
display(Markdown("**Each cheap potential against the time-shifted reference** (ratio, "
                 "95% interval, verdict)"))
display(verdict_table(vs_shifted))
cheap = list(params["potentials"])
vs_cheap = (pd.concat([em.versus(runs[runs.potential.isin(cheap)], m, baseline=cheap[-1])
                       for m in METRICS_ASKED], ignore_index=True)
            if len(cheap) > 1 else pd.DataFrame())
if len(vs_cheap):
    display(Markdown(f"**{em.LABELS[cheap[0]]} against {em.LABELS[cheap[-1]]}**"))
    display(verdict_table(vs_cheap))

# %% [markdown]
# ## Conclusions (computed from the numbers above)

# %% tags=["hide-input"]
lines = []
shifted = runs[runs.potential == em.SHIFTED]
cheap_runs = runs[runs.potential.isin(cheap)]
fv_static = static.set_index(["molecule", "potential"])["fv_static_gm"]
band_lo = min(b.min() for b in fv_band.values())
band_hi = max(b.max() for b in fv_band.values())
first_lag = {mol: em.first_crossing(arrays[f"{mol}.lag_steps"] * params["dt_fs"],
                                    arrays[f"{mol}.fv_by_lag"], 0.9 / np.sqrt(2))
             for mol in MOLS}
half = params["steps"] // 2


def gm_rows(a):
    return np.exp(np.nanmean(np.log(np.maximum(a, 1e-300)), axis=1))


late = {pot: np.concatenate([gm_rows(arrays[f"{mol}.{pot}.fv"][:, half:]) for mol in MOLS])
        for pot in cheap}
cross = {(mol, pot): em.first_crossing(time_fs, np.nanmean(arrays[f"{mol}.{pot}.fv"], axis=0),
                                       0.9 / np.sqrt(2)) for mol in MOLS for pot in cheap}
reached = [v for v in cross.values() if np.isfinite(v)]

# 1. FV: phase, not accuracy
lines.append(
    f"* **Forces decorrelate within femtoseconds, so FV soon measures phase, not accuracy.** "
    f"The DFT reference compared with itself a lag later reaches FV = 0.9/√2 after "
    f"{min(first_lag.values()):.0f}–{max(first_lag.values()):.0f} fs of lag; for every lag "
    f"from {LAG_MIN_FS:.0f} fs on it reads FV = {band_lo:.2f}–{band_hi:.2f}, oscillating with "
    f"the molecule's vibrations around $1/\\sqrt2$. The cheap potentials, started in phase, "
    f"read FV = {fv_static.min():.2f}–{fv_static.max():.2f} on the reference geometries; their "
    f"mean FV(t) reaches 0.9/√2 "
    + (f"after {min(reached):.0f}–{max(reached):.0f} fs ({len(reached)} of {len(cross)} "
       f"molecule–potential pairs within the run)" if reached else "not within these runs")
    + "; over the second half of the runs they read "
    + ", ".join(f"{em.LABELS[p]} {v.min():.2f}–{v.max():.2f}" for p, v in late.items()) + ".")

# 2. the paper's FV against the out-of-phase band
pfv = paper[paper.metric == "fv"]
pf = paper[paper.metric == "force_mae"]
if len(pfv):
    inside = {m: bool(((pfv[pfv.molecule == m]["value"] >= fv_band[m].min())
                       & (pfv[pfv.molecule == m]["value"] <= fv_band[m].max())).all())
              for m in MOLS}
    ours_fv = cheap_runs["fv_gm"]
    fmae = static["force_mae_meV_A"]
    n_in = sum(inside.values())
    verb = ("are what" if n_in == len(inside) else "are, for some molecules," if n_in else
            "are not what")
    lines.append(
        f"* **The paper's MD17 FV values ({pfv['value'].min():.3f}–{pfv['value'].max():.3f}) "
        f"{verb} a perfect potential out of phase reads.** For {n_in} of "
        f"{len(inside)} molecule(s) all six models lie inside the range the DFT reference "
        f"itself reads at lags ≥ {LAG_MIN_FS:.0f} fs. Over a whole run the geometric mean "
        f"mostly rewards staying in phase early: our cheap potentials, whose force MAE on the "
        f"reference frames is {fmae.min():.0f}–{fmae.max():.0f} meV/Å"
        + (f" ({fmae.min() / pf['value'].max():.0f}–{fmae.max() / pf['value'].min():.0f} times "
           f"the six models' {pf['value'].min():.1f}–{pf['value'].max():.1f} meV/Å in the "
           f"paper's Table 1)" if len(pf) else "")
        + f", read a run-averaged FV of {ours_fv.min():.2f}–{ours_fv.max():.2f} over "
        f"{params['steps'] * params['dt_fs']:.0f} fs. FV averaged over a run cannot rank "
        "potentials once their trajectories have left the reference's phase.")

# 3. EV: absolute scale
ev_raw = cheap_runs.groupby("potential")["ev_raw_gm"].mean()
ev_al = cheap_runs.groupby("potential")["ev_aligned_gm"].mean()
ev_sh = shifted["ev_aligned_gm"]
above_one = [em.LABELS[p] for p in ev_raw.index if ev_raw[p] > 1]
lines.append(
    "* **EV mostly measures the energy zero.** With their own energies the cheap potentials "
    "read EV = " + ", ".join(f"{em.LABELS[p]} {ev_raw[p]:.4f}" for p in ev_raw.index)
    + (f" ({', '.join(above_one)} above 1: a positive force-field energy against a negative "
       "DFT energy)" if above_one else "")
    + "; after one constant offset per molecule, "
    + ", ".join(f"{em.LABELS[p]} {ev_al[p]:.1e}" for p in ev_al.index)
    + f", against {ev_sh.min():.1e}–{ev_sh.max():.1e} for the time-shifted reference.")
pev = paper[paper.metric == "ev"]
if len(pev):
    implied = pd.Series({(r.model, r.molecule): em.implied_energy_error(
        r.value * 1e-5, mol_info.loc[r.molecule, "energy_mean_eV"]) for r in pev.itertuples()})
    ratio = implied / pd.Series({k: mol_info.loc[k[1], "energy_std_eV"] for k in implied.index})
    lines.append(
        f"* **The paper's EV values imply large energy errors.** Inverting Eq. 4 at the mean DFT "
        f"energy, its MD17 EV of {pev['value'].min():.2f}–{pev['value'].max():.2f} × 1e-5 "
        f"means |Ê − E| ≈ {implied.min():.0f}–{implied.max():.0f} eV per frame, "
        f"{ratio.min():.0f}–{ratio.max():.0f} times the standard deviation of the DFT energy "
        "along the reference. Being out of phase cannot produce that (see the shifted "
        "reference and the lag plot); an offset between the models' and the reference's "
        "energies can. The paper does not say which energies enter Eq. 4, so we cannot tell "
        "more.")

# 4. what separates the cheap potentials from the shifted reference
majority = [m for m, v in vs_shifted.groupby("metric")["verdict"]
            if (v == "higher").sum() > len(v) / 2 and m != "ev_raw_gm"]
counts = vs_shifted.groupby("metric")["verdict"].agg(
    lambda v: f"{(v == 'higher').sum()} higher / {(v == 'indistinguishable').sum()} "
              f"indistinguishable / {(v == 'lower').sum()} lower")
lines.append(
    "* **Which metrics tell a cheap potential from the time-shifted perfect one** (per "
    "molecule and potential, 95% paired bootstrap over start frames): "
    + "; ".join(f"{METRICS_ASKED[m]}: {counts[m]}" for m in METRICS_ASKED if m in counts)
    + ". 'lower' means the cheap potential looks *better* than the perfect one, because its "
    "run started on the reference and stayed close to it for a while. Metrics for which most "
    "verdicts are 'higher', the right way round (raw EV aside, which sees the energy zero): "
    + (", ".join(METRICS_ASKED[m] for m in METRICS_ASKED if m in majority) or "none") + ".")
if len(vs_cheap):
    cc = vs_cheap.groupby("metric")["verdict"].agg(lambda v: (v != "indistinguishable").sum())
    lines.append(
        f"* **{em.LABELS[cheap[0]]} against {em.LABELS[cheap[-1]]}**: the interval excludes 1 "
        f"for " + "; ".join(f"{METRICS_ASKED[m]} {cc[m]}/{len(MOLS)}" for m in METRICS_ASKED
                            if m in cc) + " molecules; the direction can differ between "
        "metrics (see the table above), so 'which potential is better' depends on the metric.")

# 5. WF noise floor
wf_sh = shifted.groupby("molecule")["wf_percent"].mean()
wf_cheap = cheap_runs["wf_percent"]
lines.append(
    f"* **Sampling noise sets a WF floor.** Two disjoint "
    f"{params['steps'] * params['dt_fs']:.0f}-fs windows of the *same* DFT trajectory differ by "
    f"WF = {wf_sh.min():.1f}–{wf_sh.max():.1f}% on h(r); the cheap potentials read "
    f"{wf_cheap.min():.1f}–{wf_cheap.max():.1f}%. A small molecule's pair-distance histogram "
    "over a few hundred fs is not converged, so at this length WF and JSD mix structure errors "
    "with sampling noise (the paper's RDF-based MD17 values are on another footing and not "
    "compared here).")
stab = runs.groupby("potential")["stable"].mean()
lines.append(
    "* **Stability** (Fu et al., 0.5 Å): fraction of stable runs "
    + ", ".join(f"{em.LABELS[p]} {stab[p]:.0%}" for p in stab.index)
    + f" over {params['steps'] * params['dt_fs']:.0f} fs: at this horizon it does not "
    "discriminate these potentials.")
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## Speed
#
# Steps per second of the forward runs on this machine (one thread; MD driver, output and
# calculator together), and seconds per single-point call on the reference frames.

# %%
speed = runs[runs.potential.isin(cheap)].groupby(["molecule", "potential"])["steps_per_s"].mean()
speed = speed.unstack("potential")
calls = static.pivot(index="molecule", columns="potential", values="seconds_per_call")
display(pd.concat({"steps per s": speed, "s per call": calls}, axis=1).round(4))

# %% [markdown]
# ## Provenance

# %%
display(Markdown(result.provenance_markdown()))
