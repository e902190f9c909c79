#!/usr/bin/env python3
"""`onyx detect --json --cpu` against the same ONNX model on onnxruntime with the standard pre- and
post-processing written here (numpy + PIL), on the shared photos.

    test_detect.py --onyx build/onyx --models ../shared/models [--venv-python PY] CASE
    CASE: yolov8n | yolo11n | ultraface

Reference: letterbox (Ultralytics' LetterBox, centred, gray 114) or stretch with PIL's bilinear resize,
/255 (YOLO) or (x - 127) / 128 (UltraFace), onnxruntime, decode (YOLO cx,cy,w,h -> x1,y1,x2,y2; SSD boxes
times the input size), per-class greedy NMS, boxes mapped back to the photo and clamped.
Onyx must give the same detections: same classes, IoU >= 0.9, scores within 1e-3; a detection only one
side has is allowed only when its score is within 1e-3 of the threshold.  Then the expected results of
PROVENANCE.md: bus.jpg holds 4 persons and 1 bus (YOLOv8n, YOLO11n), zidane.jpg 2 faces (UltraFace).
Exit 77 (skip) when the models folder is absent.
"""
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from test_vs_onnxruntime import import_ort  # noqa: E402

IOU_MIN = 0.9
SCORE_TOL = 1e-3
failures = []


def check(ok, what):
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures.append(what)
    return ok


CASES = {
    # model, input (w, h), fit, mean, std, conf, iou, classes (None: the model's names), images
    "yolov8n": ("yolov8n_fp32_from_int8.onnx", (640, 640), "letterbox", 0.0, 255.0, 0.25, 0.45, None,
                ["bus.jpg", "zidane.jpg"]),
    "yolo11n": ("yolo11n_320_fp32_from_int8.onnx", (320, 320), "letterbox", 0.0, 255.0, 0.25, 0.45, None,
                ["bus.jpg", "zidane.jpg"]),
    "ultraface": ("ultraface_rfb_320.onnx", (320, 240), "stretch", 127.0, 128.0, 0.7, 0.3, ["face"],
                  ["zidane.jpg", "bus.jpg"]),
}


def preprocess(im, size, fit, mean, std):
    """-> (NCHW float32, (sx, sy, off_x, off_y)): input pixel x maps to photo pixel (x - off_x) * sx."""
    w, h = im.size
    ow, oh = size
    if fit == "letterbox":
        r = min(ow / w, oh / h)
        nw, nh = max(1, int(round(w * r))), max(1, int(round(h * r)))
        left, top = int(round((ow - nw) / 2 - 0.1)), int(round((oh - nh) / 2 - 0.1))
    else:
        nw, nh, left, top = ow, oh, 0, 0
    canvas = np.full((oh, ow, 3), 114, np.float32)
    canvas[top:top + nh, left:left + nw] = np.asarray(im.resize((nw, nh), Image.BILINEAR), np.float32)
    x = ((canvas - np.float32(mean)) * np.float32(1.0 / std)).transpose(2, 0, 1)[None]
    return np.ascontiguousarray(x, np.float32), (w / nw, h / nh, left, top)


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = iw * ih if iw > 0 and ih > 0 else 0.0
    area = lambda z: max(z[2] - z[0], 0) * max(z[3] - z[1], 0)
    u = area(a) + area(b) - inter
    return inter / u if u > 0 else 0.0


def nms(boxes, scores, thr):
    order = np.argsort(-scores, kind="stable")
    keep = []
    for i in order:
        if all(iou(boxes[i], boxes[k]) <= thr for k in keep):
            keep.append(int(i))
    return keep


