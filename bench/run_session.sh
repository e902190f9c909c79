#!/usr/bin/env bash
# One device call that checks and measures a change end to end (needs .devrun from
# scripts/device/prepare.sh; about 6 minutes on an H200):
#   1. scripts/device/gpu-tests.sh functional (every GPU test but the sanitizers)
#   2. issue 5's detection benchmark (bench/run_detect_bench.sh: onyx vs PyTorch, image -> detections)
#   3. YOLOv8n FP16 batch 1 default vs YOLO_AB_KNOBS (default ONYX_CONV_GEMM=0; bench/run_yolo_ab.sh), profile
#   4. ResNet18 FP16 batch 1 / 32 / 256 GPU compute (1 and 256 also with ONYX_CONV_GEMM=0), the batch-256
#      per-layer profile and tactic list, torch.compile
#      (reduce-overhead) beside it, and onyx bench's end-to-end batch-1 latency (H2D + compute + D2H)
# Logs as one archive in $OUT/logs.tgz (the device returns few files); the tables on stdout.
set -uo pipefail
out=${OUT:-/tmp/onyx-session}
mkdir -p "$out"
logs=/tmp/onyx-session-logs
rm -rf $logs && mkdir -p $logs
OUT=$logs/gpu bash scripts/device/gpu-tests.sh functional 2>&1 | tail -25
echo "== detection benchmark"
OUT=$logs/detect bash bench/run_detect_bench.sh 2>&1 | tail -8
echo "== YOLOv8n A/B"
YOLO_AB_KNOBS=${YOLO_AB_KNOBS:-ONYX_CONV_GEMM=0} OUT=$logs/yolo bash bench/run_yolo_ab.sh 2>&1 | tail -16
echo "== ResNet18"
work=/tmp/onyx-session-data
source scripts/device/unpack.sh
res=$logs/resnet.jsonl
python3 bench/torch_baseline.py --export $work/resnet18.onnx 2>$logs/export.log || tail $logs/export.log
for b in 1 32 256; do
  $run/bin/onyx_gpu_bench $work/resnet18.onnx --fp16 --batch $b --name resnet18 >>$res 2>>$logs/resnet.log
done
for b in 1 256; do # A/B: without the GEMM form of 1x1 convs
  ONYX_CONV_GEMM=0 $run/bin/onyx_gpu_bench $work/resnet18.onnx --fp16 --batch $b --name resnet18 \
    --engine-label "onyx[ONYX_CONV_GEMM=0]" >>$res 2>>$logs/resnet.log
done
$run/bin/onyx build $work/resnet18.onnx --fp16 --shapes input:256x3x224x224 --verbose -o /tmp/r18.engine \
  >$logs/resnet_build.log 2>&1
$run/bin/onyx_gpu_bench $work/resnet18.onnx --fp16 --batch 256 --iters 50 --name resnet18 --profile >/dev/null \
  2>$logs/resnet_profile.log
$run/bin/onyx bench $work/resnet18.onnx --fp16 --batch 1 --spin-wait --duration 2 --json >$logs/e2e.json \
  2>$logs/e2e.log || tail -3 $logs/e2e.log
timeout 200 python3 bench/torch_baseline.py --modes reduce-overhead --batches 1,256 --precisions fp16 >>$res \
  2>$logs/torch.log || tail -3 $logs/torch.log
python3 - $res $logs/e2e.json <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.startswith('{'):
        r = json.loads(l)
        print(f"{r['model']} {r['precision']} b{r['batch']:<4} {r['engine']:22} {r['median_ms']:8.4f} ms "
              f"{r['images_per_s']:10.1f}/s")
try:
    e = json.load(open(sys.argv[2]))
    print('onyx bench resnet18 fp16 b1 medians (ms):',
          ' '.join(f"{k[:-3]} {e[k]['median']:.4f}" for k in ('latency_ms', 'h2d_ms', 'compute_ms', 'd2h_ms',
                                                             'enqueue_ms')),
          f"throughput {e['throughput']['qps']:.0f} qps")
except Exception as ex:
    print('onyx bench json:', ex)
PY
head -14 $logs/resnet_profile.log
tar czf "$out/logs.tgz" -C $logs .
