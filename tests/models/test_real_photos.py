#!/usr/bin/env python3
"""The expected results of PROVENANCE.md (shared models folder) on its real photos, run by onyx.

    test_real_photos.py --lib build/libonyx.so --models ../shared/models CASE
    CASE: mnist | mobilenetv2 | yolov8n | yolo11n | ultraface | all

Preprocessing and post-processing (YOLO decode + class-wise NMS, UltraFace NMS) are written here, in
numpy/PIL, after PROVENANCE.md.  --runtime ort runs the same checks on onnxruntime, to check this
harness itself.  Exit 77 (skip) only when the models folder is absent.
"""
import os
import sys
import time

import numpy as np
from PIL import Image

import common
import onyx_ctypes as ox

SCORE_TOL = 0.02  # absolute, on every listed score (onnxruntime lands within 0.003 of them)
BOX_TOL = 6.0     # pixels, on each face box coordinate (onnxruntime lands within 1 px)


class Runner:
    """Runs one model on onyx (or onnxruntime for --runtime ort); returns outputs by name."""

    def __init__(self, path, args):
        self.kind = args.runtime
        self.name = os.path.basename(path)
        self.total_s = 0.0
        if self.kind == "onyx":
            self.model = ox.Model(path, ox.load_library(args.lib))
            self.sess = ox.Session(self.model, num_threads=args.threads)
            self.out_names = [o.name for o in self.model.outputs]
            self.in_names = [i.name for i in self.model.inputs]
        else:
            import onnxruntime as ort
            from test_vs_onnxruntime import modernize_legacy
            so = ort.SessionOptions()
            so.log_severity_level = 3
            self.sess = ort.InferenceSession(modernize_legacy(path) or path, so,
                                             providers=["CPUExecutionProvider"])
            self.out_names = [o.name for o in self.sess.get_outputs()]
            self.in_names = [i.name for i in self.sess.get_inputs()]

    def __call__(self, x):
        feeds = {self.in_names[0]: np.ascontiguousarray(x, dtype=np.float32)}
        t0 = time.perf_counter()
        outs = self.sess.run(feeds) if self.kind == "onyx" else self.sess.run(None, feeds)
        self.total_s += time.perf_counter() - t0
        return dict(zip(self.out_names, outs))


