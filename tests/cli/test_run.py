#!/usr/bin/python3
"""`onyx run` end to end on small models built here with onnx.helper.

usage: test_run.py ONYX TMPDIR

Checks, against numpy references: outputs written as DIR/<sanitised name>.npy
with the right dtype, shape and values; inputs from .npy (format 1.0, 2.0, 3.0)
and raw .bin (one symbolic dim inferred from the size); random inputs that
follow the documented splitmix64 recipe; --shapes; clear errors (exit 1) for
wrong data.
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper

from clitest import check, finish, fresh_dir

ONYX, TMP = sys.argv[1], sys.argv[2]
fresh_dir(TMP)



def run(*args):
    return subprocess.run([ONYX, "run", *map(str, args)], capture_output=True, text=True)


M64 = (1 << 64) - 1


def splitmix64(state):
    """Yields the documented generator's draws from a seed."""
    while True:
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        yield z ^ (z >> 31)


def random_like(gen, dtype, shape):
    n = int(np.prod(shape))
    u = [next(gen) for _ in range(n)]
    if dtype == np.float32:
        v = np.array([(x >> 40) * 2.0 ** -24 * 2 - 1 for x in u], np.float32)
    elif dtype == np.float64:
        v = np.array([(x >> 11) * 2.0 ** -53 * 2 - 1 for x in u], np.float64)
    elif dtype == np.float16:
        v = np.array([(x >> 53) * 2.0 ** -11 * 2 - 1 for x in u], np.float16)
    elif dtype == np.bool_:
        v = np.array([x >> 63 for x in u], np.bool_)
    else:
        v = np.array([x % 10 for x in u], dtype)
    return v.reshape(shape)


def save_model(path, nodes, inputs, outputs, opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]), path)


# Model A: relu(x) and x + y with a symbolic batch, an output name needing sanitising.
model_a = os.path.join(TMP, "a.onnx")
save_model(model_a, [helper.make_node("Relu", ["x"], ["out/relu:0"]), helper.make_node("Add", ["x", "y"], ["sum"])],
           [helper.make_tensor_value_info("x", T.FLOAT, ["N", 4]), helper.make_tensor_value_info("y", T.FLOAT, ["N", 4])],
           [helper.make_tensor_value_info("out/relu:0", T.FLOAT, None), helper.make_tensor_value_info("sum", T.FLOAT, None)])


def outputs_of(d, x, y):
    r = np.load(os.path.join(d, "out_relu_0.npy"))
    s = np.load(os.path.join(d, "sum.npy"))
    check(r.dtype == np.float32 and s.dtype == np.float32, "output dtypes")
    check(r.shape == x.shape and s.shape == x.shape, f"output shapes {r.shape} {s.shape}, want {x.shape}")
    if r.shape == x.shape:
        check(np.array_equal(r, np.maximum(x, 0)), "relu values")
        check(np.array_equal(s, x + y), "sum values")


# 1. No --input: random, seeded, symbolic dims = 1.
for seed in [0, 7, 2**64 - 1]:
    d = os.path.join(TMP, f"out_seed{seed}")
    p = run(model_a, "--seed", seed, "--output-dir", d)
    check(p.returncode == 0, f"random run seed {seed}: {p.stderr}")
    check("input 'x' not given" in p.stderr and "random" in p.stderr and f"seed {seed}" in p.stderr,
          f"stderr does not say inputs were random: {p.stderr!r}")
    for word in ["out/relu:0", "sum", "float32", "1x4", "min", "max", "mean", "ms"]:
        check(word in p.stdout, f"stdout lacks {word!r}: {p.stdout!r}")
    g = splitmix64(seed)
    x = random_like(g, np.float32, (1, 4))
    y = random_like(g, np.float32, (1, 4))
    check(x.min() >= -1 and x.max() < 1, "random range")
    if p.returncode == 0:
        outputs_of(d, x, y)

# 2. --shapes, output dir created, default seed 0.
d = os.path.join(TMP, "out_shapes")
p = run(model_a, "--shapes", "x:3x4,y:3x4", "--output-dir", d)
check(p.returncode == 0, f"--shapes run: {p.stderr}")
if p.returncode == 0:
    g = splitmix64(0)
    outputs_of(d, random_like(g, np.float32, (3, 4)), random_like(g, np.float32, (3, 4)))

# 3. --input from .npy (each format version) and raw .bin (N inferred from the size).
rng = np.random.default_rng(3)
x = rng.standard_normal((5, 4)).astype(np.float32)
y = rng.standard_normal((5, 4)).astype(np.float32)
for version in [(1, 0), (2, 0), (3, 0)]:
    xp = os.path.join(TMP, f"x_v{version[0]}.npy")
    with open(xp, "wb") as f:
        np.lib.format.write_array(f, x, version=version)
    yp = os.path.join(TMP, "y.bin")
    y.tofile(yp)
    d = os.path.join(TMP, f"out_in_v{version[0]}")
    p = run(model_a, "--input", f"x={xp}", "--input", f"y={yp}", "--output-dir", d)
    check(p.returncode == 0, f"--input run (npy v{version}): {p.stderr}")
    check("random" not in p.stderr, f"given inputs reported as random: {p.stderr!r}")
    if p.returncode == 0:
        outputs_of(d, x, y)
