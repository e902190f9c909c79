#!/usr/bin/env bash
# examples/detect_min on YOLO11n (320) and bus.jpg, with a bad image after it.
# usage: test_detect_min.sh DETECT_MIN MODELS_DIR TMPDIR
set -u
prog=$1 models=$2 tmp=$3
model=$models/yolo11n_320_fp32_from_int8.onnx
if [[ ! -f $model ]]; then
  echo "SKIP: $model is absent"
  exit 77
fi
mkdir -p "$tmp"
echo "not an image" >"$tmp/bad.jpg"
out=$("$prog" "$model" "$models/images/bus.jpg" "$tmp/bad.jpg" 2>"$tmp/stderr")
rc=$?
echo "$out"
cat "$tmp/stderr"
fails=0
fail() { echo "FAIL: $*"; fails=1; }
[[ $rc -eq 1 ]] || fail "exit code $rc, want 1 (one bad image)"
grep -q "bad.jpg.*not a JPEG or PNG" "$tmp/stderr" || fail "the bad image is not reported"
grep -q "bus.jpg: 810 x 1080, 5 detections" <<<"$out" || fail "bus.jpg: want 5 detections"
# COCO class 0 (person) four times, 5 (bus) once
persons=$(grep -c "^  class  0 " <<<"$out")
buses=$(grep -c "^  class  5 " <<<"$out")
[[ $persons -eq 4 && $buses -eq 1 ]] || fail "$persons persons and $buses buses, want 4 and 1"
exit $fails
