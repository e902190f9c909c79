#!/usr/bin/env bash
# Kernel durations of a ResNet18 FP16 engine under Nsight Compute (device call, needs .devrun from
# scripts/device/prepare.sh; about 2 minutes): which kernels the batch-$BATCH engine runs, their grids and their
# GPU times, beside onyx_gpu_bench's graph-replay median of the whole engine.  ncu runs each kernel alone with
# its caches flushed and --clock-control none (device METHOD.md), so its times are each kernel's cold time, not
# its share of the replay.  `onyx run --engine` launches every kernel twice (the context's run before it
# captures the CUDA graph, then the graph); the summary lists the second run's.  $NCU_ENV: knobs for the build
# and the bench (e.g. ONYX_CONV_SPLITK=0).  CSV and logs as $OUT/ncu.tgz, a summary on stdout.
set -uo pipefail
out=${OUT:-/tmp/onyx-ncu}
batch=${BATCH:-1}
mkdir -p "$out"
logs=/tmp/onyx-ncu-logs
rm -rf $logs && mkdir -p $logs
work=/tmp/onyx-ncu-data
source scripts/device/unpack.sh
python3 bench/torch_baseline.py --export $work/resnet18.onnx >$logs/export.log 2>&1 || tail -3 $logs/export.log
env ${NCU_ENV:-} $run/bin/onyx build $work/resnet18.onnx -o $work/r18.engine --fp16 --shapes input:${batch}x3x224x224 \
  --verbose >$logs/build.log 2>&1 || tail -5 $logs/build.log
env ${NCU_ENV:-} $run/bin/onyx_gpu_bench $work/resnet18.onnx --fp16 --batch $batch --name resnet18 >$logs/bench.jsonl \
  2>$logs/bench.log || tail -3 $logs/bench.log
ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
$ncu --clock-control none --csv --metrics gpu__time_duration.sum,launch__grid_size,launch__block_size,launch__cluster_dim_x \
  $run/bin/onyx run --engine $work/r18.engine --output-dir $logs >$logs/ncu.csv 2>$logs/ncu.log ||
  tail -5 $logs/ncu.log
python3 - $logs/ncu.csv $logs/bench.jsonl <<'PY'
import csv, json, sys
rows = [r for r in csv.reader(l for l in open(sys.argv[1]) if l.startswith('"'))]
head, rows = rows[0], rows[1:]
k = {h: i for i, h in enumerate(head)}
per = {}
for r in rows:
    key = (r[k['ID']], r[k['Kernel Name']][:90])
    per.setdefault(key, {})[r[k['Metric Name']]] = (r[k['Metric Value']], r[k['Metric Unit']])
items = list(per.items())
half = len(items) // 2
if len(items) % 2 == 0 and [n for (_, n), _ in items[:half]] == [n for (_, n), _ in items[half:]]:
    items = items[half:]  # the graph's run (the first is the run before capture)
total = 0.0
for (i, name), m in items:
    v, unit = m.get('gpu__time_duration.sum', ('0', 'ns'))
    t = float(v.replace(',', '')) * {'nsecond': 1e-3, 'usecond': 1.0, 'msecond': 1e3}.get(unit, 1e-3)
    total += t
    print(f"{t:8.2f} us grid {m.get('launch__grid_size', '?')[0]:>6} block {m.get('launch__block_size', '?')[0]:>4}  {name}")
bench = [json.loads(l) for l in open(sys.argv[2]) if l.startswith('{')]
print(f"{len(items)} kernels, {total:.1f} us of kernel time (each alone, cold); graph replay median "
      f"{bench[0]['median_ms'] * 1000 if bench else float('nan'):.1f} us")
PY
tar czf "$out/ncu.tgz" -C $logs .
