#!/usr/bin/python3
"""`onyx detect` on tiny detector models built here, whose outputs are constants chosen by hand (no Conv,
so this runs in a second): layout recognition, letterbox/stretch box mapping back to the photo, class-wise
NMS, --conf/--iou/--max-det/--classes/--fit/--mean/--std, class names from the model's metadata, text and
JSON output, boxes drawn into PNG and JPEG copies, bad images reported one by one (exit 1 at the end, the
good ones still printed), --help and bad flags (exit 2).

usage: test_detect.py ONYX TMPDIR
"""
import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper, numpy_helper
from PIL import Image

from clitest import check, finish, fresh_dir

ONYX, TMP = sys.argv[1], sys.argv[2]
fresh_dir(TMP)



def detect(*args):
    return subprocess.run([ONYX, "detect", *map(str, args)], capture_output=True, text=True)


def const_model(path, outputs, names_meta=None, in_hw=(64, 64), probe=None):
    """Input 'images' 1x3xHxW; each output = constant + probe * mean(images): the probe (a mask, zeros by
    default) puts the mean of the model's input into chosen output values, so that the preprocessing shows."""
    nodes = [helper.make_node("ReduceMean", ["images"], ["m"], axes=[0, 1, 2, 3], keepdims=0)]
    inits = []
    outs = []
    for name, value in outputs:
        mask = probe if probe is not None and probe.shape == value.shape else np.zeros(value.shape, np.float32)
        inits.append(numpy_helper.from_array(value.astype(np.float32), name + "_c"))
        inits.append(numpy_helper.from_array(mask.astype(np.float32), name + "_p"))
        nodes.append(helper.make_node("Mul", ["m", name + "_p"], [name + "_mp"]))
        nodes.append(helper.make_node("Add", [name + "_c", name + "_mp"], [name]))
        outs.append(helper.make_tensor_value_info(name, T.FLOAT, list(value.shape)))
    g = helper.make_graph(nodes, "det", [helper.make_tensor_value_info("images", T.FLOAT, [1, 3, *in_hw])], outs,
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    if names_meta:
        m.metadata_props.add(key="names", value=names_meta)
    onnx.save(m, path)


def iou(a, b):
    iw, ih = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    inter = iw * ih if iw > 0 and ih > 0 else 0
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


# ---- a YOLOv8-layout model: 1 x (4 + 3) x 6 ----------------------------------------------
# anchor: (cx, cy, w, h) in input pixels, class scores
ANCHORS = [((32, 32, 20, 20), (0.0, 0.9, 0.1)),   # class 1, 0.9
           ((33, 32, 20, 20), (0.0, 0.8, 0.0)),   # class 1, 0.8: IoU 0.90 with the first -> suppressed
           ((32, 32, 20, 20), (0.0, 0.1, 0.7)),   # class 2, 0.7: same box, other class -> kept
           ((50, 50, 10, 10), (0.2, 0.0, 0.0)),   # 0.2 < conf 0.25 -> not a candidate
           ((10, 40, 8, 8), (0.6, 0.0, 0.0)),     # class 0, 0.6
           ((14, 40, 8, 8), (0.5, 0.0, 0.0))]     # class 0, 0.5: IoU 1/3 with the one before -> kept
y8 = np.zeros((1, 7, 16), np.float32)  # N = 16 > 4 + C, as real YOLOv8 outputs (84 x 8400); the rest score 0
for a, (box, sc) in enumerate(ANCHORS):
    y8[0, :4, a] = box
    y8[0, 4:, a] = sc
yolo = os.path.join(TMP, "yolo.onnx")
const_model(yolo, [("output0", y8)], "{0: 'cat', 1: 'traffic light', 2: 'dog'}")

# the photo: 128x64 -> letterbox 64x64: scale 0.5, 64x32 at (0, 16)
rng = np.random.default_rng(7)
photo = Image.fromarray(rng.integers(0, 256, (64, 128, 3), dtype=np.uint8), "RGB")
png, jpg = os.path.join(TMP, "photo.png"), os.path.join(TMP, "photo.jpg")
photo.save(png)
photo.save(jpg, quality=95)


def expect_yolo(conf=0.25, thr=0.45, max_det=300, scale=(2.0, 2.0), off=(0, 16), size=(128, 64)):
    """The detections, worked out here: candidates, class-wise greedy NMS, mapped back and clamped."""
    cand = []
    for (cx, cy, w, h), sc in ANCHORS:
        c = int(np.argmax(sc))
        if sc[c] > conf:
            cand.append((sc[c], c, [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]))
    cand.sort(key=lambda d: -d[0])
    kept = []
    for s, c, b in cand:
        if len(kept) < max_det and all(k[1] != c or iou(k[2], b) <= thr for k in kept):
            kept.append((s, c, b))
    out = []
    for s, c, b in kept:
        src = [(b[0] - off[0]) * scale[0], (b[1] - off[1]) * scale[1], (b[2] - off[0]) * scale[0],
               (b[3] - off[1]) * scale[1]]
        src = [min(max(v, 0), size[i % 2]) for i, v in enumerate(src)]
        out.append((c, s, src))
    return out


def check_json(p, want, what, names=("cat", "traffic light", "dog")):
    if not check(p.returncode == 0, f"{what}: exit {p.returncode}: {p.stderr}"):
        return None
    doc = json.loads(p.stdout)
    dets = doc["images"][0]["detections"]
    got = [(d["class_id"], d["score"], d["box"]) for d in dets]
    ok = len(got) == len(want)
    for (gc, gs, gb), (wc, ws, wb) in zip(got, want):
        ok = ok and gc == wc and abs(gs - ws) < 1e-6 and max(abs(a - b) for a, b in zip(gb, wb)) < 1e-3
    ok = ok and all(d.get("class") == names[d["class_id"]] for d in dets if names)
    check(ok, f"{what}: got {got}, want {want}")
    return doc


doc = check_json(detect(yolo, png, "--json"), expect_yolo(), "yolo defaults")
if doc:
    im = doc["images"][0]
    check(doc["layout"] == "yolov8" and doc["classes"] == 3 and doc["input"] == [64, 64] and
          doc["fit"] == "letterbox" and im["width"] == 128 and im["height"] == 64 and doc["failed"] == 0,
          f"json header: {dict((k, v) for k, v in doc.items() if k != 'images')}")
    check(all(k in im["timings_ms"] for k in ("decode", "preprocess", "inference", "postprocess")),
          f"timings: {im.get('timings_ms')}")
check_json(detect(yolo, png, "--json", "--conf", "0.65"), expect_yolo(conf=0.65), "--conf 0.65")
check_json(detect(yolo, png, "--json", "--iou", "0.95"), expect_yolo(thr=0.95), "--iou 0.95 (keeps the 0.8)")
check_json(detect(yolo, png, "--json", "--iou", "0.2"), expect_yolo(thr=0.2), "--iou 0.2")
check_json(detect(yolo, png, "--json", "--max-det", "2"), expect_yolo(max_det=2), "--max-det 2")
# stretch: 128x64 -> 64x64 scales x by 2, y by 1
check_json(detect(yolo, png, "--json", "--fit", "stretch"), expect_yolo(scale=(2.0, 1.0), off=(0, 0)),
           "--fit stretch")
names_file = os.path.join(TMP, "names.txt")
open(names_file, "w").write("A\r\nB b\nC")  # CRLF, a space, no final newline
check_json(detect(yolo, png, "--json", "--classes", names_file), expect_yolo(), "--classes",
           names=("A", "B b", "C"))

# text output: a header per image, then 'class score x1 y1 x2 y2'
p = detect(yolo, png)
lines = p.stdout.splitlines()
want = expect_yolo()
body = [ln for ln in lines if ln.startswith("  ")]
ok = p.returncode == 0 and len(body) == len(want)
for ln, (c, s, b) in zip(body, want):
    f = ln.split()
    name = " ".join(f[:-5])
    ok = ok and name == ("cat", "traffic light", "dog")[c] and abs(float(f[-5]) - s) < 1e-4 and \
        all(abs(float(v) - w) <= 0.051 for v, w in zip(f[-4:], b))
check(ok, f"text output: {p.stdout!r}")
check(any("photo.png (128x64): 4 detections" in ln for ln in lines), f"text header: {lines[:2]}")

# ---- the preprocessing, seen through a probe: one score = the mean of the model's input ------------------
# a uniform 128x64 photo of gray 200: letterboxed into 64x64 half of the input is padding (114)
probe_y8 = np.zeros((1, 7, 16), np.float32)
probe_y8[0, :4, 0] = (32, 32, 20, 20)
mask = np.zeros_like(probe_y8)
mask[0, 4, 0] = 1.0
probe_model = os.path.join(TMP, "probe.onnx")
const_model(probe_model, [("output0", probe_y8)], probe=mask)
gray = os.path.join(TMP, "gray.png")
Image.new("RGB", (128, 64), (200, 200, 200)).save(gray)
for args, want, what in [([], (200 + 114) / 2 / 255, "yolo default: letterbox, pad 114, /255"),
                         (["--fit", "stretch"], 200 / 255, "--fit stretch"),
                         (["--mean", "100,100,100", "--std", "200,200,200"], ((200 + 114) / 2 - 100) / 200,
                          "--mean 100 --std 200"),
                         (["--fit", "crop", "--mean", "0,50,100", "--std", "1,1,1"], 200 - 50,
                          "--fit crop, per-channel --mean")]:
    p = detect(probe_model, gray, "--json", "--conf", "0.01", *args)
    d = json.loads(p.stdout)["images"][0]["detections"] if p.returncode == 0 else []
    check(len(d) == 1 and abs(d[0]["score"] - want) < 1e-4, f"probe {what}: {d} {p.stderr} (want score {want:.5f})")
# SSD default: stretch, (x - 127) / 128
probe_scores = np.zeros((1, 1, 2), np.float32)
mask = np.zeros_like(probe_scores)
mask[0, 0, 1] = 1.0
probe_ssd = os.path.join(TMP, "probe_ssd.onnx")
const_model(probe_ssd, [("boxes", np.array([[[0.1, 0.1, 0.5, 0.5]]], np.float32)), ("scores", probe_scores)],
            probe=mask)
p = detect(probe_ssd, gray, "--json", "--conf", "0.01")
d = json.loads(p.stdout)["images"][0]["detections"] if p.returncode == 0 else []
check(len(d) == 1 and abs(d[0]["score"] - (200 - 127) / 128) < 1e-4, f"probe ssd default: {d} {p.stderr}")

# ---- an SSD-layout model: boxes 1x4x4 (0..1) + scores 1x4x2 (background, face): stretch by default -----
boxes = np.array([[[0.1, 0.2, 0.5, 0.6], [0.1, 0.2, 0.5, 0.61], [0.6, 0.6, 0.9, 0.9], [0, 0, 1, 1]]], np.float32)
scores = np.array([[[0.1, 0.9], [0.2, 0.8], [0.3, 0.7], [0.9, 0.1]]], np.float32)
ssd = os.path.join(TMP, "ssd.onnx")
const_model(ssd, [("scores", scores), ("boxes", boxes)], in_hw=(48, 64))
p = detect(ssd, png, "--json")
if check(p.returncode == 0, f"ssd: {p.stderr}"):
    doc = json.loads(p.stdout)
    dets = doc["images"][0]["detections"]
    # input 64x48; stretch maps input pixels back by 128/64 and 64/48: normalised box * photo size
    want = [(0, 0.9, [12.8, 12.8, 64.0, 38.4]), (0, 0.7, [76.8, 38.4, 115.2, 57.6])]
    ok = doc["layout"] == "ssd" and doc["fit"] == "stretch" and doc["classes"] == 1 and len(dets) == 2
    for d, (c, s, b) in zip(dets, want):
        ok = ok and d["class_id"] == c and abs(d["score"] - s) < 1e-6 and \
            max(abs(x - y) for x, y in zip(d["box"], b)) < 1e-3 and "class" not in d
    check(ok, f"ssd: {dets}")

# ---- not a detector: a clear error -------------------------------------------------------------------
bad_model = os.path.join(TMP, "notdet.onnx")
const_model(bad_model, [("logits", np.zeros((1, 1000), np.float32))])
p = detect(bad_model, png)
check(p.returncode == 1 and "cannot recognise the detector output layout" in p.stderr and "'logits' 1x1000" in
      p.stderr, f"not a detector: {p.returncode} {p.stderr}")

# ---- bad images among good ones: each reported, the run goes on, exit 1 -----------------------------
jpeg_bytes = open(jpg, "rb").read()
bad = {"text.jpg": b"this is not an image\n", "empty.png": b"", "cut.jpg": jpeg_bytes[:len(jpeg_bytes) // 2]}


def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)


bad["huge.png"] = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)) +
                   chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))
