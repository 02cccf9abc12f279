#!/usr/bin/env bash
# Here (no device time): put the wheels the device image lacks into .whl/ at the repo root (git-ignored), for
# bench/gpu/run.sh. The image has torch, accelerate, tokenizers, safetensors, huggingface-hub, pandas, pyarrow,
# matplotlib, psutil, nvidia-ml-py (KINDS.md); fai-rl's pins that it lacks or holds at another version are below.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
exclude="$(git rev-parse --git-path info/exclude)"
grep -qxF '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >> "$exclude"
rm -rf .whl && mkdir .whl
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
  trl==1.16.0 transformers==5.24.0 datasets==5.2.0 peft==0.21.2 dill==0.4.1 multiprocess==0.70.19 \
  hydra-core==1.3.8 omegaconf==2.3.1 liger-kernel==0.8.5 "${@}"
# antlr4-python3-runtime 4.9.3 (omegaconf's) is published as source only: build its pure-Python wheel here
python3 -m pip wheel --quiet --no-deps -w .whl antlr4-python3-runtime==4.9.3
ls -la .whl && du -sh .whl   # must stay well under the 64 MiB a call may carry (with the repo)
