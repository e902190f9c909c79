#!/usr/bin/env python3
"""torchvision classifiers exported at test time (random seeded weights, never downloaded) vs torch itself.

    test_torchvision.py --lib build/libonyx.so MODEL [--opset 13] [--dynamic-batch] [--seed N]

Every BatchNorm gets non-trivial weight/bias/running_mean/running_var, and the model is exported with
TrainingMode.PRESERVE on an eval() model, so the BatchNormalization nodes reach onyx (the exporter's EVAL mode
would fold them into the convolutions itself).  The ONNX file lives in a temporary folder and is deleted.
Checks, on seeded random inputs: |onyx - torch| <= atol + rtol*|torch| (1e-4 + 1e-3 by default), and also
max|onyx - torch| <= --scaled-tol (1e-4) * max|torch|: random-weight classifiers can have outputs as small as
0.05, where atol alone would let e.g. a wrong BatchNorm epsilon through (onnxruntime lands within 1e-6 of scale).
--dynamic-batch exports a symbolic batch axis and also runs batch 2 on the same session.
"""
import collections
import os
import sys
import tempfile
import time
import warnings

import numpy as np

import common
import onyx_ctypes as ox

MODELS = ["resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0",
          "shufflenet_v2_x1_0", "squeezenet1_1", "densenet121", "regnet_y_400mf"]


def randomize_batchnorms(model, torch, gen):
    """Give every BatchNorm random affine parameters and running statistics (running_var in [0.5, 2])."""
    n = 0
    for mod in model.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            c = mod.num_features
            with torch.no_grad():
                if mod.affine:
                    mod.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                    mod.bias.copy_(torch.randn(c, generator=gen) * 0.2)
                if mod.track_running_stats:
                    mod.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
                    mod.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
            n += 1
    return n


def main():
    p = common.parser(__doc__)
    p.add_argument("model", choices=MODELS)
    p.add_argument("--opset", type=int, default=13)
    p.add_argument("--dynamic-batch", action="store_true")
    p.add_argument("--seed", type=int)
    p.add_argument("--atol", type=float, default=1e-4)
    p.add_argument("--rtol", type=float, default=1e-3)
    p.add_argument("--scaled-tol", type=float, default=1e-4)
    p.add_argument("--size", type=int, default=224)
    a = p.parse_args()

    import torch
    import torchvision

    lib = ox.load_library(a.lib)
    print(f"onyx {lib.version()} from {lib.path}; torch {torch.__version__}, torchvision {torchvision.__version__}")
    seed = common.pick_seed(a.seed)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)

    t0 = time.perf_counter()
    model = getattr(torchvision.models, a.model)(weights=None)  # random init, nothing downloaded
    nbn = randomize_batchnorms(model, torch, gen)
    model.eval()
    rng = np.random.default_rng(seed)
    batches = [1, 2] if a.dynamic_batch else [1]
    xs = [rng.standard_normal((b, 3, a.size, a.size)).astype(np.float32) for b in batches]
    with torch.no_grad():
        refs = [model(torch.from_numpy(x)).numpy() for x in xs]
    print(f"{a.model}: {sum(q.numel() for q in model.parameters())} parameters, {nbn} BatchNorms randomized, "
          f"torch forward done in {time.perf_counter() - t0:.1f} s")

    ok = True
    with tempfile.TemporaryDirectory(prefix="onyx_tv_") as tmp:
        path = os.path.join(tmp, f"{a.model}_op{a.opset}.onnx")
        t0 = time.perf_counter()
        dyn = {"input": {0: "batch"}, "output": {0: "batch"}} if a.dynamic_batch else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, torch.from_numpy(xs[0]), path, opset_version=a.opset,
                              training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True,
                              input_names=["input"], output_names=["output"], dynamic_axes=dyn)
        print(f"exported opset {a.opset}{' (dynamic batch)' if dyn else ''} in {time.perf_counter() - t0:.1f} s, "
              f"{os.path.getsize(path) / 1e6:.1f} MB")
        try:
            with ox.Model(path, lib) as m, ox.Session(m, num_threads=a.threads) as s:
                ops = collections.Counter(op for _, op, _ in m.nodes())
                print("ops: " + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())))
                if nbn and not ops.get("BatchNormalization"):
                    print("FAIL: the model has BatchNorms but none was exported as BatchNormalization")
                    ok = False
                for x, ref in zip(xs, refs):
                    w0, c0 = time.perf_counter(), time.process_time()
                    got = s.run({"input": x})[0]
                    w1, c1 = time.perf_counter(), time.process_time()
                    got2 = s.run({"input": x})[0]  # a second run: no prepare, steady state
                    w2, c2 = time.perf_counter(), time.process_time()
                    print(f"batch {x.shape[0]}: onyx first run (with prepare) {1e3 * (w1 - w0):.0f} ms wall; "
                          f"run {1e3 * (w2 - w1):.0f} ms wall, {1e3 * (c2 - c1):.0f} ms CPU")
                    good, max_abs, _, line = common.compare("output", got, ref, a.atol, a.rtol)
                    print(f"  {'ok  ' if good else 'FAIL'} {line}")
                    scale = float(np.abs(ref).max())
                    scaled_ok = bool(max_abs <= a.scaled_tol * scale)
                    print(f"  {'ok  ' if scaled_ok else 'FAIL'} max_abs / max|torch| = {max_abs / max(scale, 1e-30):.2e}"
                          f" (limit {a.scaled_tol:g})")
                    good &= scaled_ok
                    same = np.array_equal(got, got2)
                    print(f"  {'ok  ' if same else 'FAIL'} second run gives identical output")
                    ok &= good and same
        except ox.OnyxError as e:
            print(f"FAIL: onyx error: {e}")
            ok = False
    print(f"{a.model} opset {a.opset}: {'PASS' if ok else 'FAIL'} (seed {seed})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
