"""Tiny ASE calculators for MD tests: free particles, a harmonic well, a runaway force, and one
that fails; and a run killed with SIGKILL once its output has grown."""

import subprocess
import sys
import time

import numpy as np
import pytest
from ase.calculators.calculator import Calculator, all_changes


@pytest.fixture
def kill_when_written():
    """``kill(script, argument, path, size)``: run ``python -c script argument`` and SIGKILL
    it once ``path`` holds more than ``size`` bytes (failing if it exits or 60 s pass)."""
    def kill(script: str, argument: str, path, size: int) -> None:
        process = subprocess.Popen([sys.executable, "-c", script, argument])
        try:
            deadline = time.monotonic() + 60
            while not (path.exists() and path.stat().st_size > size):
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
        finally:
            process.kill()
            process.wait()
    return kill


class FreeParticles(Calculator):
    """No forces, zero energy."""

    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=None, system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results = {"energy": 0.0, "forces": np.zeros((len(self.atoms), 3))}


class HarmonicWell(Calculator):
    """E = k/2 sum_i |x_i - x_i,0|^2 with k in eV/Å^2, x_0 the first positions it sees."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, k_eV_per_A2):
        super().__init__()
        self.k, self.centres = k_eV_per_A2, None

    def calculate(self, atoms=None, properties=None, system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if self.centres is None:
            self.centres = np.zeros_like(self.atoms.positions)
        displacement = self.atoms.positions - self.centres
        self.results = {"energy": 0.5 * self.k * np.sum(displacement ** 2),
                        "forces": -self.k * displacement}


class RunawayForce(Calculator):
    """A constant force ``force_eV_per_A`` along x on every atom and zero energy: a test double
    whose finite forces drive the momenta past the largest float within a few steps."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, force_eV_per_A):
        super().__init__()
        self.force = force_eV_per_A

    def calculate(self, atoms=None, properties=None, system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        forces = np.zeros((len(self.atoms), 3))
        forces[:, 0] = self.force
        self.results = {"energy": 0.0, "forces": forces}


class FailingOnCall(Calculator):
    """Wraps a calculator; on the ``fail_on``-th calculation (0 = the starting structure) it
    raises, or returns NaN forces with ``mode="nan"``."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, inner, fail_on, mode="raise"):
        super().__init__()
        self.inner, self.fail_on, self.mode, self.calls = inner, fail_on, mode, 0

    def calculate(self, atoms=None, properties=None, system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        call, self.calls = self.calls, self.calls + 1
        if call == self.fail_on and self.mode == "raise":
            raise RuntimeError(f"model blew up on call {call}")
        self.results = {"energy": self.inner.get_potential_energy(self.atoms),
                        "forces": self.inner.get_forces(self.atoms).copy()}
        if call == self.fail_on:
            self.results["forces"][0, 0] = np.nan


@pytest.fixture
def calculators():
    return {"free": FreeParticles, "harmonic": HarmonicWell, "runaway": RunawayForce,
            "failing": FailingOnCall}
