"""Checks of `onyx bench`'s JSON outputs and HTML report: keys, types and the
internal consistency the documentation promises.  Shared by the CI tests and
the GPU checks; every function raises AssertionError naming what is wrong."""
import html.parser
import math

NUM = (int, float)


def _num(d, key, where):
    assert key in d, f"{where}: no '{key}'"
    assert isinstance(d[key], NUM) and not isinstance(d[key], bool), f"{where}: '{key}' is {d[key]!r}, not a number"
    assert math.isfinite(d[key]), f"{where}: '{key}' is not finite"
    return d[key]


def check_stats(s, where, percentiles):
    assert isinstance(s, dict), f"{where}: not an object"
    for k in ("min", "max", "mean", "median", "stddev", "cov"):
        _num(s, k, where)
    assert s["min"] <= s["median"] <= s["max"] and s["min"] <= s["mean"] <= s["max"], f"{where}: min/median/mean/max out of order"
    assert set(s["percentiles"]) == set(percentiles), f"{where}: percentiles {sorted(s['percentiles'])}, want {percentiles}"
    vals = [s["percentiles"][p] for p in sorted(s["percentiles"], key=float)]
    assert vals == sorted(vals), f"{where}: percentiles not increasing"
    for v in vals:
        assert s["min"] <= v <= s["max"], f"{where}: a percentile is outside [min, max]"


def check_summary(d, gpu, transfers=True, percentiles=("90", "95", "99")):
    for k, t in (("model", str), ("backend", str), ("device", str), ("precision", str), ("batch", int),
                 ("streams", int), ("graph", bool), ("transfers", bool), ("spin_wait", bool), ("inferences", int),
                 ("warnings", list), ("averages", list), ("cold_start", dict), ("throughput", dict)):
        assert isinstance(d.get(k), t), f"summary: '{k}' is {d.get(k)!r}, want {t.__name__}"
    assert d["backend"] == ("cuda" if gpu else "cpu")
    assert d["inferences"] > 0
    wall = _num(d, "walltime_s", "summary")
    qps = _num(d["throughput"], "qps", "throughput")
    ips = _num(d["throughput"], "images_per_s", "throughput")
    # throughput = inferences / walltime; images/s = qps x batch
    assert abs(qps - d["inferences"] / wall) <= 1e-9 * qps, f"qps {qps} != {d['inferences']} / {wall}"
    assert abs(ips - qps * d["batch"]) <= 1e-9 * ips
    check_stats(d["latency_ms"], "latency_ms", list(percentiles))
    check_stats(d["compute_ms"], "compute_ms", list(percentiles))
    for k in ("enqueue_ms", "h2d_ms", "d2h_ms"):
        present = gpu and (k == "enqueue_ms" or transfers)
        if present:
            check_stats(d[k], k, list(percentiles))
        else:
            assert d.get(k, None) is None, f"'{k}' should be null here"
    tot = _num(d, "total_compute_s", "summary")
    assert tot * 1e3 <= wall * 1e3 * d["streams"] * 1.0001 + 1e-6, "more compute than walltime x streams"
    c = d["cold_start"]
    _num(c, "create_ms", "cold_start")
    _num(c, "steady_median_ms", "cold_start")
    assert len(c["first_inferences_ms"]) == 5 and all(isinstance(x, NUM) for x in c["first_inferences_ms"])
    for w in d["warnings"]:
        assert isinstance(w.get("kind"), str) and isinstance(w.get("message"), str)
    for a in d["averages"]:
        assert isinstance(a.get("runs"), int) and a["runs"] >= 1
        for k in ("latency_ms", "compute_ms", "enqueue_ms"):
            _num(a, k, "averages")


TIME_KEYS = ("startEnqMs", "endEnqMs", "startH2dMs", "endH2dMs", "startComputeMs", "endComputeMs", "startD2hMs",
             "endD2hMs", "h2dMs", "computeMs", "d2hMs", "latencyMs")


def check_times(t, tol=1e-9):
    assert isinstance(t, list) and t, "times: not a non-empty array"
    for i, x in enumerate(t):
        for k in TIME_KEYS:
            _num(x, k, f"times[{i}]")
        assert isinstance(x.get("stream"), int)
        assert x["startEnqMs"] <= x["endEnqMs"], f"times[{i}]: enqueue ends before it starts"
        assert x["startH2dMs"] <= x["endH2dMs"] <= x["startComputeMs"] + tol, f"times[{i}]: H2D after compute"
        assert x["startComputeMs"] <= x["endComputeMs"] <= x["startD2hMs"] + tol, f"times[{i}]: D2H before compute"
        for stage in ("H2d", "Compute", "D2h"):
            d = x[f"end{stage}Ms"] - x[f"start{stage}Ms"]
            assert abs(d - x[stage[0].lower() + stage[1:] + "Ms"]) <= 1e-6 + 1e-9 * abs(d), f"times[{i}]: {stage} duration"
        # latency = H2D + compute + D2H
        assert abs(x["latencyMs"] - (x["h2dMs"] + x["computeMs"] + x["d2hMs"])) <= 1e-9 * (1 + x["latencyMs"]), \
            f"times[{i}]: latency {x['latencyMs']} != {x['h2dMs']} + {x['computeMs']} + {x['d2hMs']}"


