"""mlffkit: machine-learning force fields, their training, simulation and evaluation.

The companion library of the mlffkit book (FRAMES, EGraFFBench, Fu et al., Kreiman &
Krishnapriyan). Units inside the package are eV, Å, fs and K (see ``book/conventions.md``).
"""

__version__ = "0.1.0"
