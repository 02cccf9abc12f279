#!/usr/bin/env bash
# On the device machine, in one call (see bench/gpu/README.md):
#   device run: command "bash bench/gpu/run.sh", carry [".whl"], timeout_s 420
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 3
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 OUT="${OUT:-/tmp/out}"
mkdir -p "$OUT"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch, transformers, trl, datasets, accelerate, hydra, pyarrow, fsspec
print('torch', torch.__version__, torch.cuda.get_device_name(0))
for m in (transformers, trl, datasets, accelerate, hydra, pyarrow, fsspec): print(m.__name__, m.__version__)"
} 2>&1 | tee "$OUT/versions.txt" || exit 4
python3 -m bench.gpu.check --out "$OUT" 2>&1 | tee "$OUT/log.txt"
