import pytest
import torch

from mlffkit.training.ema import ExponentialMovingAverage


def test_ema_follows_the_recursion():
    param = torch.nn.Parameter(torch.tensor([0.0]))
    ema = ExponentialMovingAverage([param], decay=0.5)
    for value, expected in [(2.0, 1.0), (4.0, 2.5), (4.0, 3.25)]:
        param.data.fill_(value)
        ema.update()
        assert ema.shadow[0].item() == pytest.approx(expected)


def test_warmup_decay():
    ema = ExponentialMovingAverage([torch.nn.Parameter(torch.zeros(1))], decay=0.99,
                                   warmup=True)
    assert ema.current_decay() == pytest.approx(2 / 11)
    for _ in range(1000):
        ema.update()
    assert ema.current_decay() == 0.99


def test_average_parameters_swaps_and_restores():
    param = torch.nn.Parameter(torch.tensor([1.0]))
    ema = ExponentialMovingAverage([param], decay=0.0)
    param.data.fill_(3.0)
    ema.update()
    param.data.fill_(7.0)
    with ema.average_parameters():
        assert param.item() == 3.0
    assert param.item() == 7.0


def test_state_round_trip():
    params = [torch.nn.Parameter(torch.randn(3))]
    ema = ExponentialMovingAverage(params, decay=0.9)
    ema.update()
    other = ExponentialMovingAverage(params, decay=0.1)
    other.load_state_dict(ema.state_dict())
    assert other.decay == 0.9 and other.num_updates == 1
    torch.testing.assert_close(other.shadow[0], ema.shadow[0])
