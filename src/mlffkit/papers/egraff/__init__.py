"""EGraFFBench: equivariant force fields judged by simulation (Wright's factor, JSD, EV/FV).

- :mod:`.metrics`: the metrics chapter's experiment (cheap reference potentials).
"""

from mlffkit.papers.egraff import metrics  # noqa: F401  (registers its experiment)
