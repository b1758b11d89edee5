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
    result = registry.run("egraff_models", "smoke")
    errors, runs = result.tables["errors"], result.tables["runs"]
    assert list(errors["model"]) == ["equiformer"] and len(runs) == 2
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
    cost = benchmark.timing(errors, result.tables["settings"]).iloc[0]
    assert cost["epochs"] == 1
    assert cost["train_min_per_epoch"] == pytest.approx(row["train_s"] / 60)
    # the same seed gives the same model and numbers (timings aside)
    again = registry.run("egraff_models", "smoke").tables["errors"]
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
