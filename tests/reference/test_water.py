"""openmm-water: the SPC/Fw calculator (forces = -grad E, periodic, checked input), a small
generation (whole molecules, resumable bit for bit, labels recomputed and checked on load),
and the committed set against SPC/Fw's known structure and dynamics."""

import json

import numpy as np
import pytest

pytest.importorskip("openmm")

from mlffkit import reference  # noqa: E402
from mlffkit.calculators import SPCFw  # noqa: E402
from mlffkit.calculators.spcfw import water_numbers  # noqa: E402
from mlffkit.metrics import diffusivity, mean_squared_displacement  # noqa: E402
from mlffkit.metrics.structure import radial_distributions, uniform_bin_edges  # noqa: E402
from mlffkit.reference import water  # noqa: E402

SMALL = dict(n_molecules=27, cutoff_A=4.5, equil_ps=0.1, time_ps=0.2, save_fs=20.0,
             checkpoint_ps=0.1)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("water")
    return reference.generate("openmm-water", out_dir=out, progress=False, **SMALL), out


def test_forces_are_minus_the_energy_gradient_and_periodic():
    c = water.WaterConfig(**{k: SMALL[k] for k in ("n_molecules", "cutoff_A")})
    positions = water.initial_positions(c) + np.random.default_rng(0).normal(0, 0.03, (81, 3))
    numbers, cell = water_numbers(27), c.box_A * np.eye(3)
    calc = SPCFw(cutoff_A=4.5)
    energy, forces = calc.evaluate(positions, numbers, cell)
    h = 1e-4
    for atom, axis in ((0, 0), (4, 2), (40, 1)):
        shifted = positions.copy()
        shifted[atom, axis] += h
        up = calc.evaluate(shifted, numbers, cell)[0]
        shifted[atom, axis] -= 2 * h
        down = calc.evaluate(shifted, numbers, cell)[0]
        assert -(up - down) / (2 * h) == pytest.approx(forces[atom, axis], abs=2e-4)
    moved = positions.copy()
    moved[3:6] += cell[0] * 2 - cell[2]  # a whole molecule, by lattice vectors
    e2, f2 = calc.evaluate(moved, numbers, cell)
    assert e2 == pytest.approx(energy, abs=1e-8)
    np.testing.assert_allclose(f2, forces, atol=1e-8)
    with pytest.raises(ValueError, match="O, H, H"):
        calc.evaluate(positions, numbers[::-1], cell)
    with pytest.raises(ValueError, match="cubic cell"):
        calc.evaluate(positions, numbers, np.diag([9.3, 9.3, 10.0]))
    with pytest.raises(ValueError, match="below half the box"):
        SPCFw(cutoff_A=6.0).evaluate(positions, numbers, cell)


def test_small_set_keeps_molecules_whole_and_labels_on_load(small):
    folder, out = small
    frames = reference.load_frames("openmm-water", "water", out_dir=out)
    assert frames.positions.shape == (10, 81, 3)
    assert list(frames.numbers[:6]) == [8, 1, 1, 8, 1, 1]
    oh = np.linalg.norm(frames.positions[:, 1::3] - frames.positions[:, 0::3], axis=-1)
    assert 0.85 < oh.min() and oh.max() < 1.2          # unwrapped: no molecule split
    assert frames.metadata["frame_interval_fs"] == 20.0
    calc = SPCFw(cutoff_A=4.5)
    e, f = calc.evaluate(frames.positions[7], frames.numbers, frames.cell[7])
    assert frames.energy[7] == pytest.approx(e) and np.allclose(frames.forces[7], f)
    assert reference.verify("openmm-water", out_dir=out) == {"water.npz": "ok"}
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["settings"]["n_molecules"] == 27 and prov["engine"]["model"] == "SPC/Fw"


def test_changed_labels_are_an_error(small, tmp_path):
    folder, _ = small
    copy = tmp_path / "openmm-water"
    copy.mkdir()
    (copy / "provenance.json").write_bytes((folder / "provenance.json").read_bytes())
    with np.load(folder / "water.npz") as npz:
        arrays = dict(npz)
    arrays["check_energy"] = arrays["check_energy"] + 0.01
    np.savez(copy / "water.npz", **arrays)
    with pytest.raises(ValueError, match="differ from those stored at generation"):
        water.load_frames(copy)


def test_an_interrupted_generation_resumes_to_the_same_frames(small, tmp_path, monkeypatch):
    folder, _ = small
    calls = {"n": 0}
    real = water.SPCFw.evaluate

    def fail_once(self, *args):  # the labels after the run: the partial file is still there
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(water.SPCFw, "evaluate", fail_once)
    with pytest.raises(KeyboardInterrupt):
        reference.generate("openmm-water", out_dir=tmp_path, progress=False, **SMALL)
    assert (tmp_path / "openmm-water" / "water.partial.npz").exists()
    reference.generate("openmm-water", out_dir=tmp_path, progress=False, **SMALL)
    with np.load(folder / "water.npz") as a, \
            np.load(tmp_path / "openmm-water" / "water.npz") as b:
        np.testing.assert_array_equal(a["positions"], b["positions"])


def test_committed_set_has_spcfw_structure_and_diffusion():
    """The committed 500 ps: O-O g(r) first peak at 2.70-2.85 Å (SPC/Fw: about 2.75 Å), mean
    temperature 300 ± 5 K, and the oxygen self-diffusion coefficient within 1.2-3.0 × 10⁻⁹
    m²/s: SPC/Fw's 2.32 × 10⁻⁹ in a large box (Wu et al. 2006) less the finite-size
    correction of a 12.4 Å box (about 0.6 × 10⁻⁹), with Langevin friction 1/ps."""
    folder = reference.set_dir("openmm-water")
    if not (folder / "provenance.json").exists():
        pytest.skip("openmm-water has not been generated in this checkout")
    with np.load(folder / "water.npz") as npz:
        positions, numbers, cell = npz["positions"].astype(float), npz["numbers"], npz["cell"]
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["files"]["water.npz"]["mean_kinetic_temperature_K"] == pytest.approx(300, abs=5)
    edges = uniform_bin_edges(6.0, 0.02)
    wrapped = positions[::10] % cell[0, 0]
    g = radial_distributions(wrapped, edges, pairs=[("O", "O")], species=numbers, cell=cell,
                             pbc=True)[("O", "O")]
    r = 0.5 * (edges[1:] + edges[:-1])
    assert 2.70 <= r[np.argmax(g)] <= 2.85 and 2.5 < g.max() < 3.6
    msd = mean_squared_displacement(positions[:2000], atoms="O", species=numbers)
    interval = float(prov["settings"]["save_fs"])
    d = diffusivity(msd, interval, window_fs=(20_000, 100_000)) * 1e-5  # Å²/fs -> m²/s
    assert 1.2e-9 < d < 3.0e-9
