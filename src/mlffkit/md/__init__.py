"""Molecular dynamics: :func:`simulate` with NVE / Langevin / Nosé-Hoover-chain integrators,
stop rules and incremental output, in physical units (fs, K, 1/ps, Å/fs).

Stability stop rules of Fu et al. (bond lengths, windowed RDF) are in
:mod:`mlffkit.metrics.stability`; this package does not import the metrics layer.
"""

from .calculator import MLFFCalculator, calculator
from .output import THERMO_COLUMNS
from .simulate import ENSEMBLES, SimulationResult, simulate
from .stop_rules import (NON_FINITE, StopEvent, StopRule, TemperatureBoundsRule,
                         non_finite_reason)

__all__ = ["calculator", "MLFFCalculator", "simulate", "SimulationResult", "ENSEMBLES", "StopRule", "StopEvent",
           "TemperatureBoundsRule", "non_finite_reason", "NON_FINITE", "THERMO_COLUMNS"]