class Checker:
    def __init__(self):
        self.failures = []

    def check(self, ok, what):
        print(f"  {'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            self.failures.append(what)
        return ok

    def score(self, got, want, what, tol=SCORE_TOL):
        return self.check(abs(got - want) <= tol, f"{what}: score {got:.3f}, listed {want:.3f} (tol {tol})")


def load_rgb(path):
    im = Image.open(path)
    im.load()
    return im.convert("RGB")


def resize_bilinear(im, nw, nh):
    """Bilinear resize of an RGB PIL image to nw x nh without antialiasing, like OpenCV's INTER_LINEAR
    (half-pixel centres, edge clamp, rounded back to uint8).  PIL's own BILINEAR filter widens its kernel
    when downscaling, which moves the listed scores by up to 0.15; PROVENANCE's numbers come from this one."""
    a = np.asarray(im, np.float32)
    h, w = a.shape[:2]

    def taps(n_out, n_in):
        c = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, None)
        i0 = np.minimum(np.floor(c).astype(np.int64), n_in - 1)
        return i0, np.minimum(i0 + 1, n_in - 1), (c - i0).astype(np.float32)

    y0, y1, fy = taps(nh, h)
    x0, x1, fx = taps(nw, w)
    fx = fx[None, :, None]
    rows0 = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    rows1 = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    out = rows0 * (1 - fy)[:, None, None] + rows1 * fy[:, None, None]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def softmax(v):
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def iou_one_to_many(b, bs):
    x1 = np.maximum(b[0], bs[:, 0])
    y1 = np.maximum(b[1], bs[:, 1])
    x2 = np.minimum(b[2], bs[:, 2])
    y2 = np.minimum(b[3], bs[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda z: np.clip(z[..., 2] - z[..., 0], 0, None) * np.clip(z[..., 3] - z[..., 1], 0, None)
    return inter / np.maximum(area(b) + area(bs) - inter, 1e-12)


def nms(boxes, scores, iou_thr):
    """Greedy hard NMS; returns kept indices, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        if order.size == 1:
            break
        rest = order[1:]
        order = rest[iou_one_to_many(boxes[i], boxes[rest]) <= iou_thr]
    return keep


# ---- MNIST -----------------------------------------------------------------------------------------
def case_mnist(models, args, ck):
    run = Runner(os.path.join(models, "mnist_cntk_opset1.onnx"), args)
    preds = []
    for d in range(10):
        pgm = np.asarray(Image.open(os.path.join(models, "mnist_digits", f"{d}.pgm")).convert("L"), np.float32)
        if pgm.shape != (28, 28):
            ck.check(False, f"{d}.pgm is {pgm.shape}, not 28x28")
            continue
        x = (1.0 - pgm / 255.0).reshape(1, 1, 28, 28)
        logits = run(x)["Plus214_Output_0"].reshape(-1)
        p = int(np.argmax(logits))
        preds.append(p)
        ck.check(p == d, f"digit {d}.pgm -> {p} (softmax {softmax(logits)[p]:.3f})")
    print(f"  predictions {preds}; {sum(p == d for d, p in enumerate(preds))}/10 correct; "
          f"{run.total_s * 1e3:.0f} ms in the runtime")


# ---- MobileNetV2 -----------------------------------------------------------------------------------
def imagenet_preprocess(path):
    im = load_rgb(path)
    w, h = im.size
    s = 256 / min(w, h)
    nw, nh = (256, round(h * s)) if w <= h else (round(w * s), 256)
    left, top = int(round((nw - 224) / 2.0)), int(round((nh - 224) / 2.0))
    x = resize_bilinear(im, nw, nh)[top:top + 224, left:left + 224].astype(np.float32) / 255.0
    x = (x - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    return x.transpose(2, 0, 1)[None]


def case_mobilenetv2(models, args, ck):
    run = Runner(os.path.join(models, "mobilenetv2_fp32_from_qdq.onnx"), args)
    with open(os.path.join(models, "labels", "imagenet_classes.txt")) as f:
        labels = [line.strip() for line in f]
    expected = [("dog_samoyed.jpg", 258, 0.663), ("eagle.jpg", 22, 0.873)]
    xs = [imagenet_preprocess(os.path.join(models, "images", f)) for f, _, _ in expected]
    for (f, cls, p), x in zip(expected, xs):
        prob = softmax(run(x)["output"].reshape(-1))
        top = np.argsort(-prob)[:3]
        print(f"  {f}: top-3 " + ", ".join(f"{int(i)} {labels[i]} {prob[i]:.3f}" for i in top))
        ck.check(int(top[0]) == cls, f"{f}: top-1 {int(top[0])} ({labels[top[0]]}), listed {cls} ({labels[cls]})")
        ck.score(float(prob[cls]), p, f"{f}: class {cls}")
    # The same two photos as one batch of 2 (the model has a dynamic batch axis): same answers.
    probs = softmax(run(np.concatenate(xs))["output"])
    for (f, cls, p), pr in zip(expected, probs):
        ck.check(int(np.argmax(pr)) == cls and abs(pr[cls] - p) <= SCORE_TOL,
                 f"{f} in a batch of 2: top-1 {int(np.argmax(pr))}, score {pr[cls]:.3f}")
    print(f"  {run.total_s * 1e3:.0f} ms in the runtime")


# ---- YOLOv8n / YOLO11n -----------------------------------------------------------------------------
def letterbox(im, size):
    """Ultralytics letterbox: scale to fit, bilinear, pad with 114 centred.  Returns (x, r, (padx, pady))."""
    w, h = im.size
    r = min(size / h, size / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    dw, dh = (size - nw) / 2.0, (size - nh) / 2.0
    left, top = int(round(dw - 0.1)), int(round(dh - 0.1))
    canvas = np.full((size, size, 3), 114, np.uint8)
    canvas[top:top + nh, left:left + nw] = resize_bilinear(im, nw, nh)
    x = canvas.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
    return x, r, (left, top)


def yolo_detect(out, r, pad, orig_wh, conf=0.25, iou=0.45):
    """1x84xN (cx,cy,w,h + 80 class scores) -> list of (class, score, [x1,y1,x2,y2] in original pixels)."""
    p = out[0].T  # N x 84
    boxes_c, cls_scores = p[:, :4], p[:, 4:]
    cls = cls_scores.argmax(axis=1)
    score = cls_scores[np.arange(len(cls)), cls]
    m = score > conf
    boxes_c, cls, score = boxes_c[m], cls[m], score[m]
    xyxy = np.stack([boxes_c[:, 0] - boxes_c[:, 2] / 2, boxes_c[:, 1] - boxes_c[:, 3] / 2,
                     boxes_c[:, 0] + boxes_c[:, 2] / 2, boxes_c[:, 1] + boxes_c[:, 3] / 2], axis=1)
    dets = []
    for c in np.unique(cls):
        idx = np.nonzero(cls == c)[0]
        for k in nms(xyxy[idx], score[idx], iou):
            i = idx[k]
            b = (xyxy[i] - np.array([pad[0], pad[1], pad[0], pad[1]])) / r
            b = np.clip(b, 0, [orig_wh[0], orig_wh[1], orig_wh[0], orig_wh[1]])
            dets.append((int(c), float(score[i]), b))
    dets.sort(key=lambda d: -d[1])
    return dets


def check_yolo(models, args, ck, fname, size, expected):
    """expected: {class_name: [scores, best first]} - exactly these detections must come out."""
    run = Runner(os.path.join(models, fname), args)
    with open(os.path.join(models, "labels", "coco80_ultralytics.txt")) as f:
        names = [line.strip() for line in f if line.strip()]
    im = load_rgb(os.path.join(models, "images", "bus.jpg"))
    x, r, pad = letterbox(im, size)
    out = run(x)["output0"]
    ck.check(out.shape == (1, 84, (size // 8) ** 2 + (size // 16) ** 2 + (size // 32) ** 2),
             f"output0 shape {out.shape}")
    dets = yolo_detect(out, r, pad, im.size)
    for c, s, b in dets:
        print(f"    {names[c]:<10} {s:.3f}  [{b[0]:.0f},{b[1]:.0f},{b[2]:.0f},{b[3]:.0f}]")
    got = {}
    for c, s, _ in dets:
        got.setdefault(names[c], []).append(s)
    ck.check(sorted(got) == sorted(expected),
             f"classes found {sorted(got)}, listed {sorted(expected)}")
    for cname, want in expected.items():
        have = got.get(cname, [])
        if ck.check(len(have) == len(want), f"{cname}: {len(have)} found, {len(want)} listed"):
            for i, (g, w) in enumerate(zip(have, want)):
                ck.score(g, w, f"{cname} #{i + 1}")
    buses = [b for c, _, b in dets if names[c] == "bus"]
    if buses:  # the bus fills most of the photo's width
        b = buses[0]
        ck.check((b[2] - b[0]) > 0.6 * im.size[0], f"bus box [{b[0]:.0f},{b[1]:.0f},{b[2]:.0f},{b[3]:.0f}] is wide")
    print(f"  {run.total_s * 1e3:.0f} ms in the runtime")


def case_yolov8n(models, args, ck):
    check_yolo(models, args, ck, "yolov8n_fp32_from_int8.onnx", 640,
               {"person": [0.914, 0.898, 0.897, 0.416], "bus": [0.834]})


def case_yolo11n(models, args, ck):
    check_yolo(models, args, ck, "yolo11n_320_fp32_from_int8.onnx", 320,
               {"person": [0.842, 0.776, 0.689, 0.341], "bus": [0.703]})


# ---- UltraFace -------------------------------------------------------------------------------------
def case_ultraface(models, args, ck):
    run = Runner(os.path.join(models, "ultraface_rfb_320.onnx"), args)
    im = load_rgb(os.path.join(models, "images", "zidane.jpg"))
    W, H = im.size
    x = (resize_bilinear(im, 320, 240).astype(np.float32) - 127.0) / 128.0
    out = run(x.transpose(2, 0, 1)[None])
    scores, boxes = out["scores"][0, :, 1], out["boxes"][0]
    m = scores > 0.7
    s, b = scores[m], boxes[m] * np.array([W, H, W, H], np.float32)
    faces = [(float(s[i]), b[i]) for i in nms(b, s, 0.3)]
    for sc, bb in faces:
        print(f"    face {sc:.3f}  [{bb[0]:.0f},{bb[1]:.0f},{bb[2]:.0f},{bb[3]:.0f}]")
    expected = [(1.00, [923, 107, 1055, 282]), (0.95, [547, 242, 656, 427])]
    if ck.check(len(faces) == 2, f"{len(faces)} faces found, 2 listed"):
        for (gs, gb), (ws, wb) in zip(faces, expected):
            ck.score(gs, ws, f"face at {wb}")
            err = float(np.abs(gb - np.array(wb)).max())
            ck.check(err <= BOX_TOL, f"face box [{gb[0]:.0f},{gb[1]:.0f},{gb[2]:.0f},{gb[3]:.0f}] vs listed {wb}: "
                     f"max {err:.1f} px (tol {BOX_TOL:g})")
    print(f"  {run.total_s * 1e3:.0f} ms in the runtime")


CASES = {"mnist": case_mnist, "mobilenetv2": case_mobilenetv2, "yolov8n": case_yolov8n,
         "yolo11n": case_yolo11n, "ultraface": case_ultraface}


def main():
    p = common.parser(__doc__)
    p.add_argument("case", choices=list(CASES) + ["all"])
    p.add_argument("--runtime", choices=["onyx", "ort"], default="onyx",
                   help="ort: run the checks on onnxruntime (checks the harness, not onyx)")
    a = p.parse_args()
    models = common.need_models_dir(a.models)
    if a.runtime == "onyx":
        print(f"onyx {ox.load_library(a.lib).version()} from {ox.load_library(a.lib).path}")
    ck = Checker()
    t0 = time.perf_counter()
    for name in (list(CASES) if a.case == "all" else [a.case]):
        print(f"== {name}")
        try:
            CASES[name](models, a, ck)
        except ox.OnyxError as e:
            ck.check(False, f"{name}: onyx error: {e}")
    print(f"total {time.perf_counter() - t0:.1f} s")
    if ck.failures:
        print(f"FAILED: {len(ck.failures)} check(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
