"""``mlffkit book list|execute|report``: the book's chapters and its reproducibility report."""

from __future__ import annotations

import argparse
from pathlib import Path

from .args import assignment


def cmd_list(args: argparse.Namespace) -> int:
    from mlffkit import chapters

    for script in chapters.chapters():
        print(script.relative_to(Path.cwd()) if script.is_relative_to(Path.cwd()) else script)
    return 0


def cmd_execute(args: argparse.Namespace) -> int:
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


def cmd_report(args: argparse.Namespace) -> int:
    import pandas as pd

    from mlffkit.chapters import book_file
    from mlffkit.papers.frames import report

    path = book_file("reproducibility.md")
    paper = pd.read_csv(book_file("frames/paper_md17_iso17.csv"))
    matched = report.update(path, paper, check=args.check)
    if args.check and not matched:
        raise ValueError(f"{path}: the FRAMES rows differ from the stored records; run "
                         "`mlffkit book report`")
    print(f"{path}: {'unchanged' if matched else 'rewritten'}")
    return 0


def add_subparser(subparsers) -> None:
    """Add ``book execute|list`` to ``subparsers`` (from ``add_subparsers()``)."""
    book = subparsers.add_parser("book", help="the book's chapters").add_subparsers(
        dest="book_command", required=True)
    execute = book.add_parser("execute", help="run chapters with papermill")
    execute.add_argument("chapters", nargs="*", help="chapter scripts (default: all)")
    execute.add_argument("--profile", choices=("smoke", "book", "paper"))
    execute.add_argument("-p", "--param", action="append", type=assignment,
                         metavar="NAME=VALUE")
    execute.add_argument("--out-dir", help="write executed notebooks here")
    execute.set_defaults(func=cmd_execute)
    book.add_parser("list", help="list the chapter scripts").set_defaults(func=cmd_list)
    report = book.add_parser("report", help="regenerate the FRAMES rows of "
                             "book/reproducibility.md from the stored records")
    report.add_argument("--check", action="store_true", help="only compare")
    report.set_defaults(func=cmd_report)
