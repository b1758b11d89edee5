"""FRAMES ("Less is more": a temporal auxiliary loss), its experiments and analysis.

- :mod:`.hyperparameters`: Table 5 and §A.1/A.3 as data.
- :mod:`.training`: one FRAMES training run (shared by MD17 and ISO17).
- :mod:`.spring_mass`, :mod:`.md17`, :mod:`.iso17`: the experiments behind the chapters.
- :mod:`.analysis`: claims, paired intervals and verdicts.
"""

from mlffkit.papers.frames import iso17, md17, spring_mass  # noqa: F401  (register)
