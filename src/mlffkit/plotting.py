"""A tiny shared plotting style for the book's figures."""

from __future__ import annotations

import matplotlib as mpl

OURS = "#1f77b4"
PAPER = "#d62728"
MODEL_COLORS = {"mlp": "#1f77b4", "linear": "#2ca02c"}


def use_book_style() -> None:
    """Readable defaults for figures rendered in the book."""
    mpl.rcParams.update({
        "figure.figsize": (7.0, 4.0), "figure.dpi": 110, "axes.grid": True,
        "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "legend.frameon": False, "font.size": 10,
    })
