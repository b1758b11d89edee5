"""FRAMES section 4.3, Table 4 and Figure 2: the spring-mass toy.

A harmonic oscillator (m = k = 1, so the force is F = -x) is integrated with velocity Verlet.
A sample is a window of T consecutive positions ``[x_{t-T+1}, ..., x_t]``; the primary target
is the force F_t, the auxiliary target the next displacement ``Δx_t = x_{t+1} - x_t``.
A network maps the window to a hidden representation h; a linear *force head* reads F_t from
h and a linear *auxiliary head* reads Δx_t from h (training only). The loss is
``MSE(F) + λ_aux(step) MSE(Δx)`` on targets normalised by their training standard deviation,
with λ_aux decayed linearly to 0 over training (FRAMES App. A.1). T = 1 is the baseline and is
trained on the primary loss only (FRAMES §3.4). Two networks: an MLP with two hidden layers
(SiLU) and a linear regressor (the same shape with identity activations, so that the auxiliary
head still shapes a shared representation).

The paper leaves unspecified: the integration and sampling time steps, how trajectories and
windows are drawn, the noise, the widths, the optimiser schedule and λ_aux. Our choices are the
``book`` profile below; the chapter lists them. For a paired comparison, one seed fixes one set
of trajectories and one set of sample times, shared by every T and model.
"""

from __future__ import annotations

import time
import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from dataclasses import dataclass

from mlffkit.experiments.config import Config, param
from mlffkit.experiments.registry import SEED, Experiment, at_least, names_from, positive, register
from mlffkit.results import Result
from mlffkit.runtime import torch_threads
from mlffkit.training.schedules import linear_decay

MODELS = ("mlp", "linear")


def simulate_oscillators(n_traj: int, n_frames: int, dt: float, substeps: int,
                         rng: np.random.Generator, amplitude: tuple[float, float] = (0.5, 1.5),
                         ) -> np.ndarray:
    """Positions (n_traj, n_frames) of unit oscillators ``x'' = -x`` with random amplitude
    and phase, integrated by velocity Verlet at ``dt / substeps`` and kept every ``dt``."""
    amp = rng.uniform(*amplitude, size=n_traj)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=n_traj)
    x, v = amp * np.cos(phase), -amp * np.sin(phase)
    h = dt / substeps
    out = np.empty((n_traj, n_frames))
    for frame in range(n_frames):
        out[:, frame] = x
        for _ in range(substeps):
            v_half = v - 0.5 * h * x
            x = x + h * v_half
            v = v_half - 0.5 * h * x
    return out