def check_profile(p):
    assert isinstance(p, list) and len(p) >= 2, "profile: want [{count}, layers...]"
    assert list(p[0]) == ["count"] and isinstance(p[0]["count"], int) and p[0]["count"] > 0
    total = 0
    for i, x in enumerate(p[1:]):
        assert isinstance(x.get("name"), str) and x["name"], f"profile[{i}]: name"
        for k in ("timeMs", "averageMs", "medianMs", "percentage"):
            _num(x, k, f"profile[{i}]")
        assert abs(x["averageMs"] * p[0]["count"] - x["timeMs"]) <= 1e-6 * (1 + x["timeMs"]), f"profile[{i}]: average x count != time"
        total += x["percentage"]
    assert abs(total - 100) < 1e-6, f"profile: percentages sum to {total}"


def _check_tensor(t, where):
    assert isinstance(t.get("Name"), str) and t["Name"], f"{where}: Name"
    assert t.get("Location") in ("Device", "Constant"), f"{where}: Location"
    assert isinstance(t.get("Dimensions"), list) and all(isinstance(v, int) for v in t["Dimensions"]), f"{where}: Dimensions"
    assert isinstance(t.get("Format/Datatype"), str) and t["Format/Datatype"], f"{where}: Format/Datatype"
    assert t.get("Format") in ("linear", "nhwc", "strided"), f"{where}: Format"
    assert isinstance(t.get("Datatype"), str)


def check_layer_info(d):
    assert isinstance(d.get("Layers"), list) and d["Layers"], "layer info: no Layers"
    assert isinstance(d.get("Bindings"), list) and all(isinstance(b, str) for b in d["Bindings"])
    for i, L in enumerate(d["Layers"]):
        for k in ("Name", "LayerType", "TacticName", "Precision"):
            assert isinstance(L.get(k), str) and L[k], f"Layers[{i}]: {k}"
        assert L.get("TacticValue", 0) is None or isinstance(L["TacticValue"], str), f"Layers[{i}]: TacticValue"
        assert isinstance(L.get("Inputs"), list) and isinstance(L.get("Outputs"), list) and L["Outputs"]
        for k, t in enumerate(L["Inputs"] + L["Outputs"]):
            _check_tensor(t, f"Layers[{i}] tensor {k}")


def check_output(o):
    assert isinstance(o, list) and o, "output: not a non-empty array"
    for i, x in enumerate(o):
        assert isinstance(x.get("name"), str) and isinstance(x.get("dimensions"), str), f"output[{i}]"
        n = 1
        for v in x["dimensions"].split("x"):
            n *= int(v)
        assert isinstance(x.get("values"), list) and len(x["values"]) == n, f"output[{i}]: {len(x['values'])} values for {x['dimensions']}"
        assert all(isinstance(v, NUM) for v in x["values"])


VOID = {"meta", "br", "img", "input", "link", "hr", "line", "rect", "path", "circle"}


class _Report(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.svgs, self.tags, self.refs = [], [], {}, [], []
        self.svg = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]
        if tag == "svg":
            self.svg = a.get("id", "?")
            self.svgs[self.svg] = {"rect": 0, "text": 0, "line": 0}
        elif self.svg and tag in ("rect", "text", "line"):
            self.svgs[self.svg][tag] += 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        self.stack.pop()
        if tag == "svg":
            self.svg = None


def check_report(text, layers):
    """layers: True if the per-layer chart must be there, False if its note must."""
    assert text.startswith("<!DOCTYPE html>"), "report: no doctype"
    p = _Report()
    p.feed(text)
    p.close()
    assert not p.errors, f"report: badly nested: {p.errors[:3]}"
    assert not p.stack, f"report: unclosed {p.stack}"
    assert "script" not in p.tags, "report: a <script> element (names must be escaped; no script is needed)"
    assert not p.refs, f"report: references outside the file: {p.refs[:3]}"
    for sid in ("histogram", "timeline"):
        assert sid in p.svgs, f"report: no <svg id='{sid}'>"
        assert p.svgs[sid]["rect"] > 0 and p.svgs[sid]["line"] > 0, f"report: {sid} has no bars or axes"
    if layers:
        assert "layers" in p.svgs and p.svgs["layers"]["rect"] > 0, "report: no per-layer chart"
    else:
        assert "layers-none" in text, "report: no note about the missing per-layer chart"
    for word in ("Performance summary", "Cold start", "Throughput"):
        assert word in text, f"report: no '{word}'"
    return p
