"""Fu et al. water (Tables 4, 8-10) at its smoke profile on a small SPC/Fw set, its split,
and the oxygen diffusivity on Brownian motion with a known D."""

import numpy as np
import pytest

pytest.importorskip("openmm")

from mlffkit import reference  # noqa: E402
from mlffkit.papers.fu import water  # noqa: E402


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    reference.generate("openmm-water", out_dir=root, progress=False, n_molecules=27,
                       cutoff_A=4.5, equil_ps=0.2, time_ps=0.6, save_fs=20.0)
    return root


def test_split_keeps_test_frames_fixed_across_sizes():
    c = water.PROFILES["book"]
    small, large = water.split(5000, c, 1000), water.split(5000, c.replace(sizes=(4000,)), 4000)
    np.testing.assert_array_equal(small["test"], large["test"])
    for parts, size in ((small, 1000), (large, 4000)):
        assert len(parts["train"]) + len(parts["val"]) == size and len(parts["val"]) == size // 20
        assert len(np.unique(np.concatenate(list(parts.values())))) == size + c.n_test
    with pytest.raises(ValueError, match="exceeds the 5000 frames"):
        water.split(5000, c, 4600)


def test_oxygen_diffusivity_recovers_brownian_motion():
    rng = np.random.default_rng(0)
    d_a2_fs = 2.3e-4                              # 2.3e-9 m²/s
    steps = rng.normal(0, np.sqrt(2 * d_a2_fs * 100.0), (400, 96, 3))  # 100 fs apart
    positions = np.cumsum(steps, axis=0)
    numbers = np.tile([8, 1, 1], 32)
    d = water.oxygen_diffusivity(positions, numbers, 100.0, (1000.0, 10000.0))
    assert d == pytest.approx(2.3e-9, rel=0.15)
    assert np.isnan(water.oxygen_diffusivity(positions[:20], numbers, 100.0, (1000.0, 10000.0)))


def test_smoke_run_scores_every_run(small_set, monkeypatch, compute_allowed):
    monkeypatch.setenv("MLFFKIT_GENERATED_DIR", str(small_set))
    c = water.PROFILES["smoke"]
    result = water.compute(c)
    runs = result.tables["runs"]
    assert len(runs) == c.starts * len(c.models) * len(c.sizes)
    assert {"rdf_mae_OO", "rdf_mae_HH", "rdf_mae_HO", "D_m2_s"} <= set(runs.columns)
    assert ((runs["rdf_mae_OO"] >= 0) & (runs["rdf_mae_OO"] <= 20)).all()
    assert (runs["stable_ps"] <= c.md_ps + 1e-12).all()
    errors = result.tables["errors"]
    assert (errors["steps_per_s"] > 0).all() and (errors["zero_force_baseline"] > 0).all()
    rdf = result.tables["rdf"]
    assert set(rdf["pair"]) == {"O-O", "H-H", "H-O"}
    assert len(rdf[rdf["model"] == "reference"]) == 3 * (len(water.RDF_EDGES) - 1)
