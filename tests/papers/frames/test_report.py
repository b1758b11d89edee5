"""The FRAMES rows of book/reproducibility.md are generated from the stored records."""

import pandas as pd
import pytest

from mlffkit.chapters import book_file
from mlffkit.papers.frames import report


def test_committed_rows_match_the_stored_records(monkeypatch):
    """Fails when a record changed (or the rows were typed) without `mlffkit book report`;
    nothing is computed (a missing record is an error, as under CI)."""
    monkeypatch.setenv("MLFFKIT_NO_COMPUTE", "1")
    path = book_file("reproducibility.md")
    paper = pd.read_csv(book_file("frames/paper_md17_iso17.csv"))
    assert report.update(path, paper, check=True), (
        "book/reproducibility.md's FRAMES rows differ from the stored records: run "
        "`mlffkit book report`")


def test_a_file_without_the_section_is_refused(tmp_path):
    path = tmp_path / "r.md"
    path.write_text("# report\n")
    with pytest.raises(ValueError, match="no generated FRAMES section"):
        report.update(path, None, check=True)
