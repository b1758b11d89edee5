"""``mlffkit data ...``: the dataset registry and our generated sets from the command line.

    mlffkit data list ['rmd17/aspirin/*']     names, formats, sizes, where each is found
    mlffkit data fetch NAME...                resolve (download where needed), print paths
    mlffkit data verify [NAME...]             re-hash every file found (registered and our
                                              generated sets); exit 1 on a mismatch or a
                                              missing file
    mlffkit data generate NAME [--restart] [--set K=V]
                                              (re)create a generated set (xtb-md17, ...),
                                              resuming unfinished members
    mlffkit data build-registry MANIFEST [--check]
                                              rewrite (or check) registry.json from the
                                              data mirror's MANIFEST.json

NAME is a dataset (``egraff/md17/aspirin/test``), a file (its path in the mirror) or a glob.
Wire it into a parser with :func:`add_subparser`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mlffkit.data import build_registry
from mlffkit.data.errors import DataError
from mlffkit.data.registry import Registry, default_registry

from .args import assignment


def _registry(args) -> Registry:
    return getattr(args, "registry", None) or default_registry()


def cmd_list(args: argparse.Namespace) -> int:
    """Print the datasets matching ``args.names`` (all by default), one per line."""
    reg = _registry(args)
    names = sorted(reg.datasets)
    if args.names:
        import fnmatch

        names = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in args.names)]
    for name in names:
        ds = reg.datasets[name]
        places = {(reg.locate(f) or ("-",))[0] for f in ds.files}
        where = places.pop() if len(places) == 1 else "partial"
        print(f"{name:40s} {ds.format:14s} {ds.size / 1e6:8.2f} MB  {where:12s} "
              f"{ds.license[:30]:30s} {ds.description}")
    print(f"{len(names)} datasets, {len(reg.files)} registered files", file=sys.stderr)
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    """Resolve every file of the named datasets/files (checksum-verified) and print paths."""
    for path in _registry(args).fetch(args.names, download=not args.no_download):
        print(path)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Hash every matching file where it is found; 0 only if all are present and match.
    Generated sets (``xtb-*``) are checked against their committed provenance."""
    from mlffkit import reference

    wanted = [n for n in args.names if n not in reference.SETS]
    sets = [n for n in args.names if n in reference.SETS] or (
        [] if args.names else sorted(reference.SETS))
    counts = {"ok": 0, "mismatch": 0, "missing": 0}
    if wanted or not args.names:
        for result in _registry(args).verify(wanted or None):
            counts[result.status] += 1
            if result.status != "ok" or args.verbose:
                print(f"{result.status.upper():8s} {result.name}: {result.detail}")
        print(f"verified {sum(counts.values())} files: {counts['ok']} ok, "
              f"{counts['mismatch']} mismatched, {counts['missing']} missing")
    bad_sets = 0
    for name in sets:
        statuses = reference.verify(name, raise_on_error=False)
        problems = {f: s for f, s in statuses.items() if s not in ("ok", "partial")}
        bad_sets += bool(problems)
        print(f"generated set {name}: {len(statuses) - len(problems)} ok"
              + "".join(f"\n  {s.upper():8s} {f}" for f, s in problems.items()))
    return 0 if counts["mismatch"] == counts["missing"] == bad_sets == 0 else 1


def cmd_generate(args: argparse.Namespace) -> int:
    """(Re)create a generated reference set with its own engine, resuming by default."""
    from mlffkit import reference

    folder = reference.generate(args.name, resume=not args.restart, **dict(args.set or []))
    print(folder)
    return 0


def cmd_build_registry(args: argparse.Namespace) -> int:
    """Rewrite ``registry.json`` from the mirror's manifest, or (``--check``) exit 1 if it is
    out of date."""
    text = build_registry.build_from_file(args.manifest)
    output = Path(args.output)
    if args.check:
        current = output.read_text() if output.exists() else ""
        if current != text:
            print(f"{output} is out of date; run mlffkit data build-registry {args.manifest}",
                  file=sys.stderr)
            return 1
        return 0
    output.write_text(text)
    table = json.loads(text)
    n_files = sum(len(s["files"]) for s in table["sources"].values())
    print(f"wrote {output}: {n_files} files, {len(table['datasets'])} datasets")
    return 0


def _guard(func):
    """Run a command; registry errors become one line on stderr and exit status 2."""
    def run(args):
        try:
            return func(args)
        except (DataError, KeyError) as err:
            message = err.args[0] if isinstance(err, KeyError) and err.args else err
            print(f"mlffkit data: error: {message}", file=sys.stderr)
            return 2
    run.__doc__ = func.__doc__
    return run


def add_subparser(subparsers) -> argparse.ArgumentParser:
    """Add ``data list|fetch|verify|generate|build-registry`` to ``subparsers`` (from ``add_subparsers()``); each
    sub-command sets ``func(args) -> exit status``."""
    data = subparsers.add_parser("data", help="registered datasets and generated sets: list, "
                                 "fetch, verify, generate, build-registry",
                                 description=__doc__.splitlines()[0])
    sub = data.add_subparsers(dest="data_command", required=True)
    p = sub.add_parser("list", help="registered datasets and where they are found")
    p.add_argument("names", nargs="*", help="dataset names or globs (default: all)")
    p.set_defaults(func=_guard(cmd_list))
    p = sub.add_parser("fetch", help="resolve (download if needed) and print paths")
    p.add_argument("names", nargs="+", help="datasets, files or globs")
    p.add_argument("--no-download", action="store_true",
                   help="only use local data directories")
    p.set_defaults(func=_guard(cmd_fetch))
    p = sub.add_parser("verify", help="check the sha256 of every file found locally")
    p.add_argument("names", nargs="*", help="datasets, files or globs (default: all files)")
    p.add_argument("-v", "--verbose", action="store_true", help="also print files that are ok")
    p.set_defaults(func=_guard(cmd_verify))
    p = sub.add_parser("generate", help="(re)create a generated reference set")
    p.add_argument("name", help="a generated set: xtb-md17, xtb-iso17, xtb-shifts, "
                   "openmm-water, openmm-ala2 (`mlffkit data list` shows them all)")
    p.add_argument("--restart", action="store_true", help="ignore finished members and "
                   "checkpoints (default: resume)")
    p.add_argument("--set", action="append", type=assignment, metavar="NAME=VALUE",
                   help="override a generator setting (a Python literal)")
    p.set_defaults(func=_guard(cmd_generate))
    p = sub.add_parser("build-registry", help="rewrite (or check) registry.json from the data "
                       "mirror's MANIFEST.json")
    p.add_argument("manifest", help="the data mirror's MANIFEST.json")
    p.add_argument("-o", "--output", default=str(build_registry.REGISTRY_JSON))
    p.add_argument("--check", action="store_true",
                   help="only check that the output is up to date (exit 1 if not)")
    p.set_defaults(func=cmd_build_registry)
    return data