def decode(outs, out_names, size, conf):
    """-> boxes (input pixels, x1y1x2y2), scores, classes of the candidates above conf."""
    if len(outs) == 1:  # YOLOv8 / YOLO11: 1 x (4 + C) x N
        p = outs[0][0].T
        cls = p[:, 4:].argmax(axis=1)
        score = p[np.arange(len(p)), 4 + cls]
        c = p[:, :4]
        boxes = np.stack([c[:, 0] - c[:, 2] / 2, c[:, 1] - c[:, 3] / 2, c[:, 0] + c[:, 2] / 2,
                          c[:, 1] + c[:, 3] / 2], axis=1)
    else:  # SSD: boxes 1 x N x 4 in 0..1, scores 1 x N x C with class 0 the background
        named = dict(zip(out_names, outs))
        sc, bx = named["scores"][0], named["boxes"][0]
        cls = sc[:, 1:].argmax(axis=1)
        score = sc[np.arange(len(sc)), 1 + cls]
        boxes = bx * np.array([size[0], size[1], size[0], size[1]], np.float32)
    m = score > conf
    return boxes[m], score[m], cls[m]


def reference(sess, im, case):
    _, size, fit, mean, std, conf, thr, _, _ = case
    x, (sx, sy, ox, oy) = preprocess(im, size, fit, mean, std)
    out_names = [o.name for o in sess.get_outputs()]
    outs = sess.run(None, {sess.get_inputs()[0].name: x})
    boxes, score, cls = decode(outs, out_names, size, conf)
    dets = []
    for c in np.unique(cls):
        idx = np.nonzero(cls == c)[0]
        for k in nms(boxes[idx], score[idx], thr):
            i = idx[k]
            b = boxes[i]
            w, h = im.size
            src = [min(max((b[0] - ox) * sx, 0), w), min(max((b[1] - oy) * sy, 0), h),
                   min(max((b[2] - ox) * sx, 0), w), min(max((b[3] - oy) * sy, 0), h)]
            dets.append({"class_id": int(c), "score": float(score[i]), "box": [float(v) for v in src]})
    dets.sort(key=lambda d: -d["score"])
    return dets


def compare(name, got, want, conf):
    """Matches each reference detection to an unused onyx one of the same class with the best IoU."""
    used = set()
    ok = True
    for d in want:
        best, best_iou = None, 0.0
        for j, g in enumerate(got):
            if j not in used and g["class_id"] == d["class_id"]:
                v = iou(g["box"], d["box"])
                if v > best_iou:
                    best, best_iou = j, v
        if best is None or best_iou < IOU_MIN:
            if abs(d["score"] - conf) > SCORE_TOL:
                ok = check(False, f"{name}: reference class {d['class_id']} {d['score']:.4f} "
                           f"{np.round(d['box'], 1).tolist()} has no onyx match (best IoU {best_iou:.3f})") and ok
            continue
        used.add(best)
        g = got[best]
        if abs(g["score"] - d["score"]) > SCORE_TOL or best_iou < IOU_MIN:
            ok = check(False, f"{name}: class {d['class_id']}: onyx {g['score']:.4f} vs {d['score']:.4f}, "
                       f"IoU {best_iou:.4f}") and ok
    for j, g in enumerate(got):
        if j not in used and abs(g["score"] - conf) > SCORE_TOL:
            ok = check(False, f"{name}: onyx class {g['class_id']} {g['score']:.4f} "
                       f"{np.round(g['box'], 1).tolist()} is not in the reference") and ok
    pairs = [(iou(got[j]["box"], d["box"]), abs(got[j]["score"] - d["score"])) for d in want for j in used
             if got[j]["class_id"] == d["class_id"] and abs(got[j]["score"] - d["score"]) <= SCORE_TOL]
    check(ok, f"{name}: {len(got)} onyx detections, {len(want)} in the reference (matched: worst IoU "
          f"{min([p[0] for p in pairs] or [1.0]):.5f}, max score diff {max([p[1] for p in pairs] or [0.0]):.1e})")


def run_onyx(onyx, model, images, case):
    _, _, fit, mean, std, conf, thr, classes, _ = case
    # the preprocessing is onyx's default for the layout (letterbox /255 for YOLO, stretch (x-127)/128 for SSD)
    cmd = [onyx, "detect", model, *images, "--json", "--cpu", "--conf", str(conf), "--iou", str(thr)]
    if classes:
        cls_file = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"onyx_detect_classes_{os.getpid()}.txt")
        with open(cls_file, "w") as f:
            f.write("\n".join(classes) + "\n")
        cmd += ["--classes", cls_file]
    print("  $ " + " ".join(cmd))
    p = subprocess.run(cmd, capture_output=True, text=True)
    if classes:
        os.remove(cls_file)
    if not check(p.returncode == 0, f"onyx detect exit {p.returncode}: {p.stderr.strip()[-500:]}"):
        return None
    return json.loads(p.stdout)


