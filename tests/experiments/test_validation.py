"""Bad experiment parameters are one clear ValueError line from ``resolve`` (so from the CLI,
papermill and Python alike), raised before anything is computed or stored."""

import dataclasses
import math

import pytest

import mlffkit.papers  # noqa: F401  (registers the experiments)
from mlffkit import experiments
from mlffkit.experiments import NotebookParameters, registry
from mlffkit.experiments.config import Config, param
from mlffkit.papers.frames import training as ft
from mlffkit.experiments.registry import Param, at_least, between, names_from, one_of, positive

BAD = [
    # (experiment, parameter, bad value, words the message must contain)
    ("spring_mass", "seeds", 0, "positive int"),
    ("spring_mass", "max_T", 0, "positive int"),
    ("spring_mass", "seeds", "two", "positive int"),
    ("spring_mass", "seeds", 2.5, "positive int"),
    ("spring_mass", "seeds", 2.0, "write seeds=2"),
    ("spring_mass", "seeds", True, "positive int"),
    ("spring_mass", "seeds", -1, "positive int"),
    ("spring_mass", "epochs", 0, "positive int"),
    ("spring_mass", "lr", math.nan, "positive finite number"),
    ("spring_mass", "lr", "nan", "positive finite number"),
    ("spring_mass", "lr", math.inf, "positive finite number"),
    ("spring_mass", "lr", 0.0, "positive finite number"),
    ("spring_mass", "batch_size", 0, "positive int"),
    ("spring_mass", "threads", 0, "positive int"),
    ("spring_mass", "hidden", 0, "positive int"),
    ("spring_mass", "n_train", 0, "positive int"),
    ("spring_mass", "n_test", 0, "positive int"),
    ("spring_mass", "n_traj", 0, "positive int"),
    ("spring_mass", "substeps", 0, "positive int"),
    ("spring_mass", "dt", -0.1, "positive finite number"),
    ("spring_mass", "noise_std", -1.0, ">= 0"),
    ("spring_mass", "aux_weight", -1.0, ">= 0"),
    ("spring_mass", "data_seed", -1, ">= 0"),
    ("spring_mass", "models", "mlp", "give a list: models=['mlp']"),
    ("spring_mass", "models", [], "non-empty list"),
    ("spring_mass", "models", ["cnn"], "'mlp', 'linear'"),
    ("spring_mass", "models", ["mlp", "mlp"], "distinct"),
    ("egraff_metrics", "steps", 0, "positive int"),
    ("egraff_metrics", "n_starts", 0, "positive int"),
    ("egraff_metrics", "shift_steps", -1, ">= 0"),
    ("egraff_metrics", "velocity_method", "forward", "'central', 'verlet'"),
    ("egraff_metrics", "potentials", "mmff94", "give a list"),
    ("egraff_metrics", "molecules", ["benzene"], "'aspirin'"),
    ("egraff_metrics", "T_K", 0.0, "positive"),
    ("frames_md17_run", "T", 0, "positive int"),
    ("frames_md17_run", "epochs", 0, "positive int"),
    ("frames_md17_run", "model", "painn_xl", "'painn_book'"),
    ("frames_md17_run", "aux", "energy", "'displacement', 'next_frame'"),
    ("frames_md17_run", "aux_weight", -1, "or None"),
    ("frames_md17_run", "batch_size", 0, "positive int or None"),
    ("frames_md17_run", "ema_decay", 1.0, "[0, 1)"),
    ("frames_md17_run", "dataset", "md18", "'md17', 'xtb-md17'"),
    ("frames_md17_run", "progress", "yes", "True or False"),
    ("frames_md17", "seeds", 0, "positive int"),
    ("frames_md17", "molecules", "aspirin", "give a list"),
    ("frames_md17", "runs_profile", "huge", "'smoke', 'book', 'paper'"),
    ("frames_md17", "variants", [{"T": 2}], "'label'"),
    ("frames_md17", "variants", [], "non-empty"),
    ("frames_iso17", "n_train_per_isomer", 0, "positive int"),
    ("frames_iso17", "threads", 0, "positive int"),
    ("frames_lag", "lag", 0, "positive int"),
]


@pytest.mark.parametrize("experiment, name, value, words", BAD,
                         ids=[f"{e}-{n}={v!r}" for e, n, v, _ in BAD])
