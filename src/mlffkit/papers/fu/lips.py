"""Fu et al. Table 6: LiPS (lithium phosphorus sulfide, 83 atoms, periodic), models trained on
its frames and simulated, scored by RDF stability, RDF error (all atoms together) and Li
diffusivity.

Data: the mirrored EGraFFBench LiPS validation split (``egraff/lips/val``, 1,000 frames, not
time-ordered), labelled "LiPS-1k": Fu trains on 19,000 frames of the full trajectory (1,000 for
validation, the rest to test). Here ``sizes`` training + validation frames (95 / 5) and
``n_test`` test frames from those 1,000, disjoint, drawn with the seed; the RDF reference is
all 1,000 frames (Fu: all reference frames).

Simulation as MDsim's (:data:`~mlffkit.papers.fu.protocol.PROTOCOLS` ``["lips"]``): Nosé-Hoover
with τ = 20 dt, 520 K, 0.25 fs, a frame every 12.5 fs, from random test frames, all starts of a
model in one batched run. Stability (Eq. 8): the first 1 ps window (80 saved frames) whose RDF
of all atoms departs from the reference by more than 1.0. MDsim takes the minimum image over 27
cells; here every image within 6 Å counts: the same below half the cell's smallest height
(5.6 Å for LiPS), while between 5.6 and 6 Å a pair can count twice, in the reference and the
runs alike.

Diffusivity: Fu reads D at a lag of 35 ps from runs stable over 40 ps, against 1.35 × 10⁻⁹
m²/s from the reference trajectory, which is not mirrored. Here the Li MSD slope over lags
from 1 ps to half the run, for runs stable to the end, beside Fu's number for scale only:
short lags and long lags are different quantities in a solid electrolyte.
"""

from __future__ import annotations

import pandas as pd

from mlffkit import data
from mlffkit.experiments.registry import Experiment, register
from mlffkit.results import Result

from . import condensed
from .condensed import CondensedConfig
from .config import check_epochs

DATASET = "egraff/lips/val"
LIPS = condensed.CondensedPhase(protocol="lips", pairs=(None,), threshold=1.0, diffusing="Li")
#: Fu et al.'s reference Li diffusivity (Table 6), m²/s
FU_REFERENCE_D = 1.35e-9

BOOK = CondensedConfig(models=("schnet_book", "painn_book"), epochs=(30, 15), sizes=(750,),
                       n_test=250, lr=2e-3, batch_size=4, starts=3, md_ps=5.0, speed_steps=200,
                       seed=0, threads=1, workers=2, progress=True)
PROFILES = {
    "smoke": BOOK.replace(models=("schnet_book",), epochs=(1,), sizes=(8,), n_test=4,
                          starts=2, md_ps=0.01, speed_steps=3, workers=1, progress=False),
    "book": BOOK,
    "paper": BOOK.replace(models=("schnet", "painn", "equiformer_md17"),
                          epochs=(1000, 1000, 1000), sizes=(750,), starts=5, md_ps=50.0,
                          speed_steps=500),
}


def compute(c: CondensedConfig) -> Result:
    """Every model at every training-set size (:func:`condensed.compute`)."""
    check_epochs(c)
    return condensed.compute(LIPS, c, data.load(DATASET))


def table6(result: Result) -> pd.DataFrame:
    """Fu's Table 6 columns per model and size (:func:`condensed.table`) beside Fu's
    reference D."""
    return condensed.table(result, LIPS, FU_REFERENCE_D)


def summary(table: pd.DataFrame, params) -> str:
    return condensed.summary(table, LIPS, params,
                             "Fu's reference at a 35 ps lag: for scale only")


def datasets(c: CondensedConfig) -> dict[str, str]:
    return data.checksums(DATASET)


FU_LIPS = register(Experiment(
    name="fu_lips",
    version="1",
    compute=compute,
    datasets=datasets,
    description="Fu et al. Table 6 on LiPS-1k (the mirrored validation split): RDF stability, "
                "RDF error, Li diffusivity and steps/s",
    profiles=PROFILES,
))
