"""GPU consistency checks of `onyx bench` (label "gpu"; exit 77 without a GPU):
  1. every export's schema, with CUDA graphs: the summary, --export-times,
     --export-profile, --export-layer-info, --export-output, the report;
  2. per inference: latency = H2D + compute + D2H, and the stages in order;
  3. throughput = count / walltime within 1 %, walltime measured independently
     from the exported timeline (first enqueue to last output copy);
  4. CUDA graphs lower the median enqueue time (same engine, --graph vs --no-graph);
  5. --streams 2 and --no-transfers run and stay consistent.
usage: gpu_bench_checks.py ONYX MODEL.onnx DIR [onyx build flags, e.g. --shapes input:1x3x224x224]"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_schema as S  # noqa: E402


def bench(onyx, *args):
    p = subprocess.run([onyx, "bench", *args], capture_output=True, text=True)
    if p.returncode != 0 and "no CUDA GPU" in p.stderr:
        print("no GPU: skipped")
        sys.exit(77)
    assert p.returncode == 0, f"onyx bench {' '.join(args)}: exit {p.returncode}\n{p.stderr}"
    sys.stderr.write(p.stderr)
    return json.loads(p.stdout)


def timeline_qps(times):
    wall = max(t["endD2hMs"] for t in times) - min(t["startEnqMs"] for t in times)
    return len(times) / (wall / 1e3)


def main():
    onyx, model, d, build_flags = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    os.makedirs(d, exist_ok=True)
    f = lambda name: os.path.join(d, name)  # noqa: E731
    engine = f("model.engine")
    if subprocess.run([onyx, "build", model, "-o", engine, "--fp16", *build_flags]).returncode != 0:
        out = subprocess.run([onyx, "bench", model, "--duration", "0"], capture_output=True, text=True)
        if "no CUDA GPU" in out.stderr:
            print("no GPU: skipped")
            return 77
        raise SystemExit("onyx build failed")
    common = ["--engine", engine, "--warmup", "300", "--duration", "2", "--iterations", "200", "--json"]
    g = bench(onyx, *common, "--graph", "--export-times", f("times.json"), "--export-profile", f("profile.json"),
              "--export-layer-info", f("layers.json"), "--export-output", f("output.json"), "--report",
              f("report.html"), "--profile")
    S.check_summary(g, gpu=True)
    times = json.load(open(f("times.json")))
    S.check_times(times, tol=5e-3)  # event times on the host clock: within the events' resolution
    assert len(times) == g["inferences"]
    q = timeline_qps(times)
    assert abs(q - g["throughput"]["qps"]) <= 0.01 * q, f"throughput {g['throughput']['qps']} vs timeline {q} (> 1 %)"
    assert g["cold_start"]["first_inferences_ms"][0] > g["latency_ms"]["median"], "the first inference was not the slowest"
    S.check_profile(json.load(open(f("profile.json"))))
    S.check_layer_info(json.load(open(f("layers.json"))))
    S.check_output(json.load(open(f("output.json"))))
    S.check_report(open(f("report.html")).read(), layers=True)

    ng = bench(onyx, *common, "--no-graph")
    S.check_summary(ng, gpu=True)
    eg, en = g["enqueue_ms"]["median"], ng["enqueue_ms"]["median"]
    print(f"median enqueue: graph {eg:.4f} ms, no graph {en:.4f} ms; median compute graph "
          f"{g['compute_ms']['median']:.4f} ms, no graph {ng['compute_ms']['median']:.4f} ms")
    assert eg < en, f"CUDA graphs did not lower the enqueue time ({eg} vs {en} ms)"

    s2 = bench(onyx, *common, "--streams", "2", "--export-times", f("times2.json"))
    S.check_summary(s2, gpu=True)
    t2 = json.load(open(f("times2.json")))
    S.check_times(t2, tol=5e-3)
    assert {t["stream"] for t in t2} == {0, 1}
    q2 = timeline_qps(t2)
    assert abs(q2 - s2["throughput"]["qps"]) <= 0.01 * q2, f"2 streams: throughput {s2['throughput']['qps']} vs {q2}"
    assert any(w["kind"] == "streams-latency" for w in s2["warnings"])

    nt = bench(onyx, *common, "--no-transfers", "--export-times", f("times3.json"))
    S.check_summary(nt, gpu=True, transfers=False)
    for t in json.load(open(f("times3.json"))):
        assert t["h2dMs"] == 0 and t["d2hMs"] == 0 and t["latencyMs"] == t["computeMs"]
    print(f"qps: graph {g['throughput']['qps']:.1f}, no graph {ng['throughput']['qps']:.1f}, 2 streams "
          f"{s2['throughput']['qps']:.1f}, no transfers {nt['throughput']['qps']:.1f}")
    print("bench gpu: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
