import json
import os

import numpy as np
import pandas as pd
import pytest

from mlffkit.files import atomic_write_bytes
from mlffkit.provenance import machine
from mlffkit.results import (CorruptRecordWarning, Result, ResultMissingError, ResultsStore,
                             record_key)

pytestmark = pytest.mark.usefixtures("compute_allowed")


class Counter:
    """A compute function that counts its calls and returns a table and an array."""

    def __init__(self):
        self.calls = 0

    def __call__(self, params):
        self.calls += 1
        a = params["a"]
        return Result(tables={"t": pd.DataFrame({"x": [1, 2], "y": [a, 2.5 * a]})},
                      arrays={"arr": np.arange(4.0) * a})


def run(store, compute, **params):
    return store.load_or_run("exp", {"a": 1.0, **params}, compute, code_version="1",
                             datasets={"d.npz": "ab" * 32}, command="mlffkit run exp")


def test_computes_once_then_loads(tmp_path):
    store, compute = ResultsStore(tmp_path), Counter()
    first = run(store, compute)
    second = run(store, compute)
    assert compute.calls == 1
    pd.testing.assert_frame_equal(first.tables["t"], second.tables["t"])
    np.testing.assert_array_equal(second.arrays["arr"], np.arange(4.0))
    prov = second.provenance
    assert {"git_commit", "git_dirty", "mlffkit_version", "wall_time_s", "machine", "command",
            "created_utc"} <= set(prov)
    assert set(prov["machine"]) == set(machine())
    assert prov["command"] == "mlffkit run exp"
    assert second.record["datasets"] == {"d.npz": "ab" * 32}


def test_changed_parameter_makes_new_record(tmp_path):
    store, compute = ResultsStore(tmp_path), Counter()
    run(store, compute)
    other = run(store, compute, a=2.0)
    assert compute.calls == 2
    assert other.tables["t"]["y"].tolist() == [2.0, 5.0]
    assert len(list((tmp_path / "exp").glob("*.json"))) == 2
    run(store, compute, a=2.0)
    assert compute.calls == 2


def test_key_depends_on_version_data_and_params_not_order():
    base = record_key("e", "1", {"a": 1, "b": [1, 2]}, {"f": "x"})
    assert base == record_key("e", "1", {"b": (1, 2), "a": 1}, {"f": "x"})
    assert base != record_key("e", "2", {"a": 1, "b": [1, 2]}, {"f": "x"})
    assert base != record_key("e", "1", {"a": 1, "b": [1, 2]}, {"f": "y"})
    assert base != record_key("e", "1", {"a": 2, "b": [1, 2]}, {"f": "x"})


def test_non_finite_or_unkeyable_params_rejected():
    with pytest.raises(ValueError, match="finite"):
        record_key("e", "1", {"a": float("nan")}, {})
    with pytest.raises(TypeError, match="cannot key"):
        record_key("e", "1", {"a": object()}, {})


def _only(tmp_path, suffix):
    (path,) = (tmp_path / "exp").glob(f"*{suffix}")
    return path


def test_corrupt_json_is_reported_set_aside_and_recomputed(tmp_path):
    store, compute = ResultsStore(tmp_path), Counter()
    run(store, compute)
    path = _only(tmp_path, ".json")
    path.write_text(path.read_text()[:50])  # truncated
    with pytest.warns(CorruptRecordWarning, match="not usable"):
        again = run(store, compute)
    assert compute.calls == 2
    assert again.tables["t"]["y"].tolist() == [1.0, 2.5]
    assert list((tmp_path / "exp").glob("*.corrupt-*")), "the bad record must be kept aside"


def test_edited_params_do_not_match_key(tmp_path):
    store, compute = ResultsStore(tmp_path), Counter()
    run(store, compute)
    path = _only(tmp_path, ".json")
    record = json.loads(path.read_text())
    record["params"]["a"] = 3.0
    path.write_text(json.dumps(record))
    with pytest.warns(CorruptRecordWarning, match="key does not match"):
        run(store, compute)
    assert compute.calls == 2


def test_tampered_arrays_detected(tmp_path):
    store, compute = ResultsStore(tmp_path), Counter()
    run(store, compute)
    npz = _only(tmp_path, ".npz")
    npz.write_bytes(npz.read_bytes()[:-10] + b"0123456789")
    with pytest.warns(CorruptRecordWarning, match="another sha256"):
        run(store, compute)
    assert compute.calls == 2


def test_no_compute_mode_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(ResultMissingError, match="mlffkit run exp"):
        run(ResultsStore(tmp_path), Counter())


def test_recompute_flag_ignores_store(tmp_path, monkeypatch):
    store, compute = ResultsStore(tmp_path), Counter()
    run(store, compute)
    monkeypatch.setenv("MLFFKIT_RECOMPUTE", "1")
    run(store, compute)
    assert compute.calls == 2


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    target.write_text("old")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"], "no temporary file left"


def test_default_root_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFFKIT_RESULTS_DIR", str(tmp_path))
    assert ResultsStore().root == tmp_path


def test_provenance_sentence_names_record_commit_and_command(tmp_path):
    stored = run(ResultsStore(tmp_path), Counter())
    text = stored.provenance_markdown()
    assert stored.record["key"] in text and "mlffkit run exp" in text
    assert "not stored" in Result().provenance_markdown()


def test_amend_replaces_a_table_keeps_the_key_and_says_so(tmp_path):
    store, compute = ResultsStore(tmp_path), Counter()
    first = run(store, compute)
    key = first.record["key"]
    coarse = pd.DataFrame({"x": [3], "y": [3.5]})
    store.amend("exp", key, {"t": coarse}, reason="summed rows")
    again = run(store, compute)
    assert compute.calls == 1  # still a valid record under the same key
    pd.testing.assert_frame_equal(again.tables["t"], coarse)
    np.testing.assert_array_equal(again.arrays["arr"], np.arange(4.0))
    (note,) = again.provenance["amended"]
    assert note["reason"] == "summed rows" and "git_commit" in note
    assert again.provenance["created_utc"] == first.provenance["created_utc"]
    with pytest.raises(KeyError, match="no usable record"):
        store.amend("exp", "0" * 20, {"t": coarse}, reason="none")
