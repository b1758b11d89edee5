"""The primary-target check of the FRAMES MD17 chapters: trivial baselines on the runs' own
test frames."""

import numpy as np
import pandas as pd

from mlffkit.experiments.registry import resolve
from mlffkit.papers.frames import md17 as fm


def test_baselines_are_the_trivial_predictors_on_the_test_frames():
    params = resolve("frames_md17", "smoke")
    molecule = params["molecules"][0]
    frames, split, test = fm._data(params["run"].replace(molecule=molecule))
    zero = 1e3 * np.abs(test.forces).mean()
    runs = pd.DataFrame({"molecule": [molecule] * 2, "energy_mae_meV": [1.0, 2.0],
                         "force_mae_meV_A": [0.5 * zero, 2.0 * zero]})
    table = fm.primary_check(runs, params).iloc[0]
    assert table["zero_force_baseline_meV_A"] == np.float64(zero)
    expected = 1e3 * np.abs(test.energy - frames.energy[split.train].mean()).mean()
    assert np.isclose(table["mean_energy_baseline_meV"], expected)
    assert table["force_mae_best"] == 0.5 * zero and not table["learned"]  # the worst run fails
    assert table["forces_learned"] == "1 of 2" and table["energy_learned"] == "2 of 2"
    assert fm.primary_check(runs.iloc[:1], params).iloc[0]["learned"]
