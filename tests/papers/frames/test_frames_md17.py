import numpy as np
import pytest
import torch

from mlffkit import data, experiments
from mlffkit.papers.frames import md17 as frames_md17

needs_mirror = pytest.mark.skipif(not data.registry.mirror_dir().exists(),
                                  reason="the ../shared/data mirror is not beside this checkout")


@needs_mirror
def test_training_and_test_sources_share_one_energy_scale():
    """MD17 frames in both the rescaled EGraFFBench file and rMD17 (MD17 labels) agree."""
    train = frames_md17._train_source("ethanol")
    traj = data.rmd17_trajectory("ethanol", labels="md17")
    shared = np.flatnonzero(traj.time < len(train))
    assert len(shared) > 5
    t = traj.time[shared].astype(int)
    np.testing.assert_array_equal(train.positions[t], traj.positions[shared])
    np.testing.assert_allclose(train.energy[t], traj.energy[shared], rtol=0, atol=1e-6)
    np.testing.assert_allclose(train.forces[t], traj.forces[shared], rtol=0, atol=1e-6)


@needs_mirror
def test_test_frames_are_far_from_training(compute_allowed):
    test = frames_md17._test_frames("ethanol", min_index=2000, n_test=50, seed=0)
    assert len(test) == 50 and test.time.min() >= 2000


@needs_mirror
def test_smoke_sweep_has_every_run_and_restores_threads(compute_allowed):
    from mlffkit.runtime import torch_threads

    with torch_threads(2):  # the runs use params["threads"] = 1 and must give 2 back
        result = experiments.run("frames_md17", "smoke")
        after = torch.get_num_threads()
    runs = result.tables["runs"]
    assert list(runs["T"]) == [1, 2] and set(runs["molecule"]) == {"ethanol"}
    assert np.isfinite(runs[["energy_mae_meV", "force_mae_meV_A"]].to_numpy()).all()
    assert (runs.loc[runs["T"] == 2, "steps"] > runs.loc[runs["T"] == 1, "steps"].to_numpy()).all()
    assert after == 2
