"""Saving and loading potentials.

A checkpoint is a ``torch.save`` file holding only plain types and tensors, so it loads with
``torch.load(weights_only=True)`` (no pickled code is executed)::

    {"format": "mlffkit-potential", "version": 1, "config": model.config,
     "state_dict": model.state_dict(), "extra": {...}}

``state_dict`` includes the normalisation buffers (reference energies, scale, shift, average
number of neighbours). ``extra`` is for the caller (optimizer state, epoch, metrics): plain
types and tensors only.
"""

from __future__ import annotations

from pathlib import Path

import torch

from mlffkit.files import UnreadableFileError, load_torch, save_torch
from .potential import Potential, build_model

__all__ = ["save_checkpoint", "load_checkpoint", "read_checkpoint", "CheckpointError"]

FORMAT = "mlffkit-potential"
VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read, or that does not fit the model it is loaded into."""


_PLAIN = (str, int, float, bool, type(None), torch.Tensor, torch.Size, torch.dtype)


def _check_plain(obj, where: str) -> None:
    """Reject what ``torch.load(weights_only=True)`` could not read back."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"{where}: key {key!r} is not a str or int")
            _check_plain(value, f"{where}[{key!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            _check_plain(value, f"{where}[{i}]")
    elif not isinstance(obj, _PLAIN):
        raise TypeError(
            f"{where} is a {type(obj).__name__}; checkpoints hold only dicts, lists, str, int, "
            "float, bool, None and tensors (convert numpy arrays with torch.as_tensor)"
        )


def save_checkpoint(model: Potential, path, extra: dict | None = None) -> Path:
    """Write ``model`` (config + weights + buffers) and ``extra`` to ``path`` atomically
    (:func:`mlffkit.files.save_torch`: a temporary file beside ``path``, fsynced, then
    renamed; on any error ``path`` is untouched)."""
    if not getattr(model, "config", None):
        raise ValueError("model.config is empty: build the model with build_model(config)")
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": model.config,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": extra if extra is not None else {},
    }
    _check_plain(payload["config"], "config")
    _check_plain(payload["extra"], "extra")
    return save_torch(payload, path)


def read_checkpoint(path, map_location=None) -> dict:
    """The raw checkpoint dict (validated), without building a model."""
    path = Path(path)
    try:
        payload = load_torch(path, map_location, what="mlffkit checkpoint")
    except UnreadableFileError as err:
        raise CheckpointError(str(err)) from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an mlffkit potential checkpoint (no '{FORMAT}' marker)")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path} has checkpoint version {payload.get('version')}, expected {VERSION}")
    for key in ("config", "state_dict"):
        if not isinstance(payload.get(key), dict):
            raise CheckpointError(f"{path} has no valid '{key}'")
    return payload


def _config_diff(a, b, prefix="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            out += _config_diff(a.get(key, "<missing>"), b.get(key, "<missing>"), f"{prefix}{key}.")
        return out
    return [] if a == b else [f"{prefix[:-1]}: checkpoint {a!r} != model {b!r}"]


def load_checkpoint(path, map_location=None, model: Potential | None = None, return_extra: bool = False):
    """Load a potential saved by :func:`save_checkpoint`.

    Args:
        path: the checkpoint file.
        map_location: device for the tensors (as in ``torch.load``).
        model: load into this existing model instead of building one from the stored config;
            its config must equal the stored one (else :class:`CheckpointError` lists the
            differences).
        return_extra: return ``(model, extra)`` instead of the model.

    The model is returned in eval mode, on ``map_location`` when given.
    """
    payload = read_checkpoint(path, map_location=map_location)
    config = payload["config"]
    if model is not None:
        diff = _config_diff(config, model.config)
        if diff:
            raise CheckpointError(f"{path} was saved from a different model config:\n  " + "\n  ".join(diff))
    else:
        try:
            model = build_model(config)
        except Exception as err:
            raise CheckpointError(f"cannot build the model stored in {path}: {err}") from err
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"the weights in {path} do not fit its model config: {err}") from err
    if map_location is not None:
        model = model.to(map_location)
    model.eval()
    return (model, payload["extra"]) if return_extra else model
