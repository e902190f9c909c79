"""Shared helpers of the real-model tests: arguments, skipping, comparisons, seeds."""
import argparse
import os
import secrets
import sys

import numpy as np

SKIP = 77  # ctest SKIP_RETURN_CODE


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--lib", help="path of libonyx.so (default: ONYX_LIB or build/libonyx.so)")
    p.add_argument("--models", help="the shared models folder (PROVENANCE.md, *.onnx, images/)")
    p.add_argument("--threads", type=int, default=0, help="onyx session threads (0: all cores)")
    return p


def skip(msg):
    print(f"SKIP: {msg}")
    sys.stdout.flush()
    sys.exit(SKIP)


def need_models_dir(path):
    """Skip (exit 77) when the models folder is absent; fail when it is set but not a folder."""
    if not path:
        skip("no models folder given (--models)")
    if not os.path.exists(path):
        skip(f"models folder {path} is absent")
    if not os.path.isdir(path):
        raise SystemExit(f"FAIL: {path} is not a folder")
    return path


def pick_seed(given=None):
    """A fresh seed each run unless given (--seed or ONYX_TEST_SEED); always printed."""
    if given is None:
        env = os.environ.get("ONYX_TEST_SEED")
        given = int(env) if env else secrets.randbits(32)
    print(f"seed = {given}  (reproduce with --seed {given} or ONYX_TEST_SEED={given})")
    return given


def compare(name, got, want, atol, rtol):
    """Checks |got - want| <= atol + rtol*|want| elementwise; returns (ok, max_abs, max_rel, line)."""
    if got.shape != want.shape:
        return False, float("inf"), float("inf"), f"{name}: shape {got.shape} != expected {want.shape}"
    if got.dtype != want.dtype:
        return False, float("inf"), float("inf"), f"{name}: dtype {got.dtype} != expected {want.dtype}"
    if got.size == 0:
        return True, 0.0, 0.0, f"{name}: empty, shape {got.shape}"
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    if not np.all(np.isfinite(w)):
        return False, float("nan"), float("nan"), f"{name}: the reference has non-finite values"
    if not np.all(np.isfinite(g)):
        bad = int(np.count_nonzero(~np.isfinite(g)))
        return False, float("nan"), float("nan"), f"{name}: {bad} non-finite values in onyx's output"
    diff = np.abs(g - w)
    max_abs = float(diff.max())
    rel = diff / np.maximum(np.abs(w), 1e-12)
    max_rel = float(rel.max())
    viol = diff > atol + rtol * np.abs(w)
    nviol = int(np.count_nonzero(viol))
    worst = np.unravel_index(int(np.argmax(diff - (atol + rtol * np.abs(w)))), diff.shape)
    line = (f"{name}: shape {tuple(got.shape)} max_abs {max_abs:.3e} max_rel {max_rel:.3e} "
            f"(|ref| max {float(np.abs(w).max()):.3g})")
    if nviol:
        line += (f"  {nviol}/{got.size} outside atol {atol:g} + rtol {rtol:g}; worst at {tuple(map(int, worst))}:"
                 f" onyx {g[worst]:.7g} vs {w[worst]:.7g}")
    return nviol == 0, max_abs, max_rel, line
