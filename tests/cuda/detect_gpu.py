#!/usr/bin/env python3
"""The image pipeline on the GPU (run by scripts/device/gpu-tests.sh; standard library only):
  - onyx detect on an FP32 engine (built by the command) vs --cpu on the same photos: same detections (classes,
    IoU >= 0.99, scores within 1e-3), for YOLOv8n, YOLO11n and UltraFace; the same through an .engine file
  - onyx classify MobileNetV2 (dynamic batch) with --batch 4 on the GPU vs --cpu: same top-3, probabilities
    within 1e-3; the stage summary is printed
  - throughput of a folder of 64 photos (printed, not checked)

    detect_gpu.py ONYX WORKDIR PHOTO...
"""
import json
import os
import shutil
import subprocess
import sys

failures = []


def check(ok, what):
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures.append(what)
    return ok


def run(*args):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    return p


def iou(a, b):
    iw, ih = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    inter = iw * ih if iw > 0 and ih > 0 else 0.0
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / u if u > 0 else 0.0


def same_detections(name, gpu, cpu, conf):
    ok = True
    for gi, ci in zip(gpu["images"], cpu["images"]):
        g, c = gi.get("detections", []), ci.get("detections", [])
        used = set()
        for d in c:
            best, bi = None, 0.0
            for j, e in enumerate(g):
                if j not in used and e["class_id"] == d["class_id"] and iou(e["box"], d["box"]) > bi:
                    best, bi = j, iou(e["box"], d["box"])
            if best is None or bi < 0.99 or abs(g[best]["score"] - d["score"]) > 1e-3:
                if abs(d["score"] - conf) > 1e-3:
                    ok = check(False, f"{name} {gi['file']}: CPU {d} has no GPU match (IoU {bi:.4f})") and ok
                continue
            used.add(best)
        extra = [e for j, e in enumerate(g) if j not in used and abs(e["score"] - conf) > 1e-3]
        if extra:
            ok = check(False, f"{name} {gi['file']}: GPU-only detections {extra}") and ok
    return ok


