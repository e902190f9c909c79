#!/usr/bin/env bash
# Builds the fused stem kernel's sandbox (check.cu + src/backend/cuda/kernels/conv_pool.cu) and runs it:
# every case against the CPU reference, then the timings.  Needs a GPU (sm_90).
# Usage: dev/cuda/conv_pool/run.sh [--build-only OUT]  (build here, run the binary on the device)
set -euo pipefail
cd "$(dirname "$0")/../../.."
export PATH=/usr/local/cuda/bin:$PATH
out=${2:-$(mktemp -d)/conv_pool_check}
nvcc -O3 -arch=sm_90 -std=c++17 -Iinclude -Isrc -I. dev/cuda/conv_pool/check.cu src/backend/cuda/kernels/conv_pool.cu \
  -o "$out"
[[ ${1:-} == --build-only ]] && exit 0
"$out"