def test_bad_value_is_one_line_naming_experiment_parameter_value_and_expectation(
        experiment, name, value, words):
    with pytest.raises(ValueError) as err:
        experiments.resolve(experiment, "smoke", **{name: value})
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{experiment}: {name}={value!r} is invalid: expected ")
    assert words in message


def test_string_for_a_list_is_rejected_not_iterated():
    with pytest.raises(ValueError, match=r"models='mlp' is invalid: expected a non-empty "
                                         r"list of distinct names from 'mlp', 'linear'; "
                                         r"give a list: models=\['mlp'\]"):
        experiments.resolve("spring_mass", "book", models="mlp")


@pytest.mark.parametrize("over, words", [
    ({"n_frames": 6}, "n_frames=6 leaves no window of max_T=6"),
    ({"max_T": 400}, "n_frames=400 leaves.*need n_frames > max_T"),
])
def test_spring_mass_combination_is_checked(over, words):
    with pytest.raises(ValueError, match=words):
        experiments.resolve("spring_mass", "book", **over)


def test_frames_run_needs_batch_size_beyond_the_papers_windows():
    with pytest.raises(ValueError, match="frames_md17_run: T=4 has no paper batch size.*"
                                         "set batch_size"):
        experiments.resolve("frames_md17_run", "smoke", T=4)
    assert experiments.resolve("frames_md17_run", "smoke", T=4, batch_size=2)["T"] == 4


def test_frames_md17_molecule_must_have_md17_data():
    with pytest.raises(ValueError, match="molecule 'benzene' has no MD17 training frames.*"
                                         "dataset='xtb-md17'"):
        experiments.resolve("frames_md17_run", "smoke", molecule="benzene")
    experiments.resolve("frames_md17_run", "smoke", molecule="benzene", dataset="xtb-md17")


@pytest.mark.parametrize("variants, words", [
    ([{"label": "x", "T": 2, "epochs": 0}], "variant 'x', molecule='ethanol': "
                                             "epochs=0 is invalid"),
    ([{"label": "x", "T": 4}], "variant 'x', molecule='ethanol': .*T=4"),
    ([{"label": "x", "typo": 1}], "variant 'x'.*unknown parameter 'typo'"),
    ([{"label": "x"}, {"label": "x", "T": 2}], "distinct variant labels"),
    ([{"label": "x", "seed": 3}], "no seed in a variant"),
])
def test_sweep_checks_every_run_it_would_do(variants, words):
    with pytest.raises(ValueError, match=words) as err:
        experiments.resolve("frames_md17", "smoke", variants=variants)
    assert "\n" not in str(err.value) and str(err.value).startswith("frames_md17: ")


def test_sweep_checks_molecules_against_the_dataset():
    with pytest.raises(ValueError, match="frames_md17: variant .*molecule='toluene'.*"
                                         "no MD17 training frames"):
        experiments.resolve("frames_md17", "smoke", molecules=["toluene"])
    params = experiments.resolve("frames_xtb_md17", "smoke", molecules=["toluene"])
    assert params["molecules"] == ["toluene"]


def test_egraff_bin_wider_than_range():
    with pytest.raises(ValueError, match="hr_bin_A=20.0 is wider"):
        experiments.resolve("egraff_metrics", "smoke", hr_bin_A=20.0)


def test_good_values_pass_unchanged():
    """Checking never converts: stored records are keyed on the values as given."""
    params = experiments.resolve("spring_mass", "smoke", seeds=3, lr=1, models=("mlp",),
                                 noise_std=0)
    assert type(params["seeds"]) is int and type(params["lr"]) is int
    assert params["models"] == ("mlp",) and type(params["noise_std"]) is int
    for name in experiments.names():
        exp = experiments.get(name)
        for profile in experiments.PROFILES:
            assert experiments.resolve(name, profile) == exp.profiles[profile]


def test_every_parameter_of_every_experiment_has_a_kind_and_its_profiles_pass():
    for name in experiments.names():
        exp = experiments.get(name)
        assert set(exp.specs) == set(exp.parameters)
        for param, spec in exp.specs.items():
            assert spec.kind in (int, float, bool, str, list, dict) or issubclass(
                spec.kind, Config), (name, param)
        for profile in experiments.PROFILES:
            exp.validate(exp.profiles[profile])