paths = []
for name, data in bad.items():
    paths.append(os.path.join(TMP, name))
    open(paths[-1], "wb").write(data)
missing = os.path.join(TMP, "missing.jpg")
p = detect(yolo, png, *paths, missing, jpg)
check(p.returncode == 1, f"bad images: exit {p.returncode}")
for path, why in zip(paths + [missing], ["not a JPEG or PNG", "not a JPEG or PNG", "truncated JPEG", "too large",
                                        "cannot open"]):
    check(any(path in ln and why in ln for ln in p.stderr.splitlines()), f"bad image {path}: want '{why}' in "
          f"{p.stderr!r}")
check("5 of 7 images failed" in p.stderr, f"summary: {p.stderr!r}")
check(p.stdout.count("4 detections") == 2, f"the good images are still printed: {p.stdout!r}")
p = detect(yolo, png, paths[0], "--json")
doc = json.loads(p.stdout) if p.stdout.strip() else {}
check(p.returncode == 1 and doc.get("failed") == 1 and "error" in doc["images"][1] and
      len(doc["images"][0]["detections"]) == 4, f"--json with a bad image: {p.returncode} {p.stdout!r}")

# ---- drawn copies: PNG stays PNG, JPEG stays JPEG; decodable, same size, boxes drawn ------------------
out = os.path.join(TMP, "out", "sub")
p = detect(yolo, png, jpg, "-o", out)
check(p.returncode == 0, f"-o: {p.returncode} {p.stderr}")
for src, fmt in [(png, "PNG"), (jpg, "JPEG")]:
    dst = os.path.join(out, os.path.basename(src))
    if not check(os.path.exists(dst), f"-o: {dst} not written"):
        continue
    im = Image.open(dst)
    im.load()
    check(im.format == fmt and im.size == (128, 64), f"{dst}: {im.format} {im.size}")
    a, b = np.asarray(im.convert("RGB"), np.int32), np.asarray(Image.open(src).convert("RGB"), np.int32)
    # the best box's left outline changed the pixels under it
    c, s, box = expect_yolo()[0]
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    edge = np.abs(a[y1 + 1:y2 - 1, x1] - b[y1 + 1:y2 - 1, x1]).mean()
    check(edge > 20, f"{dst}: the box's left edge at x={x1} is not drawn (mean change {edge:.1f})")
