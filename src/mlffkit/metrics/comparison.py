r"""Scores that compare a predicted curve with a reference curve on the same bins.

- :func:`integrated_absolute_error` -- Fu et al. (2023) App. C Eq. 3, 6, 7:
  ``MAE = integral |f(r) - f_ref(r)| dr = sum_k |f_k - f_ref,k| (r_k+1 - r_k)``; used for h(r),
  RDFs and free-energy profiles. (Their code writes it ``mean(|f - f_ref|) * x_max``, the same
  for uniform bins starting at 0.)
- :func:`wright_factor` -- EGraFFBench Eq. 2: ``R_chi = sum_k (g_k - g_ref,k)^2 / sum_k
  g_ref,k^2`` (no square root); their ``wright_factor.py`` prints it times 100 as a percentage.
- :func:`jensen_shannon_divergence` -- EGraFFBench Eq. 3 between two RDFs read as discrete
  distributions over the bins, natural logarithm, so ``0 <= JSD <= ln 2``.
"""

from __future__ import annotations

import numpy as np

from ._inputs import bin_edges_array, finite_array, matching_arrays

WRIGHT_FACTOR_CONVENTIONS = ("ratio", "percent")


def integrated_absolute_error(values, reference, bin_edges):
    """``sum_k |values_k - reference_k| * width_k``: the integral of the absolute difference.

    ``values`` may hold several curves ``(..., B)``; one error per curve is returned then."""
    values = finite_array(values, "values")
    reference = finite_array(reference, "reference", ndim=1)
    edges = bin_edges_array(bin_edges)
    if values.shape[-1] != reference.size or edges.size != reference.size + 1:
        raise ValueError(f"values {values.shape}, reference {reference.shape} and "
                         f"{edges.size} bin edges do not describe the same bins")
    errors = np.sum(np.abs(values - reference) * np.diff(edges), axis=-1)
    return float(errors) if errors.ndim == 0 else errors


def wright_factor(g, g_reference, *, convention: str = "ratio") -> float:
    """Wright's factor ``sum (g - g_ref)^2 / sum g_ref^2`` (EGraFFBench Eq. 2).

    convention: ``"ratio"`` returns Eq. 2 as written; ``"percent"`` returns 100 times it, the
    number EGraFFBench's code prints and its tables report (acceptable below about 9 %).
    """
    if convention not in WRIGHT_FACTOR_CONVENTIONS:
        raise ValueError(f"convention must be one of {WRIGHT_FACTOR_CONVENTIONS}")
    g, g_reference = matching_arrays(g, g_reference, ("g", "g_reference"), ndim=1)
    denominator = np.sum(g_reference ** 2)
    if denominator == 0:
        raise ValueError("the reference RDF is zero everywhere")
    ratio = float(np.sum((g - g_reference) ** 2) / denominator)
    return 100.0 * ratio if convention == "percent" else ratio


def jensen_shannon_divergence(p, q) -> float:
    """JSD in nats between two non-negative curves on the same bins (EGraFFBench Eq. 3).

    Each curve is normalised to sum to 1 over the bins, then ``JSD = (KL(p||m) + KL(q||m)) / 2``
    with ``m = (p + q) / 2`` and ``0 log 0 = 0``. Symmetric, 0 for identical shapes, at most
    ``ln 2`` (disjoint support). For an RDF on uniform bins this equals normalising g by its
    integral. (``scipy.spatial.distance.jensenshannon`` returns the square root of this.)
    """
    p, q = matching_arrays(p, q, ("p", "q"), ndim=1)
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError("JSD needs non-negative values")
    if p.sum() == 0 or q.sum() == 0:
        raise ValueError("JSD needs curves with a positive total")
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)
    jsd = 0.5 * (_kl_divergence(p, m) + _kl_divergence(q, m))
    return float(np.clip(jsd, 0.0, np.log(2.0)))  # clip only removes rounding error


def _kl_divergence(p: np.ndarray, m: np.ndarray) -> float:
    support = p > 0
    return float(np.sum(p[support] * np.log(p[support] / m[support])))
