"""Incremental simulation output: a trajectory and a thermo log, each flushed after every
record so that a crash or a killed process keeps everything already written.

Trajectory: extended XYZ (any suffix but ``.traj``), one frame appended per write with positions
(Å), momenta, cell, and the energy (eV) and forces (eV/Å) the calculator returned; or ASE's
``.traj`` format. Thermo log: CSV with columns :data:`THERMO_COLUMNS`.

Kill safety: each extxyz frame is formatted in memory and appended with one ``write`` and a
flush, so a process killed at any moment (SIGKILL, out of memory) loses at most the frame being
written. Read trajectories with :func:`read_trajectory`: it drops such a cut-short last frame
with a warning, where ``ase.io.read`` fails on the whole file (or, when the cut falls inside
the last number, silently reads a wrong value). ASE's ``.traj`` counts a frame only once it is
complete, so it needs no such care. Output files are never overwritten by accident
(:func:`check_output_path`).
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write
from ase.io.trajectory import Trajectory

THERMO_COLUMNS = ("step", "time_fs", "epot_eV", "ekin_eV", "etot_eV", "temperature_K")


def check_output_path(parameter: str, path, overwrite: bool) -> Path:
    """``path`` as a :class:`Path` once it is known to be a file a run may create: not a
    directory, and new unless ``overwrite``; otherwise a one-line error naming ``parameter``."""
    try:
        path = Path(path)
    except TypeError:
        raise TypeError(f"{parameter} must be a file path (str or Path) or None, "
                        f"got {type(path).__name__}") from None
    if path.is_dir():
        raise IsADirectoryError(f"{parameter}={str(path)!r} is a directory: give a file path "
                                f"such as {str(path / 'md.extxyz')!r}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{parameter}={str(path)!r} exists: pass overwrite=True to "
                              f"replace it, or choose a new path")
    return path


class TrajectoryWriter:
    """Appends frames to ``path`` (created afresh), flushing each one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.frames_written = 0
        if self.path.suffix == ".traj":
            self._traj, self._file = Trajectory(str(self.path), "w"), None
        else:
            self._traj, self._file = None, open(self.path, "wb")

    def write(self, atoms: Atoms, energy: float, forces) -> None:
        frame = atoms.copy()
        frame.calc = SinglePointCalculator(frame, energy=energy, forces=forces)
        if self._traj is not None:
            self._traj.write(frame)  # ASE flushes the file after every frame
        else:
            text = io.StringIO()
            write(text, frame, format="extxyz")
            self._file.write(text.getvalue().encode())  # one write: a kill cuts this frame only
            self._file.flush()
        self.frames_written += 1

    def close(self) -> None:
        if self._traj is not None:
            self._traj.close()
        if self._file is not None:
            os.fsync(self._file.fileno())
            self._file.close()


def read_trajectory(path: str | Path, index=":"):
    """Frames of a trajectory written by :func:`~mlffkit.md.simulate`, as ``ase.io.read(path,
    index)`` gives them (``index=":"``: a list of all frames; an int: one frame).

    ``.traj`` files are ASE trajectories; any other suffix is extended XYZ. An extxyz file whose
    last frame is cut short (its writer was killed while writing it) gives its complete frames
    and a warning saying how many were kept."""
    path = Path(path)
    if path.suffix == ".traj":
        return read(path, index, format="traj")
    frames, cut_at = _cut_short_last_frame(path)
    if cut_at is None:
        return read(path, index, format="extxyz")
    warnings.warn(f"{path}: the last frame is cut short (its writer was killed?); kept the "
                  f"{frames} complete frames before it", stacklevel=2)
    with open(path, "rb") as file:
        complete = file.read(cut_at).decode()
    return read(io.StringIO(complete), index, format="extxyz")


def _cut_short_last_frame(path: Path) -> tuple[int, int | None]:
    """The number of complete extxyz frames at the start of ``path`` and the byte offset where
    a cut-short frame after them starts (None when there is none, or when what follows is not
    an extxyz frame at all: ASE reads or rejects that)."""
    frames = 0
    with open(path, "rb") as file:
        while header := file.readline():
            start = file.tell() - len(header)
            if header.endswith(b"\n"):
                try:
                    n_lines = int(header) + 1  # the comment line, then one line per atom
                except ValueError:
                    return frames, None
                if all(file.readline().endswith(b"\n") for _ in range(n_lines)):
                    frames += 1
                    continue
            return frames, start
    return frames, None


class ThermoLog:
    """Writes one CSV row per call to ``path`` (created afresh), flushing each one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w")
        self._file.write(",".join(THERMO_COLUMNS) + "\n")
        self._file.flush()

    def write(self, step: int, time_fs: float, epot_eV: float, ekin_eV: float,
              temperature_K: float) -> None:
        row = (step, time_fs, epot_eV, ekin_eV, epot_eV + ekin_eV, temperature_K)
        self._file.write(f"{row[0]:d}," + ",".join(f"{v:.10g}" for v in row[1:]) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
