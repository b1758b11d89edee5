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
