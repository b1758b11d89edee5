"""The dataset registry: table up to date, resolution order, checksums, downloads (no network:
file:// URLs), error messages. (Named test_data_registry.py: tests/experiments has a
test_registry.py and test basenames must be unique.)"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.request

import numpy as np
import pytest

from mlffkit import cli, data
from mlffkit.data import ChecksumMismatchError, DataNotFoundError, build_registry, registry
from mlffkit.data.registry import ChecksumCache, Registry


# -- the committed table -------------------------------------------------------------------
def test_registry_json_is_up_to_date_with_the_manifest(mirror):
    assert build_registry.build_from_file(mirror / "MANIFEST.json") == \
        build_registry.REGISTRY_JSON.read_text(), (
            "registry.json is stale: run mlffkit data build-registry "
            "../shared/data/MANIFEST.json")


def test_every_manifest_file_is_registered_with_url_checksum_license_citation(mirror):
    manifest = json.loads((mirror / "MANIFEST.json").read_text())
    files = data.registry.files()
    assert len(files) == len(manifest)
    for entry in manifest:
        reg = files[entry["file"]]
        assert (reg.url, reg.sha256, reg.size) == (entry["url"], entry["sha256"], entry["size"])
        assert entry["license"].startswith(reg.license) and reg.citation


def test_the_book_datasets_are_registered():
    names = set(data.datasets())
    for mol in ("aspirin", "ethanol", "naphthalene", "salicylic_acid"):
        assert {f"egraff/md17/{mol}/{s}" for s in ("train", "val", "test")} <= names
    assert len([n for n in names if n.startswith("rmd17/")]) == 100
    for name in ("botnet/3bpa/train_300K", "botnet/acac/test_H_transfer", "egraff/3bpa/val",
                 "egraff/3bpa/test", "egraff/gete/test", "egraff/lips/val",
                 "egraff/lips20/Li2S", "deepmd/water/data_3", "mdsim/alanine/fes",
                 "mdsim/alanine/pdb", "schnetpack/iso17", "modelforge/spice"):
        assert name in names
    ds = data.registry.dataset("egraff/lips20/Li2S")
    assert ds.format == "deepmd" and any(f.endswith("set.000/coord.npy") for f in ds.files)
    assert all("/g67/" not in n for n in names)  # no coordinates upstream


def test_rules_make_no_dataset_without_files():
    table = json.loads(build_registry.REGISTRY_JSON.read_text())
    Registry(table)  # raises if a dataset has no files
    table["datasets"]["broken"] = {"format": "npz", "path": "nowhere/x.npz"}
    with pytest.raises(ValueError, match="broken has no registered files"):
        Registry(table)


def test_works_without_the_mirror(monkeypatch, tmp_path):
    """A fresh clone: no mirror. Names and metadata still work; resolving without download
    says where it looked and how to fix it."""
    monkeypatch.setattr(registry, "mirror_dir", lambda: tmp_path / "no-mirror")
    assert "rmd17/aspirin/train_01" in data.datasets()
    assert registry.mirror_dir() not in [p for _, p in registry.search_dirs() if p.exists()]
    with pytest.raises(DataNotFoundError, match="downloading is off.*raw.githubusercontent"):
        data.resolve("rmd17/aspirin/train_01", download=False)


def test_mirror_is_beside_the_checkout():
    assert registry.mirror_dir() == registry.REPO_ROOT.parent / "shared" / "data"
    assert (registry.REPO_ROOT / "src" / "mlffkit" / "__init__.py").exists()


# -- a tiny registry of our own ------------------------------------------------------------
def _payload(seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    import io

    buf = io.BytesIO()
    np.savez(buf, pos=rng.normal(size=(3, 2, 3)), atomic_numbers=np.array([1, 1]),
             energy=rng.normal(size=(3, 1)), forces=rng.normal(size=(3, 2, 3)))
    return buf.getvalue()


@pytest.fixture
def toy(tmp_path):
    """A registry of two files (one dataset each, plus a two-file directory dataset) whose
    URLs point to file:// copies in ``upstream``; data dirs ``env`` and ``mirror``,
    downloads to ``cache``."""
    upstream = tmp_path / "upstream"
    files = {"repo/a.npz": _payload(0), "repo/b.npz": _payload(1),
             "repo/sys/type.raw": b"0\n0\n", "repo/sys/type_map.raw": b"H\n"}
    table = {"schema": 1, "sources": {"o/repo": {
        "commit": "c" * 40, "prefix": "repo/", "license": "MIT", "citation": "Toy et al.",
        "files": {}, "urls": {}}},
        "datasets": {"toy/a": {"format": "nequip_npz", "path": "repo/a.npz"},
                     "toy/b": {"format": "nequip_npz", "path": "repo/b.npz",
                               "metadata": {"timestep_fs": 0.5}},
                     "toy/sys": {"format": "deepmd", "path": "repo/sys"}}}
    for name, blob in files.items():
        (upstream / name).parent.mkdir(parents=True, exist_ok=True)
        (upstream / name).write_bytes(blob)
        path = name.removeprefix("repo/")
        table["sources"]["o/repo"]["files"][path] = [len(blob),
                                                     hashlib.sha256(blob).hexdigest()]
        table["sources"]["o/repo"]["urls"][path] = (upstream / name).as_uri()
    dirs = {k: tmp_path / k for k in ("env", "mirror", "cache")}
    reg = Registry(table, dirs=[("MLFFKIT_DATA", dirs["env"]), ("mirror", dirs["mirror"]),
                                ("cache", dirs["cache"])],
                   download_to=dirs["cache"],
                   checksum_cache=ChecksumCache())
    reg.blobs, reg.upstream, reg.paths = files, upstream, dirs
    return reg


def _place(reg, where, name):
    target = reg.paths[where] / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(reg.blobs[name])
    return target


def test_resolution_order_env_then_mirror_then_cache(toy):
    _place(toy, "cache", "repo/a.npz")
    assert toy.resolve("toy/a") == toy.paths["cache"] / "repo/a.npz"
    _place(toy, "mirror", "repo/a.npz")
    assert toy.resolve("toy/a") == toy.paths["mirror"] / "repo/a.npz"
    _place(toy, "env", "repo/a.npz")
    assert toy.resolve("toy/a") == toy.paths["env"] / "repo/a.npz"
    assert toy.resolve_file("repo/a.npz") == toy.paths["env"] / "repo/a.npz"


def test_download_by_url_checks_and_renames(toy):
    path = toy.resolve("toy/b")
    assert path == toy.paths["cache"] / "repo/b.npz" and path.read_bytes() == toy.blobs[
        "repo/b.npz"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["b.npz"]  # no temp files left
    frames = toy.load("toy/b")
    assert len(frames) == 3 and frames.metadata == {**frames.metadata, "dataset": "toy/b",
                                                   "timestep_fs": 0.5}


def test_mismatching_download_leaves_no_file(toy):
    (toy.upstream / "repo/a.npz").write_bytes(b"tampered upstream")
    with pytest.raises(ChecksumMismatchError) as err:
        toy.resolve("toy/a")
    message = str(err.value)
    assert "a.npz" in message and toy.files["repo/a.npz"].sha256 in message
    assert hashlib.sha256(b"tampered upstream").hexdigest() in message
    assert "Nothing was kept" in message
    assert [p for p in toy.paths["cache"].rglob("*") if p.is_file()] == []


def test_failed_download_leaves_no_file_and_says_where_it_looked(toy):
    (toy.upstream / "repo/a.npz").unlink()
    with pytest.raises(DataNotFoundError, match=r"could not download repo/a.npz .*MLFFKIT_DATA"):
        toy.resolve("toy/a")
    assert not (toy.paths["cache"] / "repo/a.npz").exists()
    assert not list(toy.paths["cache"].rglob("*.part"))


def test_interrupted_download_leaves_no_file(toy, monkeypatch):
    class Broken:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, n):
            raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Broken())
    with pytest.raises(DataNotFoundError, match="connection reset"):
        toy.resolve("toy/a")
    assert [p for p in toy.paths["cache"].rglob("*") if p.is_file()] == []


def test_offline_and_no_download(toy, monkeypatch):
    with pytest.raises(DataNotFoundError, match="downloading is off"):
        toy.resolve("toy/a", download=False)
    monkeypatch.setenv("MLFFKIT_OFFLINE", "1")
    with pytest.raises(DataNotFoundError, match=r"\$MLFFKIT_DATA/repo/a.npz"):
        toy.resolve("toy/a")


def test_tampered_local_file_names_file_hashes_and_fix(toy):
    path = _place(toy, "mirror", "repo/a.npz")
    toy.resolve("toy/a")
    blob = bytearray(path.read_bytes())
    blob[100] ^= 0xFF
    path.write_bytes(bytes(blob))
    os.utime(path, ns=(1, 1))  # a new mtime: the cached checksum no longer applies
    with pytest.raises(ChecksumMismatchError) as err:
        toy.resolve("toy/a")
    message = str(err.value)
    assert str(path) in message and toy.files["repo/a.npz"].sha256 in message
    assert hashlib.sha256(bytes(blob)).hexdigest() in message
    assert "mlffkit data fetch repo/a.npz" in message


def test_each_process_hashes_a_file_in_full_once_until_it_changes(toy, monkeypatch):
    _place(toy, "env", "repo/a.npz")
    calls = []
    real = registry.sha256_of
    monkeypatch.setattr(registry, "sha256_of", lambda p: calls.append(p) or real(p))
    toy.resolve("toy/a")
    toy.resolve("toy/a")
    assert len(calls) == 1
    again = Registry.__new__(Registry)  # a new process: nothing is remembered on disk
    again.__dict__.update(toy.__dict__)
    again.checksums = ChecksumCache()
    again.resolve("toy/a")
    assert len(calls) == 2
    os.utime(toy.paths["env"] / "repo/a.npz", ns=(5, 5))
    toy.resolve("toy/a")
    assert len(calls) == 3


def _flip_a_digit_keeping_size_and_mtime(path):
    """Edit ``path`` in place as a hostile user would: one digit changed, same size, the
    old mtime put back."""
    stat = path.stat()
    blob = bytearray(path.read_bytes())
    at = next(i for i in range(len(blob) // 2, len(blob)) if chr(blob[i]).isdigit())
    blob[at] = ord("1") if blob[at] != ord("1") else ord("2")
    path.write_bytes(bytes(blob))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)


def test_edit_with_size_and_mtime_restored_is_caught_in_the_same_process(toy):
    path = _place(toy, "env", "repo/a.npz")
    toy.resolve("toy/a")
    time.sleep(0.05)  # past the kernel clock's granularity, so that the ctime moves
    _flip_a_digit_keeping_size_and_mtime(path)
    with pytest.raises(ChecksumMismatchError, match="a.npz"):
        toy.resolve("toy/a")


def _ethanol_copy_in_env_dir(mirror, monkeypatch, tmp_path):
    """A copy of a small mirror file in a fresh ``$MLFFKIT_DATA``, which then resolves to it."""
    name = "schnetpack/tests/data/ethanol_snip.xyz"
    copy = tmp_path / name
    copy.parent.mkdir(parents=True)
    copy.write_bytes((mirror / name).read_bytes())
    monkeypatch.setenv("MLFFKIT_DATA", str(tmp_path))
    assert data.resolve("schnetpack/ethanol_snip") == copy
    return copy


def test_edit_with_size_and_mtime_restored_is_caught_by_the_next_run(mirror, monkeypatch,
                                                                      tmp_path):
    copy = _ethanol_copy_in_env_dir(mirror, monkeypatch, tmp_path)
    _flip_a_digit_keeping_size_and_mtime(copy)
    registry.default_registry.cache_clear()  # a new process
    try:
        with pytest.raises(ChecksumMismatchError, match="ethanol_snip.xyz"):
            data.fetch(["schnetpack/ethanol_snip"])
    finally:
        registry.default_registry.cache_clear()


def test_stale_parts_of_killed_downloads_are_removed_before_the_next(toy):
    folder = toy.paths["cache"] / "repo"
    folder.mkdir(parents=True)
    dead = folder / ".x.npz.999999999.abcd.part"  # beyond pid_max: its writer is gone
    live = folder / f".x.npz.{os.getpid()}.abcd.part"  # a download still running
    dead.write_bytes(b"half")
    live.write_bytes(b"half")
    assert toy.resolve("toy/a") == folder / "a.npz"
    assert not dead.exists() and live.exists()


def test_downloads_and_copies_get_the_umask_mode(toy):
    _place(toy, "mirror", "repo/sys/type.raw")  # copied; type_map.raw downloaded
    old = os.umask(0o027)
    try:
        paths = [toy.resolve("toy/a"), *toy.resolve("toy/sys").iterdir()]
    finally:
        os.umask(old)
    assert {p.stat().st_mode & 0o777 for p in paths} == {0o666 & ~0o027}


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_mlffkit_data_must_be_a_directory(kind, monkeypatch, tmp_path, capsys):
    value = tmp_path / "data"
    if kind == "file":
        value.write_text("")
    monkeypatch.setenv("MLFFKIT_DATA", str(value))
    why = "does not exist; fix: create it" if kind == "missing" else "is a file, not a dir"
    with pytest.raises(DataNotFoundError, match=f"MLFFKIT_DATA={value} {why}.*unset"):
        data.resolve("schnetpack/ethanol_snip")
    assert cli.main(["data", "fetch", "schnetpack/ethanol_snip"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"MLFFKIT_DATA={value}" in err


def test_directory_dataset_comes_from_one_directory(toy):
    _place(toy, "env", "repo/sys/type.raw")  # env has only part of it
    for name in ("repo/sys/type.raw", "repo/sys/type_map.raw"):
        _place(toy, "mirror", name)
    assert toy.resolve("toy/sys") == toy.paths["mirror"] / "repo/sys"


def test_partial_dataset_is_completed_in_the_download_dir(toy):
    _place(toy, "mirror", "repo/sys/type.raw")
    path = toy.resolve("toy/sys")  # type.raw copied from the mirror, type_map.raw downloaded
    assert path == toy.paths["cache"] / "repo/sys"
    assert sorted(p.name for p in path.iterdir()) == ["type.raw", "type_map.raw"]


def test_unknown_names_suggest_close_ones(toy):
    with pytest.raises(KeyError, match="did you mean toy/a"):
        toy.dataset("toy/aa")
    with pytest.raises(KeyError, match="unknown dataset or file 'zzz'"):
        toy.expand(["zzz"])
    assert toy.expand(["toy/*"])[:2] == ["repo/a.npz", "repo/b.npz"]


def test_verify_reports_ok_mismatch_missing(toy):
    _place(toy, "mirror", "repo/a.npz")
    (_place(toy, "env", "repo/b.npz")).write_bytes(b"bad")
    status = {v.name: v.status for v in toy.verify()}
    assert status == {"repo/a.npz": "ok", "repo/b.npz": "mismatch",
                      "repo/sys/type.raw": "missing", "repo/sys/type_map.raw": "missing"}


def test_checksums_of_a_dataset(toy):
    assert toy.checksums_of("toy/a") == {"repo/a.npz": toy.files["repo/a.npz"].sha256}


# -- the environment decides the default directories ----------------------------------------
def test_default_dirs_follow_the_environment(monkeypatch, tmp_path):
    (tmp_path / "mine").mkdir()
    monkeypatch.setenv("MLFFKIT_DATA", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert registry.search_dirs()[0] == ("MLFFKIT_DATA", tmp_path / "mine")
    assert registry.download_dir() == tmp_path / "mine"
    assert registry.cache_dir() == tmp_path / "xdg" / "mlffkit"
    monkeypatch.delenv("MLFFKIT_DATA")
    assert [label for label, _ in registry.search_dirs()] == ["mirror", "cache"]
    assert registry.download_dir() == tmp_path / "xdg" / "mlffkit"


def test_env_dir_copy_wins_over_the_mirror(mirror, monkeypatch, tmp_path):
    _ethanol_copy_in_env_dir(mirror, monkeypatch, tmp_path)
    assert len(data.load("schnetpack/ethanol_snip")) == 3


def test_verify_passes_on_the_mirror(mirror):
    bad = [v for v in data.verify() if v.status != "ok"]
    assert bad == []
