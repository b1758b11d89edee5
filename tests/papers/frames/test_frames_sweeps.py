"""FRAMES sweeps: the data each run sees, the sweep/variant plumbing, and the verdict maths."""

import numpy as np
import pandas as pd
import pytest

from mlffkit import experiments
from mlffkit import reference as generate
from mlffkit.papers.frames import analysis as fa
from mlffkit.papers.frames import iso17 as frames_iso17, md17 as frames_md17
from mlffkit.papers.frames import training as ft


def _xtb_params(**over):
    return {**frames_md17.RUN.profiles["smoke"], "dataset": "xtb-md17", "test_min_index": 4000,
            "molecule": "ethanol", **over}


@pytest.mark.parametrize("lag", [1, 4])
def test_xtb_windows_step_by_lag_and_test_frames_come_later(lag):
    p = _xtb_params(lag=lag, n_train=50, T=2)
    frames, split, test = frames_md17._data(p)
    rows = split.windows(frames, p["T"] + 1)
    assert len(rows) > 0 and (np.diff(rows, axis=1) == lag).all()
    assert frames.time.max() < 4000 <= test.time.min()
    assert not set(split.val) & set(split.train)


def test_unknown_dataset_is_a_clear_error():
    with pytest.raises(ValueError, match="dataset must be one of"):
        frames_md17._data(_xtb_params(dataset="md22"))


def test_iso17_scenarios_keep_test_isomers_out_of_training():
    s = frames_iso17.scenarios()
    train, other = set(s["train"]["isomers"]), set(s["test_other"]["isomers"])
    assert len(train) == 30 and len(other) == 7 and not train & other
    assert s["train"]["frames"][1] <= s["test_within"]["frames"][0]


def test_iso17_smoke_sweep(compute_allowed):
    runs = experiments.run("frames_iso17", "smoke").tables["runs"]
    assert list(runs["label"]) == ["T=1", "T=2"]
    cols = [c for c in runs.columns if c.endswith(("_meV", "_meV_A"))]
    assert len(cols) == 4 and np.isfinite(runs[cols].to_numpy()).all()
    assert (runs["n_within"] == 30).all() and (runs["n_outside"] == 14).all()


def test_ablation_smoke_uses_the_next_frame_target(compute_allowed):
    runs = experiments.run("frames_ablation", "smoke").tables["runs"]
    assert list(runs["aux"]) == ["next_frame"] and np.isfinite(runs["force_mae_meV_A"]).all()


def test_sweep_unit_returns_a_runs_history_and_names_unknown_variants(compute_allowed):
    params = frames_md17.TABLE1.profiles["smoke"]
    unit = ft.sweep_unit(frames_md17.RUN, params, "T=2", molecule="ethanol")
    history = unit.tables["history"]
    assert {"train", "val"} <= set(history["kind"]) and unit.tables["run"]["T"].iloc[0] == 2
    with pytest.raises(KeyError, match="no variant 'T=9'"):
        ft.sweep_unit(frames_md17.RUN, params, "T=9", molecule="ethanol")


def test_equal_step_control_doubles_the_epochs():
    variants = {v["label"]: v for v in ft.table1_variants(7)}
    assert variants["T=1, 2x epochs"]["epochs"] == 14 and "epochs" not in variants["T=2"]


def _runs(factor, noise, seeds=5, seed=0):
    rng = np.random.default_rng(seed)
    base = 100 * np.exp(rng.normal(0, 0.3, seeds))  # seed-to-seed spread shared by the pair
    rows = [{"molecule": "m", "label": "T=1", "seed": s, "mae": b} for s, b in enumerate(base)]
    rows += [{"molecule": "m", "label": "T=2", "seed": s,
              "mae": b * factor * np.exp(rng.normal(0, noise))} for s, b in enumerate(base)]
    return pd.DataFrame(rows)


def test_compare_finds_a_clear_gain_and_pairs_by_seed():
    out = fa.compare(_runs(0.8, 0.01), "mae", reference="T=1", by=["molecule"]).iloc[0]
    assert out["verdict"] == "T=2 better" and out["low"] < 0.8 < out["high"]
    worse = fa.compare(_runs(1.25, 0.01), "mae", reference="T=1", by=["molecule"]).iloc[0]
    assert worse["verdict"] == "T=1 better"


def test_compare_calls_noise_indistinguishable():
    out = fa.compare(_runs(1.0, 0.3), "mae", reference="T=1", by=["molecule"]).iloc[0]
    assert out["verdict"] == "indistinguishable" and out["low"] < 1 < out["high"]


def test_compare_needs_two_seeds():
    out = fa.compare(_runs(0.8, 0.01, seeds=1), "mae", reference="T=1", by=["molecule"])
    assert out["verdict"].iloc[0] == "too few seeds"


def test_mean_std_table_keeps_run_order():
    runs = pd.concat([_runs(0.8, 0.1).assign(molecule="b"), _runs(0.9, 0.1).assign(molecule="a")])
    table = fa.mean_std_table(runs, "mae", ["molecule"])
    assert list(table.columns) == ["b", "a"] and list(table.index) == ["T=1", "T=2"]
    assert table.loc["T=1", "b"].count("±") == 1


def _table1_runs(t2, t3, control, seeds=4):
    parts = [_runs(t2, 0.01, seeds, seed=1)]
    for label, factor in (("T=3", t3), ("T=1, 2x epochs", control)):
        extra = _runs(factor, 0.01, seeds, seed=1)
        parts.append(extra[extra.label == "T=2"].assign(label=label))
    return pd.concat(parts, ignore_index=True)


