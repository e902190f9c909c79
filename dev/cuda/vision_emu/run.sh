#!/usr/bin/env bash
# Runs the image pipeline's kernels (src/backend/cuda/kernels/vision.cu) on the host, without a GPU: the
# kernel bodies are cut out of the .cu file and compiled by g++ with shim.h (one OS thread per CUDA thread,
# std::barrier for __syncthreads, warp votes and shuffles through per-warp barriers), then checked against
# the CPU reference (prep_apply; det_candidates + det_nms) linked from a build's libonyx.a.  It checks the
# kernels' logic and indexing, not what nvcc makes of them (tests/cuda/vision_cuda_test.c does, on a GPU).
# Usage: dev/cuda/vision_emu/run.sh [BUILD_DIR]   (default build/, with libonyx.a built)
set -euo pipefail
cd "$(dirname "$0")/../../.."
build=${1:-build}
here=dev/cuda/vision_emu
cu=src/backend/cuda/kernels/vision.cu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^#define PREP_TX/{f=1} /^static void prep_launch/{exit} f{print}' $cu | sed '$d' >$tmp/prep_body.inc
awk '/^#define DET_BLOCK CUDA_DET_BLOCK/{f=1} /^extern "C" cudaError_t cuda_vision_det_candidates/{exit} f{print}' \
  $cu >$tmp/det_body.inc
for f in prep_body det_body; do
  [[ -s $tmp/$f.inc ]] || { echo "run.sh: could not cut $f out of $cu (markers moved?)" >&2; exit 1; }
done
[[ -f $build/libonyx.a ]] || { echo "run.sh: $build/libonyx.a not found (cmake --build $build --target onyx_static)" >&2; exit 1; }
cuda=${CUDA_HOME:-/usr/local/cuda}
flags=(-O2 -std=c++20 -pthread -Iinclude -Isrc -I$cuda/include -I$tmp)
libs=($build/libonyx.a $(pkg-config --libs libprotobuf-c stb openblas zlib) -fopenmp -lm
      -L$cuda/lib64 -lcudart -lcublasLt -lnvrtc -lcudnn -Wl,-rpath,$cuda/lib64)
g++ "${flags[@]}" $here/prep_emu.cpp "${libs[@]}" -o $tmp/prep_emu
g++ "${flags[@]}" $here/det_emu.cpp "${libs[@]}" -o $tmp/det_emu
rc=0
$tmp/prep_emu || rc=1
$tmp/det_emu || rc=1
exit $rc
