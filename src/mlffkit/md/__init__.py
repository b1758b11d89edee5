"""Molecular dynamics: :func:`simulate` with NVE / Langevin / Nosé-Hoover-chain integrators,
stop rules and incremental output, in physical units (fs, K, 1/ps, Å/fs);
:func:`read_trajectory` reads its trajectories back. :func:`simulate_batched` steps many
replicas together with one model call per step (:mod:`mlffkit.md.batched`).

Under faults: inputs are checked before anything runs (one-line errors naming the parameter),
a non-finite energy, force, position or momentum stops the run, a killed run keeps every frame
but the one being written, and existing output files are not overwritten unless asked
(details in :mod:`mlffkit.md.simulate`).

Stability stop rules of Fu et al. (bond lengths, windowed RDF) are in
:mod:`mlffkit.metrics.stability`; this package does not import the metrics layer.
"""

from .batched import BatchedSimulationResult, simulate_batched
from .calculator import MLFFCalculator, calculator
from .output import THERMO_COLUMNS, read_trajectory
from .simulate import ENSEMBLES, SimulationResult, simulate
from .stop_rules import (NON_FINITE, StopEvent, StopRule, TemperatureBoundsRule,
                         non_finite_reason)

__all__ = ["calculator", "MLFFCalculator", "simulate", "SimulationResult", "ENSEMBLES", "StopRule", "StopEvent",
           "TemperatureBoundsRule", "non_finite_reason", "NON_FINITE", "THERMO_COLUMNS",
           "read_trajectory", "simulate_batched", "BatchedSimulationResult"]
