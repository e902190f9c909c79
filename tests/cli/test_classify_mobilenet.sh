#!/usr/bin/env bash
# The main job: onyx classify on the shipped MobileNetV2 and photos gives the
# expected top-1 classes and probabilities: onnxruntime on onyx's preprocessed
# tensors gives 0.796 and 0.820 (see models/PROVENANCE.md, "Expected results").
# usage: test_classify_mobilenet.sh ONYX MODELS_DIR
set -u
onyx=$1
m=$2
out=$("$onyx" classify "$m/mobilenetv2_fp32_from_qdq.onnx" "$m/images/eagle.jpg" "$m/images/dog_samoyed.jpg")
rc=$?
echo "$out"
fails=0
[[ $rc -eq 0 ]] || { echo "FAIL: exit code $rc"; fails=1; }

# top1 IMAGE CLASS LABEL PMIN PMAX: the line after the image's header.
top1() {
  local line
  line=$(printf '%s\n' "$out" | awk -v img="$m/images/$1" 'index($0, img " (") == 1 { getline; print; exit }')
  read -r rank idx rest <<<"$line"
  local prob=${rest##* } label=${rest% *}
  label=${label%"${label##*[![:space:]]}"}
  if [[ $rank != 1 || $idx != "$2" || $label != "$3" ]] ||
    ! awk -v p="$prob" -v lo="$4" -v hi="$5" 'BEGIN { exit !(p >= lo && p <= hi) }'; then
    echo "FAIL: $1: top-1 '$line', want class $2 '$3' with probability in [$4, $5]"
    fails=1
  fi
}
top1 eagle.jpg 22 "bald eagle" 0.78 0.82
top1 dog_samoyed.jpg 258 Samoyed 0.80 0.84
exit $fails
