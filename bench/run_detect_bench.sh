#!/usr/bin/env bash
# Issue 5's benchmark, in one device call (needs .devrun from scripts/device/prepare.sh): YOLOv8n FP16
# image -> detections latency at batch 1 (decode excluded and reported apart) and the throughput over a
# folder of photos, onyx (bench/onyx_detect_bench.c) beside PyTorch doing the same preprocessing, model
# and torchvision NMS (bench/torch_detect.py: eager and torch.compile reduce-overhead).
# JSON lines in $OUT/detect.jsonl, a table on stdout.
set -uo pipefail
out=${OUT:-/tmp/onyx-detect-bench}
mkdir -p "$out"
work=/tmp/onyx-detect-data
source scripts/device/unpack.sh
res=$out/detect.jsonl
: >"$res"
model=$work/yolov8n_fp32_from_int8.onnx
# the folder: 100 copies each of the two photos (810x1080 and 1280x720), every file decoded on its own
mkdir -p $work/photos
for i in $(seq -w 1 100); do
  cp $work/images/bus.jpg $work/photos/bus_$i.jpg
  cp $work/images/zidane.jpg $work/photos/zidane_$i.jpg
done
$run/bin/onyx_detect_bench $model --fp16 --image $work/images/bus.jpg --threads 4 --name yolov8n \
  $work/photos/*.jpg >>"$res" 2>"$out/onyx_detect.log" || tail -5 "$out/onyx_detect.log"
if ls $run/data/onnx2torch-*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/site $run/data/onnx2torch-*.whl >/dev/null 2>&1
  (cd bench && PYTHONPATH=/tmp/site timeout 300 python3 torch_detect.py --onnx $model \
    --image $work/images/bus.jpg $work/photos/*.jpg >>"$res" 2>"$out/torch_detect.log") ||
    tail -5 "$out/torch_detect.log"
fi
python3 - "$res" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
for r in rows:
    if r['bench'] == 'detect_latency':
        extra = ' '.join(f"{k[:-3]} {r[k]:.3f}" for k in ('preprocess_ms', 'h2d_ms', 'inference_ms', 'd2h_ms',
                                                        'postprocess_ms') if k in r)
        print(f"latency    {r['engine']:22} median {r['median_ms']:7.3f} ms  p90 {r['p90_ms']:7.3f}  "
              f"p99 {r['p99_ms']:7.3f}  decode {r['decode_ms']:6.2f} ms  dets {r['detections']}  {extra}")
    else:
        print(f"throughput {r['engine']:22} {r['images_per_s']:8.1f} images/s  ({r['images']} images, "
              f"{r['decode_threads']} decode threads, {r['wall_s']:.2f} s, {r['detections']} boxes)")
PY
