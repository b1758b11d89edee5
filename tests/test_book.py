"""Every chapter runs at profile=smoke through papermill; bad parameters and missing stored
results fail fast with a message that says what to do; the committed notebooks are paired with
their scripts, run from any folder, keep their cell ids and carry no machine paths or warnings;
the intro's table, the bibliography and MathJax match the book."""

import json
import re
import subprocess
import sys
from pathlib import Path

import papermill
import pytest

from mlffkit import chapters

CHAPTERS = chapters.chapters()


@pytest.mark.parametrize("script", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_at_smoke(script, tmp_path, compute_allowed):
    import nbformat

    out = chapters.execute(script, {"profile": "smoke"}, tmp_path / script.with_suffix(".ipynb").name,
                           progress=False)
    # a second execution (the committed notebook was the first) keeps every cell id
    ids = [c["id"] for c in nbformat.read(out, as_version=4).cells]
    committed = [c["id"] for c in nbformat.read(chapters.notebook_path(script), as_version=4).cells]
    assert [i for i in ids if i != "injected-parameters"] == committed


def test_every_chapter_is_in_the_toc():
    toc = (chapters.REPO_ROOT / "_toc.yml").read_text()
    for script in CHAPTERS:
        entry = script.relative_to(chapters.REPO_ROOT).with_suffix("").as_posix()
        assert f"file: {entry}" in toc, f"{entry} is not in _toc.yml"


def test_committed_notebooks_are_paired_and_executed():
    import jupytext
    import nbformat

    for script in CHAPTERS:
        notebook = chapters.notebook_path(script)
        assert notebook.exists(), f"{notebook} missing: run `make chapters`"
        nb = nbformat.read(notebook, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.get("execution_count") for c in code), f"{notebook} is not executed"
        source = jupytext.read(script)
        assert [(c.cell_type, c.source) for c in nb.cells] == \
            [(c.cell_type, c.source) for c in source.cells], \
            f"{notebook} does not match {script.name}: run `mlffkit book execute {script}`"


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


# --- running from anywhere, clean outputs, stable ids, the intro's table, the bibliography ---

def _readme_papermill_command() -> list[str]:
    readme = (chapters.REPO_ROOT / "README.md").read_text()
    line = next(l.strip() for l in readme.splitlines()
                if l.strip().startswith(".venv/bin/papermill book/"))
    return line.split("#")[0].split()


def test_readme_papermill_command_runs_from_the_repository_root(tmp_path, compute_allowed):
    """The README's command, run as written from the repository root (the chapter finds its
    files through chapters.book_file, not the working directory); only the output path moves
    to a temporary folder."""
    command = _readme_papermill_command()
    assert command[:2] == [".venv/bin/papermill", "book/frames/spring_mass.ipynb"], command
    assert command[2] == "out.ipynb"
    papermill_bin = Path(sys.executable).parent / "papermill"
    out = tmp_path / "out.ipynb"
    run = subprocess.run([str(papermill_bin), command[1], str(out), *command[3:]],
                         cwd=chapters.REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert out.exists()


def test_book_file_resolves_from_the_book_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert chapters.book_file("frames/paper_tables.csv") == chapters.BOOK_DIR / "frames" / "paper_tables.csv"
    with pytest.raises(FileNotFoundError, match="relative to the book/ folder"):
        chapters.book_file("frames/no_such_table.csv")


def test_chapters_open_files_only_through_book_file():
    """A bare relative path in a chapter only works from the chapter's own folder."""
    opens = re.compile(r"""(read_csv|paper_tables|open|read_text|loadtxt|np\.load)\(\s*["']""")
    for script in CHAPTERS:
        for n, line in enumerate(script.read_text().splitlines(), 1):
            assert not opens.search(line), f"{script.name}:{n} opens a bare path: {line.strip()}"


FORBIDDEN = ("/work/", "/root/", "/home/", ".venv", "site-packages")
WARNING = re.compile(r"\b\w*Warning\b")


def _output_texts(output) -> list[str]:
    texts = []
    if "text" in output:
        texts.append(output["text"])
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/") or mime.endswith("json"):
            texts.append(value if isinstance(value, str) else json.dumps(value))
    texts += [output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])]
    return ["".join(t) if isinstance(t, list) else str(t) for t in texts]


