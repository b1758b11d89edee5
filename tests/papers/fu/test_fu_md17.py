"""Fu et al. MD17 (Table 3) at its smoke profile, its split and starts, and the per-run
scores of the protocol."""

import numpy as np
import pandas as pd
import pytest
from ase.build import molecule

from mlffkit import experiments
from mlffkit.papers import fu
from mlffkit.papers.fu import HR_EDGES, PROTOCOLS, hr_mae, md17, simulate_molecule
from mlffkit.papers.fu.protocol import hr_of
from mlffkit.testing import tiny_model


def test_split_is_disjoint_and_starts_are_test_frames():
    c = md17.PROFILES["book"]
    parts = md17.split(9633, c)
    sizes = [len(parts[k]) for k in ("train", "val", "test")]
    assert sizes == [c.n_train, c.n_val, c.n_test]
    assert len(np.unique(np.concatenate(list(parts.values())))) == sum(sizes)
    starts = md17.start_frames(parts["test"], c)
    assert len(starts) == c.starts and set(starts) <= set(parts["test"])
    assert len(set(starts)) == len(starts)  # different seeds, different frames (here)
    with pytest.raises(ValueError, match="exceeds the 100 frames"):
        md17.split(100, c)


def test_hr_mae_is_zero_for_the_reference_and_at_most_two():
    rng = np.random.default_rng(0)
    frames = molecule("CH3CH2OH").positions[None] + rng.normal(0, 0.05, (20, 9, 3))
    assert hr_mae(frames, hr_of(frames)) == 0.0
    far = frames * 3.0                           # every distance three times longer
    assert 0 < hr_mae(far, hr_of(frames)) <= 2.0
    assert np.isnan(hr_mae(frames[:0], hr_of(frames)))
    assert len(hr_of(frames)) == len(HR_EDGES) - 1


def test_simulate_molecule_scores_each_run_and_stops_a_broken_model():
    """A random tiny model breaks a bond within 0.1 ps from every start (stopped, dated to the
    step, h(r) from the frames before); the rule's reference is the mean over the frames."""
    atoms = molecule("CH3CH2OH")
    rng = np.random.default_rng(1)
    reference = atoms.positions[None] + rng.normal(0, 0.02, (30, 9, 3))
    model = tiny_model("painn")
    rows = simulate_molecule(model, atoms.numbers, reference[:2], reference, PROTOCOLS["md17"],
                             time_ps=0.1, seed=0)
    assert [r["run"] for r in rows] == [0, 1]
    for r in rows:
        assert r["frames"] == len(r["positions"])
        if r["stopped"]:
            assert r["stable_ps"] < 0.1 and r["stop_rule"] in ("bond_length",
                                                                "temperature_bounds",
                                                                "non_finite")
        else:
            assert r["stable_ps"] == pytest.approx(0.1) and r["frames"] == 3


def test_smoke_run_trains_scores_and_simulates(compute_allowed):
    result = experiments.run("fu_md17", "smoke")
    c = md17.PROFILES["smoke"]
    table = md17.table3(result)
    assert len(table) == len(c.models) * len(c.molecules)
    assert (table["runs"] == c.starts).all() and (table["fps"] > 0).all()
    runs = result.tables["runs"]
    assert (runs["stable_ps"] <= c.md_ps + 1e-12).all()
    errors = result.tables["errors"]
    assert (errors["zero_force_baseline"] > 0).all()
    hr = result.tables["hr"]
    assert set(hr["model"]) >= {"reference"}
    assert len(hr[hr["model"] == "reference"]) == len(HR_EDGES) - 1
    # a checkpoint at a quarter of the training (epoch 1 of 4), scored and simulated too
    assert sorted(errors["epoch"]) == [1, 4] and list(errors["final"]) == [False, True]
    assert sorted(runs["epoch"].unique()) == [1, 4] and len(runs) == 2 * c.starts
    nve = result.tables["nve"]
    assert sorted(nve["dt_fs"].unique()) == sorted(c.nve_dts)
    assert len(nve) == len(c.nve_dts) * c.starts
    assert (nve["stable_ps"] <= c.nve_ps + 1e-12).all()


def test_workers_give_the_same_rows(compute_allowed):
    c = md17.PROFILES["smoke"].replace(models=("schnet_book", "painn_book"), epochs=(1, 1),
                                       nve_dts=(1.0,))
    one, two = md17.compute(c), md17.compute(c.replace(workers=2))
    for name in ("errors", "runs", "nve"):
        a, b = one.tables[name], two.tables[name]
        cols = [k for k in a.columns if k != "steps_per_s"]
        assert a[cols].equals(b[cols])


def test_epochs_must_match_models_and_checkpoints_are_fractions():
    c = md17.PROFILES["smoke"].replace(epochs=(1, 2))
    with pytest.raises(ValueError, match="one per model"):
        md17.compute(c)
    assert md17.checkpoint_epochs(md17.BOOK, 20) == (5,)
    assert md17.checkpoint_epochs(md17.BOOK, 2) == (1,)
    assert md17.checkpoint_epochs(md17.BOOK.replace(checkpoints=()), 20) == ()
    with pytest.raises(ValueError, match="fractions"):
        experiments.resolve("fu_md17", "smoke", checkpoints=[1.5])


