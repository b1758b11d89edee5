import numpy as np
import pandas as pd
import pytest
import torch

from mlffkit import experiments
from mlffkit.papers.frames import spring_mass as sm


def test_verlet_matches_analytic_oscillator():
    rng = np.random.default_rng(0)
    x = sm.simulate_oscillators(5, 200, dt=0.1, substeps=100, rng=rng)
    rng = np.random.default_rng(0)
    amp = rng.uniform(0.5, 1.5, 5)
    phase = rng.uniform(0, 2 * np.pi, 5)
    t = 0.1 * np.arange(200)
    exact = amp[:, None] * np.cos(t[None, :] + phase[:, None])
    # velocity Verlet at h = 1e-3 has a phase error ~ h^2 t / 24 per unit time
    np.testing.assert_allclose(x, exact, atol=1e-6)


def test_windows_targets_and_shared_sample_times():
    x = np.arange(30.0).reshape(3, 10)
    traj, t = np.array([0, 2]), np.array([5, 8])
    inputs, force, disp = sm.windows(x, traj, t, T=3)
    np.testing.assert_array_equal(inputs, [[3, 4, 5], [26, 27, 28]])
    np.testing.assert_array_equal(force, [-5, -28])
    np.testing.assert_array_equal(disp, [1, 1])
    rng = np.random.default_rng(1)
    traj, t = sm.sample_times(np.zeros((40, 20)), 500, max_window=6, rng=rng)
    assert t.min() >= 5 and t.max() <= 18  # a full window and a next frame always exist
    assert len(set(zip(traj, t))) == 500  # no sample drawn twice
    with pytest.raises(ValueError, match="valid times"):
        sm.sample_times(np.zeros((4, 20)), 500, max_window=6, rng=rng)


def test_train_and_test_samples_come_from_disjoint_trajectories():
    rng = np.random.default_rng(2)
    (tr_traj, tr_t), (te_traj, te_t) = sm.train_test_times(np.zeros((20, 60)), 400, 100, 5,
                                                           6, rng)
    assert tr_traj.max() < 15 <= te_traj.min()
    assert len(set(zip(tr_traj, tr_t))) == 400 and len(set(zip(te_traj, te_t))) == 100


def test_linear_model_is_linear_and_mlp_is_not():
    torch.manual_seed(0)
    a, b = torch.randn(4, 3), torch.randn(4, 3)
    lin = sm.WindowNet(3, 8, "linear")
    f = lambda z: lin(z)[0] - lin(torch.zeros_like(z))[0]  # noqa: E731
    torch.testing.assert_close(f(a + b), f(a) + f(b))
    mlp = sm.WindowNet(3, 8, "mlp")
    g = lambda z: mlp(z)[0] - mlp(torch.zeros_like(z))[0]  # noqa: E731
    assert not torch.allclose(g(a + b), g(a) + g(b))
    with pytest.raises(ValueError, match="valid: mlp, linear"):
        sm.WindowNet(3, 8, "cnn")


def test_linear_regressor_learns_hookes_law():
    rng = np.random.default_rng(0)
    x = sm.simulate_oscillators(50, 100, 0.1, 10, rng)
    traj, t = sm.sample_times(x, 1200, 2, rng)  # 50 x 98 valid (trajectory, time) pairs
    data = sm.windows(x, traj, t, T=2)
    train = tuple(a[:1000] for a in data)
    test = tuple(a[1000:] for a in data)
    out = sm.train_one(train, test, model="linear", T=2, hidden=8, epochs=15, batch_size=32,
                       lr=1e-2, aux_weight=1.0, seed=0)
    assert out["test_mse"] < 1e-4
    assert out["curve"].shape == (15,)


def test_smoke_run_has_every_model_T_and_seed(compute_allowed):
    result = experiments.run("spring_mass", "smoke", seeds=2, max_T=2)
    runs = result.tables["runs"]
    assert len(runs) == 2 * 2 * 3  # seeds x models x (T=1, T=2, T=2 without aux)
    assert set(runs["variant"]) == {"T=1", "T=2", "T=2, no aux"}
    assert set(runs["model"]) == {"mlp", "linear"}
    assert not runs.loc[runs["variant"] == "T=2, no aux", "aux"].any()
    assert np.isfinite(runs["test_mse"]).all()
    assert result.arrays["test_mse_curves"].shape == (2, 3, 2, 3)
    assert result.record["stored"] is False


def test_compare_to_best_finds_a_clear_winner():
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(10):
        base = rng.lognormal(0, 0.1)
        for T, factor in [(1, 3.0), (2, 1.0), (3, 2.0), (4, 1.0)]:
            rows.append({"model": "mlp", "T": T, "seed": seed,
                         "test_mse": base * factor * rng.lognormal(0, 0.05)})
    comparison = sm.compare_to_reference(pd.DataFrame(rows)).set_index("variant")
    assert comparison.loc["T=1", "verdict"] == "T=2 better"
    assert comparison.loc["T=3", "verdict"] == "T=2 better"
    assert comparison.loc["T=4", "verdict"] == "no clear difference"
    assert 2.7 < comparison.loc["T=1", "ratio_vs_ref"] < 3.3
    assert comparison["interval_level"].eq(1 - 0.05 / 3).all()  # Bonferroni over 3


def test_correction_widens_the_intervals():
    rng = np.random.default_rng(3)
    rows = [{"model": "mlp", "T": T, "seed": seed, "test_mse": rng.lognormal(0, 0.3)}
            for seed in range(10) for T in range(1, 7)]
    many = sm.compare_to_reference(pd.DataFrame(rows)).set_index("variant")
    one = sm.compare_to_reference(pd.DataFrame([r for r in rows if r["T"] in (1, 2)]))
    assert (many.loc["T=1", "ci_high"] - many.loc["T=1", "ci_low"]
            > one.loc[0, "ci_high"] - one.loc[0, "ci_low"])


def test_summary_scales_to_table_units():
    runs = pd.DataFrame({"model": ["mlp"] * 2, "T": [1, 1], "seed": [0, 1],
                         "test_mse": [1e-9, 3e-9]})
    table = sm.summary(runs)
    assert table.loc[0, "mean"] == pytest.approx(2.0)
    assert table.loc[0, "std"] == pytest.approx(np.sqrt(2.0))
