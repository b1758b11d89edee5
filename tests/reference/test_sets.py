"""The sets: their molecules, the ISO17 split, the files, provenance, resume and verify."""

import json

import numpy as np
import pytest

from mlffkit import reference as gen
from mlffkit.reference import iso17, md17, shifts
from mlffkit.reference.molecules import canonical, elements, ring_count
from mlffkit.reference.store import write_npz
from mlffkit.files import sha256_of
from mlffkit.provenance import machine


def test_iso17_isomers_are_distinct_c7o2h10():
    assert len(iso17.ISOMERS) >= 24
    iso17.check_isomers(iso17.ISOMERS)
    with pytest.raises(ValueError, match="same molecule"):
        iso17.check_isomers(("CC1CC(=O)CC(=O)C1", "O=C1CC(C)CC(=O)C1"))
    with pytest.raises(ValueError, match="not C7H10O2"):
        iso17.check_isomers(("CCO",))


def test_iso17_split_scenarios_are_disjoint():
    keys = [iso17.key(i) for i in range(37)]
    s = iso17.split(keys, n_frames=500, held_out_fraction=0.2, test_block_fraction=0.2,
                    gap_frames=20, seed=170)["scenarios"]
    train, within, other = s["train"], s["test_within"], s["test_other"]
    assert len(other["isomers"]) == 7 and not set(other["isomers"]) & set(train["isomers"])
    assert sorted(train["isomers"] + other["isomers"]) == keys
    assert within["isomers"] == train["isomers"]
    assert train["frames"] == [0, 380] and within["frames"] == [400, 500]
    assert other["frames"] == [0, 500]


def test_shift_pools_shift_one_thing_at_a_time():
    chno = shifts.CHNO
    pools = shifts.enumerated_pools()
    assert {k: len(v) for k, v in pools.items()} == {
        "train": 400, "test_id": 50, "test_elements": 50, "test_rings": 50}
    for pool in ("train", "test_id"):
        assert all(elements(s) <= chno and ring_count(s) == 0 for s in pools[pool])
    assert not set(pools["train"]) & set(pools["test_id"])
    assert all(ring_count(s) == 0 and len(elements(s) - chno) == 1
               for s in pools["test_elements"])
    assert set().union(*(elements(s) for s in pools["test_elements"])) - chno == set(
        shifts.NEW_ELEMENTS)
    assert all(elements(s) <= chno and ring_count(s) > 0 for s in pools["test_rings"])
    assert all(canonical(s) == s for pool in pools.values() for s in pool)
    config = shifts.ShiftsConfig()
    assert config.pool_smiles("test_forces") == config.pool_smiles("test_id")
    assert config.hot_temperature_K > config.temperature_K
    # the pools depend on the seed only, and a given tuple replaces a pool
    assert shifts.enumerated_pools(2024) == pools != shifts.enumerated_pools(1)
    assert shifts.ShiftsConfig(train=("CCO",)).pool_smiles("train") == ("CCO",)


def test_every_shift_molecule_has_mmff94_parameters():
    from rdkit import Chem
    from rdkit.Chem import AllChem

    for smiles in sum(shifts.enumerated_pools().values(), ()):
        assert AllChem.MMFFHasAllMoleculeParams(Chem.AddHs(Chem.MolFromSmiles(smiles))), smiles


def test_npz_bytes_are_reproducible(tmp_path):
    arrays = {"x": np.arange(6.0).reshape(2, 3), "s": np.str_("CCO")}
    write_npz(tmp_path / "a.npz", arrays)
    write_npz(tmp_path / "b.npz", arrays)
    assert sha256_of(tmp_path / "a.npz") == sha256_of(tmp_path / "b.npz")
    with np.load(tmp_path / "a.npz") as npz:
        np.testing.assert_array_equal(npz["x"], arrays["x"])
        assert str(npz["s"]) == "CCO"


def test_unknown_setting_is_refused(tmp_path):
    with pytest.raises(TypeError, match="n_frames"):
        gen.generate("xtb-shifts", out_dir=tmp_path, n_frame=3)
    with pytest.raises(KeyError, match="xtb-md17"):
        gen.generate("md17", out_dir=tmp_path)


TINY_SHIFTS = dict(pools=("test_elements", "test_forces"), test_elements=("CS",),
                   test_id=("C=CC=O",), n_equil=4,
                   stride=2, n_frames_test=3, progress=False)


def test_shifts_files_provenance_resume_and_verify(tmp_path):
    folder = gen.generate("xtb-shifts", out_dir=tmp_path, **TINY_SHIFTS)
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["complete"] and prov["engine"]["method"] == "GFN2-xTB"
    # the same code and machine fields as a results-store record (mlffkit.provenance)
    assert {"git_commit", "git_dirty", "mlffkit_version", "created_utc"} <= set(prov)
    assert set(machine()) | {"rdkit"} == set(prov["environment"])
    assert set(prov["files"]) == {"test_elements/000_CH4S.npz", "test_forces/000_C3H4O.npz"}
    data = gen.load("xtb-shifts", "test_elements/000_CH4S", out_dir=tmp_path)
    assert data["pool"] == "test_elements" and data["smiles"] == "CS"
    n = len(data["numbers"])
    for k in ("positions", "forces", "velocities", "mmff_forces"):
        assert data[k].shape == (3, n, 3) and data[k].dtype == np.float32
    for k in ("energy", "time_fs", "mmff_energy"):
        assert data[k].shape == (3,) and data[k].dtype == np.float64
    assert gen.verify("xtb-shifts", out_dir=tmp_path) == {rel: "ok" for rel in prov["files"]}

    # a second call finds everything done and leaves the files alone
    target = folder / "test_elements" / "000_CH4S.npz"
    stamp = target.stat().st_mtime_ns
    gen.generate("xtb-shifts", out_dir=tmp_path, **TINY_SHIFTS)
    assert target.stat().st_mtime_ns == stamp
    # starting over reproduces the same bytes
    first = sha256_of(target)
    gen.generate("xtb-shifts", out_dir=tmp_path, resume=False, **TINY_SHIFTS)
    assert target.stat().st_mtime_ns != stamp and sha256_of(target) == first


