#!/usr/bin/env bash
# onyx bench: bad command lines exit 2 with an "onyx: error:" message naming the problem.
# usage: test_bench_args.sh ONYX MODELS_DIR
set -u
onyx=$1
model=$2/mobilenetv2_fp32_from_qdq.onnx
fails=0 checks=0

expect() { # expect CODE 'substring of stderr' ARGS...
  local code=$1 want=$2
  shift 2
  local err rc
  err=$("$onyx" bench "$@" 2>&1 >/dev/null)
  rc=$?
  checks=$((checks + 1))
  if [[ $rc -ne $code || $err != *"$want"* ]]; then
    echo "FAIL: onyx bench $* -> exit $rc (want $code), stderr: $err (want '$want')"
    fails=$((fails + 1))
  fi
}

cpu=(--backend cpu)
expect 2 "no model given"
expect 2 "unknown option '--bogus'" "$model" --bogus
expect 2 "more than one model" "$model" "$model"
expect 2 "give a model or --engine, not both" "$model" --engine x.engine
expect 2 "--engine given twice" --engine a --engine b
expect 2 "--engine runs on the GPU" --engine x.engine --backend cpu
expect 2 "build flags (--fp16, ...) need a model" --engine x.engine --fp16
for opt in --warmup --iterations --duration --batch --shapes --streams --percentile --avg-runs --load-inputs \
  --seed --device --backend --engine --export-times --export-profile --export-layer-info --export-output --report \
  --workspace --opt-level --timing-cache --min-shapes; do
  expect 2 "$opt needs a value" "$model" "${cpu[@]}" $opt
done
expect 2 "--report is empty" "$model" "${cpu[@]}" --report ""
expect 2 "bad --warmup '-1'" "$model" "${cpu[@]}" --warmup -1
expect 2 "bad --warmup 'abc'" "$model" "${cpu[@]}" --warmup abc
expect 2 "bad --warmup 'nan'" "$model" "${cpu[@]}" --warmup nan
expect 2 "bad --duration 'inf'" "$model" "${cpu[@]}" --duration inf
expect 2 "bad --duration '3s'" "$model" "${cpu[@]}" --duration 3s
expect 2 "bad --iterations '0'" "$model" "${cpu[@]}" --iterations 0
expect 2 "bad --iterations '1.5'" "$model" "${cpu[@]}" --iterations 1.5
expect 2 "bad --iterations '99999999999999999999'" "$model" "${cpu[@]}" --iterations 99999999999999999999
expect 2 "bad --batch '0'" "$model" "${cpu[@]}" --batch 0
expect 2 "bad --streams '0'" "$model" --streams 0
expect 2 "bad --streams '65'" "$model" --streams 65
expect 2 "bad --avg-runs '0'" "$model" "${cpu[@]}" --avg-runs 0
expect 2 "bad --device '-1'" "$model" --device -1
expect 2 "bad --seed '-3'" "$model" "${cpu[@]}" --seed -3
expect 2 "bad --seed 'x'" "$model" "${cpu[@]}" --seed x
expect 2 "bad --backend 'tpu'" "$model" --backend tpu
expect 2 "bad --percentile '101'" "$model" "${cpu[@]}" --percentile 101
expect 2 "bad --percentile '90,'" "$model" "${cpu[@]}" --percentile 90,
expect 2 "bad --percentile 'p99'" "$model" "${cpu[@]}" --percentile p99
expect 2 "bad --workspace '0'" "$model" --workspace 0
expect 2 "bad --opt-level '4'" "$model" "${cpu[@]}" --opt-level 4
expect 2 "--shapes given twice" "$model" "${cpu[@]}" --shapes input:1x3x224x224 --shapes input:1x3x224x224
# GPU-only options with the CPU backend
for opt in --streams\ 2 --no-graph --graph --spin-wait --no-transfers --device\ 0 --profile \
  --export-profile\ p.json --export-layer-info\ l.json; do
  expect 2 "${opt%% *} needs --backend cuda" "$model" "${cpu[@]}" $opt
done
expect 2 "engine build flags need --backend cuda" "$model" "${cpu[@]}" --fp16
# checked against the model's inputs
expect 2 "bad shape 'input:1xx3'" "$model" "${cpu[@]}" --shapes input:1xx3
expect 2 "'nosuch', which is not an input" "$model" "${cpu[@]}" --shapes nosuch:1x3
expect 2 "bad --load-inputs 'input'" "$model" "${cpu[@]}" --load-inputs input
expect 2 "bad --load-inputs 'input:'" "$model" "${cpu[@]}" --load-inputs input:
expect 2 "--load-inputs names 'nosuch'" "$model" "${cpu[@]}" --load-inputs nosuch:x.npy
expect 2 "--load-inputs gives 'input' twice" "$model" "${cpu[@]}" --load-inputs input:a.npy,input:b.npy
expect 2 "--batch 4: no input" "$model" "${cpu[@]}" --batch 4 --shapes input:1x3x224x224
# not usage errors: exit 1
expect 1 "cannot open" /nonexistent/model.onnx "${cpu[@]}"
expect 1 "cannot open" "$model" "${cpu[@]}" --load-inputs input:/nonexistent/x.npy
# --help and --explain alone succeed and explain the formulas
for a in --help --explain; do
  out=$("$onyx" bench $a 2>&1)
  rc=$?
  checks=$((checks + 1))
  if [[ $rc -ne 0 || $out != *"nearest rank"* || $out != *"Enqueue Time"* || $out != *"2.5 %"* ]]; then
    echo "FAIL: onyx bench $a -> exit $rc, output lacks the explanation"
    fails=$((fails + 1))
  fi
done

echo "bench args: $((checks - fails)) of $checks checks passed"
((fails == 0))
