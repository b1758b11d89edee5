"""Command line: ``mlffkit run|experiments|data|book ...``.

``mlffkit run spring_mass --profile book --set seeds=3`` computes (or loads) a stored result;
``--set`` values are Python literals (``--set 'models=["mlp"]'``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from mlffkit.cli_args import assignment


def _run(args: argparse.Namespace) -> int:
    from mlffkit import experiments, papers  # noqa: F401  (papers register the experiments)

    result = experiments.run(args.experiment, args.profile, **dict(args.set or []))
    prov = result.provenance
    for name, table in result.tables.items():
        print(f"# {name}: {len(table)} rows")
        print(table.head(args.show).to_string(index=False))
    if prov:
        print(f"stored: key {result.record['key']}, {prov['wall_time_s']} s, "
              f"commit {prov['git_commit']}")
    return 0


def _experiments(args: argparse.Namespace) -> int:
    from mlffkit import experiments, papers  # noqa: F401  (papers register the experiments)

    print(experiments.describe(args.names or None))
    return 0


def _book_list(args: argparse.Namespace) -> int:
    from mlffkit import chapters

    for script in chapters.chapters():
        print(script.relative_to(Path.cwd()) if script.is_relative_to(Path.cwd()) else script)
    return 0


def _book_execute(args: argparse.Namespace) -> int:
    from papermill import PapermillExecutionError

    from mlffkit import chapters

    scripts = [chapters.script_path(c) for c in args.chapters] or chapters.chapters()
    params = dict(args.param or [])
    if args.profile:
        params["profile"] = args.profile
    if params and not args.out_dir:
        raise ValueError("--profile/-p need --out-dir (the committed notebooks keep the "
                         "default run)")
    for script in scripts:
        out = Path(args.out_dir) / script.with_suffix(".ipynb").name if args.out_dir else None
        print(f"executing {script} {params or '(default profile)'}", flush=True)
        try:
            chapters.execute(script, params, out)
        except PapermillExecutionError as err:
            if err.ename != "ValueError":  # a bad name or value is one line; a bug is not
                raise
            message = str(err.evalue).strip().splitlines()[0] if err.evalue else err.ename
            raise ValueError(f"{script}: {message}") from None
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlffkit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="compute or load an experiment's stored result")
    run.add_argument("experiment")
    run.add_argument("--profile", default="book", choices=("smoke", "book", "paper"))
    run.add_argument("--set", action="append", type=assignment, metavar="NAME=VALUE")
    run.add_argument("--show", type=int, default=10, help="rows of each table to print")
    run.set_defaults(func=_run)

    from mlffkit.data.cli import add_subparser as add_data_commands

    add_data_commands(sub)

    exps = sub.add_parser("experiments", help="list experiments and their profiles")
    exps.add_argument("names", nargs="*")
    exps.set_defaults(func=_experiments)

    book = sub.add_parser("book", help="the book's chapters").add_subparsers(
        dest="book_command", required=True)
    execute = book.add_parser("execute", help="run chapters with papermill")
    execute.add_argument("chapters", nargs="*", help="chapter scripts (default: all)")
    execute.add_argument("--profile", choices=("smoke", "book", "paper"))
    execute.add_argument("-p", "--param", action="append", type=assignment,
                         metavar="NAME=VALUE")
    execute.add_argument("--out-dir", help="write executed notebooks here")
    execute.set_defaults(func=_book_execute)
    book.add_parser("list", help="list the chapter scripts").set_defaults(func=_book_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:  # bad names or values: one line, no traceback
        print(f"mlffkit: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
