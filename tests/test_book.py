"""Every chapter runs at profile=smoke through papermill; bad parameters and missing stored
results fail fast with a message that says what to do."""

import papermill
import pytest

from mlffkit import chapters

CHAPTERS = chapters.chapters()


@pytest.mark.parametrize("script", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_at_smoke(script, tmp_path, compute_allowed):
    out = chapters.execute(script, {"profile": "smoke"}, tmp_path / script.with_suffix(".ipynb").name,
                           progress=False)
    assert out.exists()


def test_every_chapter_is_in_the_toc():
    toc = (chapters.REPO_ROOT / "_toc.yml").read_text()
    for script in CHAPTERS:
        entry = script.relative_to(chapters.REPO_ROOT).with_suffix("").as_posix()
        assert f"file: {entry}" in toc, f"{entry} is not in _toc.yml"


def test_committed_notebooks_are_paired_and_executed():
    import nbformat

    for script in CHAPTERS:
        notebook = chapters.notebook_path(script)
        assert notebook.exists(), f"{notebook} missing: run `make chapters`"
        nb = nbformat.read(notebook, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.get("execution_count") for c in code), f"{notebook} is not executed"


def _spring(tmp_path, **params):
    script = chapters.BOOK_DIR / "frames" / "spring_mass.py"
    return chapters.execute(script, params, tmp_path / "out.ipynb", progress=False)


def test_unknown_parameter_fails_with_valid_names(tmp_path, compute_allowed):
    with pytest.raises(papermill.PapermillExecutionError, match="unknown parameter 'sedes'"):
        _spring(tmp_path, profile="smoke", sedes=2)


def test_unknown_profile_fails(tmp_path, compute_allowed):
    with pytest.raises(papermill.PapermillExecutionError, match="valid: smoke, book, paper"):
        _spring(tmp_path, profile="huge")


def test_missing_book_result_fails_fast_under_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("MLFFKIT_RESULTS_DIR", str(tmp_path / "empty"))
    with pytest.raises(papermill.PapermillExecutionError, match="mlffkit run spring_mass"):
        _spring(tmp_path, profile="book")
