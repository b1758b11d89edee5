"""Fu et al. Table 6 on LiPS-1k: wrapping into a triclinic cell, the RDF rule's noise floor on
the reference itself, and a smoke run that scores every run."""

import numpy as np
import pytest

from mlffkit import data
from mlffkit.metrics.comparison import integrated_absolute_error
from mlffkit.papers.fu import lips
from mlffkit.papers.fu.condensed import RDF_EDGES, wrap


@pytest.fixture(scope="module")
def frames():
    return data.load(lips.DATASET)


def test_wrap_into_a_triclinic_cell_moves_by_lattice_vectors_only(frames):
    cell = frames.cell[0]
    shifted = frames.positions[:3] + np.array([2, -3, 1]) @ cell + 0.3
    wrapped = wrap(shifted, cell)
    fractional = wrapped @ np.linalg.inv(cell)
    assert (fractional >= 0).all() and (fractional < 1).all()
    lattice = (shifted - wrapped) @ np.linalg.inv(cell)
    np.testing.assert_allclose(lattice, np.round(lattice), atol=1e-9)


def test_one_ps_of_reference_frames_passes_the_rule(frames):
    """80 reference frames (the rule's 1 ps window) sit well inside Fu's threshold of 1.0;
    one frame alone does not, which is why the rule waits for a full window."""
    ref = lips.LIPS.rdfs(frames.positions, frames.numbers, frames.cell[0])

    def error(n):
        g = lips.LIPS.rdfs(frames.positions[:n], frames.numbers, frames.cell[0])
        return integrated_absolute_error(g[None], ref[None], RDF_EDGES)

    assert error(80) < 0.3 * lips.LIPS.threshold
    assert error(1) > lips.LIPS.threshold


def test_smoke_run_scores_every_run(compute_allowed):
    c = lips.PROFILES["smoke"]
    result = lips.compute(c)
    runs = result.tables["runs"]
    assert len(runs) == c.starts
    assert ((runs["rdf_mae"] >= 0) & (runs["rdf_mae"] <= 20)).all()
    assert (runs["stable_ps"] <= c.md_ps + 1e-12).all()
    table = lips.table6(result)
    assert table["D_reference_1e9"].iloc[0] == pytest.approx(1.35)
    assert (table["steps_per_s"] > 0).all()
    assert set(result.tables["rdf"]["pair"]) == {"all"}
    assert "schnet_book" in lips.summary(table, {"md_ps": c.md_ps})
