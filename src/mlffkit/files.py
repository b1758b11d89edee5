"""Files: atomic creation and checksums, the one place for each.

Atomic creation: a temporary file beside the target, flushed and renamed into place only when
complete; on any error it is removed and the target is untouched. Used by the results store,
the data registry and writers, the generated sets, checkpoints and logs. :func:`sha256_of` is
the one file checksum (registry, results store, generated sets). :func:`save_torch` and
:func:`load_torch` are the one atomic ``torch.save`` and the one safe ``torch.load``
(``weights_only=True``: tensors and plain types only, a planted pickle runs nothing) under the
potential checkpoints (:mod:`mlffkit.models.checkpoint`) and the trainer's state
(:mod:`mlffkit.training.checkpoint`).

The temporary file is named ``.<target name>.<pid>.<random>.part``: a process killed with
SIGKILL cannot remove it, so :func:`remove_stale_parts` (called by the results store and the
download cache before they write) deletes the ``.part`` files whose writer is no longer
running. Files are created with the mode a plain ``open`` would give them (``0666`` less the
umask), not ``mkstemp``'s private ``0600``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

PART_SUFFIX = ".part"
_CHUNK = 1 << 20
#: A ``.part`` file without a readable writer pid is stale once it is this old (seconds).
UNOWNED_PART_AGE_S = 24 * 3600


def _temporary_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{PART_SUFFIX}")


@contextmanager
def atomic_target(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; rename it to ``target`` when the block
    ends normally, remove it when the block raises."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_path(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically (fsync before the rename)."""
    with atomic_target(target) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(target)


def atomic_write_text(target: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(target, text.encode())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _writer_pid(name: str) -> int | None:
    parts = name[: -len(PART_SUFFIX)].split(".")
    try:
        return int(parts[-2])
    except (IndexError, ValueError):
        return None


def remove_stale_parts(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary ``.part`` files in ``folder`` left by writers that died (their
    pid is no longer running; files without a pid once older than a day). Returns them."""
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    now = time.time()
    for path in folder.glob(f".*{PART_SUFFIX}"):
        pid = _writer_pid(path.name)
        try:
            stale = (not _pid_alive(pid)) if pid is not None else \
                now - path.stat().st_mtime > UNOWNED_PART_AGE_S
            if stale:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:  # its writer finished or another cleaner got there first
            continue
    return removed


def sha256_of(path: str | os.PathLike) -> str:
    """The sha256 of a file (hex), read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- torch files ---------------------------------------------------------------------------
class UnreadableFileError(RuntimeError):
    """A torch file that is corrupt, truncated, not a torch file, or holds more than tensors
    and plain types (which could run code when unpickled in full)."""


def save_torch(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file beside ``path``, fsync, then rename: a crash or an
    exception at any point leaves the previous ``path`` (if any) untouched."""
    import torch

    with atomic_target(path) as tmp:
        with open(tmp, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(path)


def load_torch(path: str | os.PathLike, map_location: Any = None, *, what: str = "torch file",
               fix: str | None = None) -> Any:
    """``torch.load(path, weights_only=True)``: no pickled code is executed.

    A missing file raises ``FileNotFoundError``; anything else that cannot be read raises
    :class:`UnreadableFileError`, one message naming the file, ``what`` it should be, the cause
    and (when given) the ``fix``."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated, corrupt or not a torch file, or unsafe content
        cause = str(err).splitlines()[0] if str(err) else ""
        raise UnreadableFileError(
            f"{path} is not a readable {what} (tensors and plain types only): "
            f"{type(err).__name__}: {cause}" + (f". Fix: {fix}" if fix else "")) from err