def test_claims_and_verdict_follow_the_intervals():
    holds = fa.claims(_table1_runs(0.8, 0.95, 0.9), "mae", by=["molecule"])
    assert list(holds["claim"]) == ["T=2 vs T=1", "T=3 vs T=2", "T=1, 2x epochs vs T=2"]
    assert holds["holds"].all()
    assert "reproduced" in fa.verdict(holds) and "not reproduced" not in fa.verdict(holds)
    assert "holds on **1 of 1**" in fa.claim_summary(holds)
    fails = fa.claims(_table1_runs(1.2, 1.0, 0.7), "mae", by=["molecule"])
    assert not fails["holds"].any()
    assert "not reproduced" in fa.verdict(fails)
    assert "the opposite on 1" in fa.claim_summary(fails)


def test_verdict_needs_two_seeds():
    one = fa.claims(_table1_runs(0.8, 0.95, 0.9, seeds=1), "mae", by=["molecule"])
    assert fa.verdict(one).startswith("**No verdict**")


def test_verdict_partly_when_only_the_gain_holds_and_reports_the_control():
    partly = fa.verdict(fa.claims(_table1_runs(0.8, 0.8, 0.7), "mae", by=["molecule"]))
    assert "partly reproduced" in partly and "does not survive" in partly
    survives = fa.verdict(fa.claims(_table1_runs(0.8, 0.8, 0.9), "mae", by=["molecule"]))
    assert "partly reproduced" in survives and "survives" in survives


def test_no_aux_control_is_a_claim_the_verdict_names():
    runs = _table1_runs(0.8, 0.95, 0.9)
    t2 = runs[runs.label == "T=2"]
    runs = pd.concat([runs, t2.assign(label="T=2, no aux", mae=t2["mae"] * 0.8)])
    table = fa.claims(runs, "mae", by=["molecule"])
    assert "T=2, no aux vs T=2" in set(table["claim"])
    text = fa.verdict(table)
    assert "survives the equal-step control" in text
    assert "does not survive the no-aux control" in text


PAPER = pd.DataFrame({
    "table": "Table 1", "metric": "force_mae",
    "model": ["Equiformer", "Equiformer + 2 Frames", "Equiformer + 3 Frames"] * 2,
    "molecule": ["a"] * 3 + ["b"] * 3, "T": [1, 2, 3] * 2,
    "value": [7.2, 7.0, 7.1, 3.1, 3.2, 3.3], "std": [np.nan, 0.09, 0.05, np.nan, 0.05, 0.3]})


def test_paper_directions_read_the_papers_own_table():
    d = fa.paper_directions(PAPER, "force_mae", ["a", "b"]).set_index(["molecule", "claim"])
    assert d.loc[("a", "T=2 vs T=1"), "paper_holds"]  # 7.0 < 7.2
    assert d.loc[("a", "T=2 vs T=1"), "paper_beyond_std"]  # 0.2 > 0.09
    assert d.loc[("a", "T=3 vs T=2"), "paper_holds"]  # 7.1 > 7.0
    assert not d.loc[("a", "T=3 vs T=2"), "paper_beyond_std"]  # 0.1 < hypot(0.09, 0.05)
    assert not d.loc[("b", "T=2 vs T=1"), "paper_holds"]  # 3.2 > 3.1
    assert d.loc[("b", "T=2 vs T=1"), "paper_ratio"] == pytest.approx(3.2 / 3.1)


def test_verdict_judges_the_headline_where_the_paper_shows_it():
    runs = pd.concat([_table1_runs(0.8, 0.95, 0.9).assign(molecule=m) for m in "ab"])
    paper = fa.paper_directions(PAPER, "force_mae", ["a", "b"])
    table = fa.claims(runs, "mae", by=["molecule"], paper=paper)
    assert "paper_beyond_std" in table and "goes this way on 1 of 2 (1 beyond its ±)" in fa.claim_summary(table)
    assert "Where the paper itself shows the gain beyond its ± (a), ours holds on 1 of 1" \
        in fa.verdict(table)
    nowhere = fa.paper_directions(PAPER[PAPER.molecule == "b"], "force_mae", ["b"])
    text = fa.verdict(fa.claims(runs[runs.molecule == "b"], "mae", ["molecule"], nowhere))
    assert "beyond its ± on none" in text


def test_epoch_history_averages_train_steps_and_keeps_val_rows():
    log = pd.DataFrame({"kind": ["train"] * 4 + ["val"] + ["train"] * 2 + ["val"],
                        "step": [1, 2, 3, 4, 4, 5, 6, 6], "epoch": [0, 0, 0, 0, 1, 1, 1, 2],
                        "loss": [4.0, 2.0, 2.0, 0.0, 9.0, 1.0, 3.0, 7.0],
                        "time": [10.0, 11, 12, 13, 14, 15, 16, 17]})
    out = ft.epoch_history(log)
    assert list(out["kind"]) == ["train", "val", "train", "val"]
    assert list(out["step"]) == [4, 4, 6, 6] and list(out["loss"]) == [2.0, 9.0, 2.0, 7.0]
    assert list(out["time"]) == [13.0, 14.0, 16.0, 17.0] and list(out.columns) == list(log.columns)


def test_equiformer_sweep_reads_only_molecules_with_every_run_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFFKIT_RESULTS_DIR", str(tmp_path))   # an empty store
    monkeypatch.setenv("MLFFKIT_NO_COMPUTE", "1")               # nothing may be trained
    sweep, todo = frames_md17.equiformer_sweep("book")
    assert sweep is None
    assert todo == {m: 15 for m in frames_md17.EQUIFORMER_RUNS["molecules"]}
    assert frames_md17.equiformer_sweep("smoke") == (None, {})
