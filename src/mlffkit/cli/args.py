"""Argument types shared by the command-line parsers."""

from __future__ import annotations

import argparse
import ast
from typing import Any


def assignment(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` with VALUE read as a Python literal (a plain string otherwise)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    name, raw = text.split("=", 1)
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return name.strip(), value
