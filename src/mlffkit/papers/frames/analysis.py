"""Tables and verdicts from the runs of the FRAMES sweeps (one row per run: a ``label`` naming
the variant, ``seed``, grouping columns such as ``molecule``, and error columns).

- :func:`summary`: mean ± std over seeds per group and variant.
- :func:`compare`: each variant against a reference variant, paired by seed: the geometric
  mean ratio of the error with a Student-t 95% interval on the mean log ratio, and a verdict.
- :func:`aux_summary`, :func:`aux_hold`: whether the auxiliary head learned (from
  ``training.aux_check``), and the note that replaces a verdict when it did not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlffkit.metrics.statistics import paired_t_ci


class Verdict(str):
    """A verdict's Markdown text, with its ``status`` for the reproducibility report:
    ``reproduced``, ``partly``, ``not reproduced``, ``on hold`` or ``no verdict``."""

    status: str

    def __new__(cls, text: str, status: str) -> "Verdict":
        out = super().__new__(cls, text)
        out.status = status
        return out


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


#: the paper's claims as (variant, reference, verdict meaning "the claim holds"): the two
#: halves of "less is more", then the two controls a T=2 gain must survive
CLAIMS = (("T=2", "T=1", "T=2 better"), ("T=3", "T=2", "T=2 better"),
          ("T=1, 2x epochs", "T=2", "T=2 better"), ("T=2, no aux", "T=2", "T=2 better"))
#: what each control separates from the second frame's effect
CONTROLS = {"T=1, 2x epochs vs T=2": "the equal-step control (T=1 trained for as many "
                                     "optimiser steps)",
            "T=2, no aux vs T=2": "the no-aux control (the same windows without the "
                                  "auxiliary loss)"}
#: what a gain that does not survive a control is explained by instead
EXPLAINED_BY = {"T=1, 2x epochs vs T=2": "the extra optimiser steps",
                "T=2, no aux vs T=2": "the batches of windows, not the auxiliary loss"}


def claims(runs: pd.DataFrame, metric: str, by: list[str],
           paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """FRAMES' Table 1 claims per group: T=2 beats T=1, T=3 is worse than T=2, and T=2 beats
    each control (T=1 with as many optimiser steps; T=2 without the auxiliary loss). One row
    per group and claim present in ``runs``, with the ratio (variant / reference), its 95%
    interval, verdict and ``holds`` (the interval says the claim is true). With ``paper``
    (:func:`paper_directions`), the paper's own direction per group and claim beside ours."""
    rows = []
    present = set(runs["label"])
    for variant, reference, good in CLAIMS:
        if not {variant, reference} <= present:
            continue
        pair = runs[runs["label"].isin([variant, reference])]
        table = compare(pair, metric, reference=reference, by=by)
        table.insert(len(by), "claim", f"{variant} vs {reference}")
        table["holds"] = table["verdict"] == good
        rows.append(table)
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if paper is not None and len(out):
        out = out.merge(paper, on=[*by, "claim"], how="left")
    return out


