"""Force-norm and element shifts."""

import numpy as np
import pytest

from mlffkit.papers.shifts.diagnostics import (force_norm, force_norm_shift,
                                               nearest_known_element, swap_unseen_elements,
                                               unseen_elements)


def test_force_norm_is_the_mean_atomic_norm():
    assert force_norm([[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]]) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="shape"):
        force_norm(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="finite"):
        force_norm([[np.nan, 0.0, 0.0]])


def test_force_norm_shift_flags_beyond_one_sigma():
    rng = np.random.default_rng(0)
    train = [rng.normal(size=(5, 3)) for _ in range(50)]
    table = force_norm_shift([train[0], 10 * train[0], 0.01 * train[0]], train)
    norms = np.array([force_norm(f) for f in train])
    assert table["z"][0] == pytest.approx((force_norm(train[0]) - norms.mean()) / norms.std())
    assert list(table["shifted"][1:]) == [True, True]


def test_element_swap_is_explicit():
    assert unseen_elements([6, 16, 1, 9], known=[1, 6, 7, 8]) == [9, 16]
    assert nearest_known_element(9, [1, 6, 7, 8]) == 8
    assert nearest_known_element(7, [6, 8]) == 6  # a tie goes to the lighter element
    numbers, swaps = swap_unseen_elements([6, 16, 1], known=[1, 6, 7, 8])
    assert list(numbers) == [6, 8, 1] and swaps == {16: 8}
    assert swap_unseen_elements([6, 1], known=[1, 6])[1] == {}
