"""Paired comparisons of the shift benchmark: analytic cases."""

import numpy as np
import pandas as pd
import pytest

from mlffkit.papers.shifts.analysis import paired_ratios, verdicts


def table(factor_rr, factor_ttt, n=8, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(50, 150, n)
    rows = []
    for i, b in enumerate(base):
        noise = np.exp(rng.normal(scale=0.05, size=4))
        for method, value in (("base", b), ("rr", b * factor_rr * noise[0]),
                              ("ttt_mmff94", b * factor_ttt * noise[1]),
                              ("base_sgdml_frames", b * noise[2]), ("ttt_sgdml", b * noise[3])):
            rows.append({"pool": "test_id", "member": f"m{i}", "method": method,
                         "force_mae": value})
    return pd.DataFrame(rows)


def test_a_halved_error_gives_ratio_one_half_and_a_yes():
    molecules = table(factor_rr=1.0, factor_ttt=0.5)
    ratio = paired_ratios(molecules, "ttt_mmff94", "base").iloc[0]
    assert ratio["ratio"] == pytest.approx(0.5, rel=0.1) and ratio["high"] < 1
    assert ratio["improved"] == 8 and ratio["units"] == 8
    verdict = verdicts(molecules).set_index("method")["verdict"]
    assert verdict["ttt_mmff94"] == "yes"
    assert set(verdict.index) == {"rr", "ttt_mmff94", "ttt_sgdml"}


def test_a_doubled_error_is_a_no_and_identical_errors_are_not_resolved():
    molecules = table(factor_rr=2.0, factor_ttt=1.0)
    verdict = verdicts(molecules).set_index("method")["verdict"]
    assert verdict["rr"] == "no"
    same = molecules.copy()
    same.loc[same["method"] == "rr", "force_mae"] = same.loc[same["method"] == "base",
                                                               "force_mae"].to_numpy()
    ratio = paired_ratios(same, "rr", "base").iloc[0]
    assert ratio["ratio"] == pytest.approx(1.0) and ratio["low"] == ratio["high"] == 1.0
    assert verdicts(same).set_index("method")["verdict"]["rr"] == "no"  # not lower: no
