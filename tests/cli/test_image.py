#!/usr/bin/python3
"""Image decoding and ImageNet preprocessing (src/io/image.c) against PIL.

usage: test_image.py IMAGE_TOOL MODELS_DIR TMPDIR

- PNG inputs (lossless, so both sides see the same pixels): onyx's resize must
  equal PIL's Image.resize(BILINEAR) within 1 gray level, and the preprocessed
  tensor must match a PIL + torchvision-style reference within 1/255 in the
  normalised scale (1/255/std per channel).
- The JPEG photos: the same, starting from stb_image's pixels; and end to end
  (PIL decoding with libjpeg vs stb_image) within the decoders' difference.
- Bad files are refused with exit 1 and a message naming the file.
"""
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from clitest import check, finish

TOOL, MODELS, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(TMP, exist_ok=True)
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)



def tool(*args):
    return subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True)


def reference(img, h, w):
    """resize short side to round(max(h,w)*256/224) with PIL bilinear, centre crop, normalise (torchvision rules)."""
    s = round(max(h, w) * 256 / 224)
    iw, ih = img.size
    if iw <= ih:
        nw, nh = s, int(s * ih / iw)
    else:
        nw, nh = int(s * iw / ih), s
    r = img.resize((nw, nh), Image.BILINEAR) if (nw, nh) != img.size else img
    top, left = int(round((nh - h) / 2.0)), int(round((nw - w) / 2.0))
    c = np.asarray(r, dtype=np.float32)[top:top + h, left:left + w] / np.float32(255)
    return ((c - MEAN) / STD).transpose(2, 0, 1)[None]


def onyx_tensor(path, h, w):
    out = os.path.join(TMP, "t.npy")
    p = tool("imagenet", path, h, w, out)
    check(p.returncode == 0, f"imagenet {path}: {p.stderr}")
    return np.load(out) if p.returncode == 0 else None


def compare_tensor(name, got, ref, levels):
    if got is None:
        return
    check(got.shape == ref.shape and got.dtype == np.float32, f"{name}: shape {got.shape} vs {ref.shape}")
    if got.shape != ref.shape:
        return
    diff = np.abs(got - ref) * STD[None, :, None, None] * 255  # in gray levels
    print(f"  {name}: max diff {diff.max():.4f} levels, mean {diff.mean():.5f}")
    check(diff.max() <= levels + 1e-3, f"{name}: preprocessing differs from PIL by {diff.max():.3f} gray levels")


def synthetic(w, h, mode, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 255 / max(w - 1, 1)), (y * 255 / max(h - 1, 1)), ((x + y) % 64) * 4], -1)
    img = np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8)
    im = Image.fromarray(img, "RGB")
    if mode == "L":
        im = im.convert("L")
    elif mode == "RGBA":
        a = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8), "L")
        im.putalpha(a)
    return im


