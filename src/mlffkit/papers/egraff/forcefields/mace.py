"""MACE and BOTNet through mace-torch 0.3.16, in a second environment.

mace-torch pins e3nn 0.4.4, which cannot share an environment with nequip (e3nn 0.6), and a
``.model`` file does not load across e3nn versions. So MACE lives in its own virtual
environment (``make env-mace``: ``.venv-mace`` beside ``.venv``, or ``$MLFFKIT_MACE_ENV``) and
this process talks to it through files and a socket:

- training runs that environment's ``mace_run_train`` on extended-xyz files whose labels sit
  under ``REF_energy`` / ``REF_forces`` (mace's advice: plain ``energy`` clashes with ASE's
  calculator results);
- the calculator is ASE's :class:`~ase.calculators.socketio.SocketIOCalculator`: a client in
  the MACE environment (``_mace_client.py``) evaluates ``MACECalculator`` and answers over a
  Unix socket in the i-PI protocol, so MD, metrics and the store run here unchanged. One
  calculator serves one system (i-PI sends positions and cell only).

Settings as MDBENCHGNN's ``configs/mace/md17/aspirin/aspirin.sh`` (ScaleShiftMACE,
16x0e+16x1o+16x2e, r_max 5, max_ell 3, correlation 3, 2 interactions, 8 radial and 5 cutoff
basis functions, lr 0.01, amsgrad, EMA 0.99, E:F weights 1:10 and then 1000:1 in the SWA stage
that starts at 3/4 of the epochs), which 0.3.16 defaults to otherwise (100/100), so the
weights are always passed. The paper's MD17 E0s are fixed atomic energies; here ``E0s`` are
fitted to the training set (``average``) for every data set. BOTNet, as EGraFFBench runs it, is
ScaleShiftMACE with correlation 1 and 5 interactions (``--model BOTNet`` is deprecated in
0.3.16). MD runs in float64, as the paper's MACE/BOTNet simulations.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from mlffkit.experiments.config import Config, param
from mlffkit.experiments.registry import SEED, at_least, one_of, positive
from mlffkit.paths import project_dir

from . import FORCEFIELDS, ForceField, MissingPackageError, run_trainer


def environment() -> Path:
    """The MACE environment's folder (``$MLFFKIT_MACE_ENV``, else ``.venv-mace``)."""
    return project_dir("MLFFKIT_MACE_ENV", ".venv-mace")


@dataclass(frozen=True)
class MACESettings(Config):
    cutoff: float = param(positive(float))
    hidden_irreps: str = param()
    max_ell: int = param(positive(int))
    correlation: int = param(positive(int))
    num_interactions: int = param(positive(int))
    num_radial_basis: int = param(positive(int))
    num_cutoff_basis: int = param(positive(int))
    epochs: int = param(positive(int))
    swa_from: int = param(positive(int))
    batch_size: int = param(positive(int))
    lr: float = param(positive(float))
    ema_decay: float = param(at_least(0.0, float))
    energy_weight: float = param(at_least(0.0, float))
    force_weight: float = param(at_least(0.0, float))
    swa_energy_weight: float = param(at_least(0.0, float))
    swa_force_weight: float = param(at_least(0.0, float))
    patience: int = param(positive(int))
    dtype: str = param(one_of("float32", "float64"))
    seed: int = param(SEED)


MACE_PAPER = MACESettings(cutoff=5.0, hidden_irreps="16x0e+16x1o+16x2e", max_ell=3,
                          correlation=3, num_interactions=2, num_radial_basis=8,
                          num_cutoff_basis=5, epochs=1500, swa_from=1125, batch_size=5,
                          lr=0.01, ema_decay=0.99, energy_weight=1.0, force_weight=10.0,
                          swa_energy_weight=1000.0, swa_force_weight=1.0, patience=50,
                          dtype="float64", seed=123)
MACE_BOOK = MACE_PAPER.replace(epochs=8, swa_from=6, patience=8, dtype="float32", seed=0)
BOTNET_PAPER = MACE_PAPER.replace(correlation=1, num_interactions=5)
BOTNET_BOOK = MACE_BOOK.replace(correlation=1, num_interactions=3, epochs=6, swa_from=5,
                                patience=6)


def _smoke(book: MACESettings) -> MACESettings:
    return book.replace(hidden_irreps="4x0e+4x1o", max_ell=1, num_interactions=2, epochs=2,
                        swa_from=2, patience=2)


