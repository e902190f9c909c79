#!/usr/bin/env bash
# A quick A/B for one optimisation, in one device call (needs .devrun from scripts/device/prepare.sh):
# correctness first (CUDA vs CPU on the real and torchvision models, conv/gemm layers, channels-last
# tests), then ResNet18 FP16 at batch 1/32/256 built normally and with the knob in $AB_ENV
# (e.g. ONYX_CONV_FUSED=0), YOLOv8n FP16 batch 1, a per-layer profile at batch 256 and
# torch.compile (reduce-overhead) beside it.  Lines of JSON in $OUT/results.jsonl, the logs in $OUT/ab-logs.tgz.
#   AB_ENV=ONYX_CONV_FUSED=0 bench/run_ab.sh
set -uo pipefail
out=${OUT:-/tmp/onyx-ab}
mkdir -p "$out"
work=/tmp/onyx-ab-data
source scripts/device/unpack.sh
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
$run/bin/onyx_models_cuda --shapes input:1x3x224x224 $work/*.onnx >"$out/models.log" 2>&1
echo "models rc=$? $(tail -n 1 "$out/models.log")"
python3 tests/cuda/export_torchvision.py $work/tv >"$out/export.log" 2>&1
$run/bin/onyx_models_cuda $work/tv/*.onnx >"$out/torchvision.log" 2>&1
echo "torchvision rc=$? $(tail -n 1 "$out/torchvision.log")"
$run/bin/onyx_conv_gemm_tests >"$out/conv_gemm.log" 2>&1; echo "conv_gemm rc=$? $(tail -n 1 "$out/conv_gemm.log")"
$run/bin/onyx_nhwc_tests >"$out/nhwc.log" 2>&1; echo "nhwc rc=$? $(tail -n 1 "$out/nhwc.log")"
res=$out/results.jsonl
: >"$res"
python3 bench/torch_baseline.py --export $work/resnet18.onnx 2>"$out/export.log" || tail "$out/export.log"
ab() { # bench args...: the normal build, then the same with $AB_ENV
  $run/bin/onyx_gpu_bench "$@" >>"$res" 2>>"$out/onyx.log"
  [[ -n ${AB_ENV:-} ]] && env $AB_ENV $run/bin/onyx_gpu_bench "$@" --engine-label "onyx[$AB_ENV]" >>"$res" \
    2>>"$out/onyx.log"
}
for b in 1 32 256; do ab $work/resnet18.onnx --fp16 --batch $b --name resnet18; done
ab $work/resnet18.onnx --fp32 --batch 1 --name resnet18
ab $work/yolov8n_fp32_from_int8.onnx --fp16 --batch 1 --name yolov8n
for b in 1 256; do
  for e in "" ${AB_ENV:-}; do
    echo "== profile batch $b ${e:-default}" >>"$out/profile.log"
    env $e $run/bin/onyx_gpu_bench $work/resnet18.onnx --fp16 --batch $b --iters 50 --name resnet18 --profile \
      >/dev/null 2>>"$out/profile.log"
  done
done
timeout 240 python3 bench/torch_baseline.py --modes reduce-overhead --batches 1,256 >>"$res" 2>"$out/torch.log" ||
  tail -5 "$out/torch.log"
if [[ ${AB_YOLO_TORCH:-0} == 1 ]] && ls $run/data/onnx2torch-*.whl >/dev/null 2>&1; then # YOLOv8n rebuilt in PyTorch
  python3 -m pip install -q --no-index --no-deps --target /tmp/site $run/data/onnx2torch-*.whl >/dev/null 2>&1
  PYTHONPATH=/tmp/site timeout 150 python3 bench/torch_baseline.py --modes eager,reduce-overhead --batches 1 \
    --precisions fp16 --onnx $work/yolov8n_fp32_from_int8.onnx --name yolov8n --size 640 >>"$res" \
    2>>"$out/torch.log" || tail -5 "$out/torch.log"
fi
[[ ${AB_ROOFLINE:-0} == 1 ]] && python3 bench/roofline.py | tee "$out/roofline.json"
python3 - "$res" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
for r in sorted(rows, key=lambda r: (r['model'], r['precision'], r['batch'], r['engine'])):
    print(f"{r['model']:9} {r['precision']:5} {r['batch']:>5}  {r['engine']:26} {r['median_ms']:>9.4f} ms "
          f"{r['images_per_s']:>10.1f}/s {r.get('build_s', r.get('compile_s', 0)):>7.2f} s")
PY
grep -E "^==|ms " "$out/profile.log" | cut -c1-150
# the device returns a few files only: the logs in one archive beside results.jsonl
tar czf /tmp/onyx-ab-logs.tgz -C "$out" . && find "$out" -type f ! -name results.jsonl -delete &&
  mv /tmp/onyx-ab-logs.tgz "$out/ab-logs.tgz"
