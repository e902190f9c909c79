#!/usr/bin/env bash
# Pairs of independent layers on a side stream (plan.h), measured: ResNet18 and YOLOv8n FP16 batch 1 GPU
# compute with and without them (ONYX_CONCURRENT=0), twice each, interleaved; the ResNet18 layer list
# (side-stream layers marked "||"); torch.compile reduce-overhead ResNet18 FP16 batch 1 beside it. One device
# call after scripts/device/prepare.sh, about 2 minutes.  JSON lines in $OUT/lanes_ab.jsonl, a table on stdout.
set -uo pipefail
out=${OUT:-/tmp/onyx-lanes-ab}
mkdir -p "$out"
work=/tmp/onyx-lanes-data
source scripts/device/unpack.sh
res=$out/lanes_ab.jsonl
: >"$res"
python3 bench/torch_baseline.py --export $work/resnet18.onnx >$out/export.log 2>&1 || tail -3 $out/export.log
for round in 1 2; do
  for m in resnet18 yolov8n_fp32_from_int8; do
    name=${m%%_*}
    $run/bin/onyx_gpu_bench $work/$m.onnx --fp16 --batch 1 --name $name >>"$res" 2>>$out/onyx.log
    ONYX_CONCURRENT=0 $run/bin/onyx_gpu_bench $work/$m.onnx --fp16 --batch 1 --name $name \
      --engine-label "onyx[ONYX_CONCURRENT=0]" >>"$res" 2>>$out/onyx.log
  done
done
$run/bin/onyx build $work/resnet18.onnx --fp16 --shapes input:1x3x224x224 --verbose -o /tmp/r18_b1.engine \
  >$out/resnet_build.log 2>&1
grep -E "\|\|" $out/resnet_build.log
timeout 150 python3 bench/torch_baseline.py --modes reduce-overhead --batches 1 --precisions fp16 >>"$res" \
  2>$out/torch.log || tail -3 $out/torch.log
python3 - "$res" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.startswith('{'):
        r = json.loads(l)
        print(f"{r['model']:9} {r['precision']} b{r['batch']:<3} {r['engine']:26} {r['median_ms']:8.4f} ms "
              f"(p90 {r.get('p90_ms', float('nan')):.4f})")
PY
