"""The data layer's errors. Each message is one line: the file or parameter, what is wrong
with it, and ``fix: ...`` (what to do)."""

from __future__ import annotations


class DataError(Exception):
    """Base class of every error raised by :mod:`mlffkit.data`. The message is made one line
    (line breaks, e.g. from a wrapped library error, become spaces)."""

    def __init__(self, message, *args):
        super().__init__(" ".join(str(message).split()), *args)


class DataFormatError(DataError, ValueError):
    """A file is missing keys, has inconsistent shapes or non-finite values, or is corrupt."""


class ChecksumMismatchError(DataError):
    """A registered file's sha256 is not the registered one."""

    def __init__(self, path, expected: str, actual: str, fix: str):
        self.path, self.expected, self.actual = path, expected, actual
        super().__init__(f"checksum mismatch for {path}: expected sha256 {expected}, got "
                         f"{actual}. {fix}")


class DataNotFoundError(DataError, FileNotFoundError):
    """A file is not in any data directory and cannot be downloaded."""


class NotATrajectoryError(DataError, ValueError):
    """Temporal windows were asked of frames that are not time-ordered."""
