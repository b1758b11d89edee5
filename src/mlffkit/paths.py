"""Where the project's own folders are: the checkout's root, and the data folders that an
environment variable can move elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import mlffkit

#: The repository root when mlffkit runs from a checkout (``src/mlffkit`` two levels down).
REPO_ROOT = Path(mlffkit.__file__).resolve().parents[2]


def in_checkout() -> bool:
    return (REPO_ROOT / "pyproject.toml").exists()


def project_dir(env_var: str, relative: str) -> Path:
    """``$env_var`` if set; else ``REPO_ROOT/relative`` in a checkout; else the same path
    under ``~/.local/share/mlffkit`` (an installed package has no checkout)."""
    env = os.environ.get(env_var)
    if env:
        return Path(env)
    if in_checkout():
        return REPO_ROOT / relative
    return Path.home() / ".local" / "share" / "mlffkit" / Path(relative).name


def git_state() -> dict:
    """``{"git_commit": HEAD or None, "git_dirty": tracked files changed (None if unknown)}``
    of the checkout, for provenance records."""
    import subprocess

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True,
                                 text=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}
