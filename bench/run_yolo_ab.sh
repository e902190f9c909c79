#!/usr/bin/env bash
# YOLOv8n FP16 batch 1 GPU compute with each A/B knob (needs .devrun from scripts/device/prepare.sh):
# the default build, then ONYX_CONV_SEARCH=all (every usable cuDNN algorithm timed, not only those Find
# put within 1.5x of its best), ONYX_CONCAT_IN_PLACE=0 (every Concat copies), ONYX_CONV_FUSED=0; then
# the default build's per-layer profile and tactic list.  JSON lines in $OUT/yolo_ab.jsonl.
set -uo pipefail
out=${OUT:-/tmp/onyx-yolo-ab}
mkdir -p "$out"
work=/tmp/onyx-yolo-ab-data
source scripts/device/unpack.sh
res=$out/yolo_ab.jsonl
: >"$res"
model=$work/yolov8n_fp32_from_int8.onnx
for rep in 1 2; do  # twice: tactic timing is noisy, a choice that differs between builds shows here
  for e in "" ${YOLO_AB_KNOBS:-ONYX_CONV_SEARCH=all ONYX_CONCAT_IN_PLACE=0 ONYX_CONV_FUSED=0}; do
    env $e $run/bin/onyx_gpu_bench $model --fp16 --batch 1 --name yolov8n --engine-label "onyx${e:+[$e]}" \
      >>"$res" 2>>"$out/yolo_ab.log"
  done
done
$run/bin/onyx_gpu_bench $model --fp16 --batch 1 --iters 50 --name yolov8n --profile >/dev/null \
  2>"$out/yolo_profile.log"
$run/bin/onyx build $model --fp16 --verbose -o /tmp/yolo.engine >"$out/yolo_build.log" 2>&1 # the list is on stdout
python3 - "$res" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.startswith('{'):
        r = json.loads(l)
        print(f"{r['engine']:40} {r['median_ms']:8.4f} ms  p90 {r['p90_ms']:8.4f}  build {r['build_s']:.2f} s")
PY
head -30 "$out/yolo_profile.log"
