"""Benchmark: what a model preset costs on each of Fu et al.'s systems, against painn_book.

For every system of the Fu chapters (SPC/Fw water, 192 atoms, periodic; alanine dipeptide, 22
atoms; LiPS, 83 atoms, periodic; MD17 aspirin, 21 atoms) and every preset: the CPU time of
one training step (forward, forces with ``create_graph``, backward, Adam) on the chapter's
batch size, and of one force call on one structure (as MD makes). Untrained models, the
reference frames of each set; CPU time of this process (``time.process_time``, one thread),
best of ``--repeats``; the ratio to painn_book is taken within a system. The chapters use these
ratios to say what adding a model would cost.

    .venv/bin/python benchmarks/system_cost.py            # ~3 min
"""

from __future__ import annotations

import argparse
import os
import platform
import time

#: (set, what to load, the Fu chapter's training batch size)
SYSTEMS = (("openmm-water", "water", 4), ("openmm-ala2", "ala2", 8),
           ("egraff/lips/val", None, 4), ("egraff/md17/aspirin/test", None, 8))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+",
                        default=["painn_book", "schnet_book", "equiformer_book"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    return parser.parse_args(argv)


def frames_of(name: str, kind: str | None):
    from mlffkit import data, reference

    return reference.load_frames(name, kind) if kind else data.load(name)


def best_cpu_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def costs(preset: str, batch, one, repeats: int) -> tuple[float, float]:
    import torch

    from mlffkit.models import build_model

    torch.manual_seed(0)
    model = build_model(preset)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train_step():
        out = model(batch, forces=True)
        loss = out["energy"].square().mean() + out["forces"].square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    train = best_cpu_seconds(train_step, repeats)
    model.eval()
    call = best_cpu_seconds(lambda: model(one, forces=True), repeats)
    return train, call


def main(args) -> None:
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    from mlffkit.data.atoms import collate
    from mlffkit.runtime import torch_threads

    torch_threads(args.threads)
    print(f"system_cost: {args.threads} thread(s), best of {args.repeats}, torch "
          f"{torch.__version__}, {platform.processor() or platform.machine()}, "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{'system':26s} {'atoms':>5s} {'batch':>5s} {'preset':16s} {'train step s':>12s} "
          f"{'x painn':>8s} {'force call ms':>13s} {'x painn':>8s}")
    for name, kind, batch_size in SYSTEMS:
        items = frames_of(name, kind).to_data_list()[:batch_size]
        batch = collate(items, dtype=torch.float32)
        one = collate(items[:1], dtype=torch.float32)
        rows = {p: costs(p, batch, one, args.repeats) for p in args.presets}
        base = rows.get("painn_book")
        for preset, (train, call) in rows.items():
            ratio = (f"{train / base[0]:7.1f}x", f"{call / base[1]:7.1f}x") if base else ("", "")
            print(f"{name:26s} {len(items[0].numbers):5d} {batch_size:5d} {preset:16s} "
                  f"{train:12.3f} {ratio[0]:>8s} {1e3 * call:13.1f} {ratio[1]:>8s}", flush=True)
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(parse_args())
