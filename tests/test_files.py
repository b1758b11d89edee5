"""mlffkit.files: atomic writes, the file checksum, and the safe torch load."""

import hashlib

import pytest
import torch

from mlffkit.files import UnreadableFileError, atomic_write_bytes, load_torch, save_torch, sha256_of


def test_sha256_of_is_hashlib_of_the_bytes(tmp_path):
    blob = bytes(range(256)) * 9000  # more than one 1 MiB chunk
    path = atomic_write_bytes(tmp_path / "f.bin", blob)
    assert sha256_of(path) == hashlib.sha256(blob).hexdigest()


def test_load_torch_round_trip_and_errors(tmp_path):
    path = save_torch({"x": torch.arange(3)}, tmp_path / "a.pt")
    assert torch.equal(load_torch(path)["x"], torch.arange(3))
    with pytest.raises(FileNotFoundError, match="no potential at"):
        load_torch(tmp_path / "missing.pt", what="potential")
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(UnreadableFileError, match=r"a.pt is not a readable potential .*Fix: redo"):
        load_torch(path, what="potential", fix="redo")
