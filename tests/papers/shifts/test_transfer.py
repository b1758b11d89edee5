"""MD17 transferability at its smoke profile: every method scored and simulated."""

from mlffkit import experiments
from mlffkit.papers.shifts import transfer


def test_smoke_transfer_scores_and_simulates_every_method(compute_allowed):
    result = experiments.run("shifts_md17_transfer", "smoke")
    config = transfer.PROFILES["smoke"]
    errors, md = result.tables["errors"], result.tables["md"]
    methods = [f"{stage}_{p}" for p in config.priors for stage in ("base", "ttt")]
    assert sorted(errors["method"]) == sorted(methods)
    assert len(errors) == len(methods) * len(config.test_molecules)
    training = result.tables["training"]
    assert sorted(set(training["prior"])) == sorted(config.priors)
    assert (errors["force_mae"] > 0).all() and (errors["zero_force_baseline"] > 0).all()
    assert len(md) == len(methods) * len(config.test_molecules) * 2 * config.md_seeds
    assert set(md["ensemble"]) == {"langevin", "nve"}
    assert (md["steps"] <= config.md_steps).all()
    assert (md["stable_ps"] == md["steps"] * config.dt_fs / 1000).all()
