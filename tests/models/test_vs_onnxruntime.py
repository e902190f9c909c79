#!/usr/bin/env python3
"""onyx vs onnxruntime on the shared real models, with fresh seeded random inputs.

    test_vs_onnxruntime.py --lib build/libonyx.so --models ../shared/models MODEL.onnx [...]
    test_vs_onnxruntime.py ... --all          every *.onnx in the folder

Each output must satisfy |onyx - ort| <= atol + rtol*|ort| (1e-4 + 1e-4 by default).
A symbolic input dimension (a dynamic batch) is tested at each value of --batches (default 1,3).
Exit 77 (skip) only when the models folder is absent.
"""
import glob
import os
import sys
import time

import numpy as np

import common
import onyx_ctypes as ox

# Input value ranges that match each model's real preprocessing (uniform in [lo, hi)).
# Anything not listed gets [0, 1).
RANGES = {
    "mnist": (0.0, 1.0),
    "mobilenetv2": (-2.1, 2.6),  # ImageNet mean/std normalized RGB
    "ultraface": (-1.0, 1.0),    # (x - 127) / 128
    "yolo": (0.0, 1.0),          # RGB / 255
}

NP_OF_ORT = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
    "tensor(int32)": np.int32, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8, "tensor(bool)": np.bool_,
}


def import_ort(venv_pythons):
    """onnxruntime, re-executing this script under a venv python that has it if this one has not."""
    try:
        import onnxruntime
        return onnxruntime
    except ImportError:
        pass
    if not os.environ.get("ONYX_TEST_REEXEC"):
        for py in venv_pythons:
            if py and os.path.exists(py) and os.path.abspath(py) != os.path.abspath(sys.executable):
                print(f"onnxruntime not importable by {sys.executable}; re-running under {py}", flush=True)
                env = dict(os.environ, ONYX_TEST_REEXEC="1")
                os.execve(py, [py] + sys.argv, env)
    raise SystemExit("FAIL: onnxruntime is not installed (run scripts/install-deps.sh --test; "
                     f"looked for {venv_pythons})")


def value_range(model_path):
    base = os.path.basename(model_path).lower()
    for key, r in RANGES.items():
        if base.startswith(key):
            return r
    return (0.0, 1.0)


def make_input(rng, shape, dtype, lo, hi):
    if np.issubdtype(dtype, np.floating):
        x = rng.uniform(lo, hi, size=shape).astype(dtype)
        x[x == 0] = dtype(0.5 * (lo + hi) or 0.25)  # never an exact zero
        return x
    raise SystemExit(f"FAIL: no random generator for input dtype {dtype}")


def shapes_for(ort_inputs, batches):
    """One {name: shape} per test case; symbolic dims take each value in batches."""
    has_sym = any(not isinstance(d, int) or d < 0 for i in ort_inputs for d in i.shape)
    cases = batches if has_sym else [None]
    out = []
    for b in cases:
        out.append({i.name: tuple(d if isinstance(d, int) and d >= 0 else b for d in i.shape)
                    for i in ort_inputs})
    return out


# Ops whose opset-1 semantics equal their opset-13 ones once the legacy attributes below are handled.
_LEGACY_SAME = {"Conv", "MaxPool", "AveragePool", "MatMul", "Relu", "Constant", "Gemm", "Softmax", "Flatten",
                "Concat", "Sigmoid", "Tanh"}
_LEGACY_BINARY = {"Add", "Sub", "Mul", "Div"}


def modernize_legacy(path):
    """onnxruntime refuses ai.onnx opset < 7 (e.g. Add-1).  For the *reference* copy only, rewrite such a model
    to opset 13 with the same meaning: legacy broadcast=1/axis becomes a Reshape of B to B.shape + [1]*k,
    Reshape's `shape` attribute becomes an input, `consumed_inputs` is dropped.  onyx gets the original."""
    import onnx
    from onnx import helper, numpy_helper
    m = onnx.load(path)
    opset = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None or opset >= 7:
        return None
    inferred = onnx.shape_inference.infer_shapes(m)
    shapes = {}
    for v in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        dims = v.type.tensor_type.shape.dim
        shapes[v.name] = [d.dim_value if d.HasField("dim_value") else -1 for d in dims]
    nodes = []
    for n in m.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        attrs.pop("consumed_inputs", None)
        if n.op_type in _LEGACY_BINARY:
            bcast, axis = attrs.pop("broadcast", 0), attrs.pop("axis", None)
            if bcast:
                a_shape, b_shape = shapes.get(n.input[0]), shapes.get(n.input[1])
                if a_shape is None or b_shape is None:
                    raise SystemExit(f"FAIL: cannot upgrade {n.op_type} {n.name} for onnxruntime: unknown ranks")
                if axis is None:
                    axis = len(a_shape) - len(b_shape)
                new_shape = list(b_shape) + [1] * (len(a_shape) - axis - len(b_shape))
                if any(d < 0 for d in new_shape):
                    raise SystemExit(f"FAIL: cannot upgrade {n.op_type} {n.name}: symbolic B shape {b_shape}")
                sname = f"{n.name}__legacy_bshape"
                m.graph.initializer.append(numpy_helper.from_array(np.array(new_shape, np.int64), sname))
                rname = f"{n.input[1]}__legacy_b"
                nodes.append(helper.make_node("Reshape", [n.input[1], sname], [rname], name=f"{n.name}__legacy"))
                nodes.append(helper.make_node(n.op_type, [n.input[0], rname], list(n.output), name=n.name, **attrs))
                continue
        elif n.op_type == "Reshape" and "shape" in attrs:
            sname = f"{n.name}__shape"
            m.graph.initializer.append(numpy_helper.from_array(np.array(attrs.pop("shape"), np.int64), sname))
            nodes.append(helper.make_node("Reshape", [n.input[0], sname], list(n.output), name=n.name, **attrs))
            continue
        elif n.op_type not in _LEGACY_SAME:
            raise SystemExit(f"FAIL: cannot upgrade opset-{opset} op {n.op_type} for onnxruntime")
        nodes.append(helper.make_node(n.op_type, list(n.input), list(n.output), name=n.name, **attrs))
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    del m.graph.value_info[:]
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = 13
    m.ir_version = 7
    onnx.checker.check_model(m)
    print(f"  reference: opset-{opset} model rewritten to opset 13 for onnxruntime (legacy broadcast/Reshape)")
    return m.SerializeToString()


