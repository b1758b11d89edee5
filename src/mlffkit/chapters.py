"""The book's chapters: jupytext percent scripts ``book/<part>/<chapter>.py``, each paired
with an executed ``.ipynb`` that the book renders.

:func:`execute` writes the notebook from the script and runs it with papermill in the
chapter's own folder. With no parameters the chapter runs at its embedded default
(``profile = "book"``) and the executed notebook replaces the committed one; with parameters
(``profile="smoke"``, say) give an ``output`` so the committed notebook is left alone.

Three promises the committed notebooks keep (``tests/test_book.py`` checks them):

* a chapter opens its files through :func:`book_file`, so it runs from any working directory
  (``papermill book/frames/spring_mass.ipynb out.ipynb`` from the repository root, say);
* no output or metadata carries a path of the machine that executed it, and no warning:
  :func:`text_progress_bars` keeps progress bars plain text (stderr, which the book leaves
  out of its pages) and :func:`execute` stores papermill's paths relative to the checkout;
* cell ids are stable: :func:`write_notebook` reuses the ids of the paired notebook (and
  derives new ones from the cell's content), so re-executing a chapter changes only outputs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping

from mlffkit.paths import REPO_ROOT

BOOK_DIR = REPO_ROOT / "book"


def chapters(book_dir: Path = BOOK_DIR) -> list[Path]:
    """Every chapter script, in a stable order."""
    return sorted(p for p in book_dir.glob("*/*.py") if not p.name.startswith("_"))


def book_file(relative: str | Path) -> Path:
    """A file of the book, by its path relative to the checkout's ``book/`` folder
    (``book_file("frames/paper_tables.csv")``), whatever the working directory. A missing
    file is a one-line ``FileNotFoundError`` that names the folder it looked in."""
    path = BOOK_DIR / relative
    if not path.exists():
        raise FileNotFoundError(f"book file {str(relative)!r} not found in {BOOK_DIR} "
                                f"(book_file takes a path relative to the book/ folder)")
    return path


def text_progress_bars() -> None:
    """Progress bars as plain text in a chapter's kernel; call it before importing mlffkit.

    ``tqdm.auto``, which the library's long loops use, picks an ipywidgets bar inside a
    Jupyter kernel, and without ipywidgets warns (with the absolute path of its own file)
    before falling back to the text bar. The book wants the text bar: it goes to stderr,
    which the pages leave out, and widgets would need JavaScript from a CDN. So import
    ``tqdm.auto`` here once, with that one advice silenced; later imports reuse the module.
    """
    import sys
    import warnings

    if "tqdm.auto" in sys.modules:
        return
    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found", category=TqdmWarning)
        import tqdm.auto  # noqa: F401


def script_path(path: Path | str) -> Path:
    """``path`` if it is a chapter script (an existing ``.py`` file), else a one-line
    ``ValueError`` that says how to list the chapters."""
    path = Path(path)
    if path.suffix != ".py" or not path.is_file():
        what = "is not a .py chapter script" if path.is_file() else "does not exist"
        raise ValueError(f"chapter {str(path)!r} {what}; `mlffkit book list` shows the "
                         f"chapters (book/<part>/<chapter>.py)")
    return path


def notebook_path(script: Path) -> Path:
    return script.with_suffix(".ipynb")


def _content_id(cell: Mapping[str, Any]) -> str:
    text = f"{cell['cell_type']}\n{cell['source']}".encode()
    return hashlib.sha256(text).hexdigest()[:8]


def stable_ids(cells: list, previous: list) -> None:
    """Give ``cells`` the ids of ``previous`` (the paired notebook's cells): a cell whose
    type and source are unchanged keeps its id (in order), then a cell at the position of an
    unmatched previous cell of the same type takes that one (an edited cell); any other cell
    gets an id derived from its content. Ids stay unique."""
    ids: list[str | None] = [None] * len(cells)
    free = {i: c for i, c in enumerate(previous) if c.get("id")}
    for i, cell in enumerate(cells):
        match = next((j for j, old in free.items() if old["cell_type"] == cell["cell_type"]
                      and old["source"] == cell["source"]), None)
        if match is not None:
            ids[i] = free.pop(match)["id"]
    for i, cell in enumerate(cells):
        old = free.get(i)
        if ids[i] is None and old is not None and old["cell_type"] == cell["cell_type"]:
            ids[i] = free.pop(i)["id"]
    taken = {i for i in ids if i}
    for i, cell in enumerate(cells):
        if ids[i] is None:
            new, n = _content_id(cell), 0
            while new in taken:
                n += 1
                new = f"{_content_id(cell)[:6]}{n:02d}"
            ids[i] = new
            taken.add(new)
    for cell, id_ in zip(cells, ids):
        cell["id"] = id_


def write_notebook(script: Path, target: Path | None = None) -> Path:
    """The script as an (unexecuted) notebook at ``target`` (default: its pair), with the
    cell ids of the paired notebook where the cells match (:func:`stable_ids`)."""
    import jupytext
    import nbformat

    target = Path(target or notebook_path(script))
    notebook = jupytext.read(script)
    pair = notebook_path(Path(script))
    previous = nbformat.read(pair, as_version=4).cells if pair.exists() else []
    stable_ids(notebook.cells, previous)
    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(notebook, target, fmt="ipynb")
    return target


def _portable_path(path: Any) -> Any:
    """A path inside the checkout as relative to it; any other absolute path as its name."""
    if not isinstance(path, str) or not path:
        return path
    p = Path(path)
    try:
        return p.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return p.name if p.is_absolute() else path


def _tidy_executed(output: Path) -> None:
    """Papermill's record without machine paths, and its injected-parameters cell with a
    fixed id (papermill draws a random one)."""
    import nbformat

    nb = nbformat.read(output, as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if key in meta:
            meta[key] = _portable_path(meta[key])
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"
    nbformat.write(nb, output)


def execute(script: Path, parameters: Mapping[str, Any] | None = None,
            output: Path | None = None, progress: bool = True) -> Path:
    """Run one chapter with papermill; returns the executed notebook's path."""
    import papermill

    script = script_path(script).resolve()
    if parameters and output is None:
        raise ValueError("give an output path when running with parameters, so that the "
                         "committed notebook keeps its default run")
    output = Path(output).resolve() if output else notebook_path(script)
    source = write_notebook(script, output)
    try:
        papermill.execute_notebook(str(source), str(output), parameters=dict(parameters or {}),
                                   cwd=str(script.parent), kernel_name="python3",
                                   progress_bar=progress, request_save_on_cell_execute=False)
    finally:
        if output.exists():
            _tidy_executed(output)
    return output
