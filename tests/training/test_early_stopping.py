import pytest

from mlffkit.training.early_stopping import EarlyStopping


def test_stops_after_patience_without_improvement():
    stopper = EarlyStopping(patience=2)
    assert [stopper.update(v, step) for step, v in enumerate([3.0, 2.0, 2.5, 2.0])] == [
        True, True, False, False]
    assert stopper.should_stop and stopper.best == 2.0 and stopper.best_step == 1


def test_improvement_resets_and_min_delta_counts():
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    for value in [1.0, 1.5, 0.95, 0.5]:
        stopper.update(value)
    assert not stopper.should_stop and stopper.best == 0.5


def test_max_mode_and_no_patience():
    stopper = EarlyStopping(patience=None, mode="max")
    for value in [1.0, 0.5, 0.4, 0.3]:
        stopper.update(value)
    assert stopper.best == 1.0 and not stopper.should_stop
    with pytest.raises(ValueError):
        EarlyStopping(mode="best")
