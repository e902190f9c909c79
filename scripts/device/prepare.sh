#!/usr/bin/env bash
# Builds onyx here (Release, sm_90) and gathers what a GPU run on the device
# machine needs into .devrun/ (git-ignored; name it in the device call's
# `carry`): binaries, the non-CUDA shared libraries the device lacks
# (protobuf-c, stb, OpenBLAS and its Fortran runtime), and compressed test data
# (ONNX node tests, the shared models).  Then run scripts/device/gpu-tests.sh there.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/usr/local/cuda/bin:$PATH
build=build-dev
cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
cmake --build $build -j"$(nproc)" --target onyx_cli onyx onyx_node_tests onyx_conv_gemm_tests onyx_models_cuda \
  onyx_contexts_cuda onyx_nhwc_tests onyx_layout_tests onyx_nvrtc_cuda onyx_gpu_bench onyx_oom_test \
  onyx_vision_cuda_test detect_min onyx_detect_bench onyx_pipeline_gpu_test >/dev/null

rm -rf .devrun
mkdir -p .devrun/bin .devrun/lib .devrun/data
cp $build/onyx $build/tests/onnx_node/onyx_node_tests $build/tests/cuda/onyx_conv_gemm_tests \
   $build/tests/cuda/onyx_models_cuda $build/tests/cuda/onyx_contexts_cuda $build/tests/cuda/onyx_nhwc_tests \
   $build/tests/engine/onyx_layout_tests $build/tests/cuda/onyx_nvrtc_cuda $build/bench/onyx_gpu_bench \
   $build/bench/onyx_detect_bench $build/tests/cuda/onyx_oom_test $build/tests/cuda/onyx_vision_cuda_test \
   $build/examples/detect_min $build/tests/cuda/onyx_pipeline_gpu_test .devrun/bin/
cp -L $build/libonyx.so.0 .devrun/lib/
for lib in libprotobuf-c.so.1 libstb.so.0 libopenblas.so.0 libgfortran.so.5 libquadmath.so.0 libgomp.so.1 \
           libjson-c.so.5; do
  cp -L /usr/lib/x86_64-linux-gnu/$lib .devrun/lib/
done
tar cf - -C /usr/share/libonnx-testdata/data node | xz -T0 -6 >.devrun/data/node.tar.xz
cp tests/onnx_node/skips/*.txt .devrun/data/
# PyTorch baselines of models that exist only as ONNX (bench/torch_baseline.py --onnx): onnx2torch, pure Python
python3 -m pip download -q --no-deps --only-binary=:all: -d .devrun/data onnx2torch==1.5.15 || true
shared=../shared/models
if [[ -d $shared ]]; then
  tar cf - -C $shared mnist_cntk_opset1.onnx ultraface_rfb_320.onnx yolov8n_fp32_from_int8.onnx \
      yolo11n_320_fp32_from_int8.onnx images/bus.jpg images/zidane.jpg | xz -T0 -6 >.devrun/data/models.tar.xz
fi
# the split-K conv kernel's sandbox (gpu-tests.sh runs its checks under compute-sanitizer)
dev/cuda/conv_splitk/run.sh --build-only .devrun/conv_splitk_check
# the stem kernel's sandbox (gpu-tests.sh functional runs its checks)
dev/cuda/conv_pool/run.sh --build-only .devrun/conv_pool_check
# OpenBLAS alone is 35 MB (every CPU's kernels): ship libraries and binaries compressed
tar cf - -C .devrun bin lib | xz -T0 -6 >.devrun/payload.tar.xz
rm -rf .devrun/bin .devrun/lib
du -sh .devrun
