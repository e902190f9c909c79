#!/usr/bin/python3
"""`onyx classify` on tiny models built here (ops that need no Conv), against a
PIL + numpy reference: preprocessing, softmax, top-k order, labels (--labels,
imagenet_classes.txt beside the model, none), already-probability outputs,
and bad images reported one by one with a non-zero exit at the end.

usage: test_classify.py ONYX TMPDIR
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper
from PIL import Image

from clitest import check, finish, fresh_dir

ONYX, TMP = sys.argv[1], sys.argv[2]
fresh_dir(TMP)
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)



def classify(*args):
    p = subprocess.run([ONYX, "classify", *map(str, args)], capture_output=True, text=True)
    return p


def parse(stdout):
    """{image: [(rank, index, label, prob), ...]} from classify's output."""
    res, cur = {}, None
    for line in stdout.splitlines():
        if not line.startswith(" "):
            cur = line.split(" (")[0]
            res[cur] = []
        else:
            f = line.split()
            res[cur].append((int(f[0]), int(f[1]), " ".join(f[2:-1]), float(f[-1])))
    return res


def reference(path, side):
    img = Image.open(path).convert("RGB")
    s = round(side * 256 / 224)
    w, h = img.size
    nw, nh = (s, int(s * h / w)) if w <= h else (int(s * w / h), s)
    r = img.resize((nw, nh), Image.BILINEAR)
    top, left = int(round((nh - side) / 2.0)), int(round((nw - side) / 2.0))
    c = np.asarray(r, dtype=np.float32)[top:top + side, left:left + side] / np.float32(255)
    return ((c - MEAN) / STD).transpose(2, 0, 1)[None]


SIDE = 8
# Model: scores = relu(image), N x 3 x 8 x 8, i.e. 192 "classes".
model = os.path.join(TMP, "relu.onnx")
g = helper.make_graph([helper.make_node("Relu", ["image"], ["scores"])], "g",
                      [helper.make_tensor_value_info("image", T.FLOAT, ["N", 3, SIDE, SIDE])],
                      [helper.make_tensor_value_info("scores", T.FLOAT, None)])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), model)

rng = np.random.default_rng(5)
images = []
for i, (w, h) in enumerate([(64, 48), (30, 50)]):
    p = os.path.join(TMP, f"img{i}.png")
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(p)
    images.append(p)

for topk in [1, 5, 192, 500]:
    p = classify(model, *images, "--topk", topk)
    check(p.returncode == 0, f"classify --topk {topk}: rc {p.returncode} {p.stderr}")
    res = parse(p.stdout)
    for path in images:
        x = np.maximum(reference(path, SIDE), 0).ravel().astype(np.float64)
        prob = np.exp(x - x.max())
        prob /= prob.sum()
        order = sorted(range(prob.size), key=lambda k: (-prob[k], k))[:min(topk, prob.size)]
        got = res.get(path, [])
        check([r[0] for r in got] == list(range(1, len(order) + 1)), f"{path}: ranks {[r[0] for r in got]}")
        # ties in probability may come in any order among themselves: compare probabilities, then indices of
        # strictly ordered entries
        check(np.allclose([r[3] for r in got], prob[order], atol=2e-4), f"{path} top{topk}: probabilities differ")
        check(all(prob[r[1]] == prob[o] or abs(prob[r[1]] - prob[o]) < 1e-4 for r, o in zip(got, order)),
              f"{path} top{topk}: classes differ")
        check(all(r[2] == "" for r in got), f"{path}: labels printed without a label file")

# Labels: --labels, and imagenet_classes.txt beside the model.
labels = [f"class number {i}" for i in range(192)]
lp = os.path.join(TMP, "labels.txt")
open(lp, "w").write("\r\n".join(labels))  # CRLF and no final newline
p = classify(model, images[0], "--labels", lp, "--topk", "3")
res = parse(p.stdout)
check(p.returncode == 0 and all(r[2] == labels[r[1]] for r in res.get(images[0], [])) and res.get(images[0]),
      f"--labels: {p.stdout!r} {p.stderr!r}")
sub = os.path.join(TMP, "with_labels")
os.makedirs(sub)
shutil.copy(model, sub)
open(os.path.join(sub, "imagenet_classes.txt"), "w").write("\n".join(labels[:100]) + "\n")
p = classify(os.path.join(sub, "relu.onnx"), images[0], "--topk", "192")
res = parse(p.stdout).get(images[0], [])
check(p.returncode == 0 and "100 labels" in p.stderr, f"label count mismatch not warned: {p.stderr!r}")
check(res and all((r[2] == labels[r[1]]) if r[1] < 100 else r[2] == "" for r in res), "auto labels wrong")

