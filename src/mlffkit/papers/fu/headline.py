"""Fu et al.'s headline (Fig. 3 and §3): does the force error rank models the way their
simulations do? One point per model (and per training checkpoint where a record has them) on
each system, pooled over the four experiments' records, with Spearman's ρ of force error
against instability and against the structural error, within each system and over ranks taken
within systems, each with a bootstrap interval."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: each metric: (name, column, sign), ρ of force MAE against sign * column
MD17_METRICS = (("stability", "stability_ps", -1), ("h(r)", "hr_mae", 1))
SYSTEM_METRICS = (("instability", "stable_fraction", -1), ("structure", "structure_error", 1))


def rank_correlations(pts: pd.DataFrame, *, group: str = "molecule",
                      metrics=MD17_METRICS, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Spearman's ρ of ``force_mae`` against each metric over ``pts``, within each ``group``
    and pooled over groups (ranks taken within each group, then correlated), with a 95%
    percentile bootstrap interval over points. ρ = +1: the force error ranks simulations
    perfectly."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(seed)
    rows = []
    groups = [(g, t) for g, t in pts.groupby(group, sort=False)]
    if len(groups) > 1:
        ranked = pts.copy()
        for column in ["force_mae"] + [column for _, column, _ in metrics]:
            ranked[column] = pts.groupby(group)[column].rank()
        groups.append((f"all (ranks within {group})", ranked))
    for name, t in groups:
        for metric, column, sign in metrics:
            x, y = t["force_mae"].to_numpy(float), sign * t[column].to_numpy(float)
            keep = np.isfinite(x) & np.isfinite(y)
            x, y = x[keep], y[keep]
            rho = _spearman(spearmanr, x, y)
            boot = [_spearman(spearmanr, x[i], y[i])
                    for i in rng.integers(len(x), size=(n_boot, len(x)))] if len(x) > 2 else []
            boot = np.array([b for b in boot if np.isfinite(b)])
            low, high = (np.percentile(boot, [2.5, 97.5]) if len(boot) else (np.nan, np.nan))
            rows.append({group: name, "metric": metric, "points": len(x), "spearman": rho,
                         "low": low, "high": high})
    return pd.DataFrame(rows)


def _spearman(spearmanr, x, y) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan
    return float(spearmanr(x, y).statistic)


def system_points(results: dict) -> pd.DataFrame:
    """One row per system, model (and scored checkpoint) from the records of ``fu_md17``,
    ``fu_water``, ``fu_ala2`` and ``fu_lips`` (``{name: Result}``, any subset): force MAE
    and its zero-force baseline, the mean stable fraction of the runs (stable time / run
    length) and the structural error (MD17: h(r) MAE; water: RDF MAE averaged over pairs;
    LiPS: RDF MAE; alanine dipeptide: FES MAE averaged over φ and ψ)."""
    from . import ala2, lips, md17, water

    parts = []
    if "fu_md17" in results:
        r = results["fu_md17"]
        pts = md17.points(r).merge(
            r.tables["errors"][["molecule", "model", "epoch", "zero_force_baseline"]],
            on=["molecule", "model", "epoch"])
        parts.append(pd.DataFrame({
            "system": "MD17 " + pts["molecule"], "model": pts["model"],
            "final": pts["final"], "force_mae": pts["force_mae"],
            "zero_force_baseline": pts["zero_force_baseline"],
            "stable_fraction": pts["stability_ps"] / r.record["params"]["md_ps"],
            "structure_error": pts["hr_mae"], "structure_metric": "h(r) MAE"}))
    for name, system, table, metric in (
            ("fu_water", "water", water.table4, "RDF MAE, mean of O-O, H-H, H-O"),
            ("fu_lips", "LiPS", lips.table6, "RDF MAE")):
        if name in results:
            r = results[name]
            t = table(r)
            rdf = t[[c for c in t.columns if c.startswith("rdf_mae")]].mean(axis=1)
            parts.append(pd.DataFrame({
                "system": system + " (" + t["size"].astype(str) + " frames)",
                "model": t["model"], "final": True, "force_mae": t["force_mae"],
                "zero_force_baseline": t["zero_force_baseline"],
                "stable_fraction": t["stability_ps"] / r.record["params"]["md_ps"],
                "structure_error": rdf, "structure_metric": metric}))
    if "fu_ala2" in results:
        r = results["fu_ala2"]
        t = ala2.table5(r)
        t = t[~t["model"].isin(ala2.REFERENCE_POTENTIAL)]
        parts.append(pd.DataFrame({
            "system": "alanine dipeptide", "model": t["model"], "final": True,
            "force_mae": t["force_mae"], "zero_force_baseline": t["zero_force_baseline"],
            "stable_fraction": t["stable_ps"] / r.record["params"]["md_ps"],
            "structure_error": t[["fes_mae_phi", "fes_mae_psi"]].mean(axis=1),
            "structure_metric": "FES MAE, mean of φ and ψ"}))
    if not parts:
        raise ValueError("no Fu et al. record given; expected any of fu_md17, fu_water, "
                         "fu_ala2, fu_lips")
    return pd.concat(parts, ignore_index=True)
