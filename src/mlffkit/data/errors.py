"""The data layer's errors. Each message names the file and says how to fix the problem."""

from __future__ import annotations


class DataError(Exception):
    """Base class of every error raised by :mod:`mlffkit.data`."""


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
