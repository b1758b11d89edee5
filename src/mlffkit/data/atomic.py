"""Atomic file creation: a temporary file beside the target, renamed into place only when
complete; on any error it is removed and the target is untouched."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_target(target: Path) -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; rename it to ``target`` when the block
    ends normally, remove it when the block raises."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
