"""Typed model configs: presets are ModelConfig instances, the plain form round-trips and
builds the same model, and bad values are one-line errors naming the field."""

import pytest
import torch

from mlffkit.models import PRESETS, HeadConfig, ModelConfig, build_model, preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_round_trip_through_the_plain_form(name):
    config = PRESETS[name]
    assert isinstance(config, ModelConfig)
    assert ModelConfig.from_dict(config.as_dict()) == config
    assert preset(name) == config.as_dict()


def test_a_typed_config_builds_the_same_model_as_its_preset():
    torch.manual_seed(0)
    a = build_model("painn_book")
    torch.manual_seed(0)
    b = build_model(PRESETS["painn_book"])
    assert a.config == b.config
    for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(v, w), k
    changed = PRESETS["painn_book"].replace(backbone_options={"num_blocks": 1},
                                            prior_head=HeadConfig(hidden=(8,)),
                                            representation_blocks=1)
    assert changed.backbone_options == {"features": 32, "num_blocks": 1}
    model = build_model(changed)
    assert model.config["backbone"]["num_blocks"] == 1
    assert model.config["prior_head"]["hidden"] == [8]


@pytest.mark.parametrize("config, message", [
    ({"backbone": {"name": "painn"}, "energy_head": {"hidden": [0]}}, "hidden must be"),
    ({"backbone": {"name": "painn"}, "energy_head": {"hidden": 64}}, "hidden must be"),
    ({"backbone": {"name": "painn"}, "energy_head": {"activation": "relu"}}, "activation"),
    ({"backbone": {"name": "painn"}, "energy_head": {"width": 3}}, "unknown energy_head keys"),
    ({"backbone": {"name": "painn"}, "representation_blocks": 0}, "representation_blocks"),
    ({"backbone": {"features": 3}}, "must give the backbone 'name'"),
    ({"backbone": {"name": "painn"}, "heads": {}}, "unknown config keys"),
])
def test_bad_values_are_one_line_errors(config, message):
    with pytest.raises(ValueError, match=message) as error:
        build_model(config)
    assert "\n" not in str(error.value)
