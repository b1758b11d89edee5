"""EGraFFBench: equivariant force fields judged by simulation (Wright's factor, JSD, EV/FV).

- :mod:`.metrics`: the metrics chapter's experiment (cheap reference potentials).
- :mod:`.forcefields`: the six force fields behind one interface (train, calculator).
- :mod:`.benchmark`: the six trained on EGraFFBench's data sets, tested and simulated.
- :mod:`.zero_shot`: the same models tested and simulated on benzene, unseen in training.
"""

from mlffkit.papers.egraff import benchmark, metrics, zero_shot  # noqa: F401  (registers)
