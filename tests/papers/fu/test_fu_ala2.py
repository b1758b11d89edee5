"""Alanine dipeptide (Fu et al. Table 5): the ff14SB + GBn2 calculator, the openmm-ala2 set
on a tiny run, the FES scores, and the experiment at its smoke profile."""

import numpy as np
import pytest

pytest.importorskip("openmm")

from ase import Atoms  # noqa: E402

from mlffkit import reference  # noqa: E402
from mlffkit.calculators import AmberGBn2  # noqa: E402
from mlffkit.calculators.amber import (PHI, PSI, ala2_masses, ala2_numbers,  # noqa: E402
                                       ala2_positions)
from mlffkit.metrics import dihedral_angles  # noqa: E402
from mlffkit.papers.fu import ala2  # noqa: E402


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    reference.generate("openmm-ala2", out_dir=root, progress=False, equil_ps=0.2,
                       time_ps=16.0, save_fs=400.0, checkpoint_ps=8.0, pace=50)
    return root


def test_amber_forces_are_minus_the_energy_gradient_and_platforms_agree():
    atoms = Atoms(numbers=ala2_numbers(), positions=ala2_positions(), masses=ala2_masses())
    assert list(atoms.symbols[[4, 6, 8, 14]]) == ["C", "N", "C", "C"]     # φ = C-N-CA-C
    reference_calc, fast = AmberGBn2("Reference"), AmberGBn2("CPU")
    energy, forces = reference_calc.evaluate(atoms.positions, atoms.numbers, atoms.cell.array)
    fast_energy, fast_forces = fast.evaluate(atoms.positions, atoms.numbers, atoms.cell.array)
    assert fast_energy == pytest.approx(energy, abs=1e-5)
    assert np.allclose(fast_forces, forces, atol=1e-4)
    h = 1e-4
    for i, k in [(0, 0), (8, 1), (16, 2)]:
        up, down = atoms.positions.copy(), atoms.positions.copy()
        up[i, k] += h
        down[i, k] -= h
        fd = -(reference_calc.evaluate(up, atoms.numbers, atoms.cell.array)[0]
               - reference_calc.evaluate(down, atoms.numbers, atoms.cell.array)[0]) / (2 * h)
        assert forces[i, k] == pytest.approx(fd, abs=1e-5)
    with pytest.raises(ValueError, match="22 atoms"):
        reference_calc.evaluate(atoms.positions[:5], atoms.numbers[:5], atoms.cell.array)


def test_the_set_stores_frames_cvs_and_openmms_free_energy(small_set):
    frames = reference.load_frames("openmm-ala2", "ala2", out_dir=small_set)
    assert len(frames) == 40 and frames.forces.shape == (40, 22, 3)
    cvs = dihedral_angles(frames.positions, np.array([PHI, PSI]), frames.numbers)
    assert np.allclose(cvs[:, 0], frames.extras["phi"], atol=1e-5)   # OpenMM's sign is ours
    assert np.allclose(cvs[:, 1], frames.extras["psi"], atol=1e-5)
    fes = reference.ala2.reference_free_energy(reference.set_dir("openmm-ala2", small_set))
    assert fes.shape == (60, 60) and fes.min() == 0 and fes.max() > 1.0
    assert reference.verify("openmm-ala2", small_set)


def test_an_interrupted_generation_resumes_to_the_same_frames_and_bias(tmp_path, monkeypatch):
    """On the Reference platform (bitwise repeatable) a run interrupted after its last
    checkpoint resumes to the same frames and the same free energy as an uninterrupted one:
    the OpenMM checkpoint and the restored bias grid carry everything."""
    settings = dict(equil_ps=0.1, time_ps=2.0, save_fs=200.0, checkpoint_ps=1.0, pace=50,
                    platform="Reference")
    whole = reference.generate("openmm-ala2", out_dir=tmp_path / "whole", progress=False,
                               **settings)
    real, calls = reference.ala2.AmberGBn2.evaluate_frames, {"n": 0}

    def fail_once(self, *args):  # the labels after the run: the partial file is still there
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(reference.ala2.AmberGBn2, "evaluate_frames", fail_once)
    with pytest.raises(KeyboardInterrupt):
        reference.generate("openmm-ala2", out_dir=tmp_path / "cut", progress=False, **settings)
    cut = tmp_path / "cut" / "openmm-ala2"
    with np.load(cut / "ala2.partial.npz") as partial:
        assert len(partial["positions"]) == 5          # the checkpoint at 1 ps
    reference.generate("openmm-ala2", out_dir=tmp_path / "cut", progress=False, **settings)
    with np.load(whole / "ala2.npz") as a, np.load(cut / "ala2.npz") as b:
        for key in ("positions", "cv", "free_energy_kJ_mol"):
            np.testing.assert_array_equal(a[key], b[key])
    assert not (cut / "ala2.partial.npz").exists()


def test_fes_errors_vanish_for_the_reference_and_grow_with_a_shift():
    grid = np.linspace(-np.pi, np.pi, 61)[:-1]
    phi, psi = np.meshgrid(grid, grid, indexing="ij")
    surface = 5 * (1 + np.cos(phi + 1.0)) + 3 * (1 + np.cos(2 * psi))
    assert ala2.fes_errors(surface, surface) == {"fes_mae_phi": 0.0, "fes_mae_psi": 0.0}
    moved = ala2.fes_errors(np.roll(surface, 10, axis=0), surface)
    assert moved["fes_mae_phi"] > 5 and moved["fes_mae_psi"] < 1e-9


def test_smoke_run_scores_models_and_the_reference_potential(small_set, monkeypatch,
                                                            compute_allowed):
    monkeypatch.setenv("MLFFKIT_GENERATED_DIR", str(small_set))
    c = ala2.PROFILES["smoke"]
    result = ala2.compute(c)
    runs = result.tables["runs"]
    assert set(runs["model"]) == {*c.models, *ala2.REFERENCE_POTENTIAL}
    assert (runs["fes_mae_phi"] >= 0).all() and (runs["fes_mae_psi"] >= 0).all()
    assert (runs["stable_ps"] <= c.md_ps + 1e-9).all()
    table = ala2.table5(result)
    assert list(table["model"][:len(c.models)]) == list(c.models)
    assert (result.tables["errors"]["steps_per_s"] > 0).all()
    assert set(result.tables["fes"]["model"]) >= {"reference", "openmm"}


def test_replaying_the_reference_run_gives_its_stored_surface_and_converges():
    """The reference set's bias rebuilt from its stored CVs equals the surface OpenMM stored
    (to 1e-2 kJ/mol; measured 3e-4), and the error against the final surface is 0 at the end."""
    from mlffkit.papers.fu import ala2

    profiles, errors, difference = ala2.reference_convergence(times_ps=(1000, 5000))
    assert difference < 1e-2
    last = errors.set_index("time_ps").loc[5000]
    assert last["hills"] == 5000 and last["fes_mae_phi"] == 0 and last["fes_mae_psi"] == 0
    assert errors.set_index("time_ps").loc[1000, "fes_mae_phi"] > 0
    assert set(profiles["model"]) == {"1000 ps", "5000 ps"}
