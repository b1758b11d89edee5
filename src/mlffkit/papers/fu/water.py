"""Fu et al. Tables 4 and 8-10: water, models trained on SPC/Fw frames and simulated, scored
by RDF stability, RDF error per pair and oxygen diffusivity.

Data: the ``openmm-water`` set (64 SPC/Fw waters, 300 K; :mod:`mlffkit.reference.water`),
5,000 frames 100 fs apart, labels recomputed on load. Fu samples 100,000 frames 10 fs apart
and trains on 1k, 10k or 90k of them (training + validation, 95 / 5 here), testing on 10k;
here ``sizes`` of training + validation frames and ``n_test`` test frames, all disjoint, drawn
at random with the seed.

Simulation, as MDsim's (:data:`mlffkit.papers.fu.protocol.PROTOCOLS` ``["water"]``):
Nosé-Hoover with τ = 20 dt, 300 K, 1 fs, a frame every 100 fs, from random test frames,
all starts of a model in one batched run. Stability (Eq. 8): the run stops at the first 1 ps
window (10 saved frames) whose RDF of any pair (O-O, H-H, H-O) departs from the reference by
more than 3.0; RDF errors per pair over each run's frames before the stop; the reference is
every frame of the set (:mod:`~mlffkit.papers.fu.condensed`).

Diffusivity: the slope of the oxygen MSD over lags from 1 ps to half the run, for runs stable
to the end, and the reference D read from the ``openmm-water`` frames over the same lags (like
against like; both differ from the long-time D that Fu quotes, 2.3 × 10⁻⁹ m²/s).
"""

from __future__ import annotations

import pandas as pd

from mlffkit import reference
from mlffkit.experiments.registry import Experiment, register
from mlffkit.results import Result

from . import condensed
from .condensed import RDF_EDGES, CondensedConfig, diffusion_window, split  # noqa: F401
from .config import check_epochs

SET = "openmm-water"
WATER = condensed.CondensedPhase(protocol="water", pairs=(("O", "O"), ("H", "H"), ("H", "O")),
                                 threshold=3.0, diffusing="O")

# one core: an epoch of 950 frames takes about 1 min (schnet_book) and 3 min (painn_book)
BOOK = CondensedConfig(models=("schnet_book", "painn_book"), epochs=(20, 10), sizes=(1000,),
                       n_test=500, lr=2e-3, batch_size=4, starts=3, md_ps=5.0, speed_steps=50,
                       seed=0, threads=1, workers=2, progress=True)
PROFILES = {
    "smoke": BOOK.replace(models=("schnet_book",), epochs=(1,), sizes=(8,), n_test=4,
                          starts=2, md_ps=0.02, speed_steps=3, workers=1, progress=False),
    "book": BOOK,
    "paper": BOOK.replace(models=("schnet", "painn", "equiformer_md17"),
                          epochs=(1000, 1000, 1000), sizes=(1000, 4000), n_test=1000,
                          starts=5, md_ps=500.0, speed_steps=500),
}


def oxygen_diffusivity(positions, numbers, interval_fs: float,
                       window_fs: tuple[float, float]) -> float:
    """D of the oxygens in m²/s (:meth:`CondensedPhase.diffusivity`)."""
    return WATER.diffusivity(positions, numbers, interval_fs, window_fs)


def compute(c: CondensedConfig) -> Result:
    """Every model at every training-set size (:func:`condensed.compute`), and the reference
    oxygen D from the ``openmm-water`` frames over the lags the runs use."""
    check_epochs(c)
    frames = reference.load_frames(SET, "water")
    window = diffusion_window(c, WATER)
    d = oxygen_diffusivity(frames.positions, frames.numbers,
                           frames.metadata["frame_interval_fs"], window)
    return condensed.compute(WATER, c, frames,
                             reference=[{"D_m2_s": d, "window_fs": str(window)}])


def table4(result: Result) -> pd.DataFrame:
    """Fu's Table 4 columns per model and size (:func:`condensed.table`), the reference D
    from the ``openmm-water`` frames over the same lags."""
    return condensed.table(result, WATER,
                           float(result.tables["reference"]["D_m2_s"].iloc[0]))


def summary(table: pd.DataFrame, params) -> str:
    return condensed.summary(table, WATER, params,
                             "the openmm-water frames over the same lags")


def datasets(c: CondensedConfig) -> dict[str, str]:
    return reference.checksums(SET)


FU_WATER = register(Experiment(
    name="fu_water",
    version="1",
    compute=compute,
    datasets=datasets,
    description="Fu et al. Tables 4, 8-10: models trained on SPC/Fw water, RDF stability, "
                "RDF error per pair, oxygen diffusivity and steps/s",
    profiles=PROFILES,
))
