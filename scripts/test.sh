#!/usr/bin/env bash
# Builds onyx four times and runs the whole test suite:
#   build/       RelWithDebInfo: every test
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer):
#                every test not labelled "python" (ctypes cannot load an ASan libonyx)
#   build-tsan/  ThreadSanitizer, CPU only: the image pipeline's test (its decoding workers, batching
#                thread and callers are onyx's threaded code on the CPU)
#   build-fuzz/  clang, libFuzzer + ASan + UBSan: each fuzz target runs for
#                ONYX_FUZZ_TIME seconds (default 40; fuzz/README.md)
# Exits non-zero if any build or test fails, or a fuzz target crashes, leaks or times out.
#
#   scripts/test.sh [--skip-deps] [--no-asan] [--no-tsan] [--no-fuzz] [--jobs N] [-- CTEST_ARGS...]
#     --skip-deps  do not run scripts/install-deps.sh --test
#     --no-asan    no build-asan tree
#     --no-tsan    no build-tsan tree
#     --no-fuzz    no build-fuzz tree (also skipped, with a note, when clang is absent)
#     --jobs N     parallel build and test jobs (default: nproc; env ONYX_JOBS)
#     CTEST_ARGS   passed to every ctest run, e.g. -- -R bad_input
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

deps=1
asan=1
tsan=1
fuzz=1
jobs=${ONYX_JOBS:-$(nproc)}
ctest_args=()
while (($#)); do
  case $1 in
  --skip-deps) deps=0 ;;
  --no-asan) asan=0 ;;
  --no-tsan) tsan=0 ;;
  --no-fuzz) fuzz=0 ;;
  --jobs)
    jobs=${2:?--jobs needs a number}
    shift
    ;;
  --)
    shift
    ctest_args=("$@")
    break
    ;;
  -h | --help)
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "test.sh: unknown argument '$1' (see --help)" >&2
    exit 2
    ;;
  esac
  shift
done

if [[ -d /usr/local/cuda/bin ]]; then
  export PATH=/usr/local/cuda/bin:$PATH # so that CMake finds nvcc and the CUDA parts compile
fi

start=$SECONDS
summary=()
status=0
tests_run=0 # ctest tests run in all trees (the summary's total)
note() { summary+=("$*"); }

stage() { echo; echo "==== $* ($((SECONDS - start)) s)"; }

if ((deps)); then
  stage "dependencies"
  if ! scripts/install-deps.sh --test; then
    echo "test.sh: scripts/install-deps.sh --test failed" >&2
    exit 1
  fi
fi

# build_tree DIR [--target T] CMAKE_ARGS...: configure and build (everything, or target T); records the result.
build_tree() {
  local dir=$1 target=()
  shift
  if [[ ${1:-} == --target ]]; then
    target=(--target "$2")
    shift 2
  fi
  stage "configure $dir"
  if ! cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"; then
    note "$dir: configure FAILED"
    return 1
  fi
  stage "build $dir (-j$jobs)"
  if ! cmake --build "$dir" -j"$jobs" "${target[@]}"; then
    note "$dir: build FAILED"
    return 1
  fi
  return 0
}

# test_tree DIR CTEST_ARGS...: runs ctest; records pass/fail counts and failures.
test_tree() {
  local dir=$1
  shift
  stage "test $dir"
  local log=$dir/test-summary.log
  (cd "$dir" && ctest --output-on-failure -j"$jobs" "$@" "${ctest_args[@]}") 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E 'tests passed|No tests were found' "$log" | tail -1)
  note "$dir: ${line:-no ctest summary} (exit $rc)"
  local n
  n=$(sed -n 's/.* out of \([0-9][0-9]*\)$/\1/p' <<<"$line")
  tests_run=$((tests_run + ${n:-0}))
  local failed
  failed=$(sed -n '/The following tests FAILED:/,/^Errors while running/p' "$log" | grep -E '^\s+[0-9]+ - ')
  [[ -n $failed ]] && note "$failed"
  local skipped
  skipped=$(sed -n '/The following tests did not run:/,/^$/p' "$log" | grep -E '^\s+[0-9]+ - ' |
            sed -E 's/^\s+[0-9]+ - ([^ ]+).*/\1/' | paste -sd ' ')
  [[ -n $skipped ]] && note "  skipped in $dir (they need a GPU or a missing input): $skipped"
  return "$rc"
}

if build_tree build; then
  test_tree build || status=1
else
  status=1
fi

if ((asan)); then
  if build_tree build-asan -DONYX_SANITIZE=ON; then
    # abort_on_error: a report kills the test (no half-passing run); leaks are
    # checked at every test program's exit.
    asan_opts=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
      asan_opts+=:protect_shadow_gap=0 # the CUDA driver maps memory in ASan's shadow gap
    fi
    ASAN_OPTIONS=$asan_opts UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      test_tree build-asan -LE python || status=1
  else
    status=1
  fi
fi

if ((tsan)); then
  tsan_flags=(-DCMAKE_C_FLAGS=-fsanitize=thread -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread
              -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread)
  if build_tree build-tsan --target test_pipeline -DONYX_CUDA=OFF "${tsan_flags[@]}"; then
    TSAN_OPTIONS=halt_on_error=1 test_tree build-tsan -R '^unit_pipeline$' || status=1
  else
    status=1
  fi
fi

if ((fuzz)); then
  if command -v clang >/dev/null 2>&1; then
    if build_tree build-fuzz -DCMAKE_C_COMPILER=clang -DONYX_FUZZ=ON -DONYX_TESTS=OFF; then
      stage "fuzz build-fuzz (${ONYX_FUZZ_TIME:-40} s per target)"
      if fuzz/run.sh --build build-fuzz --time "${ONYX_FUZZ_TIME:-40}"; then
        note "build-fuzz: every fuzz target ran ${ONYX_FUZZ_TIME:-40} s without a finding"
      else
        note "build-fuzz: a fuzz target FAILED (input and log under build-fuzz/fuzz-work/)"
        status=1
      fi
    else
      status=1
    fi
  else
    note "build-fuzz: skipped (no clang)"
  fi
fi

echo
echo "==== summary ($((SECONDS - start)) s)"
for s in "${summary[@]}"; do echo "$s"; done
echo "ctest: $tests_run tests run in all trees (those skipped above included)"
if ((status)); then
  echo "RESULT: FAILED"
else
  echo "RESULT: all tests passed"
fi
exit "$status"
