"""The GPU-only outputs of `onyx bench` (per-layer profile, layer info, two
streams, the per-layer chart) from made-up results: bench_report_tool writes
them, this checks their schema, values and the report's structure.
usage: test_bench_files.py BENCH_REPORT_TOOL DIR"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_schema as S  # noqa: E402


def main():
    tool, d = sys.argv[1], sys.argv[2]
    os.makedirs(d, exist_ok=True)
    subprocess.run([tool, d], check=True)
    load = lambda f: json.load(open(os.path.join(d, f)))  # noqa: E731
    summary = load("summary.json")
    S.check_summary(summary, gpu=True)
    assert summary["streams"] == 2 and summary["batch"] == 4 and summary["inferences"] == 1500
    assert any(w["kind"] == "streams-latency" for w in summary["warnings"])
    assert summary["profile"][1]["name"] == "<script>alert(1)</script>"
    times = load("times.json")
    S.check_times(times)
    assert len(times) == 1500 and {t["stream"] for t in times} == {0, 1}
    prof = load("profile.json")
    S.check_profile(prof)
    assert prof[0]["count"] == 4 and [p["name"] for p in prof[1:]] == ["conv1 + bn1 + relu1", "<script>alert(1)</script>", "fc"]
    # layer i's calls: (i+1)*0.1 + 0.01k for k < 4: total 0.4(i+1) + 0.06, median (i+1)*0.1 + 0.015
    for i, p in enumerate(prof[1:]):
        assert abs(p["timeMs"] - (0.4 * (i + 1) + 0.06)) < 1e-9 and abs(p["medianMs"] - ((i + 1) * 0.1 + 0.015)) < 1e-9
    assert abs(prof[1]["percentage"] - 100 * 0.46 / (0.46 + 0.86 + 1.26)) < 1e-9
    info = load("layers.json")
    S.check_layer_info(info)
    assert info["Bindings"] == ["data", "prob", "idx"]
    L0 = info["Layers"][0]
    assert L0["TacticValue"] == "0x0000000000000007" and info["Layers"][1]["TacticValue"] is None
    assert L0["Inputs"][0]["Format/Datatype"] == "Channel last (NHWC) FP16" and L0["Inputs"][0]["Dimensions"] == [4, 3, 8, 8]
    assert L0["Inputs"][1]["Location"] == "Constant" and len(info["Layers"][1]["Inputs"]) == 1  # omitted input left out
    out = load("output.json")
    S.check_output(out)
    assert out[0] == {"name": "prob", "dimensions": "1x3", "values": [0.25, -1.5, 3.0]}
    assert out[1] == {"name": "idx", "dimensions": "2", "values": [7, -2]}
    text = open(os.path.join(d, "report.html")).read()
    p = S.check_report(text, layers=True)
    assert p.svgs["layers"]["rect"] == 3
    assert p.svgs["timeline"]["rect"] == 3 * 500, p.svgs["timeline"]  # 1500 -> 500 columns of 3, 3 stages each
    assert "&lt;script&gt;" in text and "models/&lt;net&gt;&amp;&quot;x&quot;.onnx" in text
    txt = open(os.path.join(d, "summary.txt")).read()
    for line in ("Throughput:", "Latency:", "Enqueue Time:", "H2D Latency:", "GPU Compute Time:", "D2H Latency:",
                 "Total Host Walltime:", "Total GPU Compute Time:", "percentile(99%)", "Average on 10 runs",
                 "Cold start vs steady state", "First inference after context creation"):
        assert line in txt, f"text summary: no '{line}'"
    print("bench files: all checks passed")


if __name__ == "__main__":
    main()
