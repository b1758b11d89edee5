"""Fu et al. 2023, "Forces are not enough": simulation-based evaluation of force fields.

- :mod:`~mlffkit.papers.fu.protocol`: the paper's simulation settings as MDsim runs them
  (Nosé-Hoover with τ = 20 dt, temperatures, time steps, save intervals; random test-frame
  starts), Fu's h(r) bins and MAE, and the runner that simulates every start of one model
  together and scores each run.
- :mod:`~mlffkit.papers.fu.md17`: Table 3 / Fig. 3, models trained on MD17's own labels
  (rMD17's ``old_energies``/``old_forces``), force MAE, stability, h(r) MAE and steps/s
  (experiment ``fu_md17``).
- :mod:`~mlffkit.papers.fu.water`: Tables 4 and 8-10, models trained on SPC/Fw water
  (``openmm-water``), RDF stability and errors, oxygen diffusivity (experiment ``fu_water``).
- :mod:`~mlffkit.papers.fu.lips`: Table 6 on LiPS-1k, the mirrored validation split (experiment
  ``fu_lips``); water and LiPS share :mod:`~mlffkit.papers.fu.condensed`.
- :mod:`~mlffkit.papers.fu.ala2`: Table 5, alanine dipeptide free-energy surfaces from
  well-tempered metadynamics (experiment ``fu_ala2``).
- :mod:`~mlffkit.papers.fu.headline`: the headline comparison over all four records (force
  error against instability and structural error, rank correlations with intervals).
- :mod:`~mlffkit.papers.fu.transcription`: the paper's own numbers (``paper_rows``,
  ``paper_pivot``).
"""

from . import ala2, collapse, lips, md17, water  # noqa: F401  (register the experiments)
from .protocol import (HR_EDGES, PROTOCOLS, SimulationProtocol, hr_mae, simulate_molecule,
                       simulate_starts)
from .headline import rank_correlations, system_points
from .md17 import learned
from .transcription import paper_pivot, paper_rows

__all__ = ["HR_EDGES", "PROTOCOLS", "SimulationProtocol", "hr_mae", "simulate_molecule",
           "simulate_starts", "learned", "rank_correlations", "system_points", "paper_pivot", "paper_rows"]
