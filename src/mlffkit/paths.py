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

