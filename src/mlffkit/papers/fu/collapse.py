"""Fu et al.'s Figure 6: what a collapse looks like. One model of ``fu_ala2`` trained again
with the same inputs (same split, seed and settings, so the same weights on this CPU), run
from one of that record's start frames under the same protocol (metadynamics included), with
the largest force the model puts on any atom at every saved step, and the structures at a few
moments up to the step at which a stop rule fired (the paper marks such moments with crosses).

How it differs from the paper's figure: Fu shows NequIP on alanine dipeptide in explicit water
and GemNet-T on water; ours is a book-size model on the implicit-solvent stand-in, and the
run ends where Fu's bond rule fires instead of being followed to the end.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlffkit import reference
from mlffkit.experiments.config import param
from mlffkit.experiments.registry import Experiment, at_least, positive, register
from mlffkit.results import Result
from mlffkit.runtime import torch_threads

from . import ala2

#: where the snapshots are taken, as fractions of the run's length before the stop
SNAPSHOTS = (0.5, 0.9, 0.99, 1.0)


@dataclass(frozen=True)
class FuCollapseConfig(ala2.FuAla2Config):
    """``fu_ala2``'s settings (the first model and its epochs are used), the start (``run``,
    an index into that experiment's start frames) and the saving interval in steps."""

    run: int = param(at_least(0, int))
    save_every: int = param(positive())


BOOK = FuCollapseConfig(**{**ala2.BOOK.as_dict(), "models": ("schnet_book",), "epochs": (60,),
                           "workers": 1, "md_ps": 100.0}, run=1, save_every=20)
PROFILES = {
    "smoke": BOOK.replace(**{k: v for k, v in ala2.PROFILES["smoke"].as_dict().items()
                             if k not in ("models", "epochs")}, epochs=(1,), run=0, save_every=5),
    "book": BOOK,
    "paper": BOOK.replace(**{k: v for k, v in ala2.PROFILES["paper"].as_dict().items()
                             if k not in ("models", "epochs")}, models=("schnet",),
                          epochs=(1000,)),
}


def compute(c: FuCollapseConfig) -> Result:
    from mlffkit.md import calculator, read_trajectory

    frames = reference.load_frames(ala2.SET, "ala2")
    parts = ala2.split(len(frames), c)
    starts = ala2.start_frames(parts["test"], c)
    if c.run >= len(starts):
        raise ValueError(f"run={c.run}: the profile has {len(starts)} start frames")
    out = {"training": [], "errors": []}
    with torch_threads(c.threads), tempfile.TemporaryDirectory(prefix="fu_collapse_") as tmp:
        model = ala2._train(c, frames, parts, c.models[0], c.epochs[0], out)
        calc = calculator(model)
        path = Path(tmp) / "run.traj"
        row, _ = ala2._ase_run(calc, frames.numbers, frames.positions[starts[c.run]],
                               frames[parts["train"]].positions, c, c.run,
                               trajectory=path, write_every=c.save_every)
        saved = read_trajectory(path)
        positions = np.array([a.positions for a in saved])
        max_force = []
        for atoms in saved:   # the model's own forces (the bias left out)
            atoms.calc = calc
            max_force.append(float(np.linalg.norm(atoms.get_forces(), axis=1).max()))
    dt_fs = ala2.PROTOCOLS["alanine_dipeptide"].dt_fs
    time_ps = np.arange(len(saved)) * c.save_every * dt_fs / 1000
    picks = sorted({int(round(f * (len(saved) - 1))) for f in SNAPSHOTS})
    return Result(
        tables={"training": pd.DataFrame(out["training"]), "errors": pd.DataFrame(out["errors"]),
                "run": pd.DataFrame([{"model": c.models[0], "run": c.run,
                                      "start_frame": starts[c.run], **row}]),
                "series": pd.DataFrame({"time_ps": time_ps, "max_force_eV_A": max_force})},
        arrays={"numbers": np.asarray(frames.numbers), "snapshot_index": np.array(picks),
                "snapshots": positions[picks].astype(np.float32)})


FU_COLLAPSE = register(Experiment(
    name="fu_collapse",
    version="1",
    compute=compute,
    datasets=ala2.datasets,
    description="Fu et al. Fig. 6: the largest force along one alanine dipeptide run of a "
                "fu_ala2 model, and the structures up to its collapse",
    profiles=PROFILES,
))
