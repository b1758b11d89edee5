import numpy as np
import pytest

from mlffkit.metrics.statistics import paired_bootstrap_ci


def test_identical_samples_give_zero_with_zero_width():
    a = np.array([1.0, 2.0, 3.0])
    assert paired_bootstrap_ci(a, a) == (0.0, 0.0, 0.0)


def test_constant_ratio_is_recovered_exactly():
    b = np.array([1.0, 5.0, 0.1, 2.0])
    est, low, high = paired_bootstrap_ci(2 * b, b)
    assert est == pytest.approx(np.log(2)) and low == pytest.approx(np.log(2))
    assert high == pytest.approx(np.log(2))


def test_interval_covers_the_mean_difference_and_is_ordered():
    rng = np.random.default_rng(3)
    b = rng.normal(size=30)
    a = b + 0.5 + rng.normal(scale=0.1, size=30)
    est, low, high = paired_bootstrap_ci(a, b, log_ratio=False)
    assert low < est < high
    assert 0.4 < low and high < 0.6


def test_bad_input():
    with pytest.raises(ValueError, match="equal length"):
        paired_bootstrap_ci(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="finite"):
        paired_bootstrap_ci(np.array([1.0, np.nan]), np.ones(2))
    with pytest.raises(ValueError, match="positive"):
        paired_bootstrap_ci(np.array([1.0, -1.0]), np.ones(2))


def test_paired_t_ci_matches_scipy_and_covers_the_true_ratio():
    from scipy import stats

    from mlffkit.metrics.statistics import paired_t_ci

    rng = np.random.default_rng(1)
    a = np.exp(rng.normal(0, 0.2, 6))
    b = a * np.exp(rng.normal(np.log(1.5), 0.05, 6))
    mean, low, high = paired_t_ci(b, a)
    ref = stats.ttest_rel(np.log(b), np.log(a)).confidence_interval(0.95)
    assert np.allclose([low, high], [ref.low, ref.high])
    assert low < np.log(1.5) < high and low > 0
    d_mean, d_low, d_high = paired_t_ci(b, a, log_ratio=False)
    assert np.isclose(d_mean, np.mean(b - a)) and d_low < d_mean < d_high


def test_paired_t_ci_rejects_bad_input():
    from mlffkit.metrics.statistics import paired_t_ci

    with pytest.raises(ValueError, match="equal length >= 2"):
        paired_t_ci(np.ones(1), np.ones(1))
    with pytest.raises(ValueError, match="positive"):
        paired_t_ci(np.array([1.0, -1.0]), np.ones(2))
