"""The summary figures' numbers (Figures 4, 6, 7): what is averaged, and what is divided by what."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from mlffkit.papers.egraff import figures

matplotlib.use("Agg")


def _tables():
    errors = pd.DataFrame({
        "system": ["md17/aspirin", "md17/aspirin", "acac"],
        "model": ["nequip", "mace", "nequip"],
        "energy_mae_meV": [10.0, 20.0, 4.0], "force_mae_meV_A": [40.0, 30.0, 8.0],
        "train_s": [600.0, 1200.0, 300.0], "md_steps_per_s": [20.0, 5.0, 40.0]})
    runs = pd.DataFrame({
        "system": ["md17/aspirin"] * 4 + ["acac"] * 2,
        "model": ["nequip", "nequip", "mace", "mace", "nequip", "nequip"],
        "ev_raw_gm": [1e-6, 3e-6, 4e-6, 4e-6, np.nan, np.nan],
        "fv_gm": [0.2, 0.4, 0.1, 0.3, np.nan, np.nan],
        "jsd": [0.01, 0.03, 0.02, 0.02, 0.05, 0.07],
        "wf_percent": [1.0, 3.0, 4.0, 6.0, 2.0, 2.0]})
    settings = pd.DataFrame({"system": ["md17/aspirin", "md17/aspirin", "acac"],
                             "model": ["nequip", "mace", "nequip"],
                             "setting": "epochs", "value": ["10", "20", "5"]})
    return errors, runs, settings


def test_summary_averages_the_runs_and_converts_the_costs():
    s = figures.summary(*_tables()).set_index(["system", "model"])
    assert s.loc[("md17/aspirin", "nequip"), "fv_gm"] == pytest.approx(0.3)
    assert s.loc[("md17/aspirin", "mace"), "wf_percent"] == pytest.approx(5.0)
    assert s.loc[("md17/aspirin", "mace"), "train_min_per_epoch"] == pytest.approx(1.0)
    assert s.loc[("acac", "nequip"), "md_min_per_1000_steps"] == pytest.approx(1000 / 40 / 60)
    assert np.isnan(s.loc[("acac", "nequip"), "ev_raw_gm"])   # no trajectory: no EV
    assert s.loc[("md17/aspirin", "mace"), "label"] == "MACE"


def test_normalised_divides_by_the_largest_per_system_or_overall():
    s = figures.summary(*_tables())
    per_system = figures.normalised(s, scale=100).set_index(["system", "model"])
    assert per_system.loc[("md17/aspirin", "nequip"), "energy_mae_meV"] == pytest.approx(50)
    assert per_system.loc[("md17/aspirin", "mace"), "energy_mae_meV"] == pytest.approx(100)
    assert per_system.loc[("acac", "nequip"), "energy_mae_meV"] == pytest.approx(100)
    assert np.isnan(per_system.loc[("acac", "nequip"), "fv_gm"])
    overall = figures.normalised(s, by=None).set_index(["system", "model"])
    assert overall.loc[("acac", "nequip"), "energy_mae_meV"] == pytest.approx(0.2)
    assert overall.loc[("md17/aspirin", "mace"), "energy_mae_meV"] == pytest.approx(1.0)
    cols = list(figures.METRICS)
    assert np.nanmax(overall[cols].to_numpy(float)) == pytest.approx(1.0)


def test_figures_draw_one_artist_per_model():
    import matplotlib.pyplot as plt

    errors, runs, settings = _tables()
    s = figures.summary(errors, runs, settings)
    axes = figures.violations(runs)
    assert len(axes[0].patches) >= 2           # a bar per model on the trajectory system
    fig = plt.figure()
    ax = fig.add_subplot(projection="polar")
    figures.radar(figures.normalised(s, scale=100), ax, "acac")
    assert len(ax.lines) == 1                  # one model on acac
    assert len(ax.get_xticks()) == 6           # EV and FV left off: no trajectory there
    axes = figures.pairs(figures.normalised(s, by=None))
    assert len(axes) == 4
    plt.close("all")
