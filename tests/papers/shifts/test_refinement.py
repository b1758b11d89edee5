"""Radius refinement: it finds a planted radius, and a radius beyond the trained cutoff adds
only edges that the models' envelopes switch off."""

import numpy as np
import pytest
import torch

from mlffkit.data.atoms import AtomsData, collate
from mlffkit.papers.shifts.refinement import neighbour_cutoff, predict_refined, refine_radius
from mlffkit.papers.shifts.spectral import laplacian_spectrum, mean_spectrum
from mlffkit.testing import TINY_CONFIGS, random_molecule, tiny_model


def chain(n: int, spacing: float) -> np.ndarray:
    """A zigzag chain: bonded neighbours ``spacing`` apart, second neighbours ~1.9 spacing."""
    k = np.arange(n)
    return np.stack([k * spacing * 0.95, (k % 2) * spacing * 0.31, np.zeros(n)], axis=1)


def test_refinement_finds_the_planted_radius():
    training = chain(8, 1.0)  # at the training cutoff 1.5 Å: a path
    reference = mean_spectrum([laplacian_spectrum(training, 1.5)])
    stretched = 2.0 * training  # the same graph appears at radii in (2.0, ~3.8) Å
    radii = (1.5, 3.0, 4.5, 6.0)
    r_star, distances = refine_radius(stretched, reference, radii)
    assert r_star == 3.0 and distances[1] == pytest.approx(0.0, abs=1e-20)
    assert (np.delete(distances, 1) > 1e-3).all()
    # at the training cutoff the stretched chain has no edges: a connectivity shift
    assert refine_radius(training, reference, radii)[0] == 1.5


@pytest.mark.parametrize("name", sorted(TINY_CONFIGS))
def test_a_radius_beyond_the_cutoff_changes_nothing_a_smaller_one_prunes(name):
    model = tiny_model(name)  # cutoff 4 Å
    batch = random_molecule([6, 6, 8, 1, 1, 1, 1, 1], seed=3, box=6.0, dtype=torch.float64)
    distances = torch.cdist(batch.pos, batch.pos)
    assert ((distances > 4.0) & (distances < 7.0)).any()  # pairs the wider list adds
    trained = model(batch, create_graph=False)
    with neighbour_cutoff(model, 7.0):
        wider = model(batch, create_graph=False)
    torch.testing.assert_close(wider["forces"], trained["forces"], rtol=0, atol=1e-12)
    with neighbour_cutoff(model, 2.0):
        pruned = model(batch, create_graph=False)
    assert (pruned["forces"] - trained["forces"]).abs().max() > 1e-6
    assert model.neighbour_cutoff is None


def test_neighbour_cutoff_is_restored_after_an_error_and_checked():
    model = tiny_model("schnet")
    with pytest.raises(RuntimeError), neighbour_cutoff(model, 3.0):
        raise RuntimeError
    assert model.neighbour_cutoff is None
    with pytest.raises(ValueError, match="positive"), neighbour_cutoff(model, 0.0):
        pass


def test_predict_refined_uses_each_structures_radius():
    model = tiny_model("painn")
    training = [AtomsData.from_arrays(chain(6, 1.0), [6] * 6)]
    reference = mean_spectrum([laplacian_spectrum(s, model.cutoff) for s in training])
    tests = [AtomsData.from_arrays(chain(6, 1.0), [6] * 6),
             AtomsData.from_arrays(chain(6, 1.0) * 1.4, [6] * 6)]
    table, forces = predict_refined(model, tests, reference, radii=(2.0, 4.0, 6.0))
    assert list(table["r_star"]) == [refine_radius(t, reference, (2.0, 4.0, 6.0))[0]
                                     for t in tests]
    for row, structure, f in zip(table.itertuples(), tests, forces):
        with neighbour_cutoff(model, row.r_star):
            out = model(collate([structure], dtype=torch.float64), create_graph=False)
        np.testing.assert_allclose(f, out["forces"].detach().numpy(), rtol=0, atol=1e-12)
        assert row.distance_refined <= row.distance_trained + 1e-12


def test_refined_radii_never_move_a_structure_away_from_the_training_spectrum():
    """r* minimises the distance over the grid, so with the trained cutoff on the grid the
    refined distance is at most the trained one, and equal when r* is the cutoff."""
    from mlffkit.papers.shifts.refinement import refined_radii

    structures = [random_molecule([6, 6, 8, 1, 1, 1, 1], seed=s) for s in range(6)]
    reference = mean_spectrum(laplacian_spectrum(s, 4.0) for s in structures[:3])
    table = refined_radii(structures, reference, cutoff=4.0, radii=(2.0, 3.0, 4.0, 5.0))
    assert list(table["structure"]) == list(range(6))
    assert (table["distance_refined"] <= table["distance_trained"] + 1e-12).all()
    at_cutoff = table["r_star"] == 4.0
    assert np.allclose(table.loc[at_cutoff, "distance_refined"],
                       table.loc[at_cutoff, "distance_trained"])