def sample_times(x: np.ndarray, n: int, max_window: int, rng: np.random.Generator,
                 trajectories: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct random (trajectory, time) pairs of ``trajectories`` (default: all) at
    which a window of ``max_window`` frames and the next frame both exist, so every
    T <= max_window uses the same sample times. Drawn without replacement: no sample twice."""
    n_traj, n_frames = x.shape
    trajectories = np.arange(n_traj) if trajectories is None else np.asarray(trajectories)
    times = np.arange(max_window - 1, n_frames - 1)
    if n > len(trajectories) * len(times):
        raise ValueError(f"{n} samples asked of {len(trajectories)} trajectories with "
                         f"{len(times)} valid times each")
    pick = rng.choice(len(trajectories) * len(times), size=n, replace=False)
    return trajectories[pick // len(times)], times[pick % len(times)]


def train_test_times(x: np.ndarray, n_train: int, n_test: int, test_trajectories: int,
                     max_window: int, rng: np.random.Generator
                     ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Training and test sample times on disjoint trajectories: the last
    ``test_trajectories`` oscillators are only tested on, so no test window shares a frame
    with a training window."""
    n_traj = x.shape[0]
    if not 0 < test_trajectories < n_traj:
        raise ValueError(f"test_trajectories must be in 1..{n_traj - 1}, got {test_trajectories}")
    cut = n_traj - test_trajectories
    train = sample_times(x, n_train, max_window, rng, np.arange(cut))
    test = sample_times(x, n_test, max_window, rng, np.arange(cut, n_traj))
    return train, test


def windows(x: np.ndarray, traj: np.ndarray, t: np.ndarray, T: int, k: float = 1.0
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs (n, T) = ``x[traj, t-T+1 .. t]``, force ``-k x_t`` and displacement Δx_t."""
    offsets = np.arange(-T + 1, 1)
    inputs = x[traj[:, None], t[:, None] + offsets]
    force = -k * x[traj, t]
    disp = x[traj, t + 1] - x[traj, t]
    return inputs, force, disp


class WindowNet(nn.Module):
    """Window of T positions -> hidden h -> (force, displacement) through two linear heads."""

    def __init__(self, T: int, hidden: int, model: str):
        super().__init__()
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; valid: {', '.join(MODELS)}")
        act = nn.SiLU if model == "mlp" else nn.Identity
        self.encoder = nn.Sequential(nn.Linear(T, hidden), act(), nn.Linear(hidden, hidden), act())
        self.force_head = nn.Linear(hidden, 1)
        self.aux_head = nn.Linear(hidden, 1)

    def forward(self, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(window)
        return self.force_head(h).squeeze(-1), self.aux_head(h).squeeze(-1)


def train_one(train: tuple[np.ndarray, ...], test: tuple[np.ndarray, ...], *, model: str,
              T: int, hidden: int, epochs: int, batch_size: int, lr: float, aux_weight: float,
              seed: int) -> dict:
    """Train one WindowNet; returns test/train force MSE (original units) and its curve."""
    torch.manual_seed(seed)
    x_tr, f_tr, d_tr = (torch.as_tensor(a, dtype=torch.float32) for a in train)
    x_te, f_te, d_te = (torch.as_tensor(a, dtype=torch.float32) for a in test)
    f_scale, d_scale = f_tr.std(), d_tr.std()
    net = WindowNet(T, hidden, model)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    steps_per_epoch = -(-len(x_tr) // batch_size)
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    lam0 = aux_weight if T > 1 else 0.0
    gen = torch.Generator().manual_seed(seed)
    curve = np.empty(epochs)
    step = 0
    for epoch in range(epochs):
        for idx in torch.randperm(len(x_tr), generator=gen).split(batch_size):
            f_hat, d_hat = net(x_tr[idx])
            loss = torch.mean(((f_hat - f_tr[idx]) / f_scale) ** 2)
            lam = linear_decay(lam0, step, total)
            if lam > 0:
                loss = loss + lam * torch.mean(((d_hat - d_tr[idx]) / d_scale) ** 2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
        with torch.no_grad():
            curve[epoch] = torch.mean((net(x_te)[0] - f_te) ** 2).item()
    with torch.no_grad():
        d_hat_te = net(x_te)[1]
        train_mse = torch.mean((net(x_tr)[0] - f_tr) ** 2).item()
    return {"test_mse": float(curve[-1]), "train_mse": train_mse,
            "aux_test_mse": torch.mean((d_hat_te - d_te) ** 2).item(),
            "curve": curve}


def variants(params: dict) -> list[tuple[str, int, bool]]:
    """(label, T, auxiliary loss) of every run of a seed and model: T = 1..max_T (the
    auxiliary loss from T = 2 on) and the no-aux control at ``control_T``."""
    out = [(f"T={T}", T, T > 1) for T in range(1, params["max_T"] + 1)]
    if params["control_T"]:
        out.append((f"T={params['control_T']}, no aux", params["control_T"], False))
    return out


def compute(params: dict) -> Result:
    """All (model, variant, seed) runs of Table 4 and the no-aux control; rows of a tidy
    table plus learning curves (model, variant, seed, epoch)."""
    runs_of = variants(params)
    rows, curves = [], np.full((len(params["models"]), len(runs_of), params["seeds"],
                                params["epochs"]), np.nan)
    jobs = [(s, m, v) for s in range(params["seeds"]) for m in params["models"]
            for v in range(len(runs_of))]
    bar = tqdm(jobs, desc="spring-mass", unit="run", mininterval=10)
    max_window = max(T for _, T, _ in runs_of)
    with torch_threads(params["threads"]):
        data = None
        for seed, model, v in bar:
            label, T, aux = runs_of[v]
            if data is None or data[0] != seed:
                rng = np.random.default_rng(params["data_seed"] + seed)
                x = simulate_oscillators(params["n_traj"], params["n_frames"], params["dt"],
                                         params["substeps"], rng)
                x_noisy = x + params["noise_std"] * rng.standard_normal(x.shape)
                times = train_test_times(x, params["n_train"], params["n_test"],
                                         params["test_trajectories"], max_window, rng)
                data = (seed, x, x_noisy, times)
            _, x, x_noisy, times = data
            train, test = ((windows(x_noisy, *tt, T)[0], *windows(x, *tt, T)[1:])
                           for tt in times)
            start = time.perf_counter()
            out = train_one(train, test, model=model, T=T, hidden=params["hidden"],
                            epochs=params["epochs"], batch_size=params["batch_size"],
                            lr=params["lr"], aux_weight=params["aux_weight"] if aux else 0.0,
                            seed=10_000 * seed + T)
            curves[params["models"].index(model), v, seed] = out["curve"]
            rows.append({"model": model, "variant": label, "T": T, "aux": aux, "seed": seed,
                         "test_mse": out["test_mse"], "train_mse": out["train_mse"],
                         "aux_test_mse": out["aux_test_mse"],
                         "wall_s": time.perf_counter() - start})
            bar.set_postfix(model=model, run=label, seed=seed, mse=f"{out['test_mse']:.2e}")
    return Result(tables={"runs": pd.DataFrame(rows)}, arrays={"test_mse_curves": curves})


def summary(runs: pd.DataFrame, scale: float = 1e-9) -> pd.DataFrame:
    """Mean ± std of the test MSE per model and variant (T, or the no-aux control), in units
    of ``scale`` (Table 4 layout)."""
    runs = runs.assign(variant=runs["variant"]) if "variant" in runs else runs.assign(
        variant=[f"T={T}" for T in runs["T"]])
    grouped = runs.groupby(["model", "variant"], sort=False)["test_mse"]
    table = pd.DataFrame({"mean": grouped.mean() / scale, "std": grouped.std(ddof=1) / scale,
                          "n_seeds": grouped.size()})
    return table.reset_index()


@dataclass(frozen=True)
class SpringMassConfig(Config):
    """The spring-mass experiment's parameters (what the paper leaves open, our choices)."""

    seeds: int = param(positive())
    max_T: int = param(positive())                 # longest window
    control_T: int = param(at_least(0, int))       # T of the no-aux control (0: none)
    models: list = param(names_from(MODELS))
    n_train: int = param(positive())
    n_test: int = param(positive())
    n_traj: int = param(positive())                # oscillators simulated per seed
    test_trajectories: int = param(positive(int))  # of them, held out for testing
    n_frames: int = param(positive())
    dt: float = param(positive())                  # time between frames (period 2π)
    substeps: int = param(positive())              # velocity-Verlet steps per frame
    noise_std: float = param(at_least(0))          # Gaussian noise on the input positions
    hidden: int = param(positive())
    epochs: int = param(positive())
    batch_size: int = param(positive())
    lr: float = param(positive())
    aux_weight: float = param(at_least(0))         # initial λ_aux, decayed linearly to 0
    data_seed: int = param(SEED)
    threads: int = param(positive())


def _check(p: SpringMassConfig) -> str | None:
    if p["n_frames"] <= p["max_T"]:
        return (f"n_frames={p['n_frames']} leaves no window of max_T={p['max_T']} frames "
                f"and a next frame; need n_frames > max_T")
    if p["test_trajectories"] >= p["n_traj"]:
        return (f"test_trajectories={p['test_trajectories']} leaves no training trajectory "
                f"of n_traj={p['n_traj']}")
    if p["control_T"] > p["max_T"]:
        return f"control_T={p['control_T']} is above max_T={p['max_T']}"
    return None


BOOK = SpringMassConfig(
    seeds=10, max_T=6, control_T=2, models=list(MODELS), n_train=8000, n_test=2000, n_traj=200,
    test_trajectories=40, n_frames=400, dt=0.1, substeps=100, noise_std=0.0, hidden=64,
    epochs=100, batch_size=64, lr=5e-4, aux_weight=1.0, data_seed=2026, threads=1)

SPRING_MASS = register(Experiment(
    name="spring_mass",
    version="2",
    compute=compute,
    description="FRAMES Table 4 / Fig. 2: force MSE vs window length T on a harmonic oscillator",
    profiles={
        "smoke": BOOK.replace(seeds=2, max_T=3, n_train=256, n_test=128, epochs=3, n_traj=20,
                              n_frames=50, test_trajectories=5),
        "book": BOOK,
        "paper": BOOK.replace(epochs=500),
    },
    check=_check,
))


def compare_to_reference(runs: pd.DataFrame, reference: str = "T=2", level: float = 0.95
                         ) -> pd.DataFrame:
    """For each model and each variant other than ``reference``: the geometric-mean ratio
    MSE(variant) / MSE(reference) over seeds with a paired Student-t interval on the log
    ratios, Bonferroni-corrected for all the comparisons of the table (each interval at
    ``1 - (1 - level) / m``, so that all m hold together at ``level``), and what it says."""
    from mlffkit.metrics.statistics import paired_t_ci

    runs = runs if "variant" in runs else runs.assign(variant=[f"T={T}" for T in runs["T"]])
    pairs = []
    for model, runs_m in runs.groupby("model", sort=False):
        wide = runs_m.pivot(index="seed", columns="variant", values="test_mse")
        pairs += [(model, v, wide) for v in runs_m["variant"].unique() if v != reference]
    each = 1.0 - (1.0 - level) / max(len(pairs), 1)
    rows = []
    for model, v, wide in pairs:
        est, low, high = paired_t_ci(wide[v].to_numpy(), wide[reference].to_numpy(),
                                     level=each)
        verdict = (f"{reference} better" if low > 0 else f"{v} better" if high < 0
                   else "no clear difference")
        rows.append({"model": model, "variant": v, "ratio_vs_ref": np.exp(est),
                     "ci_low": np.exp(low), "ci_high": np.exp(high),
                     "interval_level": each, "verdict": verdict})
    return pd.DataFrame(rows)


def verdict(runs: pd.DataFrame, reference: str = "T=2") -> "Verdict":
    """Does "T=2 is best" hold, per model (:func:`compare_to_reference`), and does the
    auxiliary loss make T=2 what it is (its no-aux control)? The status is the MLP's, the
    network of the paper's Table 4."""
    from mlffkit.papers.frames.analysis import Verdict

    comparison = compare_to_reference(runs, reference=reference)
    lines, status = [], "no verdict"
    for model, c in comparison.groupby("model", sort=False):
        windows_only = c[~c["variant"].str.contains("no aux")]
        worse = windows_only.loc[windows_only["verdict"] == f"{reference} better",
                                 "variant"].tolist()
        better = windows_only.loc[windows_only["verdict"] == windows_only["variant"]
                                  + " better", "variant"].tolist()
        holds = len(worse) == len(windows_only)
        if model == "mlp":
            status = "reproduced" if holds else "not reproduced"
        text = (f"* **{model}**: the claim \"{reference} is best\" "
                f"{'holds' if holds else 'does not hold'} in our runs "
                f"(n = {runs[runs.model == model].seed.nunique()} seeds, "
                f"{len(comparison)} comparisons corrected together). "
                f"{reference} is better than {', '.join(worse) or 'no other T'}; "
                f"{', '.join(better) or 'no T'} {'is' if len(better) == 1 else 'are'} better "
                f"than {reference}.")
        for _, row in c[c["variant"].str.contains("no aux")].iterrows():
            text += (f" Against its control ({row['variant']}, MSE ratio "
                     f"{row['ratio_vs_ref']:.3g}, interval {row['ci_low']:.3g}-"
                     f"{row['ci_high']:.3g}): " + {
                         f"{reference} better": "the auxiliary loss helps at T=2.",
                         f"{row['variant']} better": "the auxiliary loss hurts at T=2.",
                     }.get(row["verdict"], "no clear effect of the auxiliary loss at T=2."))
        lines.append(text)
    return Verdict("\n".join(lines), status)
