"""EGraFFBench's force fields through one interface: settings, errors, and for every installed
model a smoke training whose calculator is equivariant and runs MD."""

import json

import numpy as np
import pytest

from mlffkit import data
from mlffkit.md.simulate import simulate
from mlffkit.papers.egraff import forcefields as ff


def test_registry_names_the_models():
    assert {"nequip", "allegro", "torchmdnet", "equiformer"} <= set(ff.FORCEFIELDS)
    with pytest.raises(KeyError, match="unknown force field 'schnetpack'; valid: .*nequip"):
        ff.FORCEFIELDS["schnetpack"]


@pytest.mark.parametrize("model", sorted(ff.FORCEFIELDS))
def test_every_model_has_three_valid_profiles(model):
    forcefield = ff.FORCEFIELDS[model]()
    assert set(forcefield.profiles) == {"smoke", "book", "paper"}
    for profile in forcefield.profiles:
        settings = forcefield.settings(profile)
        assert settings.epochs >= 1
    assert forcefield.settings("paper").epochs > forcefield.settings("book").epochs


@pytest.mark.parametrize("change, message", [
    (dict(epochs=0), "nequip setting 'epochs': expected a positive int, got 0"),
    (dict(lr=float("nan")), "nequip setting 'lr': expected a positive finite number"),
    (dict(batch_size="four"), "nequip setting 'batch_size': expected a positive int"),
])
def test_bad_settings_give_one_line(change, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        ff.FORCEFIELDS["nequip"]().settings("book", **change)
    with pytest.raises(ValueError, match="unknown parameter 'layers'"):
        ff.FORCEFIELDS["nequip"]().settings("book", layers=3)
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        ff.FORCEFIELDS["nequip"]().settings("fast")


def test_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setattr(ff.FORCEFIELDS["torchmdnet"], "module", "no_such_module_xyz")
    with pytest.raises(ff.MissingPackageError, match=r"TorchMD-Net needs .*mlffkit\[egraff\]"):
        ff.train("torchmdnet", None, None, "unused")


def test_a_missing_mace_environment_names_both_ways_out(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFFKIT_MACE_ENV", str(tmp_path / "nowhere"))
    with pytest.raises(ff.MissingPackageError, match=r"make env-mace.*MLFFKIT_MACE_ENV"):
        ff.train("mace", None, None, "unused")


def test_load_refuses_a_folder_without_manifest(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a trained force field"):
        ff.load(tmp_path)


def _frames(mirror):
    split = data.egraff_split("md17/ethanol")
    return split["train"][:12], split["val"][:4], split["test"][:2]


def test_train_refuses_unlabelled_frames_and_full_folders(mirror, tmp_path):
    train, val, _ = _frames(mirror)
    unlabelled = data.Frames(positions=val.positions, numbers=val.numbers)
    with pytest.raises(ValueError, match="validation frames need energy and force labels"):
        ff.train("equiformer", train, unlabelled, tmp_path / "a", profile="smoke")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep.txt").write_text("results")
    with pytest.raises(FileExistsError, match="not empty"):
        ff.train("equiformer", train, val, tmp_path / "b", profile="smoke")
    assert (tmp_path / "b" / "keep.txt").read_text() == "results"


def test_trained_reuses_a_finished_training_and_redoes_anything_else(mirror, tmp_path,
                                                                     monkeypatch):
    train, val, _ = _frames(mirror)
    folder = tmp_path / "equiformer"
    first = ff.trained("equiformer", train, val, folder, profile="smoke", seed=1)
    calls = []
    real_train = ff.train
    monkeypatch.setattr(ff, "train", lambda *a, **k: calls.append(k) or real_train(*a, **k))
    again = ff.trained("equiformer", train, val, folder, profile="smoke", seed=1)
    assert calls == [] and again.seconds == first.seconds   # the same model, not retrained
    # other settings or other frames: trained again in the folder
    ff.trained("equiformer", train, val, folder, profile="smoke", seed=2)
    ff.trained("equiformer", train[:10], val, folder, profile="smoke", seed=2)
    assert len(calls) == 2
    assert json.loads((folder / ff.MANIFEST).read_text())["n_train"] == 10
    # a training killed midway (no manifest) is cleared and redone
    (folder / ff.MANIFEST).unlink()
    ff.trained("equiformer", train, val, folder, profile="smoke", seed=2)
    assert len(calls) == 3 and (folder / ff.MANIFEST).exists()


def _rotation(seed):
    q = np.random.default_rng(seed).normal(size=4)
    a, b, c, d = q / np.linalg.norm(q)
    return np.array([[a*a+b*b-c*c-d*d, 2*(b*c-a*d), 2*(b*d+a*c)],
                     [2*(b*c+a*d), a*a-b*b+c*c-d*d, 2*(c*d-a*b)],
                     [2*(b*d-a*c), 2*(c*d+a*b), a*a-b*b-c*c+d*d]])


def _global_state():
    import random

    import e3nn
    import torch

    # (torch's RNG is left out: building any model before loading its weights draws from it)
    return (torch.get_default_dtype(), e3nn.get_optimization_defaults(),
            np.random.get_state()[1].sum(), random.getstate()[1][:4])


@pytest.mark.parametrize("model", sorted(ff.FORCEFIELDS))
def test_smoke_train_predict_and_md(model, mirror, tmp_path):
    forcefield = ff.FORCEFIELDS[model]()
    if not forcefield.available():
        pytest.skip(f"{forcefield.label} is not installed ({forcefield.install})")
    train, val, test = _frames(mirror)
    trained = ff.train(model, train, val, tmp_path / model, profile="smoke", seed=1)
    manifest = json.loads((tmp_path / model / ff.MANIFEST).read_text())
    assert manifest["model"] == model and manifest["settings"]["seed"] == 1
    assert manifest["data"]["train"] == train.digest() != val.digest()
    assert trained.checkpoint.exists() and trained.log.exists()
    assert trained.elements == ("H", "C", "O")
    state = _global_state()
    calc = ff.calculator(tmp_path / model)        # from the folder, as a user would
    # loading leaves the process as it was (nequip's loader changes dtype, e3nn mode, seeds)
    assert _global_state() == state

    atoms = test.to_atoms()[0]
    atoms.calc = calc
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    assert forces.shape == (9, 3) and np.all(np.isfinite(forces))
    # within a few eV of the DFT energy: the energy reference was learned, in eV
    assert abs(energy - test.energy[0]) < 5.0
    # rotated and translated atoms: same energy, rotated forces (float32 models)
    R = _rotation(3)
    moved = atoms.copy()
    moved.positions = atoms.positions @ R.T + np.array([0.3, -1.2, 2.0])
    moved.calc = calc
    assert moved.get_potential_energy() == pytest.approx(energy, abs=1e-3)
    np.testing.assert_allclose(moved.get_forces(), forces @ R.T, atol=1e-3)

    result = simulate(test.to_atoms()[1], calc, ensemble="langevin", dt_fs=0.5, steps=4,
                      T_K=500.0, friction_per_ps=5.0, progress=False)
    assert result.steps_completed == 4 and result.stop is None
    getattr(calc, "close", lambda: None)()   # MACE's socket client stops with its server


def test_paper_settings_follow_the_data_set():
    mace = ff.FORCEFIELDS["mace"]()
    assert mace.settings("paper", "gete").cutoff == 8.0
    assert mace.settings("paper", "md17/aspirin").cutoff == 5.0
    assert mace.settings("paper", "lips").epochs == 500
    assert mace.settings("book", "gete").cutoff == 5.0        # only the paper profile
    assert ff.FORCEFIELDS["botnet"]().settings("paper", "lips").epochs == 1000
    assert mace.settings("paper", "gete", cutoff=6.0).cutoff == 6.0   # overrides last