def check_model(path, ort, lib, seed, batches, atol, rtol, threads):
    print(f"== {os.path.basename(path)}")
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = max(threads, 0)
    so.log_severity_level = 3
    ref_model = modernize_legacy(path) or path
    sess = ort.InferenceSession(ref_model, so, providers=["CPUExecutionProvider"])
    ort_inputs = sess.get_inputs()
    ort_names = [o.name for o in sess.get_outputs()]
    lo, hi = value_range(path)
    ok = True
    with ox.Model(path, lib) as m, ox.Session(m, num_threads=threads) as s:
        onyx_out_names = [o.name for o in m.outputs]
        if onyx_out_names != ort_names:
            print(f"FAIL: output names {onyx_out_names} != onnxruntime's {ort_names}")
            return False
        for ci, shapes in enumerate(shapes_for(ort_inputs, batches)):
            rng = np.random.default_rng([seed, ci])
            feeds = {}
            for i in ort_inputs:
                dt = NP_OF_ORT.get(i.type)
                if dt is None:
                    raise SystemExit(f"FAIL: input {i.name} has unsupported type {i.type}")
                feeds[i.name] = make_input(rng, shapes[i.name], dt, lo, hi)
            desc = ", ".join(f"{k} {list(v.shape)} U[{lo:g},{hi:g})" for k, v in feeds.items())
            print(f"  case {ci}: {desc}")
            want = sess.run(None, feeds)
            t0 = time.perf_counter()
            got = s.run(feeds)
            dt_run = time.perf_counter() - t0
            print(f"    onyx run {dt_run * 1e3:.1f} ms")
            for name, g, w in zip(ort_names, got, want):
                good, _, _, line = common.compare(name, g, w, atol, rtol)
                print(f"    {'ok  ' if good else 'FAIL'} {line}")
                ok &= good
    return ok


def main():
    p = common.parser(__doc__)
    p.add_argument("models_files", nargs="*", help="model file names (relative to --models) or paths")
    p.add_argument("--all", action="store_true", help="every *.onnx in the models folder")
    p.add_argument("--seed", type=int)
    p.add_argument("--batches", default="1,3", help="values for symbolic dims (default 1,3)")
    p.add_argument("--atol", type=float, default=1e-4)
    p.add_argument("--rtol", type=float, default=1e-4)
    p.add_argument("--venv-python", action="append", default=[],
                   help="a python with onnxruntime to re-run under if this one lacks it")
    a = p.parse_args()
    models = common.need_models_dir(a.models)
    ort = import_ort(a.venv_python)
    print(f"python {sys.executable}, onnxruntime {ort.__version__}, numpy {np.__version__}")
    lib = ox.load_library(a.lib)
    print(f"onyx {lib.version()} from {lib.path}")

    files = [f if os.path.isabs(f) else os.path.join(models, f) for f in a.models_files]
    if a.all:
        files += sorted(glob.glob(os.path.join(models, "*.onnx")))
    if not files:
        raise SystemExit("FAIL: no model given (name one, or --all)")
    seed = common.pick_seed(a.seed)
    batches = [int(b) for b in a.batches.split(",")]
    failed = []
    t0 = time.perf_counter()
    for f in files:
        if not os.path.exists(f):
            print(f"FAIL: {f} does not exist")
            failed.append(os.path.basename(f))
            continue
        try:
            good = check_model(f, ort, lib, seed, batches, a.atol, a.rtol, a.threads)
        except ox.OnyxError as e:
            print(f"FAIL: onyx error: {e}")
            good = False
        if not good:
            failed.append(os.path.basename(f))
    print(f"total {time.perf_counter() - t0:.1f} s; {len(files) - len(failed)}/{len(files)} models match")
    if failed:
        print(f"FAILED: {' '.join(failed)} (seed {seed})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