def test_counts_sizes_and_seeds_are_constrained_everywhere():
    """A count, size or seed that accepts 0 or a negative number is a missing constraint."""
    counting = ("seeds", "epochs", "threads", "steps", "n_", "batch_size", "max_T", "lag",
                "hidden", "substeps", "stride")
    for name in experiments.names():
        for param, spec in experiments.get(name).specs.items():
            if spec.kind is int and param != "shift_steps" and param != "warmup_steps":
                assert spec.problem(-1) is not None, (name, param)
                if any(param.startswith(c) or param.endswith(c) for c in counting):
                    assert spec.problem(0) is not None, (name, param)


def test_model_presets_named_for_checks_are_the_models_presets():
    from mlffkit.models import PRESETS

    assert set(ft.MODEL_PRESETS) == set(PRESETS)


@dataclasses.dataclass(frozen=True)
class Seeds(Config):
    seeds: int = param(positive())


@dataclasses.dataclass(frozen=True)
class W(Config):
    w: object = param()


def test_a_bad_profile_is_caught_when_the_experiment_is_created():
    profiles = {"smoke": Seeds(0), "book": Seeds(2), "paper": Seeds(2)}
    with pytest.raises(ValueError, match="profile 'smoke' of x: seeds=0 is invalid: "
                                         "expected a positive int"):
        registry.Experiment("x", "1", lambda p: None, profiles)
    with pytest.raises(ValueError, match="declare the kind of parameter 'w'"):
        registry.Experiment("x", "1", lambda p: None, {p: W(None) for p in ("smoke", "book",
                                                                            "paper")})


def test_notebook_parameters_check_values_before_computing(monkeypatch):
    """``papermill -p seeds two`` reaches ``NotebookParameters.run`` as the string 'two'."""
    def must_not_run(params):
        raise AssertionError("computed with a bad parameter")

    exp = dataclasses.replace(experiments.get("spring_mass"), compute=must_not_run)
    monkeypatch.setitem(registry.EXPERIMENTS._entries, "spring_mass", exp)
    ns = {}
    nb = NotebookParameters("spring_mass", ns)
    for profile in ("smoke", "book"):
        ns.update(nb=nb, profile=profile, seeds="two")
        with pytest.raises(ValueError, match="spring_mass: seeds='two' is invalid"):
            nb.run(ns)


class TestParam:
    def test_int(self):
        spec = registry._infer("x", "n", positive(), [3, 4, 5])
        assert spec.kind is int and spec.expected() == "a positive int"
        assert spec.problem(1) is None
        for bad in (0, -1, True, 2.0, 2.5, "2", None, [1]):
            assert spec.problem(bad) == "expected a positive int", bad

    def test_float_accepts_ints_and_rejects_nonfinite(self):
        spec = registry._infer("x", "lr", positive(), [1e-3, 1e-3, 1e-3])
        assert spec.problem(1) is None and spec.problem(0.5) is None
        for bad in (0, 0.0, math.nan, math.inf, -math.inf, True, "0.1"):
            assert spec.problem(bad) is not None, bad

    def test_ranges_in_words(self):
        assert registry._infer("x", "d", between(0, 1, high_open=True), [0.5] * 3).expected() \
            == "a finite number in [0, 1)"
        assert registry._infer("x", "k", at_least(0), [1] * 3).expected() == "an int >= 0"
        assert Param(float, low=0, low_open=True, high=1).expected() == \
            "a finite number in (0, 1]"

    def test_optional_where_a_profile_has_none(self):
        spec = registry._infer("x", "b", positive(int), [None, 4, None])
        assert spec.problem(None) is None and spec.problem(0) is not None
        assert spec.expected() == "a positive int or None"

    def test_names(self):
        spec = registry._infer("x", "m", names_from(["a", "b"]), [["a"]] * 3)
        assert spec.problem(["b", "a"]) is None and spec.problem(("a",)) is None
        for bad in ("a", [], ["c"], ["a", "a"], [1], None):
            assert spec.problem(bad) is not None, bad

    def test_one_of_and_bool(self):
        spec = registry._infer("x", "v", one_of("p", "q"), ["p"] * 3)
        assert spec.problem("q") is None and spec.problem("r") == "expected one of 'p', 'q'"
        flag = registry._infer("x", "f", Param(), [True, False, True])
        assert flag.problem(False) is None
        assert flag.problem(1) == flag.problem("True") == "expected True or False"