def paper_directions(paper: pd.DataFrame, metric: str, molecules, model: str = "Equiformer"
                     ) -> pd.DataFrame:
    """What the paper's own Table 1 shows for each half of the claim, per molecule: its
    ratio (variant / reference, e.g. ``T=2 / T=1`` of ``model`` + T frames), whether it goes
    the claimed way (``paper_holds``), and whether the difference exceeds the paper's own ±
    (``paper_beyond_std``: ``|a - b| > sqrt(sa² + sb²)`` with the printed stds, a missing one
    counted as 0). ``paper`` is the transcription (``paper_md17_iso17.csv``)."""
    t1 = paper[(paper["table"] == "Table 1") & (paper["metric"] == metric)
               & paper["model"].str.startswith(model)]
    rows = []
    for molecule in molecules:
        values = t1[t1["molecule"] == molecule].dropna(subset=["T"])
        by_T = {int(T): (v, 0.0 if pd.isna(s) else s)
                for T, v, s in zip(values["T"], values["value"], values["std"])}
        for variant, reference, _ in CLAIMS[:2]:
            a, b = int(variant[2:]), int(reference[2:])
            if a not in by_T or b not in by_T:
                continue
            (va, sa), (vb, sb) = by_T[a], by_T[b]
            # the claim is that the T=2 row is lower: T=2 vs T=1 (a=2) and T=3 vs T=2 (b=2)
            claimed = va < vb if a == 2 else vb < va
            rows.append({"molecule": molecule, "claim": f"{variant} vs {reference}",
                         "paper_ratio": va / vb, "paper_holds": bool(claimed),
                         "paper_beyond_std": bool(abs(va - vb) > np.hypot(sa, sb))})
    return pd.DataFrame(rows, columns=["molecule", "claim", "paper_ratio", "paper_holds",
                                       "paper_beyond_std"])


def claim_summary(table: pd.DataFrame) -> str:
    """Markdown: on how many groups each claim holds, is contradicted, or is unresolved (and,
    where the paper's own directions are given, what the paper itself shows)."""
    lines = []
    for claim, t in table.groupby("claim", sort=False):
        decided = t["verdict"].str.endswith(" better")
        holds = int(t["holds"].sum())
        opposite = int((decided & ~t["holds"]).sum())
        line = (f"* {claim}: the paper's direction holds on **{holds} of {len(t)}**, the "
                f"opposite on {opposite}, unresolved on {len(t) - holds - opposite}.")
        if "paper_holds" in t and t["paper_holds"].notna().any():
            shown = t[t["paper_holds"].notna()]
            way, beyond = shown["paper_holds"].astype(bool), shown["paper_beyond_std"].astype(bool)
            line += (f" The paper's own Table 1 goes this way on {int(way.sum())} of "
                     f"{len(shown)} ({int((way & beyond).sum())} beyond its ±), the other way "
                     f"beyond its ± on {int((~way & beyond).sum())}.")
        lines.append(line)
    return "\n".join(lines)


def verdict(claims_: pd.DataFrame, where: str = "at this scale") -> str:
    """Markdown verdict on "less is more" from :func:`claims`, naming the control each T=2
    gain survives. Reproduced: both halves (T=2 beats T=1, T=3 worse than T=2) hold with 95%
    confidence on most groups; partly: only the first does; not reproduced: the first does
    not. Where the paper's own directions are given, the headline is also judged where the
    paper itself shows it beyond its ± (and it says so when that is nowhere)."""
    if not len(claims_) or claims_["ratio"].isna().all():
        return Verdict("**No verdict**: it needs at least two seeds per variant.", "no verdict")
    holds = claims_.groupby("claim", sort=False)["holds"]
    share = holds.mean()
    count = {c: f"{int(h.sum())} of {len(h)}" for c, h in holds}
    gain, worse = share.get("T=2 vs T=1", 0.0) > 0.5, share.get("T=3 vs T=2", 0.0) > 0.5
    status = "reproduced" if gain and worse else "partly" if gain else "not reproduced"
    if gain and worse:
        text = f"**Verdict: reproduced {where}**: both halves hold on most groups."
    elif gain:
        text = (f"**Verdict: partly reproduced {where}.** T=2 beats T=1 on "
                f"{count['T=2 vs T=1']} groups, but T=3 is worse than T=2 on only "
                f"{count.get('T=3 vs T=2', '0 of 0')}: the *less is more* half (a third frame "
                "hurts) does not hold with 95% confidence.")
    else:
        text = (f"**Verdict: not reproduced {where}.** T=2 beats T=1 with 95% confidence on "
                f"only {count.get('T=2 vs T=1', '0 of 0')} groups; the other differences "
                "between T are within the seed spread or go the other way (tables above).")
    for control, name in CONTROLS.items():
        if control not in share:
            continue
        if not gain:
            text += f" Against {name}, T=2 is better on {count[control]} groups."
        elif share[control] > 0.5:
            text += f" The gain survives {name}: T=2 is better on {count[control]} groups."
        else:
            text += (f" It does not survive {name}: T=2 is better on only {count[control]} "
                     f"groups, so the gain is explained by {EXPLAINED_BY[control]}.")
    if "paper_beyond_std" in claims_:
        head = claims_[(claims_["claim"] == "T=2 vs T=1") & claims_["paper_holds"].notna()]
        where_paper = head[head["paper_holds"].astype(bool)
                           & head["paper_beyond_std"].astype(bool)]
        if len(head) and where_paper.empty:
            text += (" The paper's own Table 1 shows T=2 better than T=1 beyond its ± on none "
                     f"of these {len(head)} groups, so its headline is not a claim these "
                     "groups can confirm or refute; the rows above compare directions only.")
        elif len(where_paper):
            names = ", ".join(map(str, where_paper.get("molecule", [])))
            ours = int(where_paper["holds"].sum())
            text += (f" Where the paper itself shows the gain beyond its ± ({names}), ours "
                     f"holds on {ours} of {len(where_paper)}.")
    return Verdict(text, status)


