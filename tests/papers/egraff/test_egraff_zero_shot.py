"""EGraFFBench's zero-shot task: a model trained on one MD17 molecule, tested and simulated on
benzene, reusing the model its egraff_model run kept."""

import numpy as np
import pytest

from mlffkit import data
from mlffkit.experiments import registry
from mlffkit.papers.egraff import benchmark as eb
from mlffkit.papers.egraff import zero_shot as zs
from mlffkit.units import EGRAFF_KCAL_MOL_TO_EV, KCAL_MOL_TO_EV


def test_benzene_frames_carry_md17_labels_in_egraffbench_units(mirror):
    frames = zs.target_frames("benzene")
    assert len(frames) == 9633 and list(frames.numbers).count(6) == 6
    assert np.all(np.diff(frames.time) > 0)   # distinct MD17 frames, in trajectory order
    md17 = data.rmd17_trajectory("benzene", labels="md17")
    factor = EGRAFF_KCAL_MOL_TO_EV / KCAL_MOL_TO_EV
    np.testing.assert_allclose(frames.energy, md17.energy * factor)
    np.testing.assert_allclose(frames.forces, md17.forces * factor)


def test_smoke_run_tests_and_simulates_on_benzene(mirror):
    from mlffkit.metrics import interatomic_distance_distribution

    config = registry.resolve("egraff_zero_shot", "smoke")
    result = zs.run_zero_shot(config)
    errors = result.tables["errors"].iloc[0]
    assert (errors["system"], errors["target"], errors["n_test"]) == ("md17/ethanol", "benzene",
                                                                       config.n_test)
    # the mean error is the offset; the MAE is at least its size
    assert errors["energy_mae_meV"] >= abs(errors["energy_offset_meV"]) - 1e-9
    assert errors["zero_force_baseline_meV_A"] > 0
    runs = result.tables["runs"]
    assert len(runs) == config.n_starts and runs["T_K"].eq(500.0).all()
    assert runs["steps_completed"].eq(config.steps).all()
    assert not {"fv_gm", "ev_raw_gm"} & set(runs.columns)   # sampled frames: no same-time ref
    # scored against every benzene frame
    frames = zs.target_frames("benzene")
    expected = interatomic_distance_distribution(frames.positions, result.arrays["hr_bin_edges"])
    np.testing.assert_allclose(result.arrays["500K.hr_ref"][0], expected)
    assert result.arrays["force_abs_error"].shape == (config.n_test,)


def test_zero_shot_reuses_the_model_its_training_run_kept(monkeypatch, tmp_path):
    from mlffkit.papers.egraff import forcefields

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folders = []

    class Stop(Exception):
        pass

    def capture(model, train, val, folder, **kwargs):
        folders.append(folder)
        raise Stop

    monkeypatch.setattr(forcefields, "trained", capture)
    run = registry.resolve("egraff_model", "book", model="mace")
    shot = registry.resolve("egraff_zero_shot", "book", model="mace")
    smoke = registry.resolve("egraff_zero_shot", "smoke")
    for config in (run, shot, smoke):
        with pytest.raises(Stop), eb.trained_model(config, None, None):
            pass
    assert folders[0] == folders[1] == eb.model_dir(run)
    assert str(folders[0]).startswith(str(tmp_path))   # the cache, kept
    assert not str(folders[2]).startswith(str(tmp_path))   # smoke: a temporary folder


def test_sweep_units_and_bad_target():
    units = registry.resolve("egraff_zero_shots", "book").units()
    assert [u.model for u in units] == list(eb.MODELS)
    assert {(u.system, u.target, u.n_test) for u in units} == {("md17/aspirin", "benzene", 1000)}
    with pytest.raises(ValueError, match="target"):
        registry.resolve("egraff_zero_shot", "book", target="toluene")
