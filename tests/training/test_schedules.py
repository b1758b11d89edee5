import pytest
import torch

from mlffkit.training.normalisation import TargetScales, fit_target_scales
from mlffkit.training.schedules import (LinearWarmup, WarmupCosine, linear_decay,
                                        warmup_cosine_factor)


def test_linear_decay_to_zero():
    assert [linear_decay(0.25, s, 4) for s in range(6)] == [0.25, 0.1875, 0.125, 0.0625, 0, 0]
    with pytest.raises(ValueError):
        linear_decay(1.0, 0, 0)


def test_warmup_cosine_shape():
    factors = [warmup_cosine_factor(s, 12, warmup_steps=2, min_factor=0.1) for s in range(14)]
    assert factors[:2] == [0.5, 1.0]
    assert factors[2] == pytest.approx(1.0)
    assert factors[7] == pytest.approx(0.1 + 0.9 * 0.5)  # half-way through the cosine
    assert factors[12] == factors[13] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(factors[2:], factors[3:]))
    with pytest.raises(ValueError):
        warmup_cosine_factor(0, 5, warmup_steps=5)


def test_schedule_callables_survive_lambdalr_state_dict():
    param = torch.nn.Parameter(torch.zeros(1))

    def make():
        return torch.optim.lr_scheduler.LambdaLR(torch.optim.SGD([param], lr=1.0),
                                                 WarmupCosine(10, 2))

    first = make()
    for _ in range(5):
        first.optimizer.step()
        first.step()
    second = make()
    second.load_state_dict(first.state_dict())
    assert second.get_last_lr() == first.get_last_lr()
    assert LinearWarmup(4)(0) == 0.25 and LinearWarmup(4)(9) == 1.0 and LinearWarmup(0)(0) == 1


def test_fit_target_scales():
    scales = fit_target_scales([1.0, 3.0], forces=[[3.0, 4.0]], displacements=[0.0, 2.0])
    assert scales == TargetScales(energy=1.0, forces=1.0, displacement=2 ** 0.5)
    rms = fit_target_scales([1.0, 3.0], forces=[[3.0, 4.0]], force_scale="force_rms")
    assert rms.forces == pytest.approx((12.5) ** 0.5) and rms.displacement == 1.0
    with pytest.raises(ValueError, match="positive"):
        fit_target_scales([2.0, 2.0])
