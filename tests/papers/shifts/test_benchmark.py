"""The xtb-shifts benchmark at its smoke profile: every pool and method scored, the swaps and
radii recorded, the training stages checked against the zero-force baseline."""

import numpy as np
import pytest

from mlffkit import experiments
from mlffkit.papers.shifts import benchmark


def test_smoke_benchmark_scores_every_pool_and_method(compute_allowed):
    result = experiments.run("shifts_benchmark", "smoke")
    config = benchmark.PROFILES["smoke"]
    molecules, summary = result.tables["molecules"], result.tables["summary"]
    assert set(molecules["pool"]) == set(config.pools)
    for pool, group in molecules.groupby("pool"):
        assert list(group["method"]) == list(benchmark.METHODS)
        assert np.isfinite(group["force_mae"]).all() and (group["force_mae"] > 0).all()
        sgdml = group.set_index("method")["n_frames"]
        assert sgdml["ttt_sgdml"] == sgdml["base_sgdml_frames"] == 20 - config.sgdml_frames
    assert molecules["r_star_mean"].between(min(config.radii), max(config.radii)).all()
    elements = molecules[molecules["pool"] == "test_elements"]
    assert elements["swaps"].str.contains("->").all()  # the unseen element, made explicit
    assert (molecules[molecules["pool"] != "test_elements"]["swaps"] == "").all()
    assert len(summary) == len(config.pools) * len(benchmark.METHODS)
    training = result.tables["training"]
    assert list(training["steps"] > 0) == [True, True]
    assert (training["zero_force_baseline"] > 0).all()
    # TTT's own loss before and after, and the label-free learning-rate scan
    ttt_rows = molecules[molecules["method"].str.startswith("ttt_")]
    assert (ttt_rows["prior_loss_before"] > 0).all() and ttt_rows["prior_loss_after"].notna().all()
    scan = result.tables["ttt_lr_scan"]
    assert len(scan) == len(config.pools) * config.ttt_scan_molecules * len(benchmark.TTT_SCAN_LRS)
    assert set(scan["lr"]) == set(benchmark.TTT_SCAN_LRS)
    assert (scan["prior_loss_before"].dropna() > 0).all()


def test_scoring_in_two_processes_gives_the_same_rows(compute_allowed):
    one = experiments.run("shifts_benchmark", "smoke", pools=["test_id", "test_rings"])
    two = experiments.run("shifts_benchmark", "smoke", pools=["test_id", "test_rings"],
                          workers=2)
    assert one.tables["molecules"].equals(two.tables["molecules"])


def test_prior_and_reference_force_norms_are_per_frame_norms():
    from mlffkit import reference
    from mlffkit.papers.shifts.diagnostics import force_norm

    member = benchmark.pool_members("test_id")[0]
    table = benchmark.prior_and_reference_force_norms([("test_id", member)])
    arrays = reference.load(benchmark.SET, member)
    assert len(table) == len(arrays["forces"])
    assert table["reference"].iloc[1] == force_norm(arrays["forces"][1])
    assert table["prior"].iloc[1] == force_norm(arrays["mmff_forces"][1])
    assert (table["prior"] != table["reference"]).all()   # two different potentials


def test_prior_force_errors_are_mmff94_against_the_reference_labels():
    from mlffkit import reference

    member = benchmark.pool_members("test_rings")[0]
    rows = benchmark.prior_force_errors([("test_rings", member)])
    arrays = reference.load(benchmark.SET, member)
    expected = 1e3 * np.abs(arrays["mmff_forces"] - arrays["forces"]).mean()
    assert rows.loc[0, "force_mae"] == pytest.approx(float(expected), rel=1e-6)
    assert rows.loc[0, "method"] == "prior_mmff94"
