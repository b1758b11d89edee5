"""The experiment registry (core): an experiment is ``params -> Result`` with profiles and
validated parameters (see ``registry``). The experiments themselves live in the paper
packages, :mod:`mlffkit.papers`, and register when imported (``import mlffkit.papers``
registers them all; the CLI does)."""

from mlffkit.experiments.registry import (PROFILES, Experiment, NotebookParameters, describe,
                                          get, missing, names, resolve, run)

__all__ = ["PROFILES", "Experiment", "NotebookParameters", "describe", "get", "missing",
           "names", "resolve", "run"]
