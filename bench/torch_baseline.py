"""PyTorch baselines for the GPU benchmark (run on the device, in the same call as onyx).

For ResNet18 (torchvision architecture, seeded random weights - the same weights
exported to ONNX for onyx by --export) this times, with CUDA events after
warm-up, the median of >= N iterations of model(x) on device-resident input, for
each precision asked for: fp32 (FP32 tensors, TF32 off), tf32 (FP32 tensors, TF32
allowed in cuBLAS and cuDNN: torch.backends.cuda.matmul.allow_tf32 and
torch.backends.cudnn.allow_tf32, for that configuration only), fp16 (model.half()),
in eager mode and torch.compile in the modes asked for, reporting compile time too.
Prints one JSON line per measurement.

  python3 torch_baseline.py --export resnet18.onnx          # export only
  python3 torch_baseline.py --batches 1,32,256 --modes eager,reduce-overhead,max-autotune
  python3 torch_baseline.py --onnx yolov8n_b32.onnx --name yolov8n --size 640 --batches 32 --precisions fp16

--onnx takes a model with a fixed batch only at that batch (bench/batch_onnx.py writes batch-N copies).
--device cpu: a smoke test of the code paths without a GPU (eager only, host clock; not a baseline).
"""
import argparse, json, statistics, sys, time

import torch
import torchvision


def make_resnet18():
    torch.manual_seed(0)
    m = torchvision.models.resnet18(weights=None)
    with torch.no_grad():  # non-trivial BatchNorm statistics, as the tests use
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    return m.eval()


def make_from_onnx(path):
    """A PyTorch module rebuilt from an ONNX file by onnx2torch (YOLOv8n has no other PyTorch form on the
    device: ultralytics is not installed). Same weights, same graph."""
    import onnx
    import onnx2torch
    return onnx2torch.convert(onnx.load(path)).eval()


def onnx_batch(path):
    """The leading dim of the ONNX file's first input: an int, or None when it is symbolic."""
    import onnx
    m = onnx.load(path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    vi = next(i for i in m.graph.input if i.name not in inits)
    d = vi.type.tensor_type.shape.dim
    return d[0].dim_value if len(d) and d[0].HasField('dim_value') else None


def freeze_reshapes(m, x):
    """onnx2torch's Reshape takes its target shape as a tensor and builds torch.Size from it, which dynamo
    cannot trace.  The exported graphs here have static shapes: one eager run records each Reshape's target
    as Python ints, and the module then reshapes to that constant (the same computation; torch.compile can
    now trace it)."""
    from onnx2torch.node_converters.reshape import OnnxReshape
    seen = {}
    hooks = []
    for mod in m.modules():
        if isinstance(mod, OnnxReshape):
            def rec(module, inputs, output, seen=seen):
                seen[module] = tuple(int(d) for d in output.shape)
            hooks.append(mod.register_forward_hook(rec))
    with torch.inference_mode():
        m(x)
    for h in hooks:
        h.remove()
    for mod, shape in seen.items():
        mod.forward = (lambda shape: lambda input_tensor, _shape: torch.reshape(input_tensor, shape))(shape)
    return len(seen)


def time_fn(fn, x, iters, warmup_s=1.0):
    if x.device.type == 'cpu':  # --device cpu: host clock
        fn(x)
        times = []
        for _ in range(iters):
            t0 = time.perf_counter()
            fn(x)
            times.append((time.perf_counter() - t0) * 1e3)
        return sorted(times)
    torch.cuda.synchronize()
    t0 = time.time()
    while time.time() - t0 < warmup_s:
        fn(x)
    torch.cuda.synchronize()
    times = []
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(iters):
        a.record()
        fn(x)
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--export')
    ap.add_argument('--batches', default='1,32,256')
    ap.add_argument('--precisions', default='fp32,fp16')
    ap.add_argument('--modes', default='eager,reduce-overhead')
    ap.add_argument('--iters', type=int, default=200)
    ap.add_argument('--onnx', help='time a module rebuilt from this ONNX file (onnx2torch) instead of ResNet18')
    ap.add_argument('--name', default='resnet18')
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--device', default='cuda', choices=('cuda', 'cpu'))
    args = ap.parse_args()
    precisions = args.precisions.split(',')
    for p in precisions:
        if p not in ('fp32', 'tf32', 'fp16'):
            ap.error(f'--precisions: {p!r} is not fp32, tf32 or fp16')
    if args.device == 'cpu' and (args.modes != 'eager' or 'fp16' in precisions):
        ap.error('--device cpu: eager only, fp32 or tf32 (a smoke test, not a baseline)')
    fixed = onnx_batch(args.onnx) if args.onnx else None
    if args.export:
        m = make_resnet18()
        torch.onnx.export(m, torch.randn(1, 3, 224, 224), args.export, opset_version=17,
                          input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, dynamo=False)
        return
    torch.backends.cudnn.benchmark = True
    for prec in precisions:
        # TF32 for this precision's configurations only (the flags are global)
        torch.backends.cuda.matmul.allow_tf32 = prec == 'tf32'
        torch.backends.cudnn.allow_tf32 = prec == 'tf32'
        for mode in args.modes.split(','):
            for batch in [int(b) for b in args.batches.split(',')]:
                if fixed is not None and batch != fixed:
                    print(f'{args.name} {prec} {mode} batch {batch}: {args.onnx} has a fixed batch of {fixed}',
                          file=sys.stderr, flush=True)
                    continue
                if mode != 'eager':
                    torch._dynamo.reset()
                m = (make_from_onnx(args.onnx) if args.onnx else make_resnet18()).to(args.device)
                x = torch.rand(batch, 3, args.size, args.size, device=args.device)
                if prec == 'fp16':
                    m, x = m.half(), x.half()
                if args.onnx and mode != 'eager':
                    freeze_reshapes(m, x)
                t0 = time.time()
                try:
                    with torch.inference_mode():
                        fn = m if mode == 'eager' else torch.compile(m, mode=mode)
                        fn(x)  # compile (or load) here
                        if args.device == 'cuda':
                            torch.cuda.synchronize()
                        compile_s = time.time() - t0
                        times = time_fn(fn, x, args.iters)
                except Exception as e:  # report and go on with the other configurations
                    print(f'{args.name} {prec} {mode} batch {batch}: {type(e).__name__}: {str(e)[:300]}',
                          file=sys.stderr, flush=True)
                    continue
                med = statistics.median(times)
                print(json.dumps({'engine': 'torch-' + mode, 'model': args.name, 'precision': prec, 'batch': batch,
                                  'iters': len(times), 'median_ms': round(med, 4), 'min_ms': round(times[0], 4),
                                  'images_per_s': round(batch * 1e3 / med, 1), 'compile_s': round(compile_s, 2)}),
                      flush=True)


if __name__ == '__main__':
    main()