p = detect(yolo, png, "-o", os.path.join(png, "x"))
check(p.returncode == 1 and "cannot create the output folder" in p.stderr, f"-o under a file: {p.stderr!r}")

# ---- a folder and --batch: a model whose output is its input rearranged (N x 3 x 8 x 16 -> N x 6 x 64) -------
resh = os.path.join(TMP, "reshape.onnx")
g = helper.make_graph([helper.make_node("Reshape", ["images", "shape"], ["output0"])], "r",
                      [helper.make_tensor_value_info("images", T.FLOAT, ["N", 3, 8, 16])],
                      [helper.make_tensor_value_info("output0", T.FLOAT, ["N", 6, 64])],
                      [numpy_helper.from_array(np.array([0, 6, 64], np.int64), "shape")])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 8
onnx.save(m, resh)
folder = os.path.join(TMP, "folder")
os.makedirs(folder)
for i in range(5):
    Image.fromarray(rng.integers(0, 256, (20 + 7 * i, 30 + 5 * i, 3), dtype=np.uint8), "RGB").save(
        os.path.join(folder, f"img{4 - i}.png" if i % 2 else f"img{4 - i}.PNG"))
open(os.path.join(folder, "notes.txt"), "w").write("not an image\n")
common = ["--json", "--cpu", "--fit", "stretch", "--mean", "0,0,0", "--std", "1,1,255", "--conf", "0.5"]
p1, p3 = detect(resh, folder, *common), detect(resh, folder, *common, "--batch", "3")
if check(p1.returncode == 0 and p3.returncode == 0, f"folder: exit {p1.returncode}/{p3.returncode} {p3.stderr}"):
    d1, d3 = json.loads(p1.stdout), json.loads(p3.stdout)
    files = [os.path.basename(i["file"]) for i in d3["images"]]
    check(files == ["img0.PNG", "img1.png", "img2.PNG", "img3.png", "img4.PNG"], f"folder order: {files}")
    check([i["batch"] for i in d3["images"]] == [3, 3, 3, 2, 2] and d3["max_batch"] == 3 and
          all(i["batch"] == 1 for i in d1["images"]), f"batches: {[i['batch'] for i in d3['images']]}")
    n = sum(len(i["detections"]) for i in d1["images"])
    check(n > 0 and [i["detections"] for i in d1["images"]] == [i["detections"] for i in d3["images"]],
          f"--batch 3 gives the same {n} detections as one by one")
    check(d3["summary"]["images"] == 5 and d3["summary"]["failed"] == 0 and d3["summary"]["images_per_s"] > 0,
          f"summary: {d3['summary']}")
