#!/usr/bin/env bash
# The GPU check: hwr's CUDA tests (the wavefront MDLSTM against the CPU reference in float64 and
# float32, a training run, a transcription), then the MDLSTM benchmark on the device.
# Run from the repository root on a machine with CUDA, after installing hwr; a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.__version__, torch.cuda.get_device_name(0))"
python -m pytest -q -m cuda tests/test_cuda.py
python bench/bench_mdlstm.py --device cuda --backends wavefront --batches 1 16 --heights 64 --seconds 1
