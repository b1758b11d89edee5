"""``mlffkit run EXPERIMENT`` and ``mlffkit experiments``: compute or load stored results."""

from __future__ import annotations

import argparse

from .args import assignment


def cmd_run(args: argparse.Namespace) -> int:
    from mlffkit import experiments, papers  # noqa: F401  (papers register the experiments)

    result = experiments.run(args.experiment, args.profile, scheduler=args.scheduler,
                             **dict(args.set or []))
    prov = result.provenance
    for name, table in result.tables.items():
        print(f"# {name}: {len(table)} rows")
        print(table.head(args.show).to_string(index=False))
    if prov:
        print(f"stored: key {result.record['key']}, {prov['wall_time_s']} s, "
              f"commit {prov['git_commit']}")
    return 0


def cmd_experiments(args: argparse.Namespace) -> int:
    from mlffkit import experiments, papers  # noqa: F401  (papers register the experiments)

    print(experiments.describe(args.names or None))
    return 0


def add_subparser(subparsers) -> None:
    """Add ``run`` and ``experiments`` to ``subparsers`` (from ``add_subparsers()``)."""
    run = subparsers.add_parser("run", help="compute or load an experiment's stored result")
    run.add_argument("experiment")
    run.add_argument("--profile", default="book", choices=("smoke", "book", "paper"))
    run.add_argument("--set", action="append", type=assignment, metavar="NAME=VALUE")
    run.add_argument("--show", type=int, default=10, help="rows of each table to print")
    run.add_argument("--scheduler", help="compute a sweep's runs on Dask first: 'local', "
                     "'local:N' (N worker processes) or a scheduler address")
    run.set_defaults(func=cmd_run)

    exps = subparsers.add_parser("experiments", help="list experiments and their profiles")
    exps.add_argument("names", nargs="*")
    exps.set_defaults(func=cmd_experiments)
