#!/usr/bin/env bash
# The GPU checks, for a machine with CUDA and its own torch (the device machine lent to some
# tasks): the model tests (equivariance, forces = -grad E, batching; on CUDA through the
# `device` fixture), the trainer tests, FRAMES training through default_device(), and the
# CPU/CUDA benchmark of one FRAMES run. Prepared here, beside the checkout (both git-ignored
# through .git/info/exclude, carried to the machine):
#   .whl/      wheels of what its image lacks: ase, vesin, vesin-torch, e3nn==0.6.0, pandas
#              (pip download --no-deps --only-binary=:all: --python-version 3.12 ...)
#   .devdata/  the MD17 ethanol files the FRAMES smoke runs read, laid out like ../shared/data
# Writes pytest.log and bench.log to $OUT (or ./gpu_check_out).
set -uo pipefail
out="${OUT:-gpu_check_out}"
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD/src" MLFFKIT_DATA="$PWD/.devdata" PYTHONUNBUFFERED=1 \
    MPLBACKEND=Agg
nvidia-smi -L
python3 -c "import torch, e3nn, pandas, numpy, vesin.torch; print('torch', torch.__version__,
'e3nn', e3nn.__version__, 'pandas', pandas.__version__, 'numpy', numpy.__version__,
'cuda', torch.cuda.is_available())"
timeout 330 python3 -m pytest -q -p no:cacheprovider --maxfail=20 tests/models tests/training \
    tests/test_runtime.py tests/experiments/test_frames_sweeps.py 2>&1 | tee "$out/pytest.log" \
    | tail -40
timeout 150 python3 benchmarks/frames_device.py --molecule ethanol --T 2 --epochs 1 \
    --n-test 200 --threads 4 ${BENCH_ARGS:-} 2>&1 | tee "$out/bench.log"