@pytest.mark.parametrize("script", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_committed_notebooks_carry_no_machine_paths_or_warnings(script):
    import nbformat

    nb = nbformat.read(chapters.notebook_path(script), as_version=4)
    where = chapters.notebook_path(script).relative_to(chapters.REPO_ROOT)
    metadata = json.dumps(nb.metadata)
    assert not [f for f in FORBIDDEN if f in metadata], f"{where}: a machine path in metadata"
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            for text in _output_texts(output):
                found = [f for f in FORBIDDEN if f in text]
                assert not found, f"{where} cell {i}: output contains {found}: {text[:300]!r}"
            if output.get("output_type") == "stream":
                assert not WARNING.search(output["text"]), (
                    f"{where} cell {i}: a warning on {output['name']}: {output['text'][:300]!r}")


def test_stable_ids_reuse_matching_cells_and_derive_new_ones():
    import nbformat.v4 as v4

    old = [v4.new_markdown_cell("# title"), v4.new_code_cell("x = 1"), v4.new_code_cell("y = 2")]
    for cell, id_ in zip(old, ("aaaa", "bbbb", "cccc")):
        cell["id"] = id_
    new = [v4.new_markdown_cell("# title"), v4.new_code_cell("inserted = 0"),
           v4.new_code_cell("x = 1"), v4.new_code_cell("y = 3  # edited")]
    chapters.stable_ids(new, old)
    ids = [c["id"] for c in new]
    assert ids[0] == "aaaa" and ids[2] == "bbbb"      # unchanged cells keep their ids
    assert ids[1] not in ("aaaa", "bbbb", "cccc")     # a new cell: an id from its content
    assert len(set(ids)) == len(ids)
    again = [v4.new_markdown_cell(c["source"]) if c["cell_type"] == "markdown"
             else v4.new_code_cell(c["source"]) for c in new]
    chapters.stable_ids(again, [])
    chapters.stable_ids(twice := [dict(c) for c in again], [])
    assert [c["id"] for c in again] == [c["id"] for c in twice]  # deterministic without a pair


def _toc_files() -> list[str]:
    import yaml

    toc = yaml.safe_load((chapters.REPO_ROOT / "_toc.yml").read_text())
    return [c["file"] for part in toc["parts"] for c in part["chapters"]]


def test_intro_table_lists_exactly_the_chapters_of_the_toc():
    intro = (chapters.BOOK_DIR / "intro.md").read_text()
    rows = [l for l in intro.splitlines() if l.startswith("|")]
    linked = {f"book/{target}" for row in rows for target in re.findall(r"\{doc\}`([^`<>]+)`", row)}
    in_toc = set(_toc_files())
    assert in_toc - linked == set(), f"chapters missing from the intro's table: {in_toc - linked}"
    assert linked - in_toc == set(), f"intro's table links pages not in _toc.yml: {linked - in_toc}"


def _cited_keys() -> dict[str, set[str]]:
    pages = [*chapters.BOOK_DIR.glob("*.md"), *CHAPTERS]
    keys: dict[str, set[str]] = {}
    for page in pages:
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", page.read_text()):
            for key in group.split(","):
                keys.setdefault(key.strip(), set()).add(page.name)
    return keys


def test_every_citation_is_in_the_bibliography_and_every_entry_is_cited():
    bib = (chapters.BOOK_DIR / "references.bib").read_text()
    entries = set(re.findall(r"^@\w+\{([^,]+),", bib, flags=re.M))
    cited = _cited_keys()
    assert set(cited) - entries == set(), f"cited but not in references.bib: {set(cited) - entries}"
    assert entries - set(cited) == set(), f"in references.bib but never cited: {entries - set(cited)}"
    for paper in ("frames2025", "bihani2024egraffbench", "fu2023forces", "kreiman2025shifts"):
        assert paper in cited


def test_mathjax_is_served_from_the_build():
    """_config.yml points Sphinx at a MathJax shipped by a Python package, not a CDN."""
    import importlib.util

    import yaml

    config = yaml.safe_load((chapters.REPO_ROOT / "_config.yml").read_text())["sphinx"]
    path = config["config"]["mathjax_path"]
    assert "://" not in path and not path.startswith("//")
    assert "sphinx-mathjax-offline" in config["extra_extensions"]
    package = Path(importlib.util.find_spec("sphinx-mathjax-offline").origin).parent
    assert (package / "static" / path).is_file()
