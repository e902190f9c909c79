"""A copy of a batch-1 ONNX model with batch N (or a dynamic batch), for throughput benchmarks of models
that were exported with a fixed batch of 1 (YOLOv8n here: bench/run_issue7_extra.sh).

Such an export pins the batch in more places than its input and output shapes: a Reshape whose target
shape is the constant [1, 64, -1] keeps the batch at 1 whatever the input is.  What this rewrites:
  - the leading dim of every graph input and output (N, or the symbolic 'batch');
  - the target of every Reshape that reads the input's data (not only weights), where that data's leading
    dim is 1 in the batch-1 model and the constant target's first element is 1: that element becomes 0,
    "copy the input's dim" (allowzero=0; with allowzero=1 it becomes N, fixed batch only).  At batch 1 this
    is the same computation, so the rewrite cannot change the batch-1 model's results;
  - value_info: recomputed by ONNX shape inference at the new batch (dropped for a dynamic batch).
Then it checks, by shape inference at the new batch, that every output's leading dim is the batch (where
ONNX's inference can tell), and names the tensors fed by the input whose leading dim stayed 1 (something else
may pin the batch there).

  python3 batch_onnx.py IN.onnx OUT.onnx --batch 32
  python3 batch_onnx.py IN.onnx OUT.onnx --batch dynamic

--check (needs onnxruntime: build/venv/bin/python after scripts/install-deps.sh --test) then runs the new
model on N different random images and the original on each image alone, and fails unless every image's
outputs agree within --tol; --onyx BIN also runs `BIN run` (onyx's CPU backend) on the new model with the
same images and compares it with onnxruntime's batch-N outputs.  --check-batch K checks at batch K (needed
for a dynamic batch; for a fixed one it must equal N).  Exit status 1 on any failure, with what and where.
"""
import argparse, os, subprocess, sys, tempfile

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference


def fail(msg):
    print(f'batch_onnx: {msg}', file=sys.stderr)
    sys.exit(1)


def dims_of(vi):
    t = vi.type.tensor_type
    if not t.HasField('shape'):
        return None
    return [d.dim_value if d.HasField('dim_value') else None for d in t.shape.dim]


def inferred_dims(model):
    """name -> list of dims (None where unknown) for every tensor shape inference can tell."""
    m = shape_inference.infer_shapes(model, data_prop=True)  # shapes computed by Shape -> Gather -> Concat too
    g = m.graph
    out = {}
    for vi in list(g.value_info) + list(g.input) + list(g.output):
        d = dims_of(vi)
        if d is not None:
            out[vi.name] = d
    for init in g.initializer:
        out[init.name] = list(init.dims)
    return out, m


def fed_by_inputs(graph):
    """Names of the tensors that depend on a graph input (the nodes are topologically sorted in ONNX)."""
    inits = {i.name for i in graph.initializer}
    live = {i.name for i in graph.input if i.name not in inits}
    for n in graph.node:
        if any(i in live for i in n.input if i):
            live.update(o for o in n.output if o)
    return live


def constant_value(graph, name, producers):
    """The value of a tensor that is an initializer or a Constant node's output, else None."""
    for init in graph.initializer:
        if init.name == name:
            return numpy_helper.to_array(init)
    n = producers.get(name)
    if n is not None and n.op_type == 'Constant':
        for a in n.attribute:
            if a.name == 'value':
                return numpy_helper.to_array(a.t)
    return None


def set_batch(vi, batch):
    t = vi.type.tensor_type
    if not t.HasField('shape') or len(t.shape.dim) == 0:
        fail(f'{vi.name}: no shape to set the batch in')
    d0 = t.shape.dim[0]
    if d0.HasField('dim_value') and d0.dim_value != 1:
        fail(f'{vi.name}: leading dim is {d0.dim_value}, expected a batch of 1')
    if isinstance(batch, int):
        d0.dim_value = batch
    else:
        d0.dim_param = batch