def main():
    onyx, work, photos = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(work, exist_ok=True)
    face = os.path.join(work, "face.txt")
    with open(face, "w") as f:
        f.write("face\n")
    cases = [("yolov8n_fp32_from_int8.onnx", []), ("yolo11n_320_fp32_from_int8.onnx", []),
             ("ultraface_rfb_320.onnx", ["--classes", face, "--conf", "0.7", "--iou", "0.3"])]
    for model, extra in cases:
        path = os.path.join(work, model)
        if not os.path.exists(path):
            print(f"  skip {model}: absent")
            continue
        conf = float(extra[extra.index("--conf") + 1]) if "--conf" in extra else 0.25
        g = run(onyx, "detect", path, *photos, "--json", *extra)
        c = run(onyx, "detect", path, *photos, "--json", "--cpu", *extra)
        if not check(g.returncode == 0 and c.returncode == 0, f"{model}: exit {g.returncode}/{c.returncode}" +
                     ("" if g.returncode == c.returncode == 0 else f" {g.stderr[-300:]} {c.stderr[-300:]}")):
            continue
        gj, cj = json.loads(g.stdout), json.loads(c.stdout)
        n = sum(len(i.get("detections", [])) for i in gj["images"])
        check(gj["device"] == "GPU" and cj["device"] == "CPU", f"{model}: devices {gj['device']}, {cj['device']}")
        check(same_detections(model, gj, cj, conf), f"{model}: GPU and CPU agree on {n} detections")
        print("    " + g.stderr.strip().replace("\n", "\n    "))
    y8 = os.path.join(work, "yolov8n_fp32_from_int8.onnx")
    for model in ("yolov8n_fp32_from_int8.onnx", "yolo11n_320_fp32_from_int8.onnx"):
        path = os.path.join(work, model)
        if not os.path.exists(path):
            continue
        h = run(onyx, "detect", path, *photos, "--json", "--fp16")
        f = run(onyx, "detect", path, *photos, "--json")
        if not check(h.returncode == 0 and f.returncode == 0, f"{model} --fp16: exit {h.returncode}/{f.returncode}"):
            continue
        # FP16 vs FP32 engines: every FP32 box clearly above the threshold (score >= conf + 0.05) is found by
        # FP16 (same class, IoU >= 0.9); the differences are reported
        hj, fj = json.loads(h.stdout), json.loads(f.stdout)
        missing, diffs, ious = [], [], []
        for hi, fi in zip(hj["images"], fj["images"]):
            for d in fi["detections"]:
                m = [e for e in hi["detections"] if e["class_id"] == d["class_id"] and iou(e["box"], d["box"]) >= 0.9]
                if m:
                    best = max(m, key=lambda e: iou(e["box"], d["box"]))
                    diffs.append(abs(best["score"] - d["score"]))
                    ious.append(iou(best["box"], d["box"]))
                elif d["score"] >= 0.30:
                    missing.append((os.path.basename(fi["file"]), d["class_id"], round(d["score"], 3)))
        nf = sum(len(i["detections"]) for i in fj["images"])
        nh = sum(len(i["detections"]) for i in hj["images"])
        print(f"    {model} FP16 vs FP32: {nh} vs {nf} detections, max score diff {max(diffs or [0]):.4f}, "
              f"worst IoU {min(ious or [1]):.4f}, FP32 boxes >= 0.30 without an FP16 match: {missing}")
        check(not missing, f"{model} --fp16 finds every FP32 detection with score >= 0.30")
    if os.path.exists(y8):
        eng = os.path.join(work, "yolov8n_pipeline.engine")
        b = run(onyx, "build", y8, "-o", eng)
        g = run(onyx, "detect", eng, *photos, "--json")
        c = run(onyx, "detect", y8, *photos, "--json", "--cpu")
        ok = b.returncode == 0 and g.returncode == 0 and c.returncode == 0
        if check(ok, f"engine file: exit {b.returncode}/{g.returncode}" +
                 ("" if ok else f" {b.stderr[-300:]} {g.stderr[-300:]}")):
            check(same_detections("engine", json.loads(g.stdout), json.loads(c.stdout), 0.25),
                  "yolov8n .engine file: same detections as the CPU")
    mb = os.path.join(work, "mobilenetv2_fp32_from_qdq.onnx")
    if os.path.exists(mb):
        g = run(onyx, "classify", mb, *photos, "--batch", "4", "--topk", "3")
        c = run(onyx, "classify", mb, *photos, "--topk", "3", "--cpu")
        if check(g.returncode == 0 and c.returncode == 0, f"classify: exit {g.returncode}/{c.returncode}" +
                 ("" if g.returncode == c.returncode == 0 else f" {g.stderr[-300:]}")):
            gl = [ln.split() for ln in g.stdout.splitlines() if ln.startswith("  ")]
            cl = [ln.split() for ln in c.stdout.splitlines() if ln.startswith("  ")]
            ok = len(gl) == len(cl) == 3 * len(photos) and all(
                a[1] == b[1] and abs(float(a[-1]) - float(b[-1])) <= 1e-3 for a, b in zip(gl, cl))
            check(ok and "on the GPU" in g.stdout, f"classify --batch 4 on the GPU = --cpu (top-3 of {len(photos)} "
                  "photos)")
            print("    " + g.stderr.strip().replace("\n", "\n    "))
    # throughput (printed): 64 photos from a folder
    many = os.path.join(work, "many")
    shutil.rmtree(many, ignore_errors=True)
    os.makedirs(many)
    for i in range(64):
        src = photos[i % len(photos)]
        shutil.copy(src, os.path.join(many, f"{i:03d}-{os.path.basename(src)}"))
    if os.path.exists(y8):
        g = run(onyx, "detect", y8, many)
        check(g.returncode == 0, "yolov8n on a folder of 64 photos")
        print("    yolov8n: " + g.stderr.strip().replace("\n", "\n    "))
    if os.path.exists(mb):
        for bsz in ("1", "16"):
            g = run(onyx, "classify", mb, many, "--batch", bsz)
            check(g.returncode == 0, f"mobilenetv2 --batch {bsz} on a folder of 64 photos")
            print(f"    mobilenetv2 --batch {bsz}: " + g.stderr.strip().replace("\n", "\n    "))
    print(f"detect_gpu: {'FAILED ' + str(len(failures)) if failures else 'all'} checks"
          f"{'' if failures else ' passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
