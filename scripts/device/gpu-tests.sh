#!/usr/bin/env bash
# Runs on the device machine (GPU) from the repository root, with .devrun/
# carried (made by scripts/device/prepare.sh here):
#   1. every ONNX node test through the CUDA backend (against the expected outputs)
#   2. the cuDNN/cuBLASLt layer tests against the CPU backend; Concat without copies (onyx_conv_gemm_tests)
#   3. real models: CUDA session and FP32/TF32/FP16 engines (save -> load -> run) against the CPU
#   4. many contexts on one engine from several threads (also on a plan with pairs of layers on two
#      streams); a timing-cache rebuild;
#      generated (NVRTC) pointwise kernels: engines vs CPU, cubins reloaded from the file
#   5. compute-sanitizer memcheck over the model checks of two small models
#   6. channels-last FP16 engines of small conv graphs against the CPU and row-major FP16 (and with pairs
#      of layers on a second stream against ONYX_CONCURRENT=0), and the layout pass on the real models
#      (which layers run NHWC, reformats, pairs, fused classifier heads); the stem and split-K kernels'
#      sandboxes against their CPU references
#   7. the CLI: onyx build --verbose, onyx info / run --engine, run --backend cuda --fp16
#      (the MNIST engine is kept in $OUT: tests/engine/data's fixture comes from there)
#   8. the image pipeline's GPU pre/post-processing kernels against the CPU reference (+ memcheck and
#      racecheck, --quick) and their times beside the CPU post-processing path
#   9. the image pipeline: onyx detect / classify on the GPU against --cpu, an .engine file, batches,
#      a folder of photos (throughput printed), examples/detect_min, decoded pixels submitted (pipeline_gpu_test)
#  10. out of device memory: a workspace beyond the card, a max batch beyond it, a full device at
#      the first enqueue; then the same process builds and runs, and the free memory comes back
#  11. compute-sanitizer: memcheck (MNIST, UltraFace), racecheck and synccheck over the MNIST model;
#      memcheck over the GEMM form of 1x1 convs (nhwc downsample graph), the in-place views checks and
#      pairs of layers on two streams (nhwc branches graph), memcheck and racecheck of the fused stem kernel
#      (nhwc stem graphs), memcheck, racecheck and synccheck of the split-K conv kernel (its sandbox) and
#      memcheck of its engine layers (nhwc deep_block graph), memcheck, racecheck and synccheck of the
#      fused classifier head (nhwc head graphs), initcheck over inferences of saved engines, memcheck and
#      racecheck of the vision kernels
#  12. onyx bench: latency = H2D + compute + D2H, throughput = count / walltime within 1 %, CUDA graphs
#      lower the enqueue time, every export's schema, 2 streams, --no-transfers (the report comes back in $OUT)
# Logs go to $OUT (or /tmp/onyx-gpu) and a summary is printed last.  Usage:
#   scripts/device/gpu-tests.sh [functional|sanitizers]   (default: both; each half fits one device call)
set -uo pipefail
part=${1:-all} # functional | sanitizers | all (each half fits one 10-minute device call)
out=${OUT:-/tmp/onyx-gpu}
mkdir -p "$out"
work=/tmp/onyx-gpu-data
source scripts/device/unpack.sh
tar xJf $run/data/node.tar.xz -C $work
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
summary=()
failed=() # steps with a non-zero exit: the script's own exit status
step() { # name, command...
  local name=$1; shift
  local t0=$SECONDS
  "$@" >"$out/$name.log" 2>&1
  local rc=$?
  ((rc == 0)) || failed+=("$name")
  summary+=("$(printf '%-14s rc=%-3s %4ss  %s' "$name" "$rc" $((SECONDS - t0)) "$(tail -n 1 "$out/$name.log")")")
}
if [[ $part != sanitizers ]]; then
skips=()
for f in $run/data/*.txt; do skips+=(--skips "$f"); done
step node_cuda $run/bin/onyx_node_tests $work/node "${skips[@]}" --backend cuda
step conv_gemm $run/bin/onyx_conv_gemm_tests
models=($work/mobilenetv2_fp32_from_qdq.onnx)
for m in mnist_cntk_opset1 ultraface_rfb_320 yolov8n_fp32_from_int8 yolo11n_320_fp32_from_int8; do
  [[ -f $work/$m.onnx ]] && models+=($work/$m.onnx)
done
step models $run/bin/onyx_models_cuda --shapes input:1x3x224x224 "${models[@]}"
python3 tests/cuda/export_torchvision.py $work/tv >"$out/export.log" 2>&1
step torchvision $run/bin/onyx_models_cuda $work/tv/*.onnx
step contexts $run/bin/onyx_contexts_cuda $work/mobilenetv2_fp32_from_qdq.onnx 4 20
# the same with a model whose plan has pairs of layers on a second stream (UltraFace: 32; MobileNetV2: none)
[[ -f $work/ultraface_rfb_320.onnx ]] && step contexts_pairs $run/bin/onyx_contexts_cuda $work/ultraface_rfb_320.onnx 4 20
step nvrtc $run/bin/onyx_nvrtc_cuda $work
step nhwc $run/bin/onyx_nhwc_tests
# the stem and split-K kernels' sandboxes (built by prepare.sh): every case against their CPU references
step conv_pool_sandbox .devrun/conv_pool_check
step splitk_sandbox .devrun/conv_splitk_check --no-timing
step vision $run/bin/onyx_vision_cuda_test --bench
step layout $run/bin/onyx_layout_tests $work
step cli_build $run/bin/onyx build $work/mobilenetv2_fp32_from_qdq.onnx -o $work/mbv2.engine --fp16 \
  --shapes input:1x3x224x224 --verbose
step cli_mnist $run/bin/onyx build $work/mnist_cntk_opset1.onnx -o "$out/mnist_fp16.engine" --fp16
step cli_info $run/bin/onyx info $work/mbv2.engine
step cli_run_engine $run/bin/onyx run --engine $work/mbv2.engine --output-dir $work/o1 --seed 3
step cli_run_cuda $run/bin/onyx run $work/mobilenetv2_fp32_from_qdq.onnx --backend cuda --fp16 --output-dir $work/o2 --seed 3
step cli_classify $run/bin/onyx classify models/mobilenetv2_fp32_from_qdq.onnx models/images/eagle.jpg \
  models/images/dog_samoyed.jpg
# the image pipeline: onyx detect/classify on the GPU vs --cpu, an .engine file, batches, a folder; detect_min
photos=(models/images/eagle.jpg models/images/dog_samoyed.jpg)
[[ -d $work/images ]] && photos+=($work/images/bus.jpg $work/images/zidane.jpg)
step detect_gpu python3 tests/cuda/detect_gpu.py $run/bin/onyx $work "${photos[@]}"
[[ -f $run/bin/detect_min && -f $work/yolov8n_fp32_from_int8.onnx ]] &&
  step detect_min $run/bin/detect_min $work/yolov8n_fp32_from_int8.onnx "${photos[@]}"
[[ -f $work/yolov8n_fp32_from_int8.onnx ]] &&
  step pipeline_gpu $run/bin/onyx_pipeline_gpu_test $work/yolov8n_fp32_from_int8.onnx "${photos[@]}"
step cli_run_cpu $run/bin/onyx run $work/mobilenetv2_fp32_from_qdq.onnx --output-dir $work/o3 --seed 3
step bench python3 tests/bench/gpu_bench_checks.py $run/bin/onyx $work/mobilenetv2_fp32_from_qdq.onnx $work/bench \
  --shapes input:1x3x224x224
cp $work/bench/report.html "$out/bench_report.html" 2>/dev/null
grep -E "^(FAIL|XPASS)" "$out/node_cuda.log" | head -40
grep -E "FAIL" "$out/conv_gemm.log" | head -20
cat "$out/models.log" | tail -60
head -12 "$out/cli_build.log"
head -20 "$out/cli_info.log"; cat "$out/cli_run_engine.log" "$out/cli_run_cuda.log" "$out/cli_run_cpu.log"
tail -3 "$out/contexts.log"
[[ -f $out/contexts_pairs.log ]] && tail -3 "$out/contexts_pairs.log"
grep -vE "^  layer" "$out/nvrtc.log" | tail -15
grep -E "FAIL|^/" "$out/torchvision.log" | head -30
tail -8 "$out/bench.log"
grep -vE "^  ok" "$out/detect_gpu.log" | tail -30

# 8. out of device memory (tests/cuda/oom_test.c)
step oom $run/bin/onyx_oom_test
cat "$out/oom.log" | grep -vE "^onyx: warning" | tail -20
fi # functional part

# compute-sanitizer on one whole model (FP32/TF32/FP16 engines, saved, loaded, run) and on the image
# pipeline's kernels: memory errors and leaks, shared-memory races, barrier misuse, reads of device
# memory never written; any report fails (exit 9)
PATH=$PATH:/usr/local/cuda/bin
if [[ $part == functional ]]; then
  :
elif command -v compute-sanitizer >/dev/null; then
  step memcheck compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 \
    $run/bin/onyx_models_cuda $work/mnist_cntk_opset1.onnx $work/ultraface_rfb_320.onnx
  tail -15 "$out/memcheck.log"
  for tool in racecheck synccheck; do
    step $tool compute-sanitizer --tool $tool --error-exitcode 9 $run/bin/onyx_models_cuda $work/mnist_cntk_opset1.onnx
    tail -4 "$out/$tool.log"
  done
  # initcheck on inference (engines built beforehand: the tactic search under initcheck takes minutes)
  for e in mnist_cntk_opset1:fp32 mnist_cntk_opset1:fp16 ultraface_rfb_320:fp16; do
    $run/bin/onyx build $work/${e%:*}.onnx -o $work/ic_${e/:/_}.engine --${e#*:} >/dev/null 2>&1
    step initcheck_${e/:/_} compute-sanitizer --tool initcheck --error-exitcode 9 \
      $run/bin/onyx run --engine $work/ic_${e/:/_}.engine --output-dir $work/ic_out --seed 5
    tail -2 "$out/initcheck_${e/:/_}.log"
  done
  # the GEMM form of 1x1 convs (gather + cuBLASLt, forced by ONYX_CONV_GEMM=1) and views in place
  step nhwc_gemm_memcheck compute-sanitizer --tool memcheck --error-exitcode 9 $run/bin/onyx_nhwc_tests \
    --filter downsample
  tail -3 "$out/nhwc_gemm_memcheck.log"
  step views_memcheck compute-sanitizer --tool memcheck --error-exitcode 9 $run/bin/onyx_conv_gemm_tests \
    --filter view_
  tail -2 "$out/views_memcheck.log"
  # pairs of layers on a second stream (the side context's own workspace and handles)
  step lanes_memcheck compute-sanitizer --tool memcheck --error-exitcode 9 $run/bin/onyx_nhwc_tests \
    --filter branches
  tail -3 "$out/lanes_memcheck.log"
  # the fused stem kernel (kernels/conv_pool.cu: shared-memory patch, conv tile and filter, 16-byte stores)
  for tool in memcheck racecheck; do
    step stem_$tool compute-sanitizer --tool $tool --error-exitcode 9 $run/bin/onyx_nhwc_tests --filter stem
    tail -2 "$out/stem_$tool.log"
  done
  # onyx's split-K conv kernel (kernels/conv_splitk.cu: bulk copies on an mbarrier, cluster barriers,
  # distributed shared memory): its sandbox's checks (sandbox built by prepare.sh) and its engine layers
  for tool in memcheck racecheck synccheck; do
    step splitk_$tool compute-sanitizer --tool $tool --error-exitcode 9 .devrun/conv_splitk_check --no-timing
    tail -1 "$out/splitk_$tool.log"
  done
  step splitk_nhwc_memcheck compute-sanitizer --tool memcheck --error-exitcode 9 $run/bin/onyx_nhwc_tests \
    --filter deep_block
  tail -3 "$out/splitk_nhwc_memcheck.log"
  # the fused classifier head (kernels/pool_gemm.cu: channel sums in shared memory between barriers,
  # weights loaded before the grid-dependency wait); --filter head also runs reshape_head
  for tool in memcheck racecheck synccheck; do
    step head_$tool compute-sanitizer --tool $tool --error-exitcode 9 $run/bin/onyx_nhwc_tests --filter head
    tail -2 "$out/head_$tool.log"
  done
  for tool in memcheck racecheck; do
    step vision_$tool compute-sanitizer --tool $tool --error-exitcode 9 $run/bin/onyx_vision_cuda_test --quick
    tail -4 "$out/vision_$tool.log"
  done
else
  echo "compute-sanitizer not found: racecheck, synccheck and initcheck not run"
  failed+=(compute-sanitizer)
fi

if [[ $part != sanitizers ]]; then
  grep -E "FAIL|graphs," "$out/nhwc.log" | head -20
  tail -8 "$out/layout.log"
  grep -E "FAIL|^bench|checks|differ|gray level" "$out/vision.log" | head -30
  head -30 "$out/cli_build.log"
fi
printf '%s\n' "${summary[@]}"
# $OUT brings back at most 8 files: the logs go back as one archive, beside the MNIST engine fixture
(cd "$out" && tar czf logs.tgz ./*.log gpu.txt && rm -f ./*.log gpu.txt)
if ((${#failed[@]})); then
  echo "FAILED steps: ${failed[*]}"
  exit 1
fi
