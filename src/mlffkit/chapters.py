"""The book's chapters: jupytext percent scripts ``book/<part>/<chapter>.py``, each paired
with an executed ``.ipynb`` that the book renders.

:func:`execute` writes the notebook from the script and runs it with papermill in the
chapter's own folder. With no parameters the chapter runs at its embedded default
(``profile = "book"``) and the executed notebook replaces the committed one; with parameters
(``profile="smoke"``, say) give an ``output`` so the committed notebook is left alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from mlffkit.paths import REPO_ROOT

BOOK_DIR = REPO_ROOT / "book"


def chapters(book_dir: Path = BOOK_DIR) -> list[Path]:
    """Every chapter script, in a stable order."""
    return sorted(p for p in book_dir.glob("*/*.py") if not p.name.startswith("_"))


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


def write_notebook(script: Path, target: Path | None = None) -> Path:
    """The script as an (unexecuted) notebook at ``target`` (default: its pair)."""
    import jupytext

    target = Path(target or notebook_path(script))
    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(jupytext.read(script), target, fmt="ipynb")
    return target


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
    papermill.execute_notebook(str(source), str(output), parameters=dict(parameters or {}),
                               cwd=str(script.parent), kernel_name="python3",
                               progress_bar=progress, request_save_on_cell_execute=False)
    return output