class _MACEFamily(ForceField):
    module = "mace"
    install = "make env-mace (a second environment: mace-torch pins e3nn 0.4.4)"

    def python(self, name: str = "python") -> Path:
        return environment() / "bin" / name

    def available(self) -> bool:
        return self.python("mace_run_train").exists()

    def require(self) -> None:
        if not self.available():
            raise MissingPackageError(f"{self.label} runs in the MACE environment, which "
                                      f"{environment()} does not hold: {self.install}, or "
                                      "point MLFFKIT_MACE_ENV at an existing one")

    def arguments(self, s: MACESettings, directory: Path) -> list[str]:
        return [f"--name={self.name}", f"--seed={s.seed}", "--model=ScaleShiftMACE",
                f"--train_file={directory / 'train.xyz'}",
                f"--valid_file={directory / 'val.xyz'}", "--energy_key=REF_energy",
                "--forces_key=REF_forces", "--E0s=average",
                f"--r_max={s.cutoff}", f"--hidden_irreps={s.hidden_irreps}",
                f"--max_ell={s.max_ell}", f"--correlation={s.correlation}",
                f"--num_interactions={s.num_interactions}",
                f"--num_radial_basis={s.num_radial_basis}",
                f"--num_cutoff_basis={s.num_cutoff_basis}",
                f"--max_num_epochs={s.epochs}", f"--batch_size={s.batch_size}",
                f"--valid_batch_size={max(s.batch_size, 10)}", f"--lr={s.lr}",
                "--amsgrad", "--ema", f"--ema_decay={s.ema_decay}",
                f"--energy_weight={s.energy_weight}", f"--forces_weight={s.force_weight}",
                "--swa", f"--start_swa={s.swa_from}",
                f"--swa_energy_weight={s.swa_energy_weight}",
                f"--swa_forces_weight={s.swa_force_weight}", f"--patience={s.patience}",
                "--eval_interval=1", f"--default_dtype={s.dtype}", "--device=cpu",
                "--error_table=PerAtomMAE", "--num_workers=0",
                f"--work_dir={directory}", "--save_cpu"]

    def fit(self, train, val, settings, directory, log) -> Path:
        write_labelled_xyz(train, directory / "train.xyz")
        write_labelled_xyz(val, directory / "val.xyz")
        run_trainer([str(self.python("mace_run_train")),
                     *self.arguments(settings, directory)], log, directory, self.label)
        for name in (f"{self.name}_stagetwo.model", f"{self.name}.model"):
            if (directory / name).exists():
                return directory / name
        raise FileNotFoundError(f"mace_run_train wrote no model in {directory}")

    def load_calculator(self, trained, device: str):
        return MACESocketCalculator(self.python(), trained.checkpoint, device=device)


@FORCEFIELDS.register("mace")
class MACE(_MACEFamily):
    name, label = "mace", "MACE"
    profiles = {"paper": MACE_PAPER, "book": MACE_BOOK, "smoke": _smoke(MACE_BOOK)}
    # MDBENCHGNN's GeTe script: r_max 8; LiPS: 500 epochs (SWA from 3/4)
    paper_by_system = {"gete": dict(cutoff=8.0), "lips": dict(epochs=500, swa_from=375)}


@FORCEFIELDS.register("botnet")
class BOTNet(_MACEFamily):
    name, label = "botnet", "BOTNet"
    profiles = {"paper": BOTNET_PAPER, "book": BOTNET_BOOK,
                "smoke": _smoke(BOTNET_BOOK).replace(correlation=1)}
    # MDBENCHGNN's LiPS script: 1000 epochs (SWA from 3/4)
    paper_by_system = {"lips": dict(epochs=1000, swa_from=750)}


def write_labelled_xyz(frames, path: Path) -> None:
    """Extended xyz with the labels as ``REF_energy`` (info) and ``REF_forces`` (arrays)."""
    import ase.io

    images = []
    for k, atoms in enumerate(frames.to_atoms()):
        atoms.calc = None
        atoms.info["REF_energy"] = float(frames.energy[k])
        atoms.arrays["REF_forces"] = frames.forces[k].copy()
        images.append(atoms)
    ase.io.write(path, images, format="extxyz")


def MACESocketCalculator(python: Path, model: Path, device: str = "cpu",
                         dtype: str = "float64"):
    """ASE's SocketIOCalculator whose client is a MACE model served by the MACE environment's
    ``python`` (started on the first calculation, stopped by ``close()``; its output goes to
    ``calculator.log`` beside the model)."""
    import ase.io
    from ase.calculators.socketio import SocketIOCalculator

    socket = f"mlffkit-mace-{uuid.uuid4().hex[:12]}"
    client = Path(__file__).with_name("_mace_client.py")

    def launch(atoms, properties=None, port=None, unixsocket=None):
        folder = Path(os.environ.get("TMPDIR", "/tmp"))
        start = folder / f"{socket}.xyz"
        ase.io.write(start, atoms, format="extxyz")
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
               "PYTHONWARNINGS": "ignore"}
        with open(Path(model).with_name("calculator.log"), "a") as log:
            return subprocess.Popen([str(python), "-P", str(client), str(model), str(start),
                                     unixsocket, dtype, device], env=env, stdout=log,
                                    stderr=subprocess.STDOUT)

    return SocketIOCalculator(unixsocket=socket, launch_client=launch, timeout=600)
