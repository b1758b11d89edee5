"""Metrics: errors, structure, dynamics, stability, free energy and statistics.

Every metric takes plain arrays (positions ``(frames, atoms, 3)`` in Å, species, cell) or an
ASE trajectory (a list of ``Atoms``), so any ASE calculator's simulation can be scored. h(r),
RDFs, EV/FV, RMSD, MSD/diffusivity, the stability rules and the errors also take torch tensors
on any device (computed in float64 there; tensor in, tensor out on the input's device; numpy
in, numpy out), with pair distances processed in bounded chunks for any ``r_max`` or frame
count. The comparisons (WF, JSD, integrated error), free energies and the kinetic temperature
are numpy.

- :mod:`.errors`: energy / force MAE and RMSE (per-component and per-atom-norm conventions).
- :mod:`.structure`: h(r) and RDFs (ASE, MDAnalysis and Fu et al. normalisations by name).
- :mod:`.comparison`: integrated absolute error (h(r)/RDF/FES MAE), Wright's factor, JSD.
- :mod:`.dynamics`: EV(t), FV(t), geometric mean, RMSD, MSD, diffusivity, kinetic temperature.
- :mod:`.stability`: bond-length and RDF-window stability, and the matching MD stop rules.
- :mod:`.free_energy`: dihedral angles, 1-D/2-D free-energy surfaces and their MAE.
- :mod:`.statistics`: paired bootstrap over seeds.
"""

from .comparison import integrated_absolute_error, jensen_shannon_divergence, wright_factor
from .dynamics import (diffusivity, energy_violation, force_violation, geometric_mean,
                       kinetic_temperature, mean_squared_displacement, rmsd, unwrap_positions)
from .errors import energy_force_errors, energy_mae, energy_rmse, force_mae, force_rmse
from .free_energy import (dihedral_angles, free_energy_1d, free_energy_2d, free_energy_mae,
                          marginal_free_energy, thermal_energy)
from .stability import (BondLengthRule, RDFWindowRule, StabilityResult, bond_stability,
                        find_bonds, rdf_window_stability)
from .structure import (bin_centers, interatomic_distance_distribution, radial_distribution,
                        radial_distributions, uniform_bin_edges)