def aux_summary(aux: pd.DataFrame, by: list[str] = ()) -> pd.DataFrame:
    """Per group and variant: mean last-epoch aux loss over seeds, the zero and extrapolation
    baselines (same normalised units) and how many runs beat the zero baseline."""
    columns = [c for c in ("aux_final", "aux_zero_baseline", "aux_extrapolation_baseline")
               if c in aux]
    if aux.empty:  # no run with an auxiliary loss (e.g. a smoke profile of T = 1 only)
        return pd.DataFrame(columns=[*by, "label", *columns, "learned"])
    grouped = aux.groupby([*by, "label"], sort=False)
    out = grouped[columns].mean()
    out["learned"] = grouped["learned"].sum().astype(int).astype(str) + " of " + \
        grouped.size().astype(str)
    return out.reset_index()


def aux_hold(aux: pd.DataFrame) -> Verdict | None:
    """None when every run with an auxiliary loss beat the zero-displacement baseline; else
    the note to show instead of a verdict on T >= 2: such runs trained an auxiliary gradient
    that had not learned the displacement, so they cannot test the paper's mechanism."""
    if aux.empty or aux["learned"].all():
        return None
    failed = aux[~aux["learned"]]

    def span(column: str) -> str:
        low, high = f"{failed[column].min():.2f}", f"{failed[column].max():.2f}"
        return low if low == high else f"{low}-{high}"

    text = (f"**No verdict on the temporal claims.** In {len(failed)} of {len(aux)} runs with "
            f"an auxiliary loss the head did not learn: its last-epoch training loss "
            f"({span('aux_final')}) is at or above what predicting zero displacement scores "
            f"({span('aux_zero_baseline')})")
    if "aux_extrapolation_baseline" in failed:
        text += (f", while extrapolating the last motion scores "
                 f"{span('aux_extrapolation_baseline')}")
    return Verdict(text + (". The T >= 2 rows therefore measure an untrained auxiliary "
                           "gradient, not temporal information; the comparisons above are "
                           "shown for the record, and the verdict waits for runs whose head "
                           "learns."), "on hold")


