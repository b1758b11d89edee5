"""The book's one plotting style: seaborn's theme with the book's defaults, and the colours
that mean the same thing on every page (ours, the paper's, a model)."""

from __future__ import annotations

import matplotlib as mpl
import seaborn as sns

OURS = "#1f77b4"
PAPER = "#d62728"
MODEL_COLORS = {"mlp": "#1f77b4", "linear": "#2ca02c"}


def use_book_style() -> None:
    """seaborn's ``whitegrid`` theme at notebook scale, and the book's figure defaults. Call
    once per chapter, before the first figure; statistical plots then use seaborn
    (``relplot``, ``catplot``, ``lineplot``) on tidy tables, the others plain matplotlib."""
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.9, rc={
        "figure.figsize": (7.0, 4.0), "figure.dpi": 110, "grid.alpha": 0.5,
        "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False,
    })
    mpl.rcParams["axes.prop_cycle"] = mpl.cycler(color=sns.color_palette("tab10"))
