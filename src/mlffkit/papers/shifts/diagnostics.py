"""Force-norm and element shifts (Kreiman & Krishnapriyan §3.2, App. D.1/E): is a test
structure outside the training distribution, and how far?

- force norm ``f = mean_i ||F_i||`` of a structure (eV/Å), from its labels or from a prior's
  forces (the paper's Fig. 17); shifted when ``|f - μ_train| > σ_train`` (Fig. 2);
- element shift: elements of a structure that no training structure has. For evaluation the
  paper replaces each by "the closest known element" without saying how; here the nearest
  atomic number (ties to the lighter element), and every swap is returned so that a table can
  show it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["force_norm", "force_norm_shift", "unseen_elements", "nearest_known_element",
           "swap_unseen_elements"]


def force_norm(forces) -> float:
    """``mean_i ||F_i||`` (eV/Å) of one structure's forces (N, 3)."""
    forces = np.asarray(forces, dtype=float)
    if forces.ndim != 2 or forces.shape[1] != 3 or not len(forces):
        raise ValueError(f"forces must have shape (N, 3) with N >= 1, got {forces.shape}")
    if not np.isfinite(forces).all():
        raise ValueError("forces must be finite")
    return float(np.linalg.norm(forces, axis=1).mean())


def force_norm_shift(test_forces: Iterable, train_forces: Iterable) -> pd.DataFrame:
    """Per test structure: its force norm ``f``, ``z = (f - μ) / σ`` against the training
    structures' force norms, and ``shifted`` (``|z| > 1``, the paper's rule)."""
    train = np.array([force_norm(f) for f in train_forces])
    if len(train) < 2:
        raise ValueError("the training spread needs at least two training structures")
    mu, sigma = train.mean(), train.std()
    f = np.array([force_norm(x) for x in test_forces])
    z = (f - mu) / sigma if sigma > 0 else np.where(f == mu, 0.0, np.inf)
    return pd.DataFrame({"force_norm": f, "z": z, "shifted": np.abs(z) > 1})


def unseen_elements(numbers: Sequence[int], known: Iterable[int]) -> list[int]:
    """Atomic numbers of ``numbers`` missing from ``known``, sorted."""
    known = set(int(z) for z in known)
    return sorted({int(z) for z in numbers} - known)


def nearest_known_element(z: int, known: Iterable[int]) -> int:
    """The known atomic number closest to ``z`` (ties: the lighter)."""
    known = sorted(set(int(k) for k in known))
    if not known:
        raise ValueError("no known elements")
    return min(known, key=lambda k: (abs(k - int(z)), k))


def swap_unseen_elements(numbers: Sequence[int], known: Iterable[int]
                         ) -> tuple[np.ndarray, dict[int, int]]:
    """``numbers`` with every unseen element replaced by its nearest known one, and the swaps
    made (``{unseen: replacement}``; empty when nothing was unseen)."""
    known = list(known)
    swaps = {z: nearest_known_element(z, known) for z in unseen_elements(numbers, known)}
    return np.array([swaps.get(int(z), int(z)) for z in numbers]), swaps
