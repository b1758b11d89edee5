"""Did the auxiliary head learn? Baselines on analytic trajectories, the check on stored-style
runs, and the note that replaces a verdict."""

import numpy as np
import pandas as pd
import pytest

from mlffkit import experiments
from mlffkit.data import Frames
from mlffkit.papers.frames import analysis as fa
from mlffkit.papers.frames import md17 as fm
from mlffkit.papers.frames import training as ft


def uniform_motion(n_frames=12, n_atoms=3, step=(0.01, 0.0, 0.0)):
    start = np.random.default_rng(0).normal(size=(n_atoms, 3))
    pos = start + np.arange(n_frames)[:, None, None] * np.asarray(step)
    return Frames(positions=pos, numbers=np.ones(n_atoms, int))


def test_baselines_on_uniform_motion():
    frames = uniform_motion()
    rows = np.stack([np.arange(0, 9), np.arange(1, 10), np.arange(2, 11)], axis=1)  # T = 2
    out = ft.aux_baselines([(frames, rows)], normalise=False)
    assert out["aux_zero_baseline"] == pytest.approx(0.01)        # |Δp| in Å
    assert out["aux_extrapolation_baseline"] == pytest.approx(0.0, abs=1e-12)
    # normalised by the RMS component, sqrt(0.01²/3): the zero baseline is sqrt(3)
    normalised = ft.aux_baselines([(frames, rows)], normalise=True)
    assert normalised["aux_zero_baseline"] == pytest.approx(np.sqrt(3))
    assert "aux_extrapolation_baseline" not in ft.aux_baselines([(frames, rows[:, 1:])], True)


def test_hold_replaces_the_verdict_only_when_a_head_did_not_learn():
    learned = pd.DataFrame({"label": ["T=2"] * 2, "seed": [0, 1], "aux_final": [0.5, 0.6],
                            "aux_zero_baseline": [1.4, 1.4],
                            "aux_extrapolation_baseline": [0.2, 0.2], "learned": [True, True]})
    assert fa.aux_hold(learned) is None and fa.aux_hold(learned.iloc[:0]) is None
    failed = learned.assign(aux_final=[2.0, 0.6], learned=[False, True])
    text = fa.aux_hold(failed)
    assert text.startswith("**No verdict on the temporal claims.** In 1 of 2 runs")
    assert "(2.00)" in text and "(1.40)" in text and "0.20" in text
    summary = fa.aux_summary(failed)
    assert summary.loc[0, "learned"] == "1 of 2"
    assert summary.loc[0, "aux_final"] == pytest.approx(1.3)


def test_check_reads_the_runs_of_a_sweep(compute_allowed):
    params = experiments.resolve("frames_md17", "smoke")
    runs = experiments.run("frames_md17", "smoke").tables["runs"]
    aux = ft.aux_check(runs)
    t2 = [v["label"] for v in params["variants"] if v.get("T", 1) >= 2]
    assert len(aux) == len(t2) * params["seeds"] * len(params["molecules"]) > 0
    assert (aux["aux_final"] > 0).all() and (aux["aux_zero_baseline"] > 0).all()
    assert (aux["learned"] == (aux["aux_final"] < aux["aux_zero_baseline"])).all()
    # the stored baselines are those of the run's own training windows
    unit = ft.sweep_unit(fm.RUN, params, t2[0], 0, molecule=params["molecules"][0])
    frames, split, _ = fm._data(unit.record["params"])
    expected = ft.aux_baselines([(frames, split.windows(frames, 3))], True)
    assert aux.loc[0, "aux_zero_baseline"] == pytest.approx(expected["aux_zero_baseline"])


def test_summary_of_no_runs_is_an_empty_table():
    out = fa.aux_summary(pd.DataFrame(), ["molecule"])
    assert out.empty and {"molecule", "label", "learned"} <= set(out.columns)