def rebatch(model, batch):
    """Returns a new ModelProto with batch `batch` (an int, or a dim_param name) and the list of
    Reshape nodes rewritten."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    dims1, _ = inferred_dims(model)
    live = fed_by_inputs(g)
    producers = {o: n for n in g.node for o in n.output}
    opset = next((o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')), 1)
    rewritten, new_inits = [], {}
    for n in g.node:
        if n.op_type != 'Reshape' or len(n.input) < 2 or n.input[0] not in live:
            continue
        d = dims1.get(n.input[0])
        shape = constant_value(g, n.input[1], producers)
        if not d or d[0] != 1 or shape is None or shape.ndim != 1 or len(shape) == 0 or shape[0] != 1:
            continue
        allowzero = opset >= 14 and any(a.name == 'allowzero' and a.i for a in n.attribute)
        if allowzero and not isinstance(batch, int):
            fail(f'Reshape {n.name!r}: allowzero=1 pins the batch and a dynamic batch cannot be written there')
        first = batch if allowzero else 0
        key = (n.input[1], first)
        if key not in new_inits:
            v = shape.copy()
            v[0] = first
            name = f'{n.input[1]}_batch{first}'
            g.initializer.append(numpy_helper.from_array(v.astype(shape.dtype), name))
            new_inits[key] = name
        n.input[1] = new_inits[key]
        rewritten.append(n.name or n.output[0])
    # the old targets go when nothing else reads them (initializers only: Constant nodes are left to DCE)
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    inits = {i.name for i in g.initializer}
    for vi in g.input:
        if vi.name not in inits:
            set_batch(vi, batch)
    for vi in g.output:
        set_batch(vi, batch)
    del g.value_info[:]
    return m, rewritten


def verify_shapes(m, batch_value, orig):
    """Shape inference with the batch at batch_value: every output leads with it; warns about tensors fed
    by the input that led with 1 in the original and still do."""
    probe = onnx.ModelProto()
    probe.CopyFrom(m)
    g = probe.graph
    inits = {i.name for i in g.initializer}
    for vi in g.input:
        if vi.name not in inits:
            vi.type.tensor_type.shape.dim[0].dim_value = batch_value
    for vi in g.output:  # what inference gives, not what is declared
        vi.type.tensor_type.ClearField('shape')
    try:
        dims, inferred = inferred_dims(probe)
    except Exception as e:  # onnx raises its own types
        fail(f'shape inference at batch {batch_value}: {e}')
    for o in g.output:
        d = dims.get(o.name)
        if not d or d[0] is None:  # ONNX's inference gives up on some Shape -> Reshape chains
            print(f'batch_onnx: warning: output {o.name!r}: shape inference cannot tell its leading dim at batch '
                  f'{batch_value} (--check runs it)', file=sys.stderr)
        elif d[0] != batch_value:
            fail(f'output {o.name!r}: shape {d} at batch {batch_value}: the batch does not reach it')
    dims1, _ = inferred_dims(orig)
    live = fed_by_inputs(g)
    stuck = [n for n in live if n in dims and dims[n] and dims[n][0] == 1 and dims1.get(n, [None])[:1] == [1]]
    if stuck:
        print(f'batch_onnx: warning: {len(stuck)} tensors fed by the input still lead with 1 at batch '
              f'{batch_value}: {", ".join(sorted(stuck)[:5])}', file=sys.stderr)
    return inferred


def run_check(orig_path, new_path, k, tol, onyx):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # the graphs as written
    try:
        s1 = ort.InferenceSession(orig_path, opts, providers=['CPUExecutionProvider'])
        sn = ort.InferenceSession(new_path, opts, providers=['CPUExecutionProvider'])
    except Exception as e:  # onnxruntime's own exception types
        fail(f'onnxruntime cannot load {orig_path} or {new_path}: {e}')
    inp = s1.get_inputs()
    if len(inp) != 1:
        fail(f'--check handles models with one input; {orig_path} has {len(inp)}')
    shape1 = inp[0].shape
    if any(not isinstance(d, int) for d in shape1[1:]):
        fail(f'--check: input {inp[0].name} has symbolic dims past the batch: {shape1}')
    rng = np.random.default_rng(int.from_bytes(os.urandom(4), 'little'))
    x = rng.random((k, *shape1[1:]), dtype=np.float32)  # k different images in [0, 1)
    outs_n = sn.run(None, {inp[0].name: x})
    names = [o.name for o in sn.get_outputs()]
    worst = 0.0
    for i in range(k):
        outs_1 = s1.run(None, {inp[0].name: x[i:i + 1]})
        for name, a, b in zip(names, outs_n, outs_1):
            if a.shape[0] != k or a.shape[1:] != b.shape[1:]:
                fail(f'{name}: batch-{k} output shape {a.shape} vs batch-1 {b.shape}')
            err = float(np.max(np.abs(a[i:i + 1] - b)))
            worst = max(worst, err)
            if not err <= tol:
                fail(f'{name}, image {i} of {k}: max |batch-{k} - batch-1| = {err:.3g} > {tol}')
    if k > 1 and all(np.array_equal(o[0], o[1]) for o in outs_n):
        fail(f'images 0 and 1 of {k} give the same outputs: the comparison would prove nothing')
    print(f'batch_onnx: onnxruntime, {k} images: batch-{k} model == batch-1 model per image, '
          f'max abs diff {worst:.3g} (tol {tol})')
    if not onyx:
        return
    with tempfile.TemporaryDirectory() as tmp:
        xin = os.path.join(tmp, 'x.npy')
        np.save(xin, x)
        cmd = [onyx, 'run', new_path, '--input', f'{inp[0].name}={xin}', '--output-dir', tmp]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            fail(f'{" ".join(cmd)}: exit {r.returncode}:\n{r.stdout[-2000:]}')
        worst = 0.0
        for name, a in zip(names, outs_n):
            path = os.path.join(tmp, f'{name}.npy')
            if not os.path.exists(path):
                fail(f'onyx run wrote no {path}')
            b = np.load(path)
            if b.shape != a.shape:
                fail(f'{name}: onyx output shape {b.shape} vs onnxruntime {a.shape}')
            scale = max(1.0, float(np.max(np.abs(a))))
            err = float(np.max(np.abs(a - b)))
            worst = max(worst, err / scale)
            if not err <= tol * scale:
                fail(f'{name}: onyx CPU vs onnxruntime at batch {k}: max abs diff {err:.3g} > {tol} x {scale:.4g}')
    print(f'batch_onnx: onyx CPU (`{onyx} run`) == onnxruntime at batch {k}, max abs diff / max |output| '
          f'{worst:.3g} (tol {tol})')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('input')
    ap.add_argument('output')
    ap.add_argument('--batch', required=True, help="N, or 'dynamic' for a symbolic leading dim 'batch'")
    ap.add_argument('--check', action='store_true', help='compare with the original in onnxruntime')
    ap.add_argument('--check-batch', type=int, help='batch to check at (default: N)')
    ap.add_argument('--tol', type=float, default=1e-4)
    ap.add_argument('--onyx', help='also run this onyx CLI binary (CPU backend) on the new model')
    args = ap.parse_args()
    if args.batch == 'dynamic':
        batch = 'batch'
    else:
        try:
            batch = int(args.batch)
        except ValueError:
            fail(f"--batch {args.batch!r}: expected a positive integer or 'dynamic'")
        if batch < 1:
            fail(f'--batch {batch}: must be at least 1')
    k = args.check_batch if args.check_batch is not None else (batch if isinstance(batch, int) else 2)
    if isinstance(batch, int) and k != batch:
        fail(f'--check-batch {k}: the model has a fixed batch of {batch}')
    if k < 1:
        fail(f'--check-batch {k}: must be at least 1')
    try:
        orig = onnx.load(args.input)
    except Exception as e:
        fail(f'{args.input}: cannot load: {e}')
    m, rewritten = rebatch(orig, batch)
    inferred = verify_shapes(m, batch if isinstance(batch, int) else 7, orig)
    if isinstance(batch, int):  # value_info as shape inference gives it at this batch
        m.graph.value_info.extend(inferred.graph.value_info)
    onnx.checker.check_model(m)
    onnx.save(m, args.output)
    print(f'batch_onnx: {args.output}: batch {args.batch}, {len(rewritten)} Reshape targets rewritten'
          + (f' ({", ".join(rewritten)})' if rewritten else ''))
    if args.check or args.onyx:
        run_check(args.input, args.output, k, args.tol, args.onyx)


if __name__ == '__main__':
    main()
