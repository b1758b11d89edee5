"""Fu's Figure 6 experiment at its smoke profile: the series, the snapshots and the start."""

import numpy as np

from mlffkit import experiments, reference
from mlffkit.papers.fu import ala2, collapse


def test_smoke_collapse_run_records_the_largest_force_and_the_last_structures(compute_allowed):
    c = collapse.PROFILES["smoke"]
    result = experiments.run("fu_collapse", "smoke")
    series, run = result.tables["series"], result.tables["run"].iloc[0]
    frames = reference.load_frames(ala2.SET, "ala2")
    assert run["start_frame"] == ala2.start_frames(ala2.split(len(frames), c)["test"], c)[c.run]
    assert (series["max_force_eV_A"] > 0).all() and np.isfinite(series["max_force_eV_A"]).all()
    step_ps = c.save_every * ala2.PROTOCOLS["alanine_dipeptide"].dt_fs / 1000
    assert np.allclose(np.diff(series["time_ps"]), step_ps)
    index = result.arrays["snapshot_index"]
    assert index[-1] == len(series) - 1 and (np.diff(index) > 0).all()
    assert result.arrays["snapshots"].shape == (len(index), len(frames.numbers), 3)
    # an untrained model breaks a bond at once: the run stops, as Fu's rule says
    assert bool(run["stopped"]) and run["stop_rule"] == "bond_length"
