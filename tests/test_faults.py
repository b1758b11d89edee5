"""Fault injection: the results store and every checkpoint load site under the faults a
hostile user or a bad day produces (kill during save, concurrent saves, read-only store, full
disk, hand-edited or damaged records, malicious pickles). The MD driver's faults are tested in
``tests/md/``, the data layer's in ``tests/data/``."""

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
import torch

import mlffkit.results as results
from mlffkit.paths import REPO_ROOT
from mlffkit.results import (CorruptRecordError, CorruptRecordWarning, Result,
                             ResultNotStoredError, ResultsStore, UnsavedResultWarning)

pytestmark = pytest.mark.usefixtures("compute_allowed")

EXP, PARAMS, VERSION = "exp", {"a": 1.0}, "1"


class Counter:
    def __init__(self, result=None):
        self.calls, self.result = 0, result

    def __call__(self, params):
        self.calls += 1
        if self.result is not None:
            return self.result
        return Result(tables={"t": pd.DataFrame({"x": [1, 2], "y": [params["a"], 2.0]})},
                      arrays={"arr": np.arange(3.0)})


def run(store, compute, **params):
    return store.load_or_run(EXP, {**PARAMS, **params}, compute, code_version=VERSION,
                             command="mlffkit run exp")


def record_files(root):
    return sorted(p.name for p in (root / EXP).iterdir()) if (root / EXP).exists() else []


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private user cache (the fallback for unwritable stores)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "mlffkit"


def subprocess_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MLFFKIT_NO_COMPUTE")}
    return {**env, "XDG_CACHE_HOME": str(tmp_path / "cache")}


# -- concurrency -------------------------------------------------------------------------
CONCURRENT = textwrap.dedent("""
    import sys, time
    import numpy as np, pandas as pd
    from mlffkit.results import Result, ResultsStore

    root, log = sys.argv[1], sys.argv[2]

    def compute(params):
        with open(log, "a") as handle:
            handle.write("computed\\n")
        time.sleep(1.5)
        rng = np.random.default_rng()  # each process would store different numbers
        return Result(tables={"t": pd.DataFrame({"v": rng.random(3)})},
                      arrays={"arr": rng.random(50)})

    out = ResultsStore(root).load_or_run("exp", {"a": 1}, compute, code_version="1")
    print(out.tables["t"]["v"].tolist())
""")


def test_concurrent_requests_compute_once_and_agree(tmp_path):
    script, log = tmp_path / "worker.py", tmp_path / "calls.log"
    script.write_text(CONCURRENT)
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path / "store"), str(log)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=subprocess_env(tmp_path)) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert log.read_text().count("computed") == 1, "the second process must wait and load"
    assert outs[0][0] == outs[1][0], "both processes must return the stored numbers"
    assert any("waiting for another process" in err for _, err in outs)
    (json_path,) = (tmp_path / "store" / "exp").glob("*.json")
    record = json.loads(json_path.read_text())
    npz = json_path.with_suffix(".npz")
    assert results.sha256_of(npz) == record["arrays_sha256"]


# -- kill during save ----------------------------------------------------------------------
KILLED = textwrap.dedent("""
    import os, sys, time
    import numpy as np, pandas as pd
    import mlffkit.files
    from mlffkit.results import Result, ResultsStore

    def hang(src, dst):  # the process dies between writing the temporary file and renaming it
        print("writing", flush=True)
        time.sleep(600)

    mlffkit.files.os.replace = hang
    ResultsStore(sys.argv[1]).load_or_run(
        "exp", {"a": 1.0}, lambda p: Result(tables={"t": pd.DataFrame({"x": [1]})},
                                            arrays={"arr": np.ones(3)}),
        code_version="1")
""")


def test_kill_during_save_leaves_no_record_and_the_next_run_cleans_up(tmp_path, cache):
    script, root = tmp_path / "killed.py", tmp_path / "store"
    script.write_text(KILLED)
    proc = subprocess.Popen([sys.executable, str(script), str(root)], stdout=subprocess.PIPE,
                            text=True, env=subprocess_env(tmp_path))
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    left = record_files(root)
    assert left and all(name.endswith(".part") for name in left), left
    compute = Counter()
    run(ResultsStore(root), compute)
    assert compute.calls == 1
    assert not [n for n in record_files(root) if n.endswith(".part")], "stale .part removed"


def test_live_writers_part_files_are_kept(tmp_path):
    from mlffkit.files import remove_stale_parts

    folder = tmp_path / "f"
    folder.mkdir()
    live = folder / f".x.json.{os.getpid()}.abcd.part"
    dead = folder / ".x.json.999999999.abcd.part"
    old_unowned = folder / ".x.json.part"
    for path in (live, dead, old_unowned):
        path.write_text("partial")
    os.utime(old_unowned, (time.time() - 2 * 86400,) * 2)
    assert sorted(remove_stale_parts(folder)) == sorted([dead, old_unowned])
    assert live.exists()


