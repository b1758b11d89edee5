"""Incremental simulation output: a trajectory and a thermo log, each flushed after every
record so that a crash (or a killed process) keeps everything already written.

Trajectory: extended XYZ (any suffix but ``.traj``), one frame appended per write with positions
(Å), momenta, cell, and the energy (eV) and forces (eV/Å) the calculator returned; or ASE's
``.traj`` format. Thermo log: CSV with columns :data:`THERMO_COLUMNS`.
"""

from __future__ import annotations

from pathlib import Path

from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from ase.io.trajectory import Trajectory

THERMO_COLUMNS = ("step", "time_fs", "epot_eV", "ekin_eV", "etot_eV", "temperature_K")


class TrajectoryWriter:
    """Appends frames to ``path`` (created afresh), flushing each one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.frames_written = 0
        if self.path.suffix == ".traj":
            self._traj, self._file = Trajectory(str(self.path), "w"), None
        else:
            self._traj, self._file = None, open(self.path, "w")

    def write(self, atoms: Atoms, energy: float, forces) -> None:
        frame = atoms.copy()
        frame.calc = SinglePointCalculator(frame, energy=energy, forces=forces)
        if self._traj is not None:
            self._traj.write(frame)  # ASE syncs the file after every frame
        else:
            write(self._file, frame, format="extxyz")
            self._file.flush()
        self.frames_written += 1

    def close(self) -> None:
        if self._traj is not None:
            self._traj.close()
        if self._file is not None:
            self._file.close()


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
