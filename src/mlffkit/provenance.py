"""What every stored thing says about how it was made: the code (git commit, dirty flag,
mlffkit version), the machine and its libraries, and the time. The results store
(:mod:`mlffkit.results`) and the generated reference sets (:mod:`mlffkit.reference`) both write
these fields from here, so a record and a data set describe their origin the same way."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from typing import Any

import mlffkit
from mlffkit.paths import REPO_ROOT


def git_state() -> dict:
    """``{"git_commit": HEAD or None, "git_dirty": tracked files changed (None if unknown)}``
    of the checkout."""

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


def code_state() -> dict:
    """The git state and the mlffkit version."""
    return {**git_state(), "mlffkit_version": mlffkit.__version__}


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def machine(**versions: str | None) -> dict[str, Any]:
    """The platform, CPU count, thread settings and the versions of Python, numpy and torch
    (and of any library passed as ``name=version``)."""
    import numpy as np

    info: dict[str, Any] = {
        "platform": platform.platform(), "processor": platform.machine(),
        "cpu_count": os.cpu_count(), "python": sys.version.split()[0],
        "numpy": np.__version__, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:  # pragma: no cover - torch is a hard dependency today
        pass
    return {**info, **versions}
