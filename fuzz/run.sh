#!/usr/bin/env bash
# Runs the libFuzzer targets of a fuzz build tree for a bounded time each.
#
#   fuzz/run.sh [--build DIR] [--time SECONDS] [--work DIR] [TARGET...]
#     --build DIR   the ONYX_FUZZ tree (default build-fuzz)
#     --time S      seconds per target (default 40; env ONYX_FUZZ_TIME)
#     --work DIR    where each target's growing corpus, crash artifacts and log go
#   ONYX_FUZZ_SEED  libFuzzer's seed (default 1, so CI explores the same way each time; vary it,
#                   and run longer, to find new inputs)
#                   (default DIR/fuzz-work; the seed corpus in fuzz/corpus is never written)
#     TARGET        onnx engine npy image cli (default: all)
# Exits non-zero if any target crashes, leaks, times out (10 s per input) or
# goes over 2 GiB of RSS; the input that did it is left in WORK/TARGET/ and
# named in the log.  Extra libFuzzer flags: env ONYX_FUZZ_FLAGS.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
secs=${ONYX_FUZZ_TIME:-40}
work=""
targets=()
while (($#)); do
  case $1 in
  --build) build=$(cd "${2:?--build needs a folder}" && pwd); shift ;;
  --time) secs=${2:?--time needs seconds}; shift ;;
  --work) work=$(mkdir -p "${2:?--work needs a folder}" && cd "$2" && pwd); shift ;; # absolute: the targets run in it
  -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) targets+=("$1") ;;
  esac
  shift
done
((${#targets[@]})) || targets=(onnx engine npy image cli)
work=${work:-$build/fuzz-work}
status=0
for t in "${targets[@]}"; do
  exe=$build/fuzz/fuzz_$t
  if [[ ! -x $exe ]]; then
    echo "fuzz/run.sh: $exe is missing (configure with -DCMAKE_C_COMPILER=clang -DONYX_FUZZ=ON and build)" >&2
    status=1
    continue
  fi
  dir=$work/$t
  mkdir -p "$dir/corpus"
  log=$dir/fuzz.log
  echo "==== fuzz_$t: ${secs}s (log $log)"
  # The seed corpus and the regression inputs are read; new inputs go to $dir/corpus.
  seeds=("$root/fuzz/corpus/$t")
  [[ -d $root/fuzz/regressions/$t ]] && seeds+=("$root/fuzz/regressions/$t")
  # shellcheck disable=SC2086
  (cd "$dir" && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$exe" -max_total_time="$secs" -seed="${ONYX_FUZZ_SEED:-1}" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
    -close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$dir/" ${ONYX_FUZZ_FLAGS:-} \
    "$dir/corpus" "${seeds[@]}") >"$log" 2>&1
  rc=$?
  grep -E '^#[0-9]+ *DONE|stat::number_of_executed_units|stat::peak_rss_mb' "$log" | tail -3
  grep -E '^#[0-9]+.*cov:' "$log" | tail -1
  if ((rc != 0)); then
    echo "fuzz_$t FAILED (exit $rc):"
    grep -E 'ERROR: |SUMMARY: |runtime error|fuzz check failed|Test unit written to' "$log" | head -20
    status=1
  fi
done
exit "$status"
