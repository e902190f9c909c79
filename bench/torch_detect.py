"""PyTorch doing what onyx's detection pipeline does, for issue 5's benchmark (run on the device beside
bench/onyx_detect_bench, in the same call: bench/run_detect_bench.sh).

YOLOv8n rebuilt from the same ONNX file by onnx2torch (ultralytics is not on the device), FP16 on the GPU,
eager and torch.compile(mode="reduce-overhead").  Per image: the decoded RGB array to the GPU, letterbox
(bilinear resize with antialiasing, as PIL does, centred in 114 gray, /255, FP16), the model, then the
standard YOLOv8 post-processing: boxes cx,cy,w,h -> corners, best class score > 0.25, torchvision's
batched_nms (class-wise, IoU 0.45), at most 300 boxes, mapped back to the image's pixels and copied to the
host.  Wall-clock time per image, decode excluded (PIL decode timed apart); then directory throughput with
PIL decoding in the loop (a plain script) and with decoding on 4 threads ahead of the GPU.
One JSON line per measurement.

  python3 torch_detect.py --onnx yolov8n.onnx --image bus.jpg [--modes eager,reduce-overhead] [FILES...]
"""
import argparse, concurrent.futures, json, statistics, sys, time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

from torch_baseline import freeze_reshapes, make_from_onnx

SIZE, CONF, IOU, MAX_DET = 640, 0.25, 0.45, 300
DEV = 'cuda'  # --device cpu: a smoke test without a GPU (eager only)


def decode(path):
    with Image.open(path) as im:
        return np.array(im.convert('RGB'))


def letterbox(rgb):
    """uint8 H x W x 3 numpy -> 1 x 3 x 640 x 640 FP16 on the GPU, and the scale and offsets to undo it."""
    h, w = rgb.shape[:2]
    r = min(SIZE / h, SIZE / w)
    nh, nw = max(1, round(h * r)), max(1, round(w * r))
    top, left = (SIZE - nh) // 2, (SIZE - nw) // 2
    t = torch.from_numpy(rgb).to(DEV).permute(2, 0, 1)[None].float()
    t = F.interpolate(t, size=(nh, nw), mode='bilinear', align_corners=False, antialias=True)
    x = torch.full((1, 3, SIZE, SIZE), 114.0, device=DEV)
    x[:, :, top:top + nh, left:left + nw] = t.round().clamp(0, 255)
    x = x / 255
    return (x.half() if DEV == 'cuda' else x), r, top, left, h, w


def postprocess(out, r, top, left, h, w):
    p = out[0].float().T  # anchors x (4 + classes)
    cx, cy, bw, bh = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
    boxes = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)
    scores, cls = p[:, 4:].max(1)
    keep = scores > CONF
    boxes, scores, cls = boxes[keep], scores[keep], cls[keep]
    idx = torchvision.ops.batched_nms(boxes, scores, cls, IOU)[:MAX_DET]
    boxes = (boxes[idx] - torch.tensor([left, top, left, top], device=DEV)) / r
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
    return torch.cat([boxes, scores[idx, None], cls[idx, None].float()], 1).cpu()


def detect(fn, rgb):
    x, *geom = letterbox(rgb)
    return postprocess(fn(x), *geom)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--onnx', required=True)
    ap.add_argument('--image', required=True)
    ap.add_argument('--modes', default='eager,reduce-overhead')
    ap.add_argument('--iters', type=int, default=500)
    ap.add_argument('--name', default='yolov8n')
    ap.add_argument('--device', default='cuda')
    ap.add_argument('files', nargs='*')
    args = ap.parse_args()
    global DEV
    DEV = args.device
    torch.backends.cudnn.benchmark = True
    rgb = decode(args.image)
    dec = []
    for _ in range(30):
        t0 = time.perf_counter()
        decode(args.image)
        dec.append((time.perf_counter() - t0) * 1e3)
    for mode in args.modes.split(','):
        if mode != 'eager':
            torch._dynamo.reset()
        m = make_from_onnx(args.onnx).to(DEV)
        if DEV == 'cuda':
            m = m.half()
        x0, *_ = letterbox(rgb)
        if mode != 'eager':
            freeze_reshapes(m, x0)
        t0 = time.time()
        try:
            with torch.inference_mode():
                fn = m if mode == 'eager' else torch.compile(m, mode=mode)
                dets = detect(fn, rgb)  # compiles here
                compile_s = time.time() - t0
                w0 = time.time()
                while time.time() - w0 < 2.0:
                    detect(fn, rgb)
                lat = []
                for _ in range(args.iters):
                    a = time.perf_counter()
                    dets = detect(fn, rgb)  # ends with the copy to the host: synchronous
                    lat.append((time.perf_counter() - a) * 1e3)
                lat.sort()
                n = len(lat)
                print(json.dumps({'engine': 'torch-' + mode, 'bench': 'detect_latency', 'model': args.name,
                                  'precision': 'fp16', 'batch': 1, 'image': f'{rgb.shape[1]}x{rgb.shape[0]}',
                                  'iters': n, 'median_ms': round(lat[n // 2], 4),
                                  'p90_ms': round(lat[n * 9 // 10], 4), 'p99_ms': round(lat[n * 99 // 100], 4),
                                  'min_ms': round(lat[0], 4), 'decode_ms': round(statistics.median(dec), 4),
                                  'detections': int(dets.shape[0]), 'compile_s': round(compile_s, 2)}),
                      flush=True)
                if not args.files:
                    continue
                for threads in (0, 4):  # decode in the loop, then on 4 threads ahead of the GPU
                    for rep in range(2):  # the second pass is reported (files in the page cache)
                        boxes = 0
                        a = time.perf_counter()
                        if threads:
                            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                                for img in pool.map(decode, args.files):
                                    boxes += detect(fn, img).shape[0]
                        else:
                            for f in args.files:
                                boxes += detect(fn, decode(f)).shape[0]
                        secs = time.perf_counter() - a
                    print(json.dumps({'engine': 'torch-' + mode, 'bench': 'detect_throughput', 'model': args.name,
                                      'precision': 'fp16', 'batch': 1, 'images': len(args.files),
                                      'decode_threads': threads, 'wall_s': round(secs, 3),
                                      'images_per_s': round(len(args.files) / secs, 1), 'detections': boxes}),
                          flush=True)
        except Exception as e:  # report and go on with the other modes
            print(f'{args.name} {mode}: {type(e).__name__}: {str(e)[:300]}', file=sys.stderr, flush=True)


if __name__ == '__main__':
    main()
