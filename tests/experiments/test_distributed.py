"""A FRAMES sweep through Dask: its runs computed on a local cluster of two worker
processes, each stored by the results store, then gathered by the sweep without training."""


import pytest

import mlffkit.papers  # noqa: F401  (registers the experiments)
from mlffkit import experiments
from mlffkit.results import ResultsStore

pytest.importorskip("distributed")

#: a book-profile sweep at smoke size (book runs are stored; smoke runs are not)
TINY = dict(model="schnet_book", n_train=24, n_val=8, n_test=16, epochs=1, progress=False,
            molecules=["ethanol"], seeds=1,
            variants=[{"label": "T=1", "T": 1}, {"label": "T=2", "T": 2}])


def test_sweep_runs_on_a_local_cluster_are_stored_and_gathered(tmp_path, monkeypatch,
                                                              compute_allowed):
    monkeypatch.setenv("MLFFKIT_RESULTS_DIR", str(tmp_path))  # inherited by the workers
    todo = experiments.missing("frames_md17", "book", **TINY)
    assert [(name, c.T) for name, c in todo] == [("frames_md17_run", 1), ("frames_md17_run", 2)]
    result = experiments.run("frames_md17", "book", scheduler="local:2", **TINY)
    stored = sorted(p.name for p in (tmp_path / "frames_md17_run").glob("*.json"))
    assert len(stored) == 2 and len(result.tables["runs"]) == 2
    assert experiments.missing("frames_md17", "book", **TINY) == []
    assert experiments.missing("frames_md17_run", "book", **todo[0][1]) == []
    assert len(experiments.missing("frames_md17", "smoke", **TINY)) == 2  # never stored
    # the sweep gathered the workers' records: loading them again changes nothing
    monkeypatch.setenv("MLFFKIT_NO_COMPUTE", "1")
    again = experiments.run("frames_md17", "book", **TINY)
    assert again.tables["runs"].equals(result.tables["runs"])


def test_a_scheduler_needs_a_sweep():
    with pytest.raises(ValueError, match="not a sweep of stored runs"):
        experiments.run("spring_mass", "smoke", scheduler="local:1")
    with pytest.raises(ValueError, match="default results store"):
        experiments.run("frames_md17", "smoke", scheduler="local:1", store=ResultsStore())


def test_local_workers_keep_glibcs_malloc_defaults(monkeypatch):
    # Dask's MALLOC_TRIM_THRESHOLD_=65536 made an Equiformer training step 3x slower in a
    # worker (every large tensor unmapped and faulted in again)
    import os

    from mlffkit.experiments.distributed import client_for

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with client_for("local:1") as client:
        env = client.run(lambda: {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_",
                                                                 "OMP_NUM_THREADS")})
    assert [e["MALLOC_TRIM_THRESHOLD_"] for e in env.values()] == [None]
    assert [e["OMP_NUM_THREADS"] for e in env.values()] == ["1"]   # dask's thread cap kept
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ   # nor set in this process