# An output that already is a probability vector is used as it is (no softmax).
pm = os.path.join(TMP, "probs.onnx")
probs = np.array([0.1, 0.6, 0.3], np.float32)
g = helper.make_graph([helper.make_node("Constant", [], ["p"], value=helper.make_tensor("c", T.FLOAT, [1, 3], probs)),
                       helper.make_node("Identity", ["p"], ["out"])], "g",
                      [helper.make_tensor_value_info("image", T.FLOAT, [1, 3, 16, 16])],
                      [helper.make_tensor_value_info("out", T.FLOAT, None)])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), pm)
p = classify(pm, images[0])
res = parse(p.stdout).get(images[0], [])
check(p.returncode == 0 and [(r[1], r[3]) for r in res] == [(1, 0.6), (2, 0.3), (0, 0.1)],
      f"probability output: {p.stdout!r} {p.stderr!r}")

# Bad images: each reported by name, the good ones still classified, exit 1.
text = os.path.join(TMP, "notes.jpg")
open(text, "w").write("not an image\n")
trunc = os.path.join(TMP, "cut.png")
open(trunc, "wb").write(open(images[0], "rb").read()[:200])
missing = os.path.join(TMP, "missing.jpg")
p = classify(model, text, images[0], missing, trunc, images[1])
res = parse(p.stdout)
check(p.returncode == 1, f"bad images: rc {p.returncode}")
for bad in [text, missing, trunc]:
    check(bad in p.stderr, f"bad image {bad} not named in {p.stderr!r}")
check(images[0] in res and images[1] in res, "good images not classified alongside bad ones")
check("3 of 5 images" in p.stderr, f"no summary: {p.stderr!r}")

# Models classify cannot use.
two = os.path.join(TMP, "two_inputs.onnx")
g = helper.make_graph([helper.make_node("Add", ["a", "b"], ["c"])], "g",
                      [helper.make_tensor_value_info("a", T.FLOAT, [1, 3, 8, 8]),
                       helper.make_tensor_value_info("b", T.FLOAT, [1, 3, 8, 8])],
                      [helper.make_tensor_value_info("c", T.FLOAT, None)])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), two)
gray = os.path.join(TMP, "gray.onnx")
g = helper.make_graph([helper.make_node("Relu", ["a"], ["c"])], "g",
                      [helper.make_tensor_value_info("a", T.FLOAT, [1, 1, 8, 8])],
                      [helper.make_tensor_value_info("c", T.FLOAT, None)])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), gray)
for m, expect in [(two, "one image input"), (gray, "3 channels")]:
    p = classify(m, images[0])
    check(p.returncode == 1 and expect in p.stderr, f"{m}: rc {p.returncode} {p.stderr!r}")
p = classify(model, images[0], "--labels", os.path.join(TMP, "nolabels.txt"))
check(p.returncode == 1 and "nolabels.txt" in p.stderr, f"missing --labels file: {p.stderr!r}")

# A folder, in batches of 2 (the relu model's batch is symbolic): the same answers as one by one.
folder = os.path.join(TMP, "folder")
os.makedirs(folder)
for i in range(3):
    Image.fromarray(rng.integers(0, 256, (20 + 9 * i, 25, 3), dtype=np.uint8)).save(os.path.join(folder, f"{i}.png"))
p1, p2 = classify(model, folder, "--topk", "4"), classify(model, folder, "--topk", "4", "--batch", "2")
r1, r2 = parse(p1.stdout), parse(p2.stdout)
check(p1.returncode == 0 and p2.returncode == 0 and len(r1) == 3 and r1 == r2 and
      sorted(r1) == [os.path.join(folder, f"{i}.png") for i in range(3)],
      f"folder --batch 2: {p2.returncode} {p2.stderr!r} {r1} vs {r2}")
check("batches of up to 2" in p2.stderr, f"stage summary: {p2.stderr!r}")
p = classify(model, images[0], "--batch", "0")
check(p.returncode == 2 and "bad --batch '0'" in p.stderr, f"--batch 0: {p.returncode} {p.stderr!r}")

finish("test_classify")
