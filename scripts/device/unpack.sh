# Sourced by the scripts that run on the device machine (scripts/device/gpu-tests.sh, bench/run_ab.sh,
# bench/run_gpu_bench.sh), from the repository root with .devrun/ carried: unpacks the binaries and
# libraries into $run and the shared models into $work (set $work before sourcing).
run=/tmp/onyx-devrun
mkdir -p $run && tar xJf .devrun/payload.tar.xz -C $run && cp -r .devrun/data $run/
export LD_LIBRARY_PATH=$run/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export OMP_WAIT_POLICY=PASSIVE
mkdir -p "$work"
[[ -f $run/data/models.tar.xz ]] && tar xJf $run/data/models.tar.xz -C "$work"
cp models/mobilenetv2_fp32_from_qdq.onnx "$work"/
