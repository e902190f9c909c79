#!/usr/bin/env bash
# torch.compile(mode="max-autotune") as the baseline of issues 3 and 7, in one device call (needs .devrun
# from scripts/device/prepare.sh; about 8 minutes on an H200):
#   - onyx: ResNet18 FP16 batch 1 and 256, built by default and with the knobs in $AB_ENV (default
#     ONYX_CONV_SEARCH=all: every cuDNN algorithm timed, "all tactics"), GPU compute median and build time
#     (onyx_gpu_bench);
#   - PyTorch: the same ResNet18 (torchvision architecture, same seed) in FP16, torch.compile modes
#     reduce-overhead and max-autotune at batch 1 and 256, with their compile times (a fresh machine:
#     Inductor's caches cold).
# The batch-256 max-autotune run gets what is left of a 570 s budget. JSON lines in $OUT/max_autotune.jsonl,
# logs as $OUT/logs.tgz, a table on stdout.
set -uo pipefail
out=${OUT:-/tmp/onyx-max-autotune}
mkdir -p "$out"
logs=/tmp/onyx-max-autotune-logs
rm -rf $logs && mkdir -p $logs
work=/tmp/onyx-max-autotune-data
source scripts/device/unpack.sh
res=$out/max_autotune.jsonl
: >"$res"
python3 bench/torch_baseline.py --export $work/resnet18.onnx >$logs/export.log 2>&1 || tail -3 $logs/export.log
ab=${AB_ENV:-ONYX_CONV_SEARCH=all}
for b in 1 256; do
  $run/bin/onyx_gpu_bench $work/resnet18.onnx --fp16 --batch $b --name resnet18 >>"$res" 2>>$logs/onyx.log ||
    tail -3 $logs/onyx.log
  env $ab $run/bin/onyx_gpu_bench $work/resnet18.onnx --fp16 --batch $b --name resnet18 \
    --engine-label "onyx[$ab]" >>"$res" 2>>$logs/onyx.log || tail -3 $logs/onyx.log
done
$run/bin/onyx_gpu_bench $work/resnet18.onnx --fp16 --batch 256 --iters 50 --name resnet18 --profile >/dev/null \
  2>$logs/profile256.log
$run/bin/onyx_gpu_bench $work/resnet18.onnx --fp16 --batch 1 --iters 200 --name resnet18 --profile >/dev/null \
  2>$logs/profile1.log
timeout 300 python3 bench/torch_baseline.py --modes reduce-overhead,max-autotune --precisions fp16 --batches 1 \
  >>"$res" 2>$logs/torch_b1.log || tail -5 $logs/torch_b1.log
left=$((570 - SECONDS))
if ((left > 60)); then
  timeout $left python3 bench/torch_baseline.py --modes reduce-overhead,max-autotune --precisions fp16 --batches 256 >>"$res" \
    2>$logs/torch_b256.log || { echo "batch-256 max-autotune: not finished in ${left} s"; tail -3 $logs/torch_b256.log; }
else
  echo "no time left for batch-256 max-autotune"
fi
python3 - "$res" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
for b in (1, 256):
    group = [r for r in rows if r['batch'] == b]
    onyx = next((r for r in group if r['engine'] == 'onyx'), None)
    print(f"resnet18 fp16 batch {b}")
    for r in group:
        build = f"build {r['build_s']:.1f} s" if 'build_s' in r else f"compile {r['compile_s']:.1f} s"
        ratio = f"onyx/this time {onyx['median_ms'] / r['median_ms']:.2f}x" if onyx and r is not onyx else ''
        print(f"  {r['engine']:22} {r['median_ms']:9.4f} ms {r['images_per_s']:10.1f} images/s  {build:18} {ratio}")
PY
head -8 $logs/profile256.log
cp "$res" $logs/
tar czf "$out/logs.tgz" -C $logs .
