"""`onyx bench --backend cpu` end to end on a tiny model made here
(Y = Relu(X + B), X of shape [batch, 4] with a symbolic batch): the JSON
summary, --export-times, --export-output (against the seeded inputs computed
here), the report, and the text summary.
usage: test_bench_cpu.py ONYX DIR"""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_schema as S  # noqa: E402

B = np.array([0.5, -0.5, 0.0, 1.0], dtype=np.float32)


def make_model(path):
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", 4])
    b = helper.make_tensor("B", TensorProto.FLOAT, [4], B.tolist())
    g = helper.make_graph([helper.make_node("Add", ["X", "B"], ["S"], name="add"),
                           helper.make_node("Relu", ["S"], ["Y"], name="relu")], "tiny", [x], [y], [b])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)


def splitmix_floats(seed, n):
    """onyx's seeded inputs (cli_fill_random): splitmix64, float32 = (u >> 40) * 2^-24 * 2 - 1."""
    state, out, M = seed, [], (1 << 64) - 1
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & M
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        z ^= z >> 31
        out.append((z >> 40) * 2.0 ** -24 * 2 - 1)
    return np.array(out, dtype=np.float32)


def bench(onyx, *args):
    p = subprocess.run([onyx, "bench", *args], capture_output=True, text=True)
    assert p.returncode == 0, f"onyx bench {' '.join(args)}: exit {p.returncode}\n{p.stderr}"
    return p.stdout


def main():
    onyx, d = sys.argv[1], sys.argv[2]
    os.makedirs(d, exist_ok=True)
    model = os.path.join(d, "tiny.onnx")
    make_model(model)
    f = lambda name: os.path.join(d, name)  # noqa: E731

    out = bench(onyx, model, "--backend", "cpu", "--batch", "3", "--seed", "7", "--warmup", "0", "--iterations",
                "25", "--duration", "0", "--percentile", "50,99.9", "--json", "--export-times", f("times.json"),
                "--export-output", f("output.json"), "--report", f("report.html"))
    summary = json.loads(out)  # stdout is the JSON alone
    S.check_summary(summary, gpu=False, percentiles=("50", "99.9"))
    assert summary["batch"] == 3 and summary["inferences"] == 25 and summary["streams"] == 1
    assert summary["precision"] == "fp32" and summary["device"] == "CPU"
    times = json.load(open(f("times.json")))
    S.check_times(times)
    assert len(times) == 25
    for t in times:  # CPU: no copies, latency = compute
        assert t["h2dMs"] == 0 and t["d2hMs"] == 0 and t["latencyMs"] == t["computeMs"]
    assert all(a["endComputeMs"] <= b["startComputeMs"] for a, b in zip(times, times[1:])), "runs overlap"
    lat = sorted(t["latencyMs"] for t in times)
    assert abs(summary["latency_ms"]["median"] - lat[12]) < 1e-9 and summary["latency_ms"]["max"] == lat[-1]
    assert abs(summary["latency_ms"]["percentiles"]["50"] - lat[12]) < 1e-9  # nearest rank: ceil(12.5) = 13th
    # throughput = inferences x batch / walltime, and walltime covers the runs
    assert summary["walltime_s"] * 1e3 >= times[-1]["endComputeMs"] - times[0]["startComputeMs"]
    out_json = json.load(open(f("output.json")))
    S.check_output(out_json)
    assert out_json[0]["name"] == "Y" and out_json[0]["dimensions"] == "3x4"
    want = np.maximum(splitmix_floats(7, 12).reshape(3, 4) + B, 0).ravel()
    got = np.array(out_json[0]["values"], dtype=np.float32)
    assert np.array_equal(got, want), f"outputs differ from Relu(X + B) of the seeded inputs:\n{got}\n{want}"
    S.check_report(open(f("report.html")).read(), layers=False)

    text = bench(onyx, model, "--backend", "cpu", "--warmup", "10", "--iterations", "5", "--duration", "0",
                 "--avg-runs", "2", "--explain")
    for line in ("=== Performance summary ===", "Throughput:", "Latency: min = ", "Compute Time: min = ",
                 "Total Host Walltime:", "Cold start vs steady state", "First inference after session creation",
                 "Average on 2 runs", "nearest rank", "population standard deviation"):
        assert line in text, f"text output: no '{line}'\n{text}"
    # a .npy input (with its own batch of 2) fixes the shape
    x = np.arange(8, dtype=np.float32).reshape(2, 4) - 4
    np.save(f("x.npy"), x)
    out = bench(onyx, model, "--backend", "cpu", "--load-inputs", "X:" + f("x.npy"), "--warmup", "0",
                "--iterations", "2", "--duration", "0", "--json", "--export-output", f("o2.json"))
    assert json.loads(out)["batch"] == 2
    o2 = json.load(open(f("o2.json")))
    assert o2[0]["dimensions"] == "2x4" and np.array_equal(np.array(o2[0]["values"], np.float32), np.maximum(x + B, 0).ravel())
    print("bench cpu: all checks passed")


if __name__ == "__main__":
    main()
