"""The dataset registry: every data file by name, upstream URL, sha256, license and citation.

The table lives in ``registry.json`` next to this module (built from the data mirror's
``MANIFEST.json`` by :mod:`mlffkit.data.build_registry`), so nothing outside the package is
needed at import time. Two kinds of names:

- a *file*: its path in the mirror, e.g. ``rmd17-npz/rmd17-npz/rmd17_aspirin_train_01.npz``;
- a *dataset*: what :func:`load` reads, e.g. ``rmd17/aspirin/train_01``,
  ``egraff/md17/naphthalene/test``, ``egraff/lips20/Li2S`` (a deepmd directory). See
  :func:`datasets` (or ``mlffkit data list``).

Where files are found, in this order (the first directory that holds *all* of a dataset's
files wins):

1. ``$MLFFKIT_DATA`` (laid out like the mirror: ``$MLFFKIT_DATA/<file name>``; set to
   anything but an existing directory, it is an error, never skipped);
2. the mirror beside the checkout: ``<repo root>/../shared/data``;
3. the download cache ``~/.cache/mlffkit`` (``$XDG_CACHE_HOME/mlffkit``);
4. a download from the file's URL into ``$MLFFKIT_DATA`` if set, else the cache (not when
   ``MLFFKIT_OFFLINE=1``). A download goes to a temporary file in the target folder, is
   checked against the sha256 and only then renamed into place; a failed or mismatching
   download leaves nothing behind, and the ``.part`` files of killed downloads are removed
   before the next one into that folder.

The sha256 is always checked: each process hashes every file in full the first time it
resolves it, and again whenever the file's size, mtime, inode or ctime has changed since
(ctime is set by the kernel on every write; a user cannot restore it). Nothing is cached on
disk, so a file edited between runs, even with its size and mtime restored, is caught. The
cost is small: about 5 ms for the largest registered file (4 MB), 0.4 s for all 325 (210 MB).
:meth:`Registry.verify` always re-hashes.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import os
import urllib.request
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator


from mlffkit.files import atomic_target, remove_stale_parts, sha256_of
from mlffkit.paths import REPO_ROOT
from .errors import ChecksumMismatchError, DataError, DataNotFoundError
from .readers import READERS

REGISTRY_JSON = Path(__file__).with_name("registry.json")
#: The checkout's root (``src/mlffkit/__init__.py`` -> repository root).
_CHUNK = 1 << 20


# -- where things are ----------------------------------------------------------------------
def env_data_dir() -> Path | None:
    """``$MLFFKIT_DATA`` as a path, or None when unset. A value that is not an existing
    directory raises :class:`DataNotFoundError` (it is never skipped silently)."""
    value = os.environ.get("MLFFKIT_DATA")
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        why, fix = (("is a file, not a directory", "point it at a directory") if path.exists()
                    else ("does not exist", f"create it (mkdir -p {value})"))
        raise DataNotFoundError(f"MLFFKIT_DATA={value} {why}; fix: {fix}, or unset "
                                "MLFFKIT_DATA to use the mirror and the download cache")
    return path


def mirror_dir() -> Path:
    """The read-only data mirror beside the checkout: ``<repo root>/../shared/data``."""
    return REPO_ROOT.parent / "shared" / "data"


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mlffkit`` or ``~/.cache/mlffkit``: the download cache."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "mlffkit"


def download_dir() -> Path:
    """Where downloads go: ``$MLFFKIT_DATA`` if set, else :func:`cache_dir`."""
    return env_data_dir() or cache_dir()


def search_dirs() -> list[tuple[str, Path]]:
    """The data directories in resolution order, as (label, path)."""
    env = env_data_dir()
    out = [] if env is None else [("MLFFKIT_DATA", env)]
    out.append(("mirror", mirror_dir()))
    out.append(("cache", cache_dir()))
    seen, unique = set(), []
    for label, path in out:
        key = str(path.resolve()) if path.exists() else str(path)
        if key not in seen:
            seen.add(key)
            unique.append((label, path))
    return unique


# -- entries -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileEntry:
    """One registered file. ``name`` is its path in the mirror (and in every data dir)."""

    name: str
    url: str
    sha256: str
    size: int
    repo: str
    commit: str
    license: str
    citation: str


@dataclass(frozen=True)
class Dataset:
    """A named dataset: ``format`` (a key of ``readers.READERS``) read from ``path`` (a file,
    or a directory holding ``files``) with ``options``; ``metadata`` is added to what the
    reader returns."""

    name: str
    format: str
    path: str
    files: tuple[str, ...]
    size: int
    description: str
    license: str
    citation: str
    options: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


# -- checksums -----------------------------------------------------------------------------
class ChecksumCache:
    """The sha256 of files hashed by this process, each remembered with the file's (size,
    mtime_ns, inode, ctime_ns) at hashing time. Kept in memory only: a new process hashes
    every file in full at its first use."""

    def __init__(self):
        self._table: dict[str, tuple[tuple[int, ...], str]] = {}

    def sha256(self, path: Path, fresh: bool = False) -> str:
        """The file's sha256, hashed unless this process hashed it already and its size,
        mtime, inode and ctime are unchanged (always hashed when ``fresh``)."""
        stat = path.stat()
        stamp = (stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns)
        key = str(path.resolve())
        cached = self._table.get(key)
        if fresh or cached is None or cached[0] != stamp:
            cached = self._table[key] = (stamp, sha256_of(path))
        return cached[1]


# -- the registry --------------------------------------------------------------------------
class Registry:
    """Files and datasets of a registry table (the parsed ``registry.json``).

    ``dirs`` (list of (label, path)) and ``download_to`` default to the environment-dependent
    :func:`search_dirs` and :func:`download_dir`, looked up at each call; ``checksum_cache``
    to a new in-memory :class:`ChecksumCache`. Tests pass their own."""

    def __init__(self, table: dict[str, Any], dirs: list[tuple[str, Path]] | None = None,
                 download_to: Path | None = None, checksum_cache: ChecksumCache | None = None):
        self.files: dict[str, FileEntry] = {}
        for repo, source in table["sources"].items():
            for path, (size, sha) in source["files"].items():
                name = source["prefix"] + path
                url = f"https://raw.githubusercontent.com/{repo}/{source['commit']}/{path}"
                self.files[name] = FileEntry(name, source.get("urls", {}).get(path, url), sha,
                                             size, repo, source["commit"], source["license"],
                                             source["citation"])
        self.datasets: dict[str, Dataset] = {}
        for name, spec in table["datasets"].items():
            path = spec["path"]
            files = ((path,) if path in self.files else
                     tuple(sorted(f for f in self.files if f.startswith(path.rstrip("/") + "/"))))
            if not files:
                raise ValueError(f"registry: dataset {name} has no registered files at {path}")
            first = self.files[files[0]]
            size = sum(self.files[f].size for f in files)
            self.datasets[name] = Dataset(name, spec["format"], path, files, size,
                                          spec.get("description", ""), first.license,
                                          first.citation, dict(spec.get("options", {})),
                                          dict(spec.get("metadata", {})))
        self._dirs, self._download_to = dirs, download_to
        self.checksums = checksum_cache or ChecksumCache()

    # -- lookup ----------------------------------------------------------------------------
    def dirs(self) -> list[tuple[str, Path]]:
        return self._dirs if self._dirs is not None else search_dirs()

    def download_to(self) -> Path:
        return self._download_to if self._download_to is not None else download_dir()

    def file(self, name: str) -> FileEntry:
        try:
            return self.files[name]
        except KeyError:
            raise KeyError(_unknown("file", name, self.files)) from None

    def dataset(self, name: str) -> Dataset:
        try:
            return self.datasets[name]
        except KeyError:
            raise KeyError(_unknown("dataset", name, self.datasets)) from None

    def expand(self, patterns: Iterable[str]) -> list[str]:
        """File names of the datasets or files matching ``patterns`` (exact names or
        ``fnmatch`` globs such as ``rmd17/aspirin/*``), in order, without repeats."""
        out: dict[str, None] = {}
        for pattern in patterns:
            hits = [d for d in self.datasets if fnmatch.fnmatchcase(d, pattern)]
            names = [f for d in hits for f in self.datasets[d].files]
            names += [f for f in self.files if fnmatch.fnmatchcase(f, pattern)]
            if not names:
                raise KeyError(_unknown("dataset or file", pattern,
                                        [*self.datasets, *self.files]))
            out.update(dict.fromkeys(names))
        return list(out)

    def locate(self, name: str) -> tuple[str, Path] | None:
        """(label, path) of the first data directory holding file ``name``; no hashing."""
        for label, root in self.dirs():
            if (root / name).is_file():
                return label, root / name
        return None

    # -- resolving -------------------------------------------------------------------------
    def _check(self, entry: FileEntry, path: Path, fresh: bool = False) -> Path:
        actual = self.checksums.sha256(path, fresh=fresh)
        if actual != entry.sha256:
            raise ChecksumMismatchError(
                path, entry.sha256, actual,
                f"The file is corrupt or not the registered version of {entry.name}. Fix: "
                f"delete it and run `mlffkit data fetch {entry.name}` (downloads "
                f"{entry.url}), or replace it with the upstream file.")
        return path

    def resolve_file(self, name: str, download: bool = True) -> Path:
        """Path of registered file ``name`` after checking its sha256 (see module doc)."""
        return self._resolve(self.file(name).name, (name,), download)

    def resolve(self, name: str, download: bool = True) -> Path:
        """Path of dataset ``name`` (its file, or its directory), every file checked."""
        dataset = self.dataset(name)
        return self._resolve(dataset.path, dataset.files, download)

    def _resolve(self, path: str, files: tuple[str, ...], download: bool) -> Path:
        for _, root in self.dirs():
            if all((root / f).is_file() for f in files):
                for f in files:
                    self._check(self.files[f], root / f)
                return root / path
        target = self.download_to()
        for f in files:
            if not (target / f).is_file():
                self._obtain(self.files[f], target / f, download)
            self._check(self.files[f], target / f)
        return target / path

    def _obtain(self, entry: FileEntry, target: Path, download: bool) -> None:
        """Put a verified copy of ``entry`` at ``target``: from another data directory if
        one has it, else downloaded."""
        source = next((root / entry.name for _, root in self.dirs()
                       if (root / entry.name).is_file() and root / entry.name != target), None)
        looked = ", ".join(f"{label} ({root})" for label, root in self.dirs())
        offline = os.environ.get("MLFFKIT_OFFLINE", "") not in ("", "0")
        if source is None and (not download or offline):
            raise DataNotFoundError(
                f"{entry.name} is not in any data directory (looked in {looked}) and "
                f"downloading is off. Fix: put the file at $MLFFKIT_DATA/{entry.name} or allow "
                f"the download from {entry.url}.")
        origin = entry.url if source is None else str(source)
        try:
            if source is not None:
                self._check(entry, source)
            with (urllib.request.urlopen(entry.url, timeout=60) if source is None
                  else open(source, "rb")) as stream:
                _atomic_write(target, iter(lambda: stream.read(_CHUNK), b""), entry, origin)
        except DataError:
            raise
        except (OSError, ValueError) as err:  # URLError is an OSError
            raise DataNotFoundError(
                f"could not {'download' if source is None else 'copy'} {entry.name} from "
                f"{origin} to {target.parent} ({err}); looked in {looked}. Fix: check the "
                f"connection and that {target.parent} is writable, or put the file at "
                f"$MLFFKIT_DATA/{entry.name}.") from err

    # -- whole datasets --------------------------------------------------------------------
    def load(self, name: str, download: bool = True, **options):
        """Read dataset ``name`` with its registered reader; ``options`` override the
        registered reader options. Returns what the reader returns (``Frames``, a list of
        ``Frames``, a dict, a ``FreeEnergySurface``); ``Frames`` get ``metadata["dataset"]``
        and the dataset's own metadata (e.g. ``timestep_fs``)."""
        dataset = self.dataset(name)
        path = self.resolve(name, download=download)
        result = READERS[dataset.format](path, **{**dataset.options, **options})
        for frames in (result if isinstance(result, list) else [result]):
            if hasattr(frames, "metadata"):
                frames.metadata.update({"dataset": name, **dataset.metadata})
        return result

    def fetch(self, patterns: Iterable[str], download: bool = True) -> list[Path]:
        """Resolve (download where needed) every file of the matching datasets/files."""
        return [self.resolve_file(f, download=download) for f in self.expand(patterns)]

    def verify(self, patterns: Iterable[str] | None = None) -> Iterator["Verified"]:
        """Hash every matching file where it is found (no download, always re-hashed) and
        yield a :class:`Verified` per file: status ``ok``, ``mismatch`` or ``missing``."""
        names = self.expand(patterns) if patterns else list(self.files)
        for name in names:
            entry, found = self.files[name], self.locate(name)
            if found is None:
                yield Verified(name, "missing", None, "not in " + ", ".join(
                    f"{label} ({root})" for label, root in self.dirs()))
                continue
            try:
                self._check(entry, found[1], fresh=True)
                yield Verified(name, "ok", found[1], found[0])
            except ChecksumMismatchError as err:
                yield Verified(name, "mismatch", found[1], str(err))

    def checksums_of(self, name: str) -> dict[str, str]:
        """{file name: sha256} of a dataset (or file): what a stored result depends on."""
        return {f: self.files[f].sha256 for f in self.expand([name])}


@dataclass(frozen=True)
class Verified:
    """One file's verification: ``status`` is ``ok``, ``mismatch`` or ``missing``."""

    name: str
    status: str
    path: Path | None
    detail: str


def _atomic_write(target: Path, chunks: Iterable[bytes], entry: FileEntry, origin: str):
    """Write ``chunks`` to a temporary file beside ``target``, check the sha256, then rename;
    on any failure the temporary file is removed and ``target`` is untouched. The ``.part``
    files of writers that died (killed downloads) in that folder are removed first."""
    remove_stale_parts(target.parent)
    with atomic_target(target) as tmp:
        digest = hashlib.sha256()
        with open(tmp, "wb") as handle:
            for chunk in chunks:
                digest.update(chunk)
                handle.write(chunk)
        if digest.hexdigest() != entry.sha256:
            raise ChecksumMismatchError(
                origin, entry.sha256, digest.hexdigest(),
                f"Nothing was kept. The copy of {entry.name} from {origin} is corrupt or "
                "upstream changed; retry, or put a verified copy at "
                f"$MLFFKIT_DATA/{entry.name}.")


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else " (see `mlffkit data list`)"
    return f"unknown {kind} {name!r}{hint}"


# -- module-level convenience (the default registry) -----------------------------------------
@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The registry of ``registry.json`` shipped with the package."""
    try:
        table = json.loads(REGISTRY_JSON.read_text())
    except FileNotFoundError:
        raise DataNotFoundError(f"{REGISTRY_JSON} is missing from the installed package; "
                                "reinstall mlffkit") from None
    return Registry(table)


def datasets() -> dict[str, Dataset]:
    """All registered datasets by name."""
    return default_registry().datasets


def files() -> dict[str, FileEntry]:
    """All registered files by name."""
    return default_registry().files


def dataset(name: str) -> Dataset:
    """The registered dataset ``name`` (format, files, license, citation, description)."""
    return default_registry().dataset(name)


def resolve(name: str, download: bool = True) -> Path:
    """Path of dataset ``name`` (or, if no dataset has that name, registered file ``name``)."""
    registry = default_registry()
    if name in registry.datasets:
        return registry.resolve(name, download)
    return registry.resolve_file(name, download)


def load(name: str, download: bool = True, **options):
    """Read dataset ``name`` (see :meth:`Registry.load`)."""
    return default_registry().load(name, download=download, **options)


def fetch(patterns: Iterable[str], download: bool = True) -> list[Path]:
    """Resolve every file of the matching datasets/files (see :meth:`Registry.fetch`)."""
    return default_registry().fetch(patterns, download)


def verify(patterns: Iterable[str] | None = None) -> list[Verified]:
    """Re-hash the matching files where found (see :meth:`Registry.verify`)."""
    return list(default_registry().verify(patterns))


def checksums(name: str) -> dict[str, str]:
    """{file: sha256} of dataset or file ``name`` (for result-store keys)."""
    return default_registry().checksums_of(name)
