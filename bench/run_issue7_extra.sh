#!/usr/bin/env bash
# Issue 7's two workloads not measured before, in one device call (needs .devrun from
# scripts/device/prepare.sh; about 3 minutes on an H200):
#   1. ResNet18 TF32 batch 256 throughput: onyx (onyx_gpu_bench --tf32) vs PyTorch eager with TF32
#      allowed (target >= 2x), torch.compile reduce-overhead TF32 beside it for context; onyx's TF32
#      engine kept row-major (ONYX_NHWC=0) as the A/B of the channels-last layout, and the per-layer
#      profile;
#   2. YOLOv8n FP16 batch 32 throughput: the shared batch-1 export rewritten to batch 32 here
#      (bench/batch_onnx.py), onyx vs the onnx2torch module of the same file, eager and torch.compile
#      reduce-overhead (target >= 1.5x torch.compile); then onyx's engines on that file checked against its
#      CPU backend (onyx_models_cuda: FP32 session and FP32/TF32/FP16 engines at batch 32).
# JSON lines in $OUT/issue7_extra.jsonl, logs as $OUT/logs.tgz, a table with the ratios on stdout.
set -uo pipefail
out=${OUT:-/tmp/onyx-issue7-extra}
mkdir -p "$out"
logs=/tmp/onyx-issue7-logs
rm -rf $logs && mkdir -p $logs
work=/tmp/onyx-issue7-data
source scripts/device/unpack.sh
res=$out/issue7_extra.jsonl
: >"$res"
site=/tmp/onyx-issue7-site  # onnx2torch (pure Python, shipped as a wheel: the device has no network)
if ls $run/data/onnx2torch-*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --target $site $run/data/onnx2torch-*.whl >$logs/pip.log 2>&1 ||
    tail -3 $logs/pip.log
else
  echo "no onnx2torch wheel in .devrun/data: no PyTorch YOLOv8n baseline"
fi

echo "== ResNet18 TF32 batch 256"
python3 bench/torch_baseline.py --export $work/resnet18.onnx >$logs/export.log 2>&1 || tail -3 $logs/export.log
timeout 120 $run/bin/onyx_gpu_bench $work/resnet18.onnx --tf32 --batch 256 --name resnet18 >>"$res" \
  2>$logs/onyx_resnet.log || tail -3 $logs/onyx_resnet.log
ONYX_NHWC=0 timeout 120 $run/bin/onyx_gpu_bench $work/resnet18.onnx --tf32 --batch 256 --name resnet18 \
  --engine-label onyx-nchw >>"$res" 2>>$logs/onyx_resnet.log || tail -3 $logs/onyx_resnet.log
timeout 60 $run/bin/onyx_gpu_bench $work/resnet18.onnx --tf32 --batch 256 --iters 30 --name resnet18 --profile \
  >/dev/null 2>$logs/resnet_tf32_profile.log || tail -3 $logs/resnet_tf32_profile.log
timeout 150 python3 bench/torch_baseline.py --modes eager,reduce-overhead --batches 256 --precisions tf32 \
  >>"$res" 2>$logs/torch_resnet.log || tail -3 $logs/torch_resnet.log

echo "== YOLOv8n FP16 batch 32"
yolo=$work/yolov8n_b32.onnx
if python3 bench/batch_onnx.py $work/yolov8n_fp32_from_int8.onnx $yolo --batch 32 >$logs/batch_onnx.log 2>&1; then
  timeout 120 $run/bin/onyx_gpu_bench $yolo --fp16 --batch 32 --name yolov8n >>"$res" 2>$logs/onyx_yolo.log ||
    tail -3 $logs/onyx_yolo.log
  PYTHONPATH=$site timeout 240 python3 bench/torch_baseline.py --onnx $yolo --name yolov8n --size 640 \
    --batches 32 --precisions fp16 --modes eager,reduce-overhead >>"$res" 2>$logs/torch_yolo.log ||
    tail -3 $logs/torch_yolo.log
  timeout 60 $run/bin/onyx_gpu_bench $yolo --fp16 --batch 32 --iters 50 --name yolov8n --profile >/dev/null \
    2>$logs/yolo_b32_profile.log || tail -3 $logs/yolo_b32_profile.log
else
  tail -5 $logs/batch_onnx.log
fi

python3 - "$res" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
targets = {('resnet18', 'tf32', 256): ('torch-eager', 2.0), ('yolov8n', 'fp16', 32): ('torch-reduce-overhead', 1.5)}
for key, (base, target) in targets.items():
    group = [r for r in rows if (r['model'], r['precision'], r['batch']) == key]
    print(f"{key[0]} {key[1]} batch {key[2]} (target: onyx >= {target}x {base} images/s)")
    onyx = next((r for r in group if r['engine'] == 'onyx'), None)
    for r in group:
        build = f"build {r['build_s']:.1f} s" if 'build_s' in r else f"compile {r['compile_s']:.1f} s"
        ratio = ''
        if onyx and r is not onyx:
            x = onyx['images_per_s'] / r['images_per_s']
            ratio = f"onyx/this {x:5.2f}x" + (f"  {'MET' if x >= target else 'MISSED'}" if r['engine'] == base else '')
        print(f"  {r['engine']:22} {r['median_ms']:9.4f} ms {r['images_per_s']:10.1f} images/s  {build:16} {ratio}")
    if not onyx or not any(r['engine'] == base for r in group):
        print('  (missing rows: see the logs)')
PY
head -14 $logs/resnet_tf32_profile.log 2>/dev/null
head -14 $logs/yolo_b32_profile.log 2>/dev/null
if [[ -f $yolo ]]; then
  echo "== onyx on the batch-32 YOLOv8n vs its CPU backend"
  timeout 150 $run/bin/onyx_models_cuda $yolo >$logs/models_cuda_b32.log 2>&1
  echo "onyx_models_cuda rc=$?"
  grep -E "output0|FAIL|failures" $logs/models_cuda_b32.log
fi
tar czf "$out/logs.tgz" -C $logs .
