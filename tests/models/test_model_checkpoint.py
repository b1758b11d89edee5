"""Checkpoints: round trip, atomic writes, clear errors."""

import numpy as np
import pytest
import torch

from mlffkit.models import CheckpointError, build_model, load_checkpoint, read_checkpoint, save_checkpoint
from mlffkit.testing import TINY_CONFIGS, random_molecule, tiny_model


@pytest.mark.parametrize("name", sorted(TINY_CONFIGS))
def test_round_trip_gives_identical_predictions(tmp_path, name):
    model = tiny_model(name, torch.float32)
    model.energy_head.fit_normalisation([-10.0, -20.0], [[1, 6], [6, 6, 1]], [[[0.3, 0, 0]] * 2, [[0, 0.1, 0]] * 3])
    path = save_checkpoint(model, tmp_path / "sub" / "model.pt", extra={"epoch": 3, "opt": {"lr": torch.tensor(1e-3)}})
    assert path.exists() and [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temp files left
    loaded, extra = load_checkpoint(path, return_extra=True)
    assert extra["epoch"] == 3 and torch.equal(extra["opt"]["lr"], torch.tensor(1e-3))
    assert loaded.config == model.config and not loaded.training
    mol = random_molecule([6, 1, 1, 8], seed=1)
    a, b = model(mol, create_graph=False), loaded(mol, create_graph=False)
    assert torch.equal(a["energy"], b["energy"]) and torch.equal(a["forces"], b["forces"])
    assert torch.equal(loaded.energy_head.element_energy, model.energy_head.element_energy)


def test_checkpoint_loads_with_weights_only(tmp_path):
    path = save_checkpoint(tiny_model("schnet"), tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "mlffkit-potential" and isinstance(payload["config"], dict)
    assert read_checkpoint(path)["config"] == payload["config"]


def test_load_into_model_of_a_different_config_is_an_error(tmp_path):
    path = save_checkpoint(tiny_model("schnet"), tmp_path / "m.pt")
    other_config = {**TINY_CONFIGS["schnet"], "backbone": {**TINY_CONFIGS["schnet"]["backbone"], "features": 16}}
    other = build_model(other_config)
    with pytest.raises(CheckpointError, match=r"different model config:\n  backbone.features: checkpoint 8 != model 16"):
        load_checkpoint(path, model=other)
    same = build_model(TINY_CONFIGS["schnet"])
    assert load_checkpoint(path, model=same) is same


def test_weights_that_do_not_fit_the_config_are_an_error(tmp_path):
    path = save_checkpoint(tiny_model("schnet"), tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["config"]["backbone"]["num_blocks"] = 3  # edited by hand
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(path)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", "truncated"])
def test_corrupt_files_are_an_error(tmp_path, content):
    path = tmp_path / "m.pt"
    if content == "truncated":
        save_checkpoint(tiny_model("schnet"), path)
        content = path.read_bytes()[:200]
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a readable mlffkit checkpoint"):
        load_checkpoint(path)


def test_other_torch_files_are_an_error(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match="not an mlffkit potential checkpoint"):
        load_checkpoint(tmp_path / "x.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_save_failure_leaves_previous_checkpoint(tmp_path):
    path = save_checkpoint(tiny_model("schnet"), tmp_path / "m.pt")
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"extra\['bad'\] is a ndarray"):
        save_checkpoint(tiny_model("schnet"), path, extra={"bad": np.zeros(3)})
    assert path.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


def test_map_location(tmp_path):
    path = save_checkpoint(tiny_model("painn"), tmp_path / "m.pt")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = load_checkpoint(path, map_location=device)
    assert all(p.device.type == device.type for p in model.parameters())
