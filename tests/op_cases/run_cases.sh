#!/bin/sh
# Runs one op-case suite for ctest: generates it, then runs the node-test driver on it.
#   run_cases.sh PYTHON GENERATOR DIR DRIVER [DRIVER-ARGS...]
# Exits 77 (the tests' SKIP_RETURN_CODE) when PYTHON is missing or the generator exits 77 (a module it needs,
# such as onnxruntime, is absent).  Fails when the driver fails, when it reports a listed skip that now
# passes (XPASS), or when the skip file (--skips FILE) names a case the generator did not make.
py=$1 gen=$2 dir=$3 driver=$4
shift 4
if [ ! -x "$py" ]; then
  echo "skipping: no python at '$py' (scripts/install-deps.sh --test makes build/venv; or set ONYX_TEST_PYTHON)"
  exit 77
fi
"$py" "$gen" "$dir" || exit $?
status=0
skips=""
prev=""
for a in "$@"; do
  [ "$prev" = --skips ] && skips="$skips $a"
  prev=$a
done
for f in $skips; do
  for name in $(sed -e 's/^[[:space:]]*//' -e '/^#/d' -e 's/[[:space:]].*//' "$f"); do
    if [ ! -d "$dir/$name" ]; then
      echo "STALE $name is in $f but no such case was generated"
      status=1
    fi
  done
done
"$driver" "$dir" "$@" >"$dir.log" 2>&1
rc=$?
cat "$dir.log"
[ $rc -ne 0 ] && status=$rc
if grep -q '^XPASS' "$dir.log"; then
  echo "listed skips now pass: remove them from the skip list"
  status=1
fi
exit $status