def test_verify_detects_tampered_missing_and_unlisted_files(tmp_path):
    folder = gen.generate("xtb-shifts", out_dir=tmp_path, **TINY_SHIFTS)
    target = folder / "test_elements" / "000_CH4S.npz"
    blob = bytearray(target.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    target.write_bytes(bytes(blob))
    with pytest.raises(gen.VerifyError, match="000_CH4S.npz: sha256 mismatch"):
        gen.verify("xtb-shifts", out_dir=tmp_path)
    (folder / "test_forces" / "000_C3H4O.npz").rename(folder / "extra.npz")
    status = gen.verify("xtb-shifts", out_dir=tmp_path, raise_on_error=False)
    assert status["test_forces/000_C3H4O.npz"] == "missing"
    assert status["extra.npz"] == "unlisted"
    # generate repairs what verify found
    gen.generate("xtb-shifts", out_dir=tmp_path, **TINY_SHIFTS)
    assert gen.verify("xtb-shifts", out_dir=tmp_path, raise_on_error=False)["extra.npz"] == \
        "unlisted"


def test_iso17_writes_the_split(tmp_path):
    folder = gen.generate("xtb-iso17", out_dir=tmp_path, isomers=iso17.ISOMERS[:5], n_equil=2,
                          n_frames=10, test_block_fraction=0.3, gap_frames=1, progress=False)
    split = json.loads((folder / "split.json").read_text())["scenarios"]
    assert len(split["test_other"]["isomers"]) == 1 and split["test_within"]["frames"] == [7, 10]
    assert gen.verify("xtb-iso17", out_dir=tmp_path)["split.json"] == "ok"
    data = gen.load("xtb-iso17", "isomer_00", out_dir=tmp_path)
    assert data["smiles"] == iso17.ISOMERS[0] and data["positions"].shape == (10, 19, 3)


def test_md17_starts_from_the_rmd17_frame(tmp_path):
    from mlffkit.data import registry

    if registry.default_registry().locate(md17.RMD17_DIR.as_posix() +
                                          "/rmd17_ethanol_train_01.npz") is None:
        pytest.skip("rMD17 is neither in the data mirror nor in MLFFKIT_DATA or the cache")
    source = md17.rmd17_file("ethanol")
    folder = gen.generate("xtb-md17", out_dir=tmp_path, molecules=["ethanol"], n_equil=0,
                          n_frames=2, progress=False)
    data = gen.load("xtb-md17", "ethanol", out_dir=tmp_path)
    with np.load(source) as ref:
        np.testing.assert_array_equal(data["numbers"], ref["nuclear_charges"])
        start = ref["coords"][0]
    # frame 0 is the starting geometry, moved to its centre of mass
    shift = data["positions"][0].astype(float) - start
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=1e-5)
    entry = json.loads((folder / "provenance.json").read_text())["files"]["ethanol.npz"]
    assert entry["start"]["sha256"] == sha256_of(source)


@pytest.mark.parametrize("name", sorted(gen.SETS))
def test_committed_set_matches_its_checksums(name):
    folder = gen.set_dir(name)
    if not (folder / "provenance.json").exists():
        pytest.skip(f"{name} has not been generated in this checkout")
    prov = json.loads((folder / "provenance.json").read_text())
    if not prov.get("complete"):
        pytest.skip(f"{name} is still being generated")
    status = gen.verify(name)
    assert status and all(v in {"ok", "partial"} for v in status.values())


def test_checkpoint_of_old_settings_is_discarded_with_a_warning(tmp_path):
    from ase.build import molecule

    from mlffkit.reference.md import Interrupted, LangevinSettings, run_langevin
    from mlffkit.calculators.xtb import GFN2xTB

    stale = tmp_path / "xtb-shifts" / "test_elements" / "000_CH4S.partial.npz"
    stale.parent.mkdir(parents=True)
    water = molecule("H2O")
    with pytest.raises(Interrupted):
        run_langevin(water.numbers, water.positions, LangevinSettings(500.0, 0.5, 5), seed=1,
                     calculator=GFN2xTB(), checkpoint=stale, stop_after_steps=2)
    with pytest.warns(UserWarning, match="other settings; starting over"):
        gen.generate("xtb-shifts", out_dir=tmp_path, **TINY_SHIFTS)
    assert not stale.exists()
    assert gen.verify("xtb-shifts", out_dir=tmp_path)


def test_load_frames_is_a_consecutive_trajectory_and_checksums_match_the_files():
    from mlffkit import reference as generate

    frames = generate.load_frames("xtb-md17", "ethanol")
    raw = generate.load("xtb-md17", "ethanol")
    dt = frames.metadata["frame_interval_fs"]
    assert dt == 0.5 and (frames.time == np.arange(len(frames))).all()
    # consecutive frames: the finite-difference velocity is the stored one to O(dt^2 a)
    v_fd = (frames.positions[2:] - frames.positions[:-2]) / (2 * dt)
    v = raw["velocities"][1:-1]
    assert np.abs(v_fd - v).max() < 0.05 * np.abs(v).max()
    (name, digest), = generate.checksums("xtb-md17", ["ethanol"]).items()
    assert name == "xtb-md17/ethanol.npz"
    assert digest == sha256_of(generate.set_dir("xtb-md17") / "ethanol.npz")