# one given, one random: y gets N = 1 and broadcasts; the generator starts at y
d = os.path.join(TMP, "out_mixed")
p = run(model_a, "--input", f"x={os.path.join(TMP, 'x_v1.npy')}", "--output-dir", d)
check(p.returncode == 0 and "input 'y' not given" in p.stderr and "'x'" not in p.stderr, f"mixed: {p.stderr!r}")
if p.returncode == 0:
    outputs_of(d, x, random_like(splitmix64(0), np.float32, (1, 4)))

# 4. Every dtype through Identity: .npy in -> .npy out, bit-exact; random fills of each dtype.
dtypes = {np.float32: T.FLOAT, np.float64: T.DOUBLE, np.float16: T.FLOAT16, np.int64: T.INT64, np.int32: T.INT32,
          np.int16: T.INT16, np.int8: T.INT8, np.uint8: T.UINT8, np.uint16: T.UINT16, np.uint32: T.UINT32,
          np.uint64: T.UINT64, np.bool_: T.BOOL}
for npt, ot in dtypes.items():
    name = np.dtype(npt).name
    mp = os.path.join(TMP, f"id_{name}.onnx")
    save_model(mp, [helper.make_node("Identity", ["v"], ["w"])], [helper.make_tensor_value_info("v", ot, [2, "K", 3])],
               [helper.make_tensor_value_info("w", ot, None)])
    if npt == np.bool_:
        v = rng.integers(0, 2, (2, 5, 3)).astype(np.bool_)
    elif np.issubdtype(npt, np.integer):
        info = np.iinfo(npt)
        v = rng.integers(info.min, info.max, (2, 5, 3), dtype=npt, endpoint=True)
    else:
        v = (rng.standard_normal((2, 5, 3)) * 100).astype(npt)
    vp = os.path.join(TMP, f"v_{name}.npy")
    np.save(vp, v)
    d = os.path.join(TMP, f"out_{name}")
    p = run(mp, "--input", f"v={vp}", "--output-dir", d)
    check(p.returncode == 0, f"identity {name}: {p.stderr}")
    if p.returncode == 0:
        w = np.load(os.path.join(d, "w.npy"))
        check(w.dtype == v.dtype and w.shape == v.shape and np.array_equal(w, v), f"identity {name}: data differs")
    # the same through a raw file with the symbolic dim inferred
    bp = os.path.join(TMP, f"v_{name}.bin")
    v.tofile(bp)
    p = run(mp, "--input", f"v={bp}", "--output-dir", d)
    check(p.returncode == 0, f"identity {name} raw: {p.stderr}")
    if p.returncode == 0:
        w = np.load(os.path.join(d, "w.npy"))
        check(w.shape == v.shape and np.array_equal(w, v), f"identity {name} raw: data differs")
    # random fill
    p = run(mp, "--seed", 42, "--output-dir", d)
    check(p.returncode == 0, f"identity {name} random: {p.stderr}")
    if p.returncode == 0:
        w = np.load(os.path.join(d, "w.npy"))
        ref = random_like(splitmix64(42), npt, (2, 1, 3))
        check(w.dtype == ref.dtype and np.array_equal(w, ref), f"identity {name} random: {w.ravel()} vs {ref.ravel()}")

# 5. Data errors: exit 1 with a message naming the problem.
f64 = os.path.join(TMP, "f64.npy")
np.save(f64, np.zeros((1, 4)))
wrong_shape = os.path.join(TMP, "wrong_shape.npy")
np.save(wrong_shape, np.zeros((1, 5), np.float32))
fortran = os.path.join(TMP, "fortran.npy")
np.save(fortran, np.asfortranarray(np.zeros((2, 4), np.float32)))
short_bin = os.path.join(TMP, "short.bin")
np.zeros(6, np.float32).tofile(short_bin)
garbage = os.path.join(TMP, "garbage.npy")
open(garbage, "wb").write(b"\x93NUMPY\x01\x00\x30\x00{'descr': '<f4', 'shape': (1, 4), 'x': 1}")
fx = os.path.join(TMP, "x_v1.npy")
errors = [
    (["--input", f"x={f64}", "--input", f"y={f64}"], "float64"),
    (["--input", f"x={wrong_shape}", "--input", f"y={wrong_shape}"], "x"),
    (["--input", f"x={fortran}"], "Fortran"),
    (["--input", f"x={short_bin}"], "not a whole number"),
    (["--input", f"x={garbage}"], "garbage.npy"),
    (["--input", f"x={os.path.join(TMP, 'missing.npy')}"], "missing.npy"),
    (["--input", f"x={fx}", "--shapes", "x:2x4"], "--shapes"),
    (["--output-dir", fx], "not a directory"),
]
for args, expect in errors:
    p = run(model_a, *args)
    check(p.returncode == 1 and expect in p.stderr, f"{args}: rc {p.returncode}, {p.stderr.strip()!r} (want {expect!r})")

# 6. Outputs whose sanitised names collide are refused rather than overwritten.
mc = os.path.join(TMP, "collide.onnx")
save_model(mc, [helper.make_node("Relu", ["x"], ["a/b"]), helper.make_node("Relu", ["x"], ["a:b"])],
           [helper.make_tensor_value_info("x", T.FLOAT, [2])],
           [helper.make_tensor_value_info("a/b", T.FLOAT, None), helper.make_tensor_value_info("a:b", T.FLOAT, None)])
p = run(mc, "--output-dir", os.path.join(TMP, "oc"))
check(p.returncode == 1 and "a_b.npy" in p.stderr, f"colliding names: rc {p.returncode} {p.stderr!r}")

finish("test_run")