def main():
    p = common.parser(__doc__)
    p.add_argument("--onyx", required=True, help="the onyx executable")
    p.add_argument("--venv-python", action="append", default=[])
    p.add_argument("case", choices=list(CASES))
    a = p.parse_args()
    models = common.need_models_dir(a.models)
    ort = import_ort(a.venv_python)
    case = CASES[a.case]
    model = os.path.join(models, case[0])
    images = [os.path.join(models, "images", f) for f in case[8]]
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    # The photos as PNG (PIL's decoding) so that both sides see the same pixels: JPEG decoders differ by a
    # few gray levels (stb_image vs libjpeg), enough to move a score by 0.02.
    tmp = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"onyx_detect_{os.getpid()}")
    os.makedirs(tmp, exist_ok=True)
    pngs = []
    for path in images:
        im = Image.open(path)
        im.load()
        pngs.append(os.path.join(tmp, os.path.basename(path) + ".png"))
        im.convert("RGB").save(pngs[-1])
    doc = run_onyx(a.onyx, model, pngs, case)
    for f in pngs:
        os.remove(f)
    os.rmdir(tmp)
    if doc is None:
        return 1
    check(doc["device"] == "CPU" and doc["failed"] == 0 and len(doc["images"]) == len(images),
          f"device {doc['device']}, {len(doc['images'])} images, {doc['failed']} failed")
    for path, png, entry in zip(images, pngs, doc["images"]):
        name = os.path.basename(path)
        im = Image.open(path)
        im.load()
        im = im.convert("RGB")
        check(entry["file"] == png and entry["width"] == im.size[0] and entry["height"] == im.size[1],
              f"{name}: file {entry['file']}, {entry['width']}x{entry['height']}")
        want = reference(sess, im, case)
        for d in entry["detections"]:
            print(f"    onyx {d.get('class', d['class_id'])!s:<12} {d['score']:.4f} "
                  f"{np.round(d['box'], 1).tolist()}")
        compare(name, entry["detections"], want, case[5])
    # The JPEG itself through onyx's own decoder: PROVENANCE.md's expected results
    doc = run_onyx(a.onyx, model, images[:1], case)
    if doc is None:
        return 1
    got_by_file = {os.path.basename(images[0]): doc["images"][0]}
    # PROVENANCE.md's expected results
    if a.case in ("yolov8n", "yolo11n"):
        classes = sorted(d.get("class") for d in got_by_file["bus.jpg"]["detections"])
        check(classes == ["bus"] + ["person"] * 4, f"bus.jpg: {classes} (PROVENANCE: 4 persons and 1 bus)")
        bus = [d for d in got_by_file["bus.jpg"]["detections"] if d.get("class") == "bus"]
        check(bool(bus) and bus[0]["box"][2] - bus[0]["box"][0] > 0.6 * 810, "bus.jpg: the bus box is wide")
    else:
        faces = got_by_file["zidane.jpg"]["detections"]
        listed = [[923, 107, 1055, 282], [547, 242, 656, 427]]
        # PROVENANCE resized without antialiasing; PIL's bilinear moves a face edge by up to ~9 px
        check(len(faces) == 2 and all(max(abs(v - w) for v, w in zip(f["box"], b)) <= 12 for f, b in zip(faces, listed))
              and faces[0]["score"] > 0.99 and faces[1]["score"] > 0.9,
              f"zidane.jpg: faces {[(round(f['score'], 3), np.round(f['box']).tolist()) for f in faces]}, "
              f"listed {listed} (tol 12 px)")
    if failures:
        print(f"FAILED: {len(failures)} check(s)")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
