#!/usr/bin/env bash
# Installs onyx into a temporary prefix and builds tests/install/consumer.c
# against it, through pkg-config (shared and static) and through the CMake
# package (onyx::onyx and onyx::onyx_static); runs every consumer on a model.
#   install_test.sh BUILD_DIR LIBDIR SANITIZE(ON|OFF) MODEL_WRITER CC
set -euo pipefail
build=$1
libdir=$2
sanitize=$3
writer=$4
cc=$5
here=$(cd "$(dirname "$0")" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/onyx_install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
step() { echo "== $*"; }

# Sanitized libraries need the sanitizer runtime first in the consumer too.
san_flags=()
if [[ $sanitize == ON ]]; then
  san_flags=(-fsanitize=address,undefined)
fi

step "install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" || {
  cat "$work/install.log"
  exit 1
}
for f in include/onyx.h "$libdir/pkgconfig/onyx.pc" "$libdir/cmake/onyx/onyxConfig.cmake" bin/onyx; do
  [[ -e $prefix/$f ]] || {
    echo "not installed: $f" >&2
    exit 1
  }
done

mkdir -p "$work/models"
"$writer" --write "$work/models"
model=$work/models/net.onnx

check_output() { # NAME FILE: the consumer printed the model's I/O
  if ! grep -q '^input input float32 \[N,4,4\]$' "$2" || ! grep -q '^output output float32 \[N,4,4\]$' "$2"; then
    echo "$1: unexpected output:" >&2
    cat "$2" >&2
    exit 1
  fi
  echo "$1: ok"
}

export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
step "pkg-config: $(pkg-config --cflags --libs onyx)"
[[ $(pkg-config --modversion onyx) == [0-9]* ]]
# shellcheck disable=SC2046
"$cc" "${san_flags[@]}" -o "$work/consumer_pc" "$here/consumer.c" $(pkg-config --cflags --libs onyx)
LD_LIBRARY_PATH=$prefix/$libdir "$work/consumer_pc" "$model" >"$work/pc.out"
check_output "pkg-config shared" "$work/pc.out"
# shellcheck disable=SC2046
"$cc" "${san_flags[@]}" -o "$work/consumer_pc_static" "$here/consumer.c" \
  $(pkg-config --cflags onyx) "$prefix/$libdir/libonyx.a" $(pkg-config --static --libs-only-other --libs-only-l onyx | sed 's/-lonyx//')
"$work/consumer_pc_static" "$model" >"$work/pc_static.out"
check_output "pkg-config static" "$work/pc_static.out"

step "CMake package"
cmake_args=(-S "$here/cmake_consumer" -B "$work/cmake_build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc")
if [[ $sanitize == ON ]]; then
  cmake_args+=(-DCMAKE_C_FLAGS=-fsanitize=address,undefined -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined)
fi
cmake "${cmake_args[@]}" >"$work/cmake.log" 2>&1 || {
  cat "$work/cmake.log"
  exit 1
}
cmake --build "$work/cmake_build" >"$work/build.log" 2>&1 || {
  cat "$work/build.log"
  exit 1
}
"$work/cmake_build/consumer_shared" "$model" >"$work/cm.out"
check_output "cmake onyx::onyx" "$work/cm.out"
"$work/cmake_build/consumer_static" "$model" >"$work/cm_static.out"
check_output "cmake onyx::onyx_static" "$work/cm_static.out"
# the consumer reports load errors through the installed library
if "$work/cmake_build/consumer_shared" "$work/models/empty.onnx" 2>"$work/err.out"; then
  echo "consumer accepted an empty model" >&2
  exit 1
fi
grep -q "empty" "$work/err.out"
echo "install test passed"