check("per image (ms, mean): decode" in p3.stderr and "images/s on the CPU, batches of up to 3" in p3.stderr,
      f"stage summary on stderr: {p3.stderr!r}")
p = detect(yolo, png, "--fp16", "--cpu")
check(p.returncode == 1 and "--cpu runs FP32" in p.stderr, f"--fp16 --cpu: {p.returncode} {p.stderr!r}")
p = detect(yolo, png, "--batch", "2", "--cpu")
check(p.returncode == 1 and "fixed at 1" in p.stderr, f"--batch 2 on a batch-1 model: {p.returncode} {p.stderr!r}")

# ---- --help and usage errors ------------------------------------------------------------------------------
p = detect("--help")
check(p.returncode == 0 and "usage: onyx detect" in p.stdout and "--max-det" in p.stdout, f"--help: {p.returncode}")
for args, msg in [([], "no model given"), ([yolo], "no image given"), ([yolo, png, "--bogus"], "unknown option"),
                  ([yolo, png, "--conf"], "--conf needs a value"), ([yolo, png, "--conf", "abc"], "bad --conf 'abc'"),
                  ([yolo, png, "--conf", "1.5"], "bad --conf '1.5'"), ([yolo, png, "--iou", "-0.1"], "bad --iou"),
                  ([yolo, png, "--max-det", "0"], "bad --max-det '0'"), ([yolo, png, "--fit", "zoom"], "bad --fit"),
                  ([yolo, png, "--mean", "1,2"], "bad --mean '1,2'"), ([yolo, png, "--std", "1,0,1"], "bad --std"),
                  ([yolo, png, "--mean", "1,2,3,4"], "bad --mean"), ([yolo, png, "-o", ""], "-o is empty"),
                  ([yolo, png, "--batch", "0"], "bad --batch '0'"), ([yolo, png, "--batch"], "--batch needs a value")]:
    p = detect(*args)
    check(p.returncode == 2 and msg in p.stderr, f"onyx detect {args}: exit {p.returncode}, {p.stderr!r} "
          f"(want 2, '{msg}')")

finish("test_detect")
