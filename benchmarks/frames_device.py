"""Benchmark: one FRAMES training run (``frames_md17_run``) on the CPU and on a CUDA device, in
the same process, with the same parameters and seed.

The run is the book profile's (``painn_book``, FRAMES objective, EMA, cosine schedule) with
fewer epochs and test frames so that it ends in about a minute on one CPU core. It is called
through ``frames_md17.train_run`` directly (nothing is stored), once per device, selected with
``MLFFKIT_DEVICE``. Printed per device: training wall time, optimiser steps/s, test energy and
force MAE; then the CPU/CUDA time ratio. The two runs follow the same seed, so their errors
should agree to the run-to-run level of floating-point reordering (not bitwise).

    python benchmarks/frames_device.py --molecule aspirin --T 2 --epochs 1 --threads 1

Without CUDA the CUDA row is skipped with the reason printed. ``--profile`` then trains once
more on CUDA under ``torch.profiler`` and prints the operators with the most self CPU time
(host-side overhead, synchronisations and copies show there).
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecule", default="aspirin")
    parser.add_argument("--T", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--n-test", type=int, default=200)
    parser.add_argument("--n-train", type=int, default=950)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", default="painn_book")
    parser.add_argument("--profile", action="store_true", help="profile a CUDA run")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)

    import torch

    from mlffkit.papers.frames import md17 as frames_md17

    params = {**frames_md17.RUN.profiles["book"], "molecule": args.molecule, "T": args.T,
              "epochs": args.epochs, "n_test": args.n_test, "n_train": args.n_train,
              "threads": args.threads, "model": args.model, "progress": False}
    print(f"settings: {vars(args)}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}, torch {torch.__version__}, "
          f"cuda {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if len(devices) == 1:
        print("cuda: skipped (torch sees no CUDA device)")
    seconds = {}
    for device in devices:
        os.environ["MLFFKIT_DEVICE"] = device
        start = time.perf_counter()
        run = frames_md17.train_run(params).tables["run"].iloc[0]
        seconds[device] = time.perf_counter() - start
        print(f"{device:>5}: {seconds[device]:7.1f} s, {run['steps'] / run['train_s']:7.1f} "
              f"steps/s, energy MAE {run['energy_mae_meV']:.2f} meV, force MAE "
              f"{run['force_mae_meV_A']:.2f} meV/Å")
    if "cuda" in seconds:
        print(f"cpu / cuda wall time: {seconds['cpu'] / seconds['cuda']:.2f}")
    if args.profile and "cuda" in seconds:
        from torch.profiler import ProfilerActivity, profile

        os.environ["MLFFKIT_DEVICE"] = "cuda"
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            frames_md17.train_run(params)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25,
                                        max_name_column_width=60))


if __name__ == "__main__":
    main()
