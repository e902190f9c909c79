#!/usr/bin/env bash
# Bad command lines: exit code 2 and an "onyx: error:" message naming the problem.
# usage: test_cli_args.sh ONYX MODELS_DIR
set -u
onyx=$1
model=$2/mobilenetv2_fp32_from_qdq.onnx
img=$2/images/eagle.jpg
fails=0 checks=0

expect() { # expect CODE 'substring of stderr' ARGS...
  local code=$1 want=$2
  shift 2
  local err rc
  err=$("$onyx" "$@" 2>&1 >/dev/null)
  rc=$?
  checks=$((checks + 1))
  if [[ $rc -ne $code || $err != *"$want"* ]]; then
    echo "FAIL: onyx $* -> exit $rc (want $code), stderr: $err (want '$want')"
    fails=$((fails + 1))
  fi
}

expect 2 "usage" # no command
expect 2 "unknown command 'frobnicate'" frobnicate
# run
expect 2 "no model given" run
expect 2 "unknown option '--bogus'" run "$model" --bogus
expect 2 "more than one model" run "$model" "$model"
expect 2 "--input needs a value" run "$model" --input
expect 2 "bad --input 'input'" run "$model" --input input
expect 2 "bad --input '=x.npy'" run "$model" --input =x.npy
expect 2 "bad --input 'input='" run "$model" --input input=
expect 2 "bad --seed 'abc'" run "$model" --seed abc
expect 2 "bad --seed '-3'" run "$model" --seed -3
expect 2 "bad --seed '99999999999999999999999'" run "$model" --seed 99999999999999999999999
expect 2 "--output-dir needs a value" run "$model" --output-dir
expect 2 "--output-dir is empty" run "$model" --output-dir ""
expect 2 "--shapes given twice" run "$model" --shapes input:1x3x224x224 --shapes input:1x3x224x224
expect 2 "bad shape 'input:1xx3'" run "$model" --shapes input:1xx3
expect 2 "bad shape 'input'" run "$model" --shapes input
expect 2 "bad shape 'input:-1x3'" run "$model" --shapes input:-1x3
expect 2 "'nosuch', which is not an input" run "$model" --shapes nosuch:1x3
expect 2 "'nosuch', which is not an input" run "$model" --input nosuch=x.npy
expect 2 "gives 'input' twice" run "$model" --input input=a.npy --input input=b.npy
expect 2 "gives input 'input' twice" run "$model" --shapes input:1x3x224x224,input:2x3x224x224
# classify
expect 2 "no model given" classify
expect 2 "no image given" classify "$model"
expect 2 "unknown option '--top'" classify "$model" "$img" --top 3
expect 2 "--topk needs a value" classify "$model" "$img" --topk
expect 2 "bad --topk '0'" classify "$model" "$img" --topk 0
expect 2 "bad --topk 'five'" classify "$model" "$img" --topk five
expect 2 "bad --topk '3x'" classify "$model" "$img" --topk 3x
expect 2 "--labels needs a value" classify "$model" "$img" --labels
# info
expect 2 "no model given" info
expect 2 "'nosuch', which is not an input" info "$model" --shapes nosuch:1
# not usage errors: exit 1
expect 1 "cannot open" run /nonexistent/model.onnx
expect 1 "cannot open" classify /nonexistent/model.onnx "$img"
# help is not an error
for c in run classify info; do
  checks=$((checks + 1))
  if ! "$onyx" $c --help | grep -q "usage: onyx $c"; then
    echo "FAIL: onyx $c --help"
    fails=$((fails + 1))
  fi
done
echo "test_cli_args: $checks checks, $fails failed"
((fails == 0))
