import dataclasses

import pytest

import mlffkit.papers  # noqa: F401  (registers the experiments)
from mlffkit import experiments
from mlffkit.experiments import NotebookParameters, registry
from mlffkit.experiments.config import Config, param


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


@dataclasses.dataclass(frozen=True)
class A(Config):
    a: int = param()


@dataclasses.dataclass(frozen=True)
class AB(Config):
    a: int = param()
    b: int = param()


def test_profiles_must_be_instances_of_one_config():
    with pytest.raises(ValueError, match="one Config class"):
        registry.Experiment("x", "1", lambda p: None,
                            {"smoke": A(1), "book": AB(1, 2), "paper": A(1)})
    with pytest.raises(ValueError, match="one Config class"):
        registry.Experiment("x", "1", lambda p: None, {p: {"a": 1} for p in experiments.PROFILES})


def test_a_config_is_frozen_and_reads_like_its_record():
    config = AB(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.a = 3
    assert config["b"] == 2 and dict(config) == {"a": 1, "b": 2} == config.as_dict()
    assert config.replace(b=5) == AB(1, 5)
    with pytest.raises(ValueError, match="unknown parameter 'c' for AB; valid: a, b"):
        config.replace(c=1)


def test_a_sweep_lists_its_runs_and_passes_run_parameters_on():
    sweep = experiments.resolve("frames_md17", "smoke", model="painn_book", seeds=2)
    assert sweep.run.model == "painn_book" and sweep.seeds == 2
    runs = sweep.runs()
    assert len(runs) == len(sweep.molecules) * len(sweep.variants) * 2
    system, label, seed, config = runs[-1]
    assert (config.molecule, config.T, config.seed) == (system["molecule"], 2, 1)
    assert config.model == "painn_book" and label == "T=2"
    with pytest.raises(ValueError, match="unknown parameter 'seed'"):
        experiments.resolve("frames_md17", "smoke", seed=3)
