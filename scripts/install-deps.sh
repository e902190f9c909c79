#!/usr/bin/env bash
# Installs what onyx needs to build and test on Debian 12 (idempotent).
#   scripts/install-deps.sh          build + run dependencies
#   scripts/install-deps.sh --test   also the test suite's (Python, torch, onnxruntime)
set -euo pipefail
want_test=0
[[ ${1:-} == --test ]] && want_test=1

pkgs=(build-essential cmake pkg-config libprotobuf-c-dev protobuf-c-compiler libonnx-dev
      libopenblas-dev libstb-dev zlib1g-dev libjson-c-dev)
if ((want_test)); then
  pkgs+=(libonnx-testdata python3 python3-venv python3-numpy python3-onnx python3-pil
         python3-torch python3-torchvision clang libclang-rt-14-dev valgrind)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo=sudo
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ((want_test)); then
  # onnxruntime (the reference runtime) is not in Debian: a venv that also sees
  # Debian's numpy/onnx/torch.
  venv=${ONYX_VENV:-$(dirname "$0")/../build/venv}
  if [[ ! -x $venv/bin/python ]]; then
    /usr/bin/python3 -m venv --system-site-packages "$venv"
  fi
  "$venv/bin/python" -c "import onnxruntime" 2>/dev/null ||
    "$venv/bin/python" -m pip install -q "onnxruntime==1.20.1"
fi
