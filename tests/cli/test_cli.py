"""The command line: a bad name or value is one ``mlffkit: error:`` line and exit 2, with
nothing computed or stored."""

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

import mlffkit
import mlffkit.papers  # noqa: F401  (registers the experiments)
from mlffkit import cli, experiments
from mlffkit.experiments import registry
from mlffkit.experiments.config import Config, param
from mlffkit.results import Result


def _main(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def store(tmp_path, monkeypatch, compute_allowed):
    root = tmp_path / "results"
    monkeypatch.setenv("MLFFKIT_RESULTS_DIR", str(root))
    return root


def _stored(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def guarded(monkeypatch):
    """Every registered experiment with a compute that fails the test if it is called."""
    calls = []

    def must_not_run(params):
        calls.append(params)
        raise AssertionError("computed with a bad parameter")

    for name in experiments.names():
        monkeypatch.setitem(registry.EXPERIMENTS._entries, name, dataclasses.replace(
            experiments.get(name), compute=must_not_run))
    return calls


@pytest.mark.parametrize("profile", ["smoke", "book"])
@pytest.mark.parametrize("setting", ["seeds=0", "max_T=0", "seeds=two", "seeds=2.5",
                                     "seeds=-1", "epochs=0", "lr=nan", "batch_size=0",
                                     "threads=0", "models=mlp", "n_frames=2"])
def test_bad_value_is_one_line_exit_2_and_nothing_computed_or_stored(
        capsys, store, guarded, profile, setting):
    code, out, err = _main(capsys, "run", "spring_mass", "--profile", profile, "--set",
                           setting)
    assert code == 2
    name = setting.split("=")[0]
    assert err.startswith(f"mlffkit: error: spring_mass: {name}=")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert guarded == [] and _stored(store) == []


def test_empty_record_is_not_stored(capsys, store):
    """``--set seeds=0`` under the book profile used to exit 0 and store an empty record."""
    code, _, err = _main(capsys, "run", "spring_mass", "--profile", "book", "--set", "seeds=0")
    assert code == 2 and "seeds=0 is invalid: expected a positive int" in err
    assert _stored(store) == []


@pytest.mark.parametrize("argv", [
    ["run", "frames_md17", "--set", "variants=[{'label': 'x', 'T': 2, 'epochs': 0}]"],
    ["run", "frames_iso17", "--profile", "smoke", "--set", "ema_decay=1.5"],
    ["run", "frames_lag", "--set", "molecules=aspirin"],
    ["run", "egraff_metrics", "--set", "velocity_method=forward"],
    ["run", "frames_md17_run", "--profile", "paper", "--set", "T=7"],
])
def test_every_experiment_checks_before_computing(capsys, store, guarded, argv):
    code, _, err = _main(capsys, *argv)
    assert code == 2 and err.startswith(f"mlffkit: error: {argv[1]}: ")
    assert err.count("\n") == 1
    assert guarded == [] and _stored(store) == []


@dataclasses.dataclass(frozen=True)
class Guarded(Config):
    n: int = param(registry.positive())
    names: list = param(registry.names_from(["a", "b"]))


@dataclasses.dataclass(frozen=True)
class Cheap(Config):
    n: int = param(registry.positive())


def test_a_registered_experiment_with_a_raising_compute_is_never_called(capsys, store,
                                                                        monkeypatch):
    def compute(params):
        raise AssertionError("compute called")

    exp = registry.Experiment("guarded", "1", compute,
                              {p: Guarded(n=2, names=["a"]) for p in experiments.PROFILES})
    monkeypatch.setitem(registry.EXPERIMENTS._entries, "guarded", exp)
    for profile in experiments.PROFILES:
        for setting in ("n=0", "n=1.0", "n=True", "names=a", "names=['c']"):
            code, _, err = _main(capsys, "run", "guarded", "--profile", profile, "--set",
                                 setting)
            assert code == 2 and err.startswith("mlffkit: error: guarded: "), (profile, setting)
    assert _stored(store) == []


def test_good_run_still_runs(capsys, store, monkeypatch):
    exp = registry.Experiment(
        "cheap", "1", lambda p: Result(tables={"t": pd.DataFrame({"n": [p.n]})}),
        {p: Cheap(n=2) for p in experiments.PROFILES})
    monkeypatch.setitem(registry.EXPERIMENTS._entries, "cheap", exp)
    code, out, _ = _main(capsys, "run", "cheap", "--profile", "book", "--set", "n=3")
    assert code == 0 and "# t: 1 rows" in out and "stored: key" in out
    assert len([p for p in _stored(store) if p.suffix == ".json"]) == 1


def test_book_execute_missing_chapter_is_one_line(capsys, tmp_path):
    missing = tmp_path / "missing.py"
    code, out, err = _main(capsys, "book", "execute", str(missing))
    assert code == 2 and out == ""
    assert err == (f"mlffkit: error: chapter {str(missing)!r} does not exist; `mlffkit book "
                   "list` shows the chapters (book/<part>/<chapter>.py)\n")


def test_book_execute_checks_every_chapter_before_running_any(capsys, tmp_path, monkeypatch):
    from mlffkit import chapters

    monkeypatch.setattr(chapters, "execute", lambda *a, **k: pytest.fail("executed"))
    first = chapters.chapters()[0]
    code, _, err = _main(capsys, "book", "execute", str(first), str(tmp_path / "nope.py"))
    assert code == 2 and "nope.py' does not exist" in err


def test_book_list_shows_the_chapters(capsys):
    from mlffkit import chapters

    code, out, _ = _main(capsys, "book", "list")
    assert code == 0
    assert [Path(line).name for line in out.splitlines()] == \
        [p.name for p in chapters.chapters()]


def test_papermill_parameter_error_is_one_line(capsys, tmp_path, compute_allowed):
    """``mlffkit book execute chapter.py -p seeds=two``: the kernel's ValueError, one line."""
    script = tmp_path / "chapter.py"
    header = ("# ---\n# jupyter:\n#   kernelspec:\n#     display_name: Python 3\n"
              "#     language: python\n#     name: python3\n# ---\n\n")
    script.write_text(header + '# %%\nimport mlffkit.papers\nfrom mlffkit.experiments import NotebookParameters\n'
                      'nb = NotebookParameters("spring_mass", globals())\n\n'
                      '# %% tags=["parameters"]\nprofile = "book"\nseeds = None\n\n'
                      '# %%\nnb.run(globals())\n')
    code, _, err = _main(capsys, "book", "execute", str(script), "--profile", "smoke",
                         "-p", "seeds=two", "--out-dir", str(tmp_path / "out"))
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[-1] == (f"mlffkit: error: {script}: spring_mass: seeds='two' is "
                                    "invalid: expected a positive int; e.g. seeds=10")


def test_version_and_python_dash_m(capsys):
    import subprocess
    import sys

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == \
        f"mlffkit {mlffkit.__version__}"
    out = subprocess.run([sys.executable, "-m", "mlffkit", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert out.startswith("usage: mlffkit") and "run" in out and "data" in out
