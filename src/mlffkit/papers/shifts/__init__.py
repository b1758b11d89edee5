"""Kreiman & Krishnapriyan, distribution shifts in MLFFs: shift diagnostics (spectral
distance of the radius graph), radius refinement and test-time training with cheap priors.

- :mod:`~mlffkit.papers.shifts.spectral`: the graph-Laplacian spectrum of a structure, the
  mean training spectrum and the spectral distance (the paper's Eq. 5), for any structures.
"""