# ---- PNG: resize and preprocessing are exact up to rounding -------------------
for (w, h, mode, ch, cw) in [(640, 480, "RGB", 224, 224), (300, 500, "RGB", 224, 224), (100, 60, "RGB", 224, 224),
                             (224, 224, "RGB", 224, 224), (1000, 257, "L", 224, 224), (333, 777, "RGBA", 224, 224),
                             (500, 400, "RGB", 192, 192), (640, 480, "RGB", 200, 300)]:
    path = os.path.join(TMP, f"syn_{w}x{h}_{mode}.png")
    im = synthetic(w, h, mode, w * h)
    im.save(path)
    rgb = im.convert("RGB")
    for (rw, rh) in [(256, 192), (w // 3 + 1, h // 2 + 1), (w * 2 - 1, h + 7)]:
        out = os.path.join(TMP, "r.npy")
        p = tool("resize", path, rw, rh, out)
        check(p.returncode == 0, f"resize {path}: {p.stderr}")
        if p.returncode == 0:
            d = np.abs(np.load(out).astype(int) - np.asarray(rgb.resize((rw, rh), Image.BILINEAR)).astype(int))
            check(d.max() <= 1, f"resize {w}x{h} {mode} -> {rw}x{rh}: max diff {d.max()} gray levels vs PIL")
    compare_tensor(f"{w}x{h} {mode} crop {ch}x{cw}", onyx_tensor(path, ch, cw), reference(rgb, ch, cw), 1.0)

# ---- letterbox / stretch (src/vision/prep.h) against PIL, in gray levels --------------
def pil_letterbox(rgb, w, h):
    """Ultralytics' LetterBox (centred, 114) with PIL's bilinear resize."""
    iw, ih = rgb.size
    r = min(w / iw, h / ih)
    nw, nh = max(1, int(round(iw * r))), max(1, int(round(ih * r)))
    left, top = int(round((w - nw) / 2 - 0.1)), int(round((h - nh) / 2 - 0.1))
    canvas = np.full((h, w, 3), 114, np.float32)
    r_im = rgb.resize((nw, nh), Image.BILINEAR) if (nw, nh) != rgb.size else rgb
    canvas[top:top + nh, left:left + nw] = np.asarray(r_im, np.float32)
    return canvas.transpose(2, 0, 1)[None]


for (w, h, ow, oh) in [(640, 480, 640, 640), (300, 500, 320, 320), (100, 51, 64, 64), (1000, 257, 320, 240),
                       (64, 64, 64, 64), (31, 97, 640, 640)]:
    path = os.path.join(TMP, f"lb_{w}x{h}.png")
    im = synthetic(w, h, "RGB", w + h)
    im.save(path)
    for mode in ["letterbox", "stretch"]:
        out = os.path.join(TMP, "lb.npy")
        p = tool(mode, path, ow, oh, out)
        check(p.returncode == 0, f"{mode} {path}: {p.stderr}")
        if p.returncode != 0:
            continue
        got = np.load(out)
        ref = pil_letterbox(im, ow, oh) if mode == "letterbox" else \
            np.asarray(im.resize((ow, oh), Image.BILINEAR), np.float32).transpose(2, 0, 1)[None]
        ok = got.shape == ref.shape and np.abs(got - ref).max() <= 1.0
        check(ok, f"{mode} {w}x{h} -> {ow}x{oh}: shape {got.shape}, max diff "
              f"{np.abs(got - ref).max() if got.shape == ref.shape else '-'} gray levels vs PIL")

# ---- the JPEG photos ------------------------------------------------------------
for name in ["eagle.jpg", "dog_samoyed.jpg"]:
    path = os.path.join(MODELS, "images", name)
    dec = os.path.join(TMP, "dec.npy")
    p = tool("decode", path, dec)
    check(p.returncode == 0, f"decode {name}: {p.stderr}")
    if p.returncode != 0:
        continue
    stb = np.load(dec)
    pil = Image.open(path).convert("RGB")
    check(stb.shape == (pil.size[1], pil.size[0], 3), f"{name}: decoded shape {stb.shape}")
    dd = np.abs(stb.astype(int) - np.asarray(pil).astype(int))
    print(f"  {name}: stb_image vs PIL decoding: max {dd.max()} mean {dd.mean():.4f} gray levels")
    check(dd.mean() < 0.5 and dd.max() <= 8, f"{name}: stb_image and libjpeg disagree a lot ({dd.max()})")
    # Same pixels on both sides: the preprocessing itself must match.
    png = os.path.join(TMP, name + ".png")
    Image.fromarray(stb).save(png)
    compare_tensor(f"{name} (stb pixels)", onyx_tensor(png, 224, 224), reference(Image.fromarray(stb), 224, 224), 1.0)
    # End to end, with each side's own decoder.
    compare_tensor(f"{name} (end to end)", onyx_tensor(path, 224, 224), reference(pil, 224, 224), float(dd.max()))

# ---- bad files --------------------------------------------------------------------
eagle = open(os.path.join(MODELS, "images", "eagle.jpg"), "rb").read()
png_bytes = open(os.path.join(TMP, "syn_640x480_RGB.png"), "rb").read()


def ihdr_png(w, h):
    import struct
    import zlib

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


bad = {
    "text.jpg": (b"this is not an image\n", "not a JPEG or PNG"),
    "empty.png": (b"", "not a JPEG or PNG"),
    "random.bin": (bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8)), "not a JPEG or PNG"),
    "cut10.jpg": (eagle[:len(eagle) // 10], "truncated JPEG"),
    "cut50.jpg": (eagle[:len(eagle) // 2], "truncated JPEG"),
    "cut99.jpg": (eagle[:len(eagle) - 100], "truncated JPEG"),
    "no_eoi.jpg": (eagle[:-2], "truncated JPEG"),
    "header_only.jpg": (eagle[:300], "truncated JPEG"),
    "soi_only.jpg": (b"\xff\xd8\xff", "JPEG"),
    "cut.png": (png_bytes[:len(png_bytes) // 2], "truncated PNG"),
    "sig_only.png": (png_bytes[:8], "truncated PNG"),
    "huge.png": (ihdr_png(100000, 100000), "too large"),
    "huge_area.png": (ihdr_png(30000, 30000), "too large"),
    "zero.png": (ihdr_png(0, 10), "zero dimension"),
    "garbage_idat.png": (ihdr_png(64, 64), "decode"),
    "numpy.npy": (b"\x93NUMPY\x01\x00" + b"x" * 100, "not a JPEG or PNG"),
}
for fname, (data, expect) in bad.items():
    path = os.path.join(TMP, fname)
    with open(path, "wb") as f:
        f.write(data)
    p = tool("decode", path, os.path.join(TMP, "x.npy"))
    check(p.returncode == 1 and path in p.stderr and expect in p.stderr,
          f"{fname}: rc {p.returncode}, message {p.stderr.strip()!r} (want '{expect}')")
for path, expect in [(os.path.join(TMP, "missing.jpg"), "cannot open"), (TMP, "directory")]:
    p = tool("decode", path, os.path.join(TMP, "x.npy"))
    check(p.returncode == 1 and expect in p.stderr, f"{path}: rc {p.returncode}, {p.stderr.strip()!r}")

finish("test_image")
