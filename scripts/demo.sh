#!/usr/bin/env bash
# The main job, from a fresh Debian 12 checkout: install the build dependencies,
# build onyx (Release) and classify two photos with MobileNetV2.
#   scripts/demo.sh
# Expected: eagle.jpg -> 22 bald eagle (~0.80), dog_samoyed.jpg -> 258 Samoyed (~0.82);
# see models/PROVENANCE.md.  ONYX_BUILD_DIR overrides the build folder (default build-release).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
if [[ -d /usr/local/cuda/bin ]]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
build=${ONYX_BUILD_DIR:-build-release}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DONYX_TESTS=OFF
cmake --build "$build" -j "$(nproc)"

echo
echo "+ onyx classify models/mobilenetv2_fp32_from_qdq.onnx models/images/eagle.jpg models/images/dog_samoyed.jpg"
exec "$build/onyx" classify models/mobilenetv2_fp32_from_qdq.onnx models/images/eagle.jpg models/images/dog_samoyed.jpg
