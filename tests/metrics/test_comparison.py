"""Wright's factor, JSD and the integrated absolute error."""

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from mlffkit.metrics.comparison import (integrated_absolute_error, jensen_shannon_divergence,
                                        wright_factor)

LN2 = np.log(2.0)


@pytest.fixture
def two_rdfs():
    r = np.linspace(0.05, 6.0, 120)
    g_ref = 1 + 2.0 * np.exp(-((r - 2.8) / 0.2) ** 2) * (r > 2.0)
    g = 1 + 1.6 * np.exp(-((r - 2.9) / 0.25) ** 2) * (r > 2.0)
    return g, g_ref


def test_identical_curves_give_zero(two_rdfs):
    _, g_ref = two_rdfs
    assert wright_factor(g_ref, g_ref) == 0.0
    assert jensen_shannon_divergence(g_ref, g_ref) == 0.0
    assert integrated_absolute_error(g_ref, g_ref, np.arange(g_ref.size + 1)) == 0.0


def test_wright_factor_conventions_and_a_known_value(two_rdfs):
    g, g_ref = two_rdfs
    assert wright_factor(2 * g_ref, g_ref) == pytest.approx(1.0)
    ratio = wright_factor(g, g_ref)
    assert ratio == pytest.approx(np.sum((g - g_ref) ** 2) / np.sum(g_ref ** 2))
    assert wright_factor(g, g_ref, convention="percent") == pytest.approx(100 * ratio)


def test_jsd_is_symmetric_bounded_by_ln2_and_matches_scipy(two_rdfs):
    g, g_ref = two_rdfs
    jsd = jensen_shannon_divergence(g, g_ref)
    assert jsd == pytest.approx(jensen_shannon_divergence(g_ref, g))
    assert 0 < jsd <= LN2
    assert jsd == pytest.approx(jensenshannon(g, g_ref) ** 2)   # scipy: sqrt, natural log
    disjoint = jensen_shannon_divergence([1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 3.0, 1.0])
    assert disjoint == pytest.approx(LN2)
    rng = np.random.default_rng(0)
    for _ in range(50):
        p, q = rng.exponential(size=(2, 30)) * (rng.random((2, 30)) > 0.5)
        p[0] = q[1] = 1.0
        value = jensen_shannon_divergence(p, q)
        assert 0 <= value <= LN2
        assert value == pytest.approx(jensen_shannon_divergence(q, p))


def test_integrated_absolute_error_weights_by_bin_width():
    edges = np.array([0.0, 1.0, 3.0])
    assert integrated_absolute_error([1.0, 1.0], [0.0, 0.5], edges) == pytest.approx(2.0)
    batch = integrated_absolute_error([[1.0, 1.0], [0.0, 0.5]], [0.0, 0.5], edges)
    np.testing.assert_allclose(batch, [2.0, 0.0])


def test_fu_et_al_mae_formula_is_the_integral_on_uniform_bins():
    rng = np.random.default_rng(1)
    a, b = rng.random((2, 500))
    x_max = 10.0
    fu = np.abs(a - b).mean() * x_max           # observable.ipynb: mae(x, y, factor)
    assert integrated_absolute_error(a, b, np.linspace(0, x_max, 501)) == pytest.approx(fu)


@pytest.mark.parametrize("call, message", [
    (lambda: wright_factor([1, 2], [1, 2, 3]), "shape"),
    (lambda: wright_factor([1, 2], [0, 0]), "zero everywhere"),
    (lambda: wright_factor([1, 2], [1, 2], convention="sqrt"), "convention"),
    (lambda: jensen_shannon_divergence([1, -1], [1, 1]), "non-negative"),
    (lambda: jensen_shannon_divergence([0, 0], [1, 1]), "positive total"),
    (lambda: jensen_shannon_divergence([np.nan, 1], [1, 1]), "NaN"),
    (lambda: integrated_absolute_error([1, 2], [1, 2], [0, 1]), "same bins"),
    (lambda: wright_factor([], []), "empty"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
