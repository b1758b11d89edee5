"""``mlffkit data list|fetch|verify``: the dataset registry from the command line.

    mlffkit data list ['rmd17/aspirin/*']     names, formats, sizes, where each is found
    mlffkit data fetch NAME...                resolve (download where needed), print paths
    mlffkit data verify [NAME...]             re-hash every file found (registered and our
                                              generated sets); exit 1 on a mismatch or a
                                              missing file
    mlffkit data generate NAME [--restart] [--set K=V]
                                              (re)create a generated set (xtb-md17, ...),
                                              resuming unfinished members

NAME is a dataset (``egraff/md17/aspirin/test``), a file (its path in the mirror) or a glob.
Wire it into a parser with :func:`add_subparser`; :func:`main` runs it on its own.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from mlffkit.cli_args import assignment

from .errors import DataError
from .registry import Registry, default_registry


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
    from mlffkit import reference as generate

    wanted = [n for n in args.names if n not in generate.SETS]
    sets = [n for n in args.names if n in generate.SETS] or (
        [] if args.names else sorted(generate.SETS))
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
        statuses = generate.verify(name, raise_on_error=False)
        problems = {f: s for f, s in statuses.items() if s not in ("ok", "partial")}
        bad_sets += bool(problems)
        print(f"generated set {name}: {len(statuses) - len(problems)} ok"
              + "".join(f"\n  {s.upper():8s} {f}" for f, s in problems.items()))
    return 0 if counts["mismatch"] == counts["missing"] == bad_sets == 0 else 1


def cmd_generate(args: argparse.Namespace) -> int:
    """(Re)create a generated reference set with its own engine, resuming by default."""
    from mlffkit import reference as generate

    folder = generate.generate(args.name, resume=not args.restart, **dict(args.set or []))
    print(folder)
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
    """Add ``data list|fetch|verify`` to ``subparsers`` (from ``add_subparsers()``); each
    sub-command sets ``func(args) -> exit status``."""
    data = subparsers.add_parser("data", help="registered datasets: list, fetch, verify",
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
    p.add_argument("name", help="xtb-md17, xtb-iso17 or xtb-shifts")
    p.add_argument("--restart", action="store_true", help="ignore finished members and "
                   "checkpoints (default: resume)")
    p.add_argument("--set", action="append", type=assignment, metavar="NAME=VALUE",
                   help="override a generator setting (a Python literal)")
    p.set_defaults(func=_guard(cmd_generate))
    return data


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mlffkit.data.cli list|fetch|verify ...`` (the same as ``mlffkit data``)."""
    parser = argparse.ArgumentParser(prog="mlffkit")
    add_subparser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
