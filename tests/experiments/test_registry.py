import pytest

import mlffkit.papers  # noqa: F401  (registers the experiments)
from mlffkit import experiments
from mlffkit.experiments import NotebookParameters, registry


def test_unknown_profile_is_one_line_with_choices():
    with pytest.raises(ValueError) as err:
        experiments.resolve("spring_mass", "huge")
    message = str(err.value)
    assert "\n" not in message
    assert "unknown profile 'huge'" in message and "smoke, book, paper" in message


def test_unknown_parameter_names_valid_ones():
    with pytest.raises(ValueError, match="unknown parameter 'sedes'.*seeds"):
        experiments.resolve("spring_mass", "smoke", sedes=2)


def test_unknown_experiment():
    with pytest.raises(ValueError, match="unknown experiment 'nope'; valid: .*spring_mass"):
        experiments.get("nope")


def test_resolve_overrides_profile():
    params = experiments.resolve("spring_mass", "smoke", seeds=5)
    assert params["seeds"] == 5
    assert params["epochs"] == experiments.get("spring_mass").profiles["smoke"]["epochs"]


def test_command_names_only_changed_parameters():
    params = experiments.resolve("spring_mass", "book", seeds=3)
    assert registry.command("spring_mass", "book", params) == (
        "mlffkit run spring_mass --profile book --set seeds=3")


def test_notebook_parameters_sees_injected_names():
    ns = {"np": object()}
    nb = NotebookParameters("spring_mass", ns)
    ns.update(nb=nb, profile="smoke", seeds=None, epochs=2)
    assert nb.values(ns) == ("smoke", {"epochs": 2})
    ns["typo"] = 1
    with pytest.raises(ValueError, match="unknown parameter 'typo'"):
        nb.run(ns)


def test_profiles_must_share_parameters():
    with pytest.raises(ValueError, match="same parameters"):
        registry.Experiment("x", "1", lambda p: None,
                            {"smoke": {"a": 1}, "book": {"a": 1, "b": 2}, "paper": {"a": 1}})