def ablation_verdict(runs: pd.DataFrame, metric: str = "force_mae_meV_A",
                     no_aux: pd.DataFrame | None = None) -> Verdict:
    """FRAMES Table 2: is the displacement target better than the next frame's energy and
    forces (both at T = 2, same batches and steps), per molecule, paired by seed? With
    ``no_aux`` (runs labelled ``"T=2, no aux"``: the same windows without an auxiliary loss,
    e.g. from the Table 1 sweep), each target is also read against no auxiliary loss at all."""
    labels = set(runs["label"])
    if not {"T=2, aux dp", "T=2, aux E,F next"} <= labels:
        return Verdict("Not enough variants in this run for a verdict.", "no verdict")
    t = compare(runs[runs.label != "T=1"], metric, reference="T=2, aux dp", by=["molecule"])
    dp = int((t.verdict == "T=2, aux dp better").sum())
    nf = int((t.verdict == "T=2, aux E,F next better").sum())
    n = len(t)
    both = ""
    if "T=1" in labels:
        base = compare(runs, metric, reference="T=1", by=["molecule"])
        wins = {v: int((base[base.variant == v].verdict == f"{v} better").sum())
                for v in ("T=2, aux dp", "T=2, aux E,F next")}
        both = (f" Against T=1, the displacement target is better on {wins['T=2, aux dp']} "
                f"and the next-frame target on {wins['T=2, aux E,F next']} of {n} molecules.")
    if dp > n / 2 and nf == 0:
        claim, status = ("**Verdict: the paper's preference for the displacement target "
                         "reproduces** "), "reproduced"
    elif dp > 0 and nf == 0:
        claim, status = ("**Verdict: the paper's preference for the displacement target partly "
                         "reproduces at this scale**: better where resolved, never worse "), "partly"
    else:
        claim, status = ("**Verdict: the paper's preference for the displacement target is not "
                         "reproduced at this scale** "), "not reproduced"
    text = (claim + f"(force MAE: displacement better on {dp}, next frame better on {nf}, "
            f"indistinguishable on {n - dp - nf} of {n} molecules; 95% intervals over "
            f"{runs.seed.nunique()} seeds).{both}")
    if no_aux is not None and len(no_aux):
        pair = pd.concat([runs[runs.label != "T=1"], no_aux.assign(label="T=2, no aux")])
        c = compare(pair, metric, reference="T=2, no aux", by=["molecule"])
        counts = {v: (int((c[c.variant == v].verdict == f"{v} better").sum()),
                      int((c[c.variant == v].verdict == "T=2, no aux better").sum()))
                  for v in ("T=2, aux dp", "T=2, aux E,F next")}
        (dp_win, dp_loss), (nf_win, nf_loss) = counts.values()
        text += (f" Against the same windows without any auxiliary loss, the displacement "
                 f"target is better on {dp_win} and worse on {dp_loss}, the next-frame target "
                 f"better on {nf_win} and worse on {nf_loss} of {n} molecules")
        text += (": the preference says that the next-frame target hurts, not that the "
                 "displacement target helps." if dp_win == 0 and nf_loss > 0 else ".")
    return Verdict(text, status)


def iso17_long(runs: pd.DataFrame) -> pd.DataFrame:
    """ISO17 runs as one row per (run, test quantity: within/outside x energy/force)."""
    return runs.melt(id_vars=["label", "seed"], var_name="quantity", value_name="mae",
                     value_vars=[c for c in runs.columns
                                 if c.startswith(("within_", "outside_")) and "mae" in c])


def iso17_verdict(runs: pd.DataFrame) -> Verdict:
    """FRAMES Table 3 on xtb-iso17: T=2 (and T=3) against T=1 on the four test numbers, and
    T=2 against each control, paired by seed."""
    long = iso17_long(runs)
    verdicts = compare(long, "mae", reference="T=1", by=["quantity"])
    t2 = verdicts[verdicts.variant == "T=2"]
    t3 = verdicts[verdicts.variant == "T=3"]
    better = int((t2.verdict == "T=2 better").sum())
    worse = int((t2.verdict == "T=1 better").sum())
    text = (f"T=2 is better than T=1 on **{better} of {len(t2)}** test quantities and worse "
            f"on {worse}")
    if len(t3):
        text += (f"; T=3 is worse than T=1 on {int((t3.verdict == 'T=1 better').sum())} and "
                 f"better on {int((t3.verdict == 'T=3 better').sum())} of {len(t3)}")
    reproduced = len(t2) and better == len(t2)
    claim = ("**Verdict: reproduced** on xtb-iso17 at this scale" if reproduced
             else "**Verdict: not reproduced** on xtb-iso17 at this scale: the paper's T=2 gain "
                  "on all four numbers does not appear with 95% confidence")
    text = f"{claim}. {text}."
    for name, what in CONTROLS.items():
        reference = name.split(" vs ")[0]
        if reference not in set(long["label"]):
            continue
        control = compare(long[long.label.isin(["T=2", reference])], "mae",
                          reference=reference, by=["quantity"])
        wins = int((control.verdict == "T=2 better").sum())
        losses = int((control.verdict == f"{reference} better").sum())
        text += (f" Against {what}, T=2 is better on {wins} of {len(control)} quantities and "
                 f"worse on {losses}.")
    return Verdict(text, "reproduced" if reproduced else "not reproduced")


