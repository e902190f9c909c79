#!/usr/bin/env bash
# The GPU benchmark, in one device call (see bench/RESULTS.md for recorded runs):
# ResNet18 (torchvision, seeded random weights, exported here) and YOLOv8n at
# FP32 and FP16, batch 1/32/256: onyx's GPU compute median beside PyTorch eager
# and torch.compile measured in the same call, plus build/compile times.
# Needs .devrun (scripts/device/prepare.sh, which also builds onyx_gpu_bench).
#   bench/run_gpu_bench.sh [eager,reduce-overhead]    (MAX_AUTOTUNE=1: also max-autotune, ResNet18 FP16 b1)
# It also measures the card's tensor-core rate and bandwidth (bench/roofline.py, for bench/NOTES.md).
set -uo pipefail
modes=${1:-eager,reduce-overhead}
out=${OUT:-/tmp/onyx-bench}
mkdir -p "$out"
work=/tmp/onyx-bench-data
source scripts/device/unpack.sh
res=$out/results.jsonl
: >"$res"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
python3 bench/torch_baseline.py --export $work/resnet18.onnx 2>"$out/export.log" || tail "$out/export.log"
for prec in fp32 fp16; do
  for b in 1 32 256; do
    $run/bin/onyx_gpu_bench $work/resnet18.onnx --$prec --batch $b --name resnet18 >>"$res" 2>>"$out/onyx.log"
  done
  for b in 1 32; do  # YOLOv8n is exported with a fixed batch of 1: batch 32 needs a dynamic export
    [[ $b == 1 ]] && $run/bin/onyx_gpu_bench $work/yolov8n_fp32_from_int8.onnx --$prec --batch 1 --name yolov8n \
      >>"$res" 2>>"$out/onyx.log"
  done
done
# FP16 A/B: the same engines kept row-major (ONYX_NHWC=0), then per-layer profiles of both
# layouts for ResNet18 at batch 256 (stderr, in onyx.log)
for b in 1 32 256; do
  ONYX_NHWC=0 $run/bin/onyx_gpu_bench $work/resnet18.onnx --fp16 --batch $b --name resnet18 \
    --engine-label onyx-nchw >>"$res" 2>>"$out/onyx.log"
done
ONYX_NHWC=0 $run/bin/onyx_gpu_bench $work/yolov8n_fp32_from_int8.onnx --fp16 --batch 1 --name yolov8n \
  --engine-label onyx-nchw >>"$res" 2>>"$out/onyx.log"
for nhwc in 1 0; do
  ONYX_NHWC=$nhwc $run/bin/onyx_gpu_bench $work/resnet18.onnx --fp16 --batch 256 --iters 50 --name resnet18 \
    --engine-label profile-nhwc$nhwc --profile >/dev/null 2>>"$out/onyx.log"
done
timeout 300 python3 bench/torch_baseline.py --modes "$modes" >>"$res" 2>"$out/torch.log" || tail -5 "$out/torch.log"
# max-autotune compiles for minutes: ResNet18 FP16 batch 1 only, for its compile time beside onyx's build
if [[ ${MAX_AUTOTUNE:-0} == 1 ]]; then
  timeout 400 python3 bench/torch_baseline.py --modes max-autotune --precisions fp16 --batches 1 >>"$res" \
    2>>"$out/torch.log" || tail -5 "$out/torch.log"
fi
python3 bench/roofline.py >"$out/roofline.json" 2>>"$out/torch.log" && cat "$out/roofline.json"
# YOLOv8n as PyTorch: rebuilt from the same ONNX file by onnx2torch (carried as a wheel)
if ls $run/data/onnx2torch-*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/site $run/data/onnx2torch-*.whl >/dev/null 2>&1
  PYTHONPATH=/tmp/site timeout 200 python3 bench/torch_baseline.py --modes "$modes" --batches 1 \
    --onnx $work/yolov8n_fp32_from_int8.onnx --name yolov8n --size 640 >>"$res" 2>>"$out/torch.log" ||
    tail -5 "$out/torch.log"
fi
python3 - "$res" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
print(f"{'model':9} {'prec':5} {'batch':>5}  {'engine':22} {'median ms':>10} {'img/s':>10} {'build/compile s':>16}")
for r in sorted(rows, key=lambda r: (r['model'], r['precision'], r['batch'], r['engine'])):
    print(f"{r['model']:9} {r['precision']:5} {r['batch']:>5}  {r['engine']:22} {r['median_ms']:>10.4f} "
          f"{r['images_per_s']:>10.1f} {r.get('build_s', r.get('compile_s', 0)):>16.2f}")
PY
