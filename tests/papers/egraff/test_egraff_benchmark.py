"""The EGraFFBench benchmark experiment: one model on one system, and the sweep over them."""

import numpy as np
import pandas as pd
import pytest

from mlffkit.experiments import registry
from mlffkit.papers.egraff import benchmark


def test_units_cover_every_model_and_system_once():
    config = registry.resolve("egraff_models", "paper")
    units = config.units()
    assert len(units) == len(benchmark.MODELS) * len(benchmark.SYSTEMS)
    assert len({(u.model, u.system) for u in units}) == len(units)
    assert {u.training for u in units} == {"paper"}
    book = registry.resolve("egraff_models", "book")
    assert {u.training for u in book.units()} == {"book"}


def test_labels_are_the_papers_names():
    assert benchmark.LABELS == {"nequip": "NequIP", "allegro": "Allegro", "botnet": "BOTNet",
                                "mace": "MACE", "equiformer": "Equiformer",
                                "torchmdnet": "TorchMD-Net"}


def test_bad_run_parameters_give_one_line():
    with pytest.raises(ValueError, match="model"):
        registry.resolve("egraff_model", "smoke", model="schnet")
    with pytest.raises(ValueError, match="n_test"):
        registry.resolve("egraff_model", "smoke", n_test=0)


def test_more_frames_than_the_split_holds_is_an_error(mirror):
    config = registry.resolve("egraff_model", "smoke", n_val=51)
    with pytest.raises(ValueError, match="n_val=51 exceeds the 50 frames"):
        benchmark.run_model(config)


def test_smoke_sweep_trains_tests_and_simulates(mirror, compute_allowed, tmp_path,
                                                monkeypatch):
    monkeypatch.setenv("MLFFKIT_RESULTS_DIR", str(tmp_path))
    systems = ["md17/ethanol", "acac"]   # the smoke profile's DFT and sampled systems
    result = registry.run("egraff_models", "smoke", systems=systems)
    errors, runs = result.tables["errors"], result.tables["runs"]
    assert list(errors["model"]) == ["equiformer"] * 2
    assert list(errors["system"]) == ["md17/ethanol", "acac"]
    # two runs from the ethanol trajectory, two per temperature on acetylacetone
    assert runs.groupby("system").size().to_dict() == {"acac": 4, "md17/ethanol": 2}
    row = errors.iloc[0]
    # the zero-force baseline is the mean |F| of the same test frames
    from mlffkit import data

    test = data.load("egraff/md17/ethanol/test")
    assert row["zero_force_baseline_meV_A"] == pytest.approx(
        1e3 * np.abs(test.forces[:8]).mean())
    assert runs["steps_completed"].eq(20).all()
    assert result.arrays["md17/ethanol.equiformer.fv"].shape == (2, 21)
    force_error = result.arrays["md17/ethanol.equiformer.force_abs_error"]
    assert force_error.shape == (8,)
    assert 1e3 * force_error.mean() == pytest.approx(row["force_mae_meV_A"])
    table = benchmark.table1(errors)
    assert table.loc["md17/ethanol", ("force_mae_meV_A", "Equiformer")] == row["force_mae_meV_A"]
    assert "beats both" in benchmark.learned(errors)
    # Table 4: minutes per epoch over the epochs the run was set to (smoke: 1)
    cost = benchmark.timing(errors, result.tables["settings"]).iloc[0]   # ethanol
    assert cost["epochs"] == 1
    assert cost["train_min_per_epoch"] == pytest.approx(row["train_s"] / 60)
    # the same seed gives the same model and numbers (timings aside)
    again = registry.run("egraff_models", "smoke", systems=systems).tables["errors"]
    timings = ["train_s", "seconds_per_call", "md_steps_per_s"]
    pd.testing.assert_frame_equal(again.drop(columns=timings), errors.drop(columns=timings))


