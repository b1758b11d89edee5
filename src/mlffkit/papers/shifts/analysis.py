"""Reading the shift benchmark: paired per-molecule comparisons and the verdict on each of the
paper's claims (Kreiman & Krishnapriyan, Table 1 and Table 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["paired_ratios", "CLAIMS", "TRANSFER_CLAIMS", "verdicts"]

#: (method, the method it is compared with, what the paper claims)
CLAIMS = (
    ("rr", "base", "radius refinement lowers the force error (Table 1, MACE-OFF + RR)"),
    ("ttt_mmff94", "base", "test-time training on a label-free prior lowers the force error "
                           "(Table 5, GFN2-xTB prior)"),
    ("ttt_sgdml", "base_sgdml_frames", "test-time training on an sGDML prior lowers the force "
                                       "error (Table 1's prior; here the head was pre-trained "
                                       "on MMFF94, not sGDML: a mismatched prior)"),
    ("ttt_mmff94", "prior_mmff94", "the model after test-time training beats the prior it was "
                                   "given (Table 2; read when the prior's own errors are in "
                                   "the table)"),
)


#: the MD17 transferability claims (§5.2, Fig. 8), per unseen molecule
TRANSFER_CLAIMS = (
    ("ttt_sgdml", "base_sgdml", "TTT on an sGDML prior (k labelled frames) lowers the force "
                                "error on an unseen molecule (§5.2)"),
    ("ttt_mmff94", "base_mmff94", "TTT on MMFF94 (label-free) lowers the force error on an "
                                  "unseen molecule"),
    ("ttt_gfn2-xtb", "base_gfn2-xtb", "TTT on GFN2-xTB (label-free, Table 5's prior) lowers "
                                      "the force error on an unseen molecule"),
)


def paired_ratios(molecules: pd.DataFrame, method: str, reference: str,
                  level: float = 0.95, group: str = "pool", unit: str = "member"
                  ) -> pd.DataFrame:
    """Per ``group`` (a pool): the geometric-mean ratio of ``method``'s force MAE to
    ``reference``'s over the ``unit``s (molecules; or frames of one molecule) scored by both,
    with a paired Student-t interval on the log ratios, and how many units improved."""
    from scipy import stats

    rows = []
    wide = molecules.pivot_table(index=[group, unit], columns="method", values="force_mae")
    for pool, group_ in wide.groupby(level=group, sort=False):
        both = group_[[method, reference]].dropna()
        logs = np.log(both[method].to_numpy() / both[reference].to_numpy())
        n = len(logs)
        if n > 1 and logs.std(ddof=1) > 0:
            half = stats.t.ppf(0.5 + level / 2, n - 1) * logs.std(ddof=1) / np.sqrt(n)
        else:
            half = np.nan if n < 2 else 0.0
        mean = logs.mean() if n else np.nan
        rows.append({group: pool, "method": method, "vs": reference, "units": n,
                     "ratio": float(np.exp(mean)), "low": float(np.exp(mean - half)),
                     "high": float(np.exp(mean + half)), "improved": int((logs < 0).sum())})
    return pd.DataFrame(rows)


def verdicts(molecules: pd.DataFrame, claims=CLAIMS, group: str = "pool",
             unit: str = "member") -> pd.DataFrame:
    """Each claim in each group: ``yes`` when the whole interval of the ratio lies below 1,
    ``no`` when it lies at or above 1 (worse), else ``not resolved``."""
    tables = []
    for method, reference, claim in claims:
        if not {method, reference} <= set(molecules["method"]):
            continue
        table = paired_ratios(molecules, method, reference, group=group, unit=unit)
        table["claim"] = claim
        table["verdict"] = np.where(table["high"] < 1, "yes",
                                    np.where(table["low"] >= 1, "no", "not resolved"))
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
