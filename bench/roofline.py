"""Measured ceilings of the GPU for bench/NOTES.md: the FP16 and TF32 tensor-core rate (cuBLAS GEMM of
8192^3 through torch.matmul) and the memory bandwidth (a 2 GiB device-to-device copy, bytes read + written),
each the median of 50 timed runs after warm-up with CUDA events.  Prints one JSON line."""
import json, statistics

import torch


def median_ms(fn, iters=50, warm=10):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    t = []
    for _ in range(iters):
        a.record()
        fn()
        b.record()
        b.synchronize()
        t.append(a.elapsed_time(b))
    return statistics.median(t)


def main():
    n = 8192
    out = {'gpu': torch.cuda.get_device_name(0)}
    for name, dt, tf32 in (('fp16_tflops', torch.float16, False), ('tf32_tflops', torch.float32, True),
                           ('fp32_tflops', torch.float32, False)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        x = torch.randn(n, n, device='cuda', dtype=dt)
        y = torch.randn(n, n, device='cuda', dtype=dt)
        ms = median_ms(lambda: torch.matmul(x, y))
        out[name] = round(2 * n ** 3 / (ms * 1e-3) / 1e12, 1)
    src = torch.empty(1 << 30, device='cuda', dtype=torch.float16)  # 2 GiB
    src.uniform_()
    dst = torch.empty_like(src)
    ms = median_ms(lambda: dst.copy_(src))
    out['copy_gbps'] = round(2 * src.numel() * 2 / (ms * 1e-3) / 1e9, 1)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