# -- unwritable store ----------------------------------------------------------------------
def fail_writes_under(monkeypatch, root, code):
    """Make every atomic write under ``root`` fail with ``code`` (EACCES, ENOSPC)."""
    real = results.atomic_write_bytes

    def write(target, data):
        if str(target).startswith(str(root)):
            raise OSError(code, os.strerror(code), str(target))
        return real(target, data)

    monkeypatch.setattr(results, "atomic_write_bytes", write)


@pytest.mark.parametrize("code", [errno.EACCES, errno.ENOSPC, errno.EROFS])
def test_write_failure_keeps_the_result_in_the_fallback(tmp_path, monkeypatch, cache, code):
    root = tmp_path / "store"
    fail_writes_under(monkeypatch, root, code)
    store, compute = ResultsStore(root), Counter()
    with pytest.warns(UnsavedResultWarning, match="kept at .*mv "):
        out = run(store, compute)
    assert compute.calls == 1 and out.tables["t"]["y"].tolist() == [1.0, 2.0]
    kept = cache / "unsaved-results" / EXP
    assert out.record["unsaved_path"] == str(kept / f"{out.record['key']}.json")
    # the kept files are a valid record: filed into the store as the warning says, they load
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (root / EXP).mkdir(parents=True)
    for path in kept.iterdir():
        os.replace(path, root / EXP / path.name)
    assert run(store, compute).tables["t"]["y"].tolist() == [1.0, 2.0]
    assert compute.calls == 1


def test_write_failure_everywhere_raises_with_the_result(tmp_path, monkeypatch, cache):
    fail_writes_under(monkeypatch, tmp_path, errno.ENOSPC)
    with pytest.raises(ResultNotStoredError, match="only in memory") as caught:
        run(ResultsStore(tmp_path / "store"), Counter())
    assert caught.value.result.tables["t"]["y"].tolist() == [1.0, 2.0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_reported_before_computing(tmp_path, cache):
    root = tmp_path / "store"
    (root / EXP).mkdir(parents=True)
    (root / EXP).chmod(0o555)
    try:
        with pytest.warns(UnsavedResultWarning) as caught:
            run(ResultsStore(root), Counter())
        assert "not writable" in str(caught[0].message)
    finally:
        (root / EXP).chmod(0o755)


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A 64 KiB tmpfs (a real full disk, a real read-only mount); skipped where mounting is
    not permitted."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here (the patched-write tests cover "
                    "the same paths)")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_real_full_or_read_only_filesystem(tiny_filesystem, cache, fault):
    big = Result(tables={"t": pd.DataFrame({"x": [1.0]})},
                 arrays={"noise": np.random.default_rng(0).random(20_000)})  # ~150 kB
    if fault == "read-only":
        big.arrays = {"small": np.ones(3)}
        subprocess.run(["mount", "-o", "remount,ro", str(tiny_filesystem)], check=True)
    with pytest.warns(UnsavedResultWarning):
        out = run(ResultsStore(tiny_filesystem / "store"), Counter(big))
    assert os.path.exists(out.record["unsaved_path"])
    if fault == "full":
        assert not list(tiny_filesystem.rglob("*.part")), "nothing half-written left behind"


# -- damaged and hand-edited records ----------------------------------------------------------
def stored_json(root):
    (path,) = (root / EXP).glob("*.json")
    return path


def test_hand_edited_table_value_is_caught(tmp_path):
    store, compute = ResultsStore(tmp_path), Counter()
    run(store, compute)
    path = stored_json(tmp_path)
    record = json.loads(path.read_text())
    record["tables"]["t"]["data"][0][1] = 1.5
    path.write_text(json.dumps(record, indent=1))
    with pytest.warns(CorruptRecordWarning, match="record_sha256"):
        out = run(store, compute)
    assert compute.calls == 2 and out.tables["t"]["y"].tolist() == [1.0, 2.0]


def test_hand_edited_provenance_is_caught(tmp_path):
    store, compute = ResultsStore(tmp_path), Counter()
    run(store, compute)
    path = stored_json(tmp_path)
    path.write_text(path.read_text().replace('"wall_time_s": ', '"wall_time_s": 1'))
    with pytest.warns(CorruptRecordWarning, match="record_sha256"):
        run(store, compute)


@pytest.mark.parametrize("text", ["[1, 2]", "\"a string\"", "null", ""])
def test_record_that_is_not_an_object_is_reported(tmp_path, text):
    store, compute = ResultsStore(tmp_path), Counter()
    run(store, compute)
    stored_json(tmp_path).write_text(text)
    with pytest.warns(CorruptRecordWarning, match="not usable"):
        run(store, compute)
    assert compute.calls == 2


def test_two_set_asides_within_a_second_both_kept(tmp_path):
    store, compute = ResultsStore(tmp_path), Counter()
    run(store, compute)
    for _ in range(2):
        stored_json(tmp_path).write_text("{")
        with pytest.warns(CorruptRecordWarning):
            run(store, compute)
    aside = [n for n in record_files(tmp_path) if ".corrupt-" in n]
    assert len([n for n in aside if n.endswith(tuple("0123456789")) and ".json." in n]) == 2
    assert len(set(aside)) == len(aside) == 4  # json + npz, twice


