"""MD17 transferability at its smoke profile: every method scored and simulated."""

from mlffkit import experiments
from mlffkit.papers.shifts import transfer


def test_smoke_transfer_scores_and_simulates_every_method(compute_allowed):
    result = experiments.run("shifts_md17_transfer", "smoke")
    config = transfer.PROFILES["smoke"]
    errors, md = result.tables["errors"], result.tables["md"]
    methods = ["base", *(f"ttt_{p}" for p in config.priors)]
    assert list(errors["method"]) == methods
    assert (errors["force_mae"] > 0).all() and (errors["zero_force_baseline"] > 0).all()
    assert len(md) == len(methods) * 2 * config.md_seeds
    assert set(md["ensemble"]) == {"langevin", "nve"}
    assert (md["steps"] <= config.md_steps).all()
    assert (md["stable_ps"] == md["steps"] * config.dt_fs / 1000).all()
