"""Command line: ``mlffkit run|experiments|data|book ...`` (also ``python -m mlffkit``).

``mlffkit run spring_mass --profile book --set seeds=3`` computes (or loads) a stored result;
``--set`` values are Python literals (``--set 'models=["mlp"]'``). One module per command
group: :mod:`.experiments` (``run``, ``experiments``), :mod:`.data` (``data ...``),
:mod:`.book` (``book ...``); each has ``add_subparser(subparsers)``. The command line is the
top layer: it may import every other part of mlffkit, and none imports it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import mlffkit

from . import book, data, experiments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlffkit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mlffkit {mlffkit.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    experiments.add_subparser(sub)
    data.add_subparser(sub)
    book.add_subparser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:  # bad names or values: one line, no traceback
        print(f"mlffkit: error: {err}", file=sys.stderr)
        return 2


__all__ = ["build_parser", "main"]
