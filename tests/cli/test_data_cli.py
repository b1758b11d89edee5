"""``mlffkit data list|fetch|verify|generate|build-registry`` (mlffkit.cli.data)."""

from __future__ import annotations

import argparse
import hashlib
import json

import pytest

from mlffkit import cli
from mlffkit.cli import data as data_cli
from mlffkit.data.registry import ChecksumCache, Registry


def _parse(argv, registry=None):
    parser = argparse.ArgumentParser(prog="mlffkit")
    data_cli.add_subparser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", *argv])
    args.registry = registry
    return args


@pytest.fixture
def toy(tmp_path):
    blob = b"hello"
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "x.txt").write_bytes(blob)
    table = {"schema": 1, "sources": {"o/r": {
        "commit": "0" * 40, "prefix": "r/", "license": "MIT", "citation": "c",
        "files": {"x.txt": [5, hashlib.sha256(blob).hexdigest()]},
        "urls": {"x.txt": (tmp_path / "up" / "x.txt").as_uri()}}},
        "datasets": {"toy/x": {"format": "ase", "path": "r/x.txt", "description": "toy"}}}
    return Registry(table, dirs=[("cache", tmp_path / "cache")], download_to=tmp_path / "cache",
                    checksum_cache=ChecksumCache())


def test_list_fetch_verify(toy, capsys, tmp_path):
    args = _parse(["list"], toy)
    assert args.func(args) == 0
    assert "toy/x" in capsys.readouterr().out
    args = _parse(["verify"], toy)
    assert args.func(args) == 1  # not fetched yet
    assert "MISSING  r/x.txt" in capsys.readouterr().out
    args = _parse(["fetch", "toy/*"], toy)
    assert args.func(args) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "cache" / "r" / "x.txt")
    args = _parse(["verify", "-v", "toy/x"], toy)
    assert args.func(args) == 0
    assert "1 ok" in capsys.readouterr().out
    (tmp_path / "cache" / "r" / "x.txt").write_bytes(b"HELLO")
    args = _parse(["verify"], toy)
    assert args.func(args) == 1
    assert "MISMATCH r/x.txt" in capsys.readouterr().out


def test_errors_are_one_line(toy, capsys):
    args = _parse(["fetch", "toy/y"], toy)
    assert args.func(args) == 2
    assert "unknown dataset or file 'toy/y'; did you mean toy/x?" in capsys.readouterr().err
    args = _parse(["fetch", "--no-download", "toy/x"], toy)
    assert args.func(args) == 2
    assert "downloading is off" in capsys.readouterr().err


def test_verify_on_the_mirror(mirror, capsys):
    assert cli.main(["data", "verify"]) == 0
    assert "0 mismatched, 0 missing" in capsys.readouterr().out
    assert cli.main(["data", "list", "rmd17/aspirin/*"]) == 0
    out = capsys.readouterr().out
    assert out.count("rmd17/aspirin/") == 10 and "mirror" in out


def test_generated_sets_verify_through_the_cli(tmp_path, monkeypatch, capsys):
    import shutil

    from mlffkit import reference

    committed = reference.set_dir("xtb-shifts")
    if not committed.exists():
        pytest.skip("generated set xtb-shifts is not in this checkout")
    copy = tmp_path / "xtb-shifts"
    shutil.copytree(committed, copy)
    monkeypatch.setenv("MLFFKIT_GENERATED_DIR", str(tmp_path))
    assert cli.main(["data", "verify", "xtb-shifts"]) == 0
    n_files = len(json.loads((copy / "provenance.json").read_text())["files"])
    assert f"xtb-shifts: {n_files} ok" in capsys.readouterr().out
    victim = sorted(copy.rglob("*.npz"))[0]
    blob = bytearray(victim.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    victim.write_bytes(bytes(blob))
    assert cli.main(["data", "verify", "xtb-shifts"]) == 1
    assert victim.name in capsys.readouterr().out


def test_generate_unknown_set_is_one_line(capsys):
    assert cli.main(["data", "generate", "nope"]) == 2
    assert "valid: openmm-ala2, openmm-water, xtb-iso17, xtb-md17, xtb-shifts" in capsys.readouterr().err


def test_build_registry_check(mirror, tmp_path, capsys):
    manifest = str(mirror / "MANIFEST.json")
    assert cli.main(["data", "build-registry", "--check", manifest]) == 0
    stale = tmp_path / "registry.json"
    stale.write_text("{}")
    assert cli.main(["data", "build-registry", "--check", "-o", str(stale), manifest]) == 1
    assert "is out of date; run mlffkit data build-registry" in capsys.readouterr().err
