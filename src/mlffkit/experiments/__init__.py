"""One experiment per paper table or figure: ``params -> Result`` (see ``registry``)."""

from mlffkit.experiments.registry import (PROFILES, Experiment, NotebookParameters, describe,
                                          get, names, resolve, run)
from mlffkit.experiments import spring_mass  # noqa: F401  (registers itself)
from mlffkit.experiments import egraff_metrics  # noqa: F401  (registers itself)
from mlffkit.experiments import frames_md17  # noqa: F401  (registers itself)
from mlffkit.experiments import frames_iso17  # noqa: F401  (registers itself)

__all__ = ["PROFILES", "Experiment", "NotebookParameters", "describe", "get", "names",
           "resolve", "run"]