def test_xtb_system_scores_runs_against_the_engine_on_their_own_frames(mirror):
    from mlffkit import reference

    config = registry.resolve("egraff_model", "smoke", system="xtb-md17/ethanol", steps=8)
    train, val, test = benchmark._split(config)
    traj = reference.load_frames("xtb-md17", "ethanol")
    assert len(test) == 1000 and test.time.min() == benchmark.XTB_TEST_FROM
    assert train.time.max() < benchmark.XTB_TEST_FROM and val.time.max() < benchmark.XTB_TEST_FROM
    assert not set(train.time) & set(val.time)
    np.testing.assert_array_equal(test.positions, traj.positions[traj.time >= 4000])
    result = benchmark.run_model(config)
    runs = result.tables["runs"]
    assert runs["n_relabelled"].eq(8 // benchmark.RELABEL_STRIDE + 1).all()
    assert (runs["fv_self_gm"] > 0).all() and (runs["force_mae_self_meV_A"] > 0).all()
    assert result.arrays["fv_self"].shape == (2, 8 // benchmark.RELABEL_STRIDE + 1)
    # frame 0 of each run is the reference frame itself, whose labels are GFN2-xTB's
    frame0 = result.arrays["fv_self"][:, 0]
    starts = result.arrays["start_frames"]
    from mlffkit.metrics import force_violation
    from mlffkit.papers.egraff import metrics as em

    calc = benchmark.reference_engine("xtb-md17/ethanol")
    _, forces, _ = em.evaluate(calc, test.numbers, test.positions[starts])
    np.testing.assert_allclose(forces, test.forces[starts], atol=1e-5)  # SCF tolerance
    assert np.all(np.isfinite(frame0))
    assert force_violation(test.forces[starts], forces).max() < 1e-5


def test_sweep_caps_split_sizes_at_what_a_system_holds():
    config = registry.resolve("egraff_models", "book", systems=["acac", "3bpa", "md17/aspirin"],
                              models=["nequip"])
    sizes = {u.system: (u.n_train, u.n_val, u.n_test) for u in config.units()}
    assert sizes == {"acac": (500, 50, 650), "3bpa": (500, 50, 1000),
                     "md17/aspirin": (950, 50, 1000)}
    smoke = registry.resolve("egraff_models", "smoke", systems=["acac"]).units()[0]
    assert (smoke.n_train, smoke.n_test) == (12, 8)


def test_sampled_system_is_scored_against_the_ensemble_at_each_temperature(mirror):
    from mlffkit import data
    from mlffkit.metrics import interatomic_distance_distribution

    config = registry.resolve("egraff_model", "smoke", system="acac")
    result = benchmark.run_model(config)
    runs = result.tables["runs"]
    assert sorted(runs["T_K"].unique()) == [300.0, 600.0]
    assert len(runs) == 2 * config.n_starts and runs["steps_completed"].eq(config.steps).all()
    # no reference at the same time: no EV/FV/RMSD
    assert not {"fv_gm", "ev_raw_gm", "rmsd_mean_A"} & set(runs.columns)
    assert (runs["jsd"] >= 0).all() and np.isfinite(runs["wf_percent"]).all()
    # each run is scored against the whole set of its temperature
    hot = data.load("botnet/acac/test_MD_600K")
    edges = result.arrays["hr_bin_edges"]
    expected = interatomic_distance_distribution(hot.positions, edges)
    np.testing.assert_allclose(result.arrays["600K.hr_ref"][0], expected)
    assert result.arrays["600K.hr"].shape == (config.n_starts, len(edges) - 1)
    starts = result.arrays["600K.start_frames"]
    assert len(set(starts)) == config.n_starts and starts.max() < len(hot)
    # velocities drawn at each temperature: the hot runs start hotter
    first = {T: result.arrays[f"{T}K.temperature"][:, 0].mean() for T in (300, 600)}
    assert first[600] > 1.4 * first[300]


def test_paper_tables_hold_3bpa_and_acetylacetone():
    from mlffkit.chapters import book_file
    from mlffkit.papers.egraff import metrics

    paper = metrics.paper_tables(book_file("egraff/paper_tables.csv"), tables="all")
    table1 = benchmark.paper_table1(paper).set_index(["system", "model"])
    assert table1.loc[("acac", "NequIP"), "force_mae_meV_A"] == 4.59
    assert table1.loc[("3bpa", "TorchMD-Net"), "energy_mae_meV"] == 3.0
    assert table1.loc[("md17/aspirin", "MACE"), "force_mae_meV_A"] == 14.01

    def value(table, molecule, model, metric, T):
        row = paper.query("table == @table and molecule == @molecule and model == @model "
                          "and metric == @metric and T_K == @T")
        assert len(row) == 1
        return row["value"].iloc[0]

    assert value("Table 5", "acac", "MACE", "ev", 600) == 2.215
    zero_shot = paper[paper["table"].isin(["Table 18", "Table 19"])]
    assert len(zero_shot) == 88   # 4 molecules x 6 models x 2 metrics x 2 tables, less 8 "-"
    assert zero_shot.query("model == 'Equiformer' and molecule == 'ethanol'").empty
    row = zero_shot.query("table == 'Table 18' and model == 'MACE' and molecule == 'aspirin'"
                          " and metric == 'ev'")
    assert (row["value"].iloc[0], row["std"].iloc[0]) == (21881, 12.11)
    assert zero_shot.query("table == 'Table 19' and model == 'BOTNet' and molecule == "
                           "'naphthalene' and metric == 'wf'")["value"].iloc[0] == 21.228
    assert value("Table 5", "3bpa", "Equiformer", "fv", 300) == 0.7089
    assert value("Table 6", "3bpa", "Equiformer", "jsd", 600) == 1.053
    assert value("Table 6", "acac", "TorchMD-Net", "wf", 600) == 29.626


def test_coverage_names_every_table1_cell():
    errors = pd.DataFrame({"system": ["md17/aspirin", "acac"], "model": ["mace", "nequip"]})
    table = benchmark.coverage(errors)
    assert table.shape == (9, 6)
    assert table.loc["md17/aspirin", "MACE"] == table.loc["acac", "NequIP"] == "stored"
    assert table.loc["md17/aspirin", "NequIP"] == "to run"
    assert table.loc["gete", "TorchMD-Net"] == "no training data"
    assert set(table.to_numpy().ravel()) == {"stored", "to run", "no training data",
                                             "not wired"}


def test_paper_tables_reads_only_the_named_tables():
    from mlffkit.chapters import book_file
    from mlffkit.papers.egraff import metrics

    path = book_file("egraff/paper_tables.csv")
    everything = metrics.paper_tables(path, tables="all")
    md17 = metrics.paper_tables(path, tables=["Table 2", "Table 3"])
    assert set(md17["table"]) == {"Table 2", "Table 3"}
    # Table 19 shares Table 2's metric names: the filter is what keeps them apart
    assert {"Table 19", "Table 2"} <= set(everything["table"])
    assert len(md17) < len(everything)
    assert set(metrics.paper_tables(path, tables="Table 1")["table"]) == {"Table 1"}
    with pytest.raises(ValueError, match="Table 99"):
        metrics.paper_tables(path, tables=["Table 99"])


def test_literature_table_sets_the_papers_values_beside_the_quoted_ones():
    from mlffkit.chapters import book_file
    from mlffkit.papers.egraff import metrics

    paper = metrics.paper_tables(book_file("egraff/paper_tables.csv"), tables=["Table 1", "Table 17"])
    t = benchmark.literature_table(paper).set_index(["molecule", "model", "metric"])
    row = t.loc[("aspirin", "Equiformer", "force_mae")]
    assert row["EGraFFBench"] == 15.29 and row["Liao & Smidt (2023)"] == 7.2
    assert row["vs_best_quoted"] == pytest.approx(15.29 / 7.2)
    nequip = t.loc[("aspirin", "NequIP", "force_mae")]   # three sources: the lowest is Fu's
    assert nequip["vs_best_quoted"] == pytest.approx(13.89 / 2.3)
    assert np.isnan(t.loc[("lips", "NequIP", "force_mae"), "EGraFFBench"])  # LiPS: not in Table 1 here


def test_stored_runs_gathers_only_what_is_stored(tmp_path, monkeypatch, compute_allowed):
    """Nothing stored: no result and every unit pending; after one run is stored, that run is
    gathered (without computing the others) and the rest stays pending."""
    import dataclasses

    from mlffkit.experiments import registry
    from mlffkit.experiments.registry import resolve, run

    monkeypatch.setenv("MLFFKIT_RESULTS_DIR", str(tmp_path))
    # smoke runs are never stored; store them here, in the temporary store only
    stored = dataclasses.replace(registry.get(benchmark.RUN.name),
                                 stored_profiles=("smoke", "book", "paper"))
    monkeypatch.setitem(registry.EXPERIMENTS._entries, benchmark.RUN.name, stored)
    config = resolve("egraff_models", "smoke").replace(models=["nequip", "equiformer"],
                                                       systems=["md17/ethanol"])
    result, pending = benchmark.stored_runs(config)
    assert result is None and [u.model for u in pending] == ["nequip", "equiformer"]
    first = pending[1]
    run(benchmark.RUN.name, config.runs_profile, **first.as_dict())
    result, pending = benchmark.stored_runs(config)
    assert [u.model for u in pending] == ["nequip"]
    assert list(result.tables["errors"]["model"]) == ["equiformer"]


def test_simulation_rank_agreement_reads_the_papers_tables_2_and_3():
    """Our per-start values built in the paper's order give ρ = 1; reversed, ρ = -1; a metric
    the paper does not give for the molecule stays NaN."""
    paper = pd.DataFrame({"table": ["Table 2"] * 4 + ["Table 3"] * 4,
                          "model": ["NequIP", "Allegro", "MACE", "BOTNet"] * 2,
                          "molecule": "aspirin", "metric": ["jsd"] * 4 + ["fv"] * 4,
                          "value": [0.1, 0.2, 0.3, 0.4, 0.9, 0.8, 0.7, 0.6]})
    rows = []
    for k, model in enumerate(["nequip", "allegro", "mace", "botnet"]):
        for start in (1, 50, 100):
            rows.append({"system": "md17/aspirin", "model": model, "start_frame": start,
                         "jsd": k + 0.01 * start, "wf_percent": 1.0, "ev_raw_gm": 1e-11,
                         "fv_gm": k + 0.001 * start})
    table = benchmark.simulation_rank_agreement(pd.DataFrame(rows), paper, n_boot=50)
    table = table.set_index("metric")
    assert table.loc["jsd", "spearman"] == pytest.approx(1.0)
    assert table.loc["jsd", "low"] == pytest.approx(1.0)      # the order holds at every start
    assert table.loc["fv", "spearman"] == pytest.approx(-1.0)
    assert np.isnan(table.loc["wf", "spearman"]) and table.loc["wf", "models"] == 0


def test_paper_table4_holds_training_and_inference_minutes():
    from mlffkit.chapters import book_file
    from mlffkit.papers.egraff import metrics

    paper = metrics.paper_tables(book_file("egraff/paper_tables.csv"), tables=["Table 4"])
    assert len(paper) == 9 * 6 * 2   # 9 data sets x 6 models x (training, inference)
    t = benchmark.paper_table4(paper).set_index(["system", "model"])
    assert t.loc[("md17/aspirin", "Equiformer"), "md_min_per_1000_steps"] == 13.04
    assert t.loc[("md17/salicylic_acid", "NequIP"), "train_min_per_epoch"] == 5.24
    assert t.loc[("3bpa", "TorchMD-Net"), "md_min_per_1000_steps"] == 4.83
    assert t.loc[("gete", "Allegro"), "md_min_per_1000_steps"] == 220.43   # not md17/gete
    assert t.loc[("lips20", "BOTNet"), "md_min_per_1000_steps"] == 15.187


def test_timing_rank_agreement_orders_cost_as_the_paper_does():
    """Our costs built in the paper's order give ρ = 1 for both measures, with an interval
    only for MD (resampled runs); a system the paper does not time has no models."""
    labels = {"nequip": "NequIP", "allegro": "Allegro", "mace": "MACE", "botnet": "BOTNet"}
    paper = pd.DataFrame({"table": "Table 4", "model": list(labels.values()) * 2,
                          "molecule": "aspirin",
                          "metric": ["train_min_per_epoch"] * 4 + ["md_min_per_1000_steps"] * 4,
                          "value": [1.0, 2.0, 3.0, 4.0, 4.0, 3.0, 2.0, 1.0]})
    cost, runs = [], []
    for k, model in enumerate(labels):
        for system in ("md17/aspirin", "xtb-md17/aspirin"):
            cost.append({"system": system, "model": model, "train_min_per_epoch": k + 1.0})
            for start in (1, 50, 100):   # MD: fastest first, the paper's reverse order
                runs.append({"system": system, "model": model, "start_frame": start,
                             "T_K": np.nan, "steps_per_s": 100.0 * (k + 1) + start})
    table = benchmark.timing_rank_agreement(pd.DataFrame(cost), pd.DataFrame(runs), paper,
                                            n_boot=50).set_index(["system", "measure"])
    train = table.loc[("md17/aspirin", "train_min_per_epoch")]
    assert train["spearman"] == pytest.approx(1.0) and np.isnan(train["low"])
    md = table.loc[("md17/aspirin", "md_min_per_1000_steps")]
    assert md["spearman"] == pytest.approx(1.0) and md["low"] == pytest.approx(1.0)
    assert md["p_agree"] == pytest.approx(1 / 24)
    assert table.loc[("xtb-md17/aspirin", "md_min_per_1000_steps"), "models"] == 0


def test_learned_splits_the_energy_error_into_a_constant_offset_and_the_rest():
    errors = pd.DataFrame({"system": ["acac"] * 2, "model": ["nequip", "torchmdnet"],
                           "energy_mae_meV": [2.0, 101.0], "mean_energy_baseline_meV": 100.0,
                           "force_mae_meV_A": 10.0, "zero_force_baseline_meV_A": 500.0})
    arrays = {"acac.nequip.energy_error": np.array([0.002, -0.002]),
              "acac.torchmdnet.energy_error": np.array([-0.1, -0.102])}   # eV
    t = benchmark.learned(errors, arrays).set_index("model")
    assert t.loc["nequip", "energy_offset_meV"] == pytest.approx(0.0)
    assert t.loc["nequip", "energy_mae_offset_removed_meV"] == pytest.approx(2.0)
    assert t.loc["torchmdnet", "energy_offset_meV"] == pytest.approx(-101.0)
    assert t.loc["torchmdnet", "energy_mae_offset_removed_meV"] == pytest.approx(1.0)
    assert list(t["beats both"]) == [True, False]