LAG_CONTROLS = ("T=1, 2x epochs", "T=2, no aux")


def lag_comparisons(runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The frame-lag study's comparisons, paired by seed within each (molecule, lag):
    ``"force"``/``"energy"``: every variant against T=1; then, per control present, T=2
    against that control (force MAE). Labels lose their ", lag k" suffix; ``Δt (fs)`` is the
    lag at 0.5 fs per MD step."""
    paired = runs.assign(label=runs["label"].str.replace(r", lag \d+$", "", regex=True),
                         **{"Δt (fs)": 0.5 * runs["lag"]})
    by = ["molecule", "Δt (fs)"]
    out = {"force": compare(paired, "force_mae_meV_A", reference="T=1", by=by),
           "energy": compare(paired, "energy_mae_meV", reference="T=1", by=by)}
    for c in LAG_CONTROLS:
        if c in set(paired["label"]):
            out[c] = compare(paired[paired.label.isin(["T=2", c])], "force_mae_meV_A",
                             reference=c, by=by)
    return out


def _lag_dependent(table: pd.DataFrame) -> list[str]:
    """Molecules whose ratio at one lag lies outside the interval at another."""
    return [m for m, t in table.dropna(subset=["ratio"]).groupby("molecule", sort=False)
            if len(t) > 1 and t["high"].min() < t["low"].max()]


def lag_verdict(runs: pd.DataFrame) -> Verdict:
    """Does the T=2 benefit depend on the frame lag, and is a trend the second frame's: read
    T=2 / T=1 and T=2 against each control across lags (our study, status ``ours``)."""
    tables = lag_comparisons(runs)
    gains = tables["force"][tables["force"].variant == "T=2"].dropna(subset=["ratio"])
    if gains.empty:
        return Verdict("No T=2 against T=1 comparison in these runs.", "no verdict")
    trend = _lag_dependent(gains)
    lines = ["**Answer:** " + (
        f"T=2 / T=1 differs between lags beyond the seed intervals on {', '.join(trend)}"
        if trend else "the T=2 / T=1 ratios at the lags tried overlap within their 95% "
        "intervals on every molecule: no dependence on Δt is resolved at this scale") + "."]
    controls = [c for c in LAG_CONTROLS if c in tables]
    for c in controls:
        survive = tables[c].dropna(subset=["ratio"])
        wins = survive[survive.verdict == "T=2 better"]
        moved = _lag_dependent(survive)
        lines.append(
            f"Against {c}: T=2 is better in {len(wins)} of {len(survive)} (molecule, lag) "
            "cases, and the ratio " + (f"changes with the lag on {', '.join(moved)}" if moved
                                       else "does not change with the lag beyond its "
                                       "intervals") + ".")
    if trend and controls and not any(_lag_dependent(tables[c]) for c in controls):
        lines.append("So the lag trend of T=2 / T=1 is not the second frame's: measured "
                     "against the controls, which move with the lag as well, it vanishes.")
    return Verdict(" ".join(lines), "ours")
