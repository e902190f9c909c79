#!/usr/bin/env bash
# Bad input through the `onyx` CLI: every case must exit non-zero (not by a
# signal) with a message on stderr naming the problem, and no crash or
# sanitizer report.
#   cli_cases.sh ONYX BAD_INPUT_API GROUP
# GROUP: models (every case of the shared list via `onyx info`), args (bad
# command lines), run, classify.  Exit 77 (ctest: skipped) when GROUP's
# command is not part of this build.
set -uo pipefail
onyx=$1
gen=$2
group=$3

work=$(mktemp -d "${TMPDIR:-/tmp}/onyx_cli_cases.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
checks=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_fail NAME FRAGMENT... -- COMMAND...: non-zero exit below 126, stderr
# holding every fragment, no crash report.
expect_fail() {
  local name=$1
  shift
  local frags=()
  while [[ $1 != -- ]]; do
    frags+=("$1")
    shift
  done
  shift
  checks=$((checks + 1))
  local rc=0
  "$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
  local err
  err=$(cat "$work/err")
  if ((rc == 0)); then
    fail "$name: exit 0, expected failure ($*)"
  elif ((rc >= 126)); then
    fail "$name: exit $rc (killed by a signal or not runnable) ($*)"
  fi
  if grep -qE 'Segmentation|AddressSanitizer|LeakSanitizer|runtime error:|Sanitizer|core dumped|Assertion' "$work/err"; then
    fail "$name: crash or sanitizer report: $err"
  fi
  if [[ -z $err ]]; then
    fail "$name: no message on stderr"
  fi
  local f
  for f in "${frags[@]}"; do
    if [[ $err != *"$f"* ]]; then
      fail "$name: stderr does not mention '$f': $err"
    fi
  done
}

expect_ok() {
  local name=$1
  shift
  checks=$((checks + 1))
  local rc=0
  "$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
  if ((rc != 0)); then
    fail "$name: exit $rc, expected success ($*): $(cat "$work/err")"
  fi
}

# has_command CMD: whether this onyx build has the subcommand.
has_command() {
  "$onyx" --help 2>&1 | grep -qE "^  $1 "
}

"$gen" --write "$work" || {
  echo "cannot write the cases" >&2
  exit 1
}
good="$work/net.onnx"
classifier="$work/classifier.onnx"

case $group in
models)
  while IFS=$'\t' read -r name path status frags; do
    IFS=$'\t' read -r -a fr <<<"$frags"
    if [[ $status == OK ]]; then
      expect_ok "$name" "$onyx" info "$path"
    else
      expect_fail "$name" "${fr[@]}" -- "$onyx" info "$path"
    fi
  done <"$work/manifest.tsv"
  ;;
args)
  expect_fail no_arguments usage -- "$onyx"
  expect_fail unknown_command "unknown command 'frobnicate'" -- "$onyx" frobnicate
  expect_fail unknown_option_first "unknown command '--bogus'" -- "$onyx" --bogus
  expect_fail info_no_model "no model" -- "$onyx" info
  expect_fail info_unknown_option "'--bogus'" -- "$onyx" info --bogus "$good"
  expect_fail info_two_models "more than one model" -- "$onyx" info "$good" "$good"
  expect_fail info_shapes_no_value "--shapes" -- "$onyx" info "$good" --shapes
  expect_fail info_shapes_garbage "input:1xQ" -- "$onyx" info "$good" --shapes input:1xQ
  expect_fail info_shapes_no_name "4x4x4" -- "$onyx" info "$good" --shapes 4x4x4
  expect_fail info_shapes_negative "input:-1x4x4" -- "$onyx" info "$good" --shapes input:-1x4x4
  expect_fail info_shapes_unknown_input "'nosuch'" -- "$onyx" info "$good" --shapes nosuch:1x4x4
  expect_fail info_shapes_wrong_rank "'input'" "rank 3" -- "$onyx" info "$good" --shapes input:2x4
  expect_fail info_shapes_wrong_dim "'input'" "2x4x5" -- "$onyx" info "$good" --shapes input:2x4x5
  expect_fail info_shapes_too_many_dims "input:1x1x1x1x1x1x1x1x1x1" -- \
    "$onyx" info "$good" --shapes input:1x1x1x1x1x1x1x1x1x1
  expect_fail info_missing_file "does_not_exist.onnx" -- "$onyx" info "$work/does_not_exist.onnx"
  expect_ok info_good "$onyx" info "$good" --shapes input:3x4x4
  # sizes past 2^64 bytes, infinite or NaN (found by fuzz_cli: the conversion was undefined)
  for ws in 1e30 44444444444444444444G inf nan -1M; do
    expect_fail "build_workspace_$ws" "bad --workspace '$ws'" -- "$onyx" build "$good" -o "$work/x.engine" --workspace "$ws"
  done
  ;;
