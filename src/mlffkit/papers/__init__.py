"""One package per paper, the only place that knows a paper: its transcribed hyperparameters,
extra heads and adapters, splits, experiments (typed params -> Result) and analysis. Importing
this package registers every paper's experiments. The core (everything outside ``papers``)
never imports from here.

- :mod:`~mlffkit.papers.frames`: "Less is more" (FRAMES), the temporal auxiliary loss.
- :mod:`~mlffkit.papers.egraff`: EGraFFBench, simulation-based evaluation of force fields.
- :mod:`~mlffkit.papers.shifts`: Kreiman & Krishnapriyan, distribution shifts (diagnostics,
  radius refinement, test-time training).
- :mod:`~mlffkit.papers.fu`: Fu et al., "Forces are not enough": simulation-based evaluation.
"""

from mlffkit.papers import egraff, frames, fu, shifts  # noqa: F401  (register their experiments)
