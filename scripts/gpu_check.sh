#!/usr/bin/env bash
# The GPU checks, for a machine with CUDA and its own torch (the device machine lent to some
# tasks), in parts that each fit one device call (600 s):
#   tests   the model tests (equivariance, forces = -grad E, batching; on CUDA through the
#           `device` fixture), the trainer tests, FRAMES training through default_device()
#   frames  benchmarks/frames_device.py: one FRAMES run on the CPU and on CUDA
#   speed   the performance issue's items 1-3 on CUDA, short settings: benchmarks/models.py
#           (training frames/s and MD steps/s of the presets; equiformer_book against
#           painn_book and schnet_book; NequIP only if its wheels are in .whl),
#           benchmarks/metrics.py (RDFs and h(r) on CUDA tensors against the CPU path) and
#           benchmarks/batched_md.py (16 aspirin replicas, batched against sequential)
# Usage: scripts/gpu_check.sh [PART ...]   (default: tests frames; then a second call: speed)
# Prepared here, beside the checkout (both git-ignored through .git/info/exclude, carried to
# the machine):
#   .whl/      wheels of what its image lacks: ase, vesin, vesin-torch, e3nn==0.6.0, pandas
#              (pip download --no-deps --only-binary=:all: --python-version 3.12 ...)
#   .devdata/  laid out like ../shared/data: the MD17 ethanol files the FRAMES smoke runs read
#              and, for `speed`, MDBENCHGNN/Datasets/md17/aspirin/test/nequip_npz.npz
# Writes pytest.log, bench.log and speed.log to $OUT (or ./gpu_check_out).
set -uo pipefail
out="${OUT:-gpu_check_out}"
mkdir -p "$out"
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(tests frames)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD/src" MLFFKIT_DATA="$PWD/.devdata" PYTHONUNBUFFERED=1 \
    MPLBACKEND=Agg
nvidia-smi -L
python3 -c "import torch, e3nn, pandas, numpy, vesin.torch; print('torch', torch.__version__,
'e3nn', e3nn.__version__, 'pandas', pandas.__version__, 'numpy', numpy.__version__,
'cuda', torch.cuda.is_available())"
for part in "${parts[@]}"; do
    case "$part" in
    tests)
        timeout 330 python3 -m pytest -q -p no:cacheprovider --maxfail=20 tests/models \
            tests/training tests/test_runtime.py tests/experiments/test_frames_sweeps.py 2>&1 \
            | tee "$out/pytest.log" | tail -40 ;;
    frames)
        timeout 150 python3 benchmarks/frames_device.py --molecule ethanol --T 2 --epochs 1 \
            --n-test 200 --threads 4 ${BENCH_ARGS:-} 2>&1 | tee "$out/bench.log" ;;
    speed)
        { timeout 200 python3 benchmarks/models.py --device cuda --threads 4 --rounds 3 \
              --seconds 1 2>&1
          timeout 120 python3 benchmarks/metrics.py --device cuda --threads 4 --frames 400 \
              --ase-frames 4 --rounds 3 2>&1
          timeout 200 python3 benchmarks/batched_md.py --device cuda --threads 4 --rounds 2 \
              --steps 20 2>&1; } | tee "$out/speed.log" ;;
    *)
        echo "unknown part '$part' (tests, frames, speed)"; exit 2 ;;
    esac
done
