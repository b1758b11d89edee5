"""Statistics for comparing methods across seeds."""

from __future__ import annotations

import numpy as np


def _paired_differences(a, b, log_ratio: bool) -> np.ndarray:
    """``log(a / b)`` or ``a - b`` of two equal-length 1-D samples (pairs by position)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"need two 1-D arrays of equal length >= 2, got {a.shape}, {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("paired values must be finite")
    if log_ratio and (np.any(a <= 0) or np.any(b <= 0)):
        raise ValueError("log ratios need positive values")
    diff = np.log(a / b) if log_ratio else a - b
    return diff


def paired_bootstrap_ci(a: np.ndarray, b: np.ndarray, *, n_boot: int = 10_000,
                        level: float = 0.95, log_ratio: bool = True,
                        rng: np.random.Generator | int | None = 0) -> tuple[float, float, float]:
    """Mean paired difference ``a - b`` (or mean of ``log(a / b)``) over seeds, with a
    percentile bootstrap confidence interval that resamples seeds (pairs stay together).

    Returns ``(estimate, low, high)``. With ``log_ratio``, ``exp(estimate)`` is the geometric
    mean ratio a/b; an interval above 0 says ``a`` is larger than ``b`` at that level.
    """
    diff = _paired_differences(a, b, log_ratio)
    rng = np.random.default_rng(rng)
    idx = rng.integers(0, len(diff), size=(n_boot, len(diff)))
    means = diff[idx].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(diff.mean()), float(low), float(high)


def paired_t_ci(a: np.ndarray, b: np.ndarray, *, level: float = 0.95,
                log_ratio: bool = True) -> tuple[float, float, float]:
    """Mean paired difference ``a - b`` (or mean of ``log(a / b)``) over seeds with a Student-t
    confidence interval (``n - 1`` degrees of freedom). For the 3-5 seeds of a training
    sweep, where a bootstrap over seeds has too few distinct resamples to give an interval.

    Returns ``(estimate, low, high)``, like :func:`paired_bootstrap_ci`.
    """
    from scipy import stats

    diff = _paired_differences(a, b, log_ratio)
    mean = float(diff.mean())
    half = float(stats.t.ppf(0.5 + level / 2.0, len(diff) - 1) * diff.std(ddof=1)
                 / np.sqrt(len(diff)))
    return mean, mean - half, mean + half