def test_set_aside_never_overwrites_even_with_the_same_stamp(tmp_path, monkeypatch):
    class Frozen:
        @staticmethod
        def now(tz=None):
            from datetime import datetime
            return datetime(2026, 1, 1, tzinfo=tz)

    monkeypatch.setattr(results, "datetime", Frozen)
    first, second = tmp_path / "a.json", tmp_path / "b"
    first.write_text("one")
    ResultsStore._set_aside(first)
    first.write_text("two")
    ResultsStore._set_aside(first)
    contents = sorted(p.read_text() for p in tmp_path.glob("a.json.corrupt-*"))
    assert contents == ["one", "two"]
    assert not second.exists()


def test_under_ci_a_corrupt_record_is_an_error_and_nothing_moves(tmp_path, monkeypatch):
    store, compute = ResultsStore(tmp_path), Counter()
    run(store, compute)
    path = stored_json(tmp_path)
    path.write_text("{")
    before = record_files(tmp_path)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(CorruptRecordError, match=f"{path.name}.*nothing was moved"):
        run(store, compute)
    assert record_files(tmp_path) == before


# -- degenerate results ------------------------------------------------------------------
@pytest.mark.parametrize("result, message", [
    (Result(), "no tables and no arrays"),
    (Result(tables={"t": pd.DataFrame({"x": []})}), "no rows"),
    (Result(tables={"t": pd.DataFrame({"x": [np.nan], "name": ["a"]})},
            arrays={"a": np.full(3, np.nan)}), "NaN"),
])
def test_empty_or_degenerate_result_is_not_stored(tmp_path, result, message):
    with pytest.raises(ValueError, match=message):
        run(ResultsStore(tmp_path), Counter(result))
    assert not [n for n in record_files(tmp_path) if not n.startswith(".")]


# -- file modes --------------------------------------------------------------------------
def test_records_get_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        run(ResultsStore(tmp_path), Counter())
    finally:
        os.umask(old)
    modes = {p.suffix: p.stat().st_mode & 0o777 for p in (tmp_path / EXP).iterdir()}
    assert modes == {".json": 0o644, ".npz": 0o644}


def test_committed_records_are_sealed_and_load():
    store = ResultsStore(REPO_ROOT / "data" / "results")
    paths = sorted(store.root.glob("*/*.json"))
    assert paths, "the checkout holds stored records"
    for path in paths[:: max(1, len(paths) // 12)]:
        assert json.loads(path.read_text())["schema"] == results.SCHEMA
        assert store.load(path.parent.name, path.stem) is not None, path


# -- malicious pickles ---------------------------------------------------------------------
class Payload:
    """Unpickling this creates ``marker``: proof that the file ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


@pytest.fixture
def planted(tmp_path):
    """A ``.pt`` file that runs code when unpickled in full, and the marker it would make."""
    marker = tmp_path / "pwned"
    path = tmp_path / "run" / "last.pt"
    path.parent.mkdir()
    torch.save({"format": 1, "format_name": "mlffkit-potential", "x": Payload(marker)}, path)
    return path, marker


def test_the_planted_file_really_runs_code_when_unpickled(planted):
    path, marker = planted
    torch.load(path, weights_only=False)
    assert marker.exists(), "the payload must work, or the tests below prove nothing"


def load_sites():
    from mlffkit.md import calculator
    from mlffkit.models import load_checkpoint
    from mlffkit.models.checkpoint import read_checkpoint
    from mlffkit.training.checkpoint import load_file
    from mlffkit.papers.frames.ddp_check import train_toy

    return {
        "training.checkpoint.load_file": load_file,
        "Trainer.fit(resume=True)": lambda path: train_toy(steps=6, run_dir=path.parent,
                                                           resume=True),
        "models.load_checkpoint": load_checkpoint,
        "models.read_checkpoint": read_checkpoint,
        "md.calculator": calculator,
    }


@pytest.mark.parametrize("site", sorted(load_sites()))
def test_malicious_pickle_runs_nothing_at_any_load_site(planted, site):
    path, marker = planted
    with pytest.raises(Exception, match="(not a readable|weights_only|Unsupported)"):
        load_sites()[site](path)
    assert not marker.exists(), f"{site} executed code from {path}"


def test_rng_state_survives_a_weights_only_checkpoint(tmp_path):
    """Exact resume (tests/training/test_trainer.py) needs every RNG state back through the
    safe loader."""
    import random

    from mlffkit.files import save_torch
    from mlffkit.training.checkpoint import (capture_rng_state, load_file, restore_rng_state,
                                             seed_everything)

    def draws():
        return random.random(), np.random.random(), np.random.normal(), torch.rand(()).item()

    seed_everything(3)
    np.random.normal()  # leaves a cached Gaussian in numpy's state
    save_torch({"rng": capture_rng_state()}, tmp_path / "rng.pt")
    expected = draws()
    restore_rng_state(load_file(tmp_path / "rng.pt")["rng"])
    assert draws() == expected