run)
  if ! has_command run; then
    echo "onyx run is not in this build: skipped"
    exit 77
  fi
  out=(--output-dir "$work/run_out")
  expect_fail run_no_model "model" -- "$onyx" run
  expect_fail run_bad_model "truncated" -- "$onyx" run "$(ls "$work"/truncated_*_of_*.onnx | sed -n 5p)" "${out[@]}"
  expect_fail run_missing_model "does_not_exist.onnx" -- "$onyx" run "$work/does_not_exist.onnx" "${out[@]}"
  expect_fail run_unknown_option "'--bogus'" -- "$onyx" run "$good" --bogus
  # wrong shapes, ranks and dtypes given at run time
  expect_fail run_shapes_wrong_dim "'input'" "2x4x5" -- "$onyx" run "$good" --shapes input:2x4x5 "${out[@]}"
  expect_fail run_shapes_wrong_rank "'input'" "rank 3" -- "$onyx" run "$good" --shapes input:2x4 "${out[@]}"
  expect_fail run_shapes_unknown_input "'nosuch'" -- "$onyx" run "$good" --shapes nosuch:1x4x4 "${out[@]}"
  expect_fail run_npy_wrong_shape "'input'" "2x5x4" -- \
    "$onyx" run "$good" --input "input=$work/input_wrong_shape.npy" "${out[@]}"
  expect_fail run_npy_wrong_rank "'input'" "rank" -- \
    "$onyx" run "$good" --input "input=$work/input_wrong_rank.npy" "${out[@]}"
  expect_fail run_npy_wrong_dtype "'input'" "int32" "float32" -- \
    "$onyx" run "$good" --input "input=$work/input_int32.npy" "${out[@]}"
  expect_fail run_npy_garbage "input_garbage.npy" -- \
    "$onyx" run "$good" --input "input=$work/input_garbage.npy" "${out[@]}"
  expect_fail run_npy_model_as_npy "net.onnx" -- "$onyx" run "$good" --input "input=$good" "${out[@]}"
  expect_fail run_npy_missing "missing.npy" -- "$onyx" run "$good" --input "input=$work/missing.npy" "${out[@]}"
  expect_fail run_npy_unknown_input "'nosuch'" -- \
    "$onyx" run "$good" --input "nosuch=$work/input_ok.npy" "${out[@]}"
  expect_fail run_input_no_equals "no_equals" -- "$onyx" run "$good" --input no_equals "${out[@]}"
  expect_ok run_good "$onyx" run "$good" --shapes input:2x4x4 "${out[@]}"
  expect_ok run_good_npy "$onyx" run "$good" --input "input=$work/input_ok.npy" "${out[@]}"
  ;;
classify)
  if ! has_command classify; then
    echo "onyx classify is not in this build: skipped"
    exit 77
  fi
  printf 'this is not an image\n' >"$work/not_an_image.jpg"
  head -c 3000 /dev/urandom >"$work/noise.png"
  printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR' >"$work/cut.png"
  : >"$work/empty.jpg"
  expect_fail classify_text_as_image "not_an_image.jpg" -- "$onyx" classify "$classifier" "$work/not_an_image.jpg"
  expect_fail classify_noise_as_image "noise.png" -- "$onyx" classify "$classifier" "$work/noise.png"
  expect_fail classify_cut_png "cut.png" -- "$onyx" classify "$classifier" "$work/cut.png"
  expect_fail classify_empty_image "empty.jpg" -- "$onyx" classify "$classifier" "$work/empty.jpg"
  expect_fail classify_missing_image "missing.jpg" -- "$onyx" classify "$classifier" "$work/missing.jpg"
  expect_fail classify_model_as_image "net.onnx" -- "$onyx" classify "$classifier" "$good"
  expect_fail classify_no_args "" -- "$onyx" classify
  expect_fail classify_bad_model "text.onnx" -- "$onyx" classify "$work/text.onnx" "$work/not_an_image.jpg"
  ;;
*)
  echo "unknown group '$group'" >&2
  exit 2
  ;;
esac

if ((failures)); then
  echo "$group: $failures failure(s) in $checks CLI checks" >&2
  exit 1
fi
echo "$group: all $checks CLI checks passed"
