"""Probe (dev sandbox, not a test): would ResNet's 7x7/2 conv on 3 channels be faster as a 4x4/1 conv on
the space-to-depth input (2x2 blocks, 12 channels padded to 16)?  Times both with cuDNN through PyTorch
(channels-last FP16 and FP32/TF32, cudnn.benchmark), checks they compute the same, and times the
transform itself as PyTorch ops (an upper bound for a fused kernel)."""
import sys
import time

import torch
import torch.nn.functional as F

torch.backends.cudnn.benchmark = True


def s2d_weights(w, cp):
    """[M, C, 7, 7] stride-2 filter -> [M, 4 * cp, 4, 4] stride-1 filter on the s2d input."""
    m, c, kh, kw = w.shape
    w8 = torch.zeros(m, c, 8, 8, dtype=w.dtype, device=w.device)
    w8[:, :, :kh, :kw] = w
    # tap k = 2a + r  ->  block offset a, phase r
    w8 = w8.view(m, c, 4, 2, 4, 2).permute(0, 3, 5, 1, 2, 4)  # m, rh, rw, c, ah, aw
    out = torch.zeros(m, 2, 2, cp // 4, 4, 4, dtype=w.dtype, device=w.device)
    out[:, :, :, :c] = w8
    return out.reshape(m, cp, 4, 4)


def s2d_input(x, cp):
    """[N, C, 224, 224] -> [N, cp, 115, 115]: the conv's pad 3 on each side (230 = 2 * 115),
    space-to-depth in 2x2 blocks, channels (rh, rw, c) padded to cp / 4 per phase."""
    n, c, h, w = x.shape
    xp = F.pad(x, (3, 3, 3, 3))
    hb, wb = xp.shape[2] // 2, xp.shape[3] // 2
    t = xp.view(n, c, hb, 2, wb, 2).permute(0, 3, 5, 1, 2, 4)  # n, rh, rw, c, hb, wb
    out = torch.zeros(n, 2, 2, cp // 4, hb, wb, dtype=x.dtype, device=x.device)
    out[:, :, :, :c] = t
    return out.reshape(n, cp, hb, wb)


def bench(fn, iters=50):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    ev = [torch.cuda.Event(enable_timing=True) for _ in range(2)]
    ts = []
    for _ in range(iters):
        ev[0].record()
        fn()
        ev[1].record()
        ev[1].synchronize()
        ts.append(ev[0].elapsed_time(ev[1]))
    ts.sort()
    return ts[len(ts) // 2]


def main():
    torch.manual_seed(0)
    for dt, name in ((torch.float16, 'fp16'), (torch.float32, 'tf32')):
        torch.backends.cudnn.allow_tf32 = True
        for n in (1, 32, 256):
            x = torch.randn(n, 3, 224, 224, device='cuda', dtype=dt)
            w = torch.randn(64, 3, 7, 7, device='cuda', dtype=dt) * 0.1
            b = torch.randn(64, device='cuda', dtype=dt)
            ref = F.conv2d(x.float(), w.float(), b.float(), stride=2, padding=3)
            cp = 16
            ws = s2d_weights(w, cp)
            xs = s2d_input(x, cp)
            got = F.conv2d(xs.float(), ws.float(), b.float())  # 115 - 4 + 1 = 112
            err = (got - ref).abs().max().item() / ref.abs().max().item()
            xc = x.contiguous(memory_format=torch.channels_last)
            wc = w.contiguous(memory_format=torch.channels_last)
            xsc = xs.contiguous(memory_format=torch.channels_last)
            wsc = ws.contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                t7 = bench(lambda: F.conv2d(xc, wc, b, stride=2, padding=3))
                t4 = bench(lambda: F.conv2d(xsc, wsc, b))
                tt = bench(lambda: s2d_input(x, cp).contiguous(memory_format=torch.channels_last))
            print(f"{name} batch {n:3}: 7x7/2 C=3 {t7:.4f} ms | s2d 4x4/1 C={cp} {t4:.4f} ms "
                  f"(transform as torch ops {tt:.4f} ms) | same result: err/scale {err:.1e}", flush=True)


if __name__ == '__main__':
    sys.exit(main())