def _table(force, stability, hr, collapsed):
    return pd.DataFrame({"molecule": "m", "model": ["a", "b", "c"], "force_mae": force,
                         "stability_ps": stability, "hr_mae": hr, "runs": 3,
                         "collapsed": collapsed})


def test_rankings_find_disagreement_and_ties():
    # a has the lowest force error but collapses; c is the most stable and best in h(r)
    t = _table([1.0, 2.0, 3.0], [0.5, 5.0, 10.0], [0.9, 0.3, 0.1], [3, 1, 0])
    r = md17.rankings(t).iloc[0]
    assert (r.lowest_force_error, r.most_stable, r.lowest_hr_error) == ("a", "c", "c")
    assert r.spearman_force_stability == pytest.approx(-1.0)
    assert r.spearman_force_hr == pytest.approx(-1.0)
    text = md17.summary(t, md17.rankings(t), {"md_ps": 10.0})
    assert "does **not** pick" in text and "on 1 of 1 molecules the model" in text
    # every run stable to the end: a tie that includes the lowest force error agrees
    t = _table([1.0, 2.0, 3.0], [10.0, 10.0, 10.0], [0.1, 0.2, 0.3], [0, 0, 0])
    r = md17.rankings(t).iloc[0]
    assert r.most_stable == "a, b, c" and np.isnan(r.spearman_force_stability)
    assert r.spearman_force_hr == pytest.approx(1.0)
    assert "picks the best simulation" in md17.summary(t, md17.rankings(t), {"md_ps": 10.0})


def test_rank_correlations_read_perfect_and_reversed_rankings():
    pts = pd.DataFrame({"molecule": ["m"] * 5 + ["n"] * 5, "model": list("abcde") * 2,
                        "force_mae": [1, 2, 3, 4, 5] * 2,
                        "stability_ps": [10, 8, 6, 4, 2] + [2, 4, 6, 8, 10],
                        "hr_mae": [0.1, 0.2, 0.3, 0.4, 0.5] * 2})
    t = fu.rank_correlations(pts, n_boot=200).set_index(["molecule", "metric"])
    assert t.loc[("m", "stability"), "spearman"] == pytest.approx(1.0)
    assert t.loc[("n", "stability"), "spearman"] == pytest.approx(-1.0)
    assert t.loc[("all (ranks within molecule)", "stability"), "spearman"] == pytest.approx(0.0)
    assert t.loc[("m", "h(r)"), "spearman"] == pytest.approx(1.0)
    low, high = t.loc[("all (ranks within molecule)", "stability"), ["low", "high"]]
    assert low < 0 < high


def test_system_points_pool_every_record_on_one_scale():
    """Points from fu_md17 and fu_water records: stable fractions in [0, 1], one structural
    metric per system, and correlations over ranks within systems."""
    from mlffkit.results import Result

    md = Result(tables={
        "runs": pd.DataFrame({"molecule": "m", "model": list("abc"), "epoch": 5, "run": 0,
                              "stable_ps": [10.0, 5.0, 2.5], "hr_mae": [0.1, 0.2, 0.3]}),
        "errors": pd.DataFrame({"molecule": "m", "model": list("abc"), "epoch": 5,
                                "final": True, "force_mae": [1.0, 2.0, 3.0],
                                "zero_force_baseline": 100.0})})
    md.record = {"params": {"md_ps": 10.0}}
    wat = Result(tables={
        "runs": pd.DataFrame({"model": list("xy"), "size": 100, "run": 0,
                              "stable_ps": [5.0, 1.0], "stopped": [False, True],
                              "rdf_mae_OO": [0.1, 0.5], "rdf_mae_HH": [0.1, 0.5],
                              "rdf_mae_HO": [0.1, 0.5], "D_m2_s": [2e-9, np.nan]}),
        "errors": pd.DataFrame({"model": list("xy"), "size": 100, "force_mae": [5.0, 9.0],
                                "zero_force_baseline": 50.0, "steps_per_s": 1.0}),
        "reference": pd.DataFrame({"D_m2_s": [2.2e-9]})})
    wat.record = {"params": {"md_ps": 5.0}}
    pts = fu.system_points({"fu_md17": md, "fu_water": wat})
    assert set(pts["system"]) == {"MD17 m", "water (100 frames)"}
    assert pts["stable_fraction"].between(0, 1).all()
    assert pts.groupby("system")["structure_metric"].nunique().eq(1).all()
    t = fu.rank_correlations(pts, group="system", metrics=fu.headline.SYSTEM_METRICS,
                             n_boot=100).set_index(["system", "metric"])
    assert t.loc[("MD17 m", "instability"), "spearman"] == pytest.approx(1.0)
    assert t.loc[("all (ranks within system)", "structure"), "spearman"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no Fu et al. record"):
        fu.system_points({})
