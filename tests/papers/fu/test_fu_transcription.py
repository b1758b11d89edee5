"""The transcription of Fu et al.'s tables reads as printed."""

from pathlib import Path

import pytest

from mlffkit.papers.fu import paper_pivot, paper_rows

CSV = Path(__file__).parents[3] / "book" / "fu" / "paper_tables.csv"


def test_table5_as_printed():
    rows = paper_rows(CSV, 5)
    shown = paper_pivot(rows, index=["metric"])
    assert list(shown.columns) == ["DeepPot-SE", "SchNet", "DimeNet", "ForceNet", "GemNet-T",
                                   "GemNet-dT", "NequIP"]
    assert shown.loc["stability_ps", "NequIP"] == "4168 (1860)"
    assert shown.loc["finished", "NequIP"] == "5/6"
    assert shown.loc["force_mae", "SchNet"] == "217.0"


def test_every_table_has_numeric_spreads():
    for table in (3, 4, 5, 6, 8, 9, 10):
        rows = paper_rows(CSV, table)
        assert rows["std"].dropna().map(float).ge(0).all()


def test_missing_table_and_wrong_columns_are_errors(tmp_path):
    with pytest.raises(KeyError, match="no rows of Table 7"):
        paper_rows(CSV, 7)
    bad = tmp_path / "bad.csv"
    bad.write_text("table,model,value\n3,SchNet,1\n")
    with pytest.raises(ValueError, match="columns"):
        paper_rows(bad, 3)
