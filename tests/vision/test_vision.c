/* src/vision: preprocessing plans (prep.h), detector layouts, candidates and
 * NMS (detect.h), drawing and writing (draw.h), on small hand-made inputs.
 * NMS is checked against a brute-force rule written here on fresh random
 * boxes (seed printed; ONYX_TEST_SEED=N fixes it). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stb_image.h>

#include "check.h"
#include "test_rng.h"
#include "common/util.h"
#include "io/image.h"
#include "vision/detect.h"
#include "vision/draw.h"
#include "vision/prep.h"

static uint64_t rng_state;
static uint64_t rnd(void) { return test_splitmix64(&rng_state); }
static float frand(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() >> 40) / (float)(1 << 24); }

static const float zero3[3] = {0, 0, 0}, one3[3] = {1, 1, 1};

/* ---- prep ---------------------------------------------------------------- */

static void test_plans(void)
{
  prep_plan p;
  /* bus.jpg at 640: r = 640/1080, 480x640, 80 px each side (PROVENANCE.md) */
  CHECK_OK(prep_plan_make(PREP_LETTERBOX, 810, 1080, 640, 640, zero3, one3, 114, &p));
  CHECK(p.rs_w == 480 && p.rs_h == 640 && p.off_x == 80 && p.off_y == 0);
  /* zidane.jpg at 320: 320x180, 70 px above and below */
  CHECK_OK(prep_plan_make(PREP_LETTERBOX, 1280, 720, 320, 320, zero3, one3, 114, &p));
  CHECK(p.rs_w == 320 && p.rs_h == 180 && p.off_x == 0 && p.off_y == 70);
  /* odd padding: 100x51 -> 64: 64x33 (32.64 rounds up), dh 15.5 -> round(15.4) = 15 */
  CHECK_OK(prep_plan_make(PREP_LETTERBOX, 100, 51, 64, 64, zero3, one3, 114, &p));
  CHECKF(p.rs_w == 64 && p.rs_h == 33 && p.off_x == 0 && p.off_y == 15, "%dx%d at %d,%d", p.rs_w, p.rs_h, p.off_x,
         p.off_y);
  /* a half rounds to even, as Python's round(): 10x5 -> 8x8 is 8x4; 6x5 -> 4x4: r = 2/3, 4 x 3.33 -> 3 */
  CHECK_OK(prep_plan_make(PREP_LETTERBOX, 10, 5, 8, 8, zero3, one3, 114, &p));
  CHECK(p.rs_w == 8 && p.rs_h == 4 && p.off_y == 2);
  CHECK_OK(prep_plan_make(PREP_LETTERBOX, 5, 3, 2, 2, zero3, one3, 114, &p)); /* 2 x 1.2 -> 1; dh 0.5 -> 0 */
  CHECK(p.rs_w == 2 && p.rs_h == 1 && p.off_y == 0);
  /* a thin strip keeps one pixel */
  CHECK_OK(prep_plan_make(PREP_LETTERBOX, 1, 30000, 640, 640, zero3, one3, 114, &p));
  CHECK(p.rs_w == 1 && p.rs_h == 640 && p.off_x == 319);
  CHECK_OK(prep_plan_make(PREP_STRETCH, 1280, 720, 320, 240, zero3, one3, 0, &p));
  CHECK(p.rs_w == 320 && p.rs_h == 240 && p.off_x == 0 && p.off_y == 0);
  /* center_crop as torchvision: 500x375 -> short side 256, 341x256, crop offset round(58.5) = 58 */
  CHECK_OK(prep_plan_make(PREP_CENTER_CROP, 500, 375, 224, 224, zero3, one3, 0, &p));
  CHECK(p.rs_w == 341 && p.rs_h == 256 && p.off_x == -58 && p.off_y == -16);
  CHECK_OK(prep_plan_make(PREP_CENTER_CROP, 375, 500, 300, 200, zero3, one3, 0, &p)); /* short side 343 */
  CHECK(p.rs_w == 343 && p.rs_h == 457 && p.off_x == -22 && p.off_y == -128);
  /* refusals */
  CHECK_ERR(prep_plan_make(PREP_LETTERBOX, 0, 10, 64, 64, zero3, one3, 114, &p), ONYX_ERR_INVALID_ARG,
            "bad image size 0x10");
  CHECK_ERR(prep_plan_make(PREP_STRETCH, 10, 10, 0, 64, zero3, one3, 114, &p), ONYX_ERR_INVALID_ARG,
            "bad model input size 0x64");
  CHECK_ERR(prep_plan_make(PREP_STRETCH, 10, 10, 64, 9000, zero3, one3, 114, &p), ONYX_ERR_INVALID_ARG,
            "model input size");
  CHECK_ERR(prep_plan_make(PREP_STRETCH, 40000, 10, 64, 64, zero3, one3, 114, &p), ONYX_ERR_INVALID_ARG,
            "image size 40000x10");
  CHECK_ERR(prep_plan_make(PREP_STRETCH, 10, 10, 64, 64, zero3, zero3, 114, &p), ONYX_ERR_INVALID_ARG, "1/std");
  float nan3[3] = {NAN, 0, 0};
  CHECK_ERR(prep_plan_make(PREP_STRETCH, 10, 10, 64, 64, nan3, one3, 114, &p), ONYX_ERR_INVALID_ARG, "channel 0");
  CHECK_ERR(prep_plan_make((prep_fit)7, 10, 10, 64, 64, zero3, one3, 114, &p), ONYX_ERR_INVALID_ARG, "unknown fit");
  /* a 30000x1 image resized for a 224 crop would be 7680000 wide */
  CHECK_ERR(prep_plan_make(PREP_CENTER_CROP, 30000, 1, 224, 224, zero3, one3, 0, &p), ONYX_ERR_UNSUPPORTED,
            "cannot be resized");
}

static void test_apply(void)
{
  image_rgb im = {37, 23, malloc(37 * 23 * 3)};
  for (int i = 0; i < 37 * 23 * 3; i++) im.px[i] = (unsigned char)(rnd() & 255);
  float mean[3] = {frand(0, 255), frand(0, 255), frand(0, 255)}, inv[3] = {frand(0.001f, 1), frand(0.001f, 1), 1};
  prep_plan p;
  /* same size: no resize, every value is (level - mean) * inv_std */
  CHECK_OK(prep_plan_make(PREP_STRETCH, 37, 23, 37, 23, mean, inv, 0, &p));
  float *t = malloc(sizeof(*t) * 3 * 64 * 64);
  CHECK_OK(prep_apply(&p, &im, t));
  int bad = 0;
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 37 * 23; i++) bad += t[c * 37 * 23 + i] != ((float)im.px[3 * i + c] - mean[c]) * inv[c];
  CHECKF(bad == 0, "%d values differ", bad);
  /* letterbox 37x23 -> 64x64: 64x40 at (0, 12); pad rows 0-11 and 52-63 hold (114 - mean) * inv_std */
  CHECK_OK(prep_plan_make(PREP_LETTERBOX, 37, 23, 64, 64, mean, inv, 114, &p));
  CHECK(p.rs_w == 64 && p.rs_h == 40 && p.off_x == 0 && p.off_y == 12);
  CHECK_OK(prep_apply(&p, &im, t));
  image_rgb r;
  CHECK_OK(image_resize_bilinear(&im, 64, 40, &r));
  bad = 0;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < 64; y++)
      for (int x = 0; x < 64; x++) {
        float v = y < 12 || y >= 52 ? 114.0f : (float)r.px[((y - 12) * 64 + x) * 3 + c];
        bad += t[(c * 64 + y) * 64 + x] != (v - mean[c]) * inv[c];
      }
  CHECKF(bad == 0, "%d letterbox values differ", bad);
  image_free(&r);
  /* center crop: the middle of the resized image */
  CHECK_OK(prep_plan_make(PREP_CENTER_CROP, 37, 23, 16, 16, zero3, one3, 0, &p));
  CHECK_OK(prep_apply(&p, &im, t));
  CHECK_OK(image_resize_bilinear(&im, p.rs_w, p.rs_h, &r));
  bad = 0;
  for (int y = 0; y < 16; y++)
    for (int x = 0; x < 16; x++)
      bad += t[y * 16 + x] != (float)r.px[((y - p.off_y) * p.rs_w + x - p.off_x) * 3];
  CHECKF(bad == 0, "%d crop values differ", bad);
  image_free(&r);
  /* the plan must fit the image */
  CHECK_ERR(prep_apply(&p, &(image_rgb){36, 23, im.px}, t), ONYX_ERR_INVALID_ARG, "36x23", "37x23");
  free(t);
  image_free(&im);
}

static void test_box_to_source(void)
{
  prep_plan p;
  CHECK_OK(prep_plan_make(PREP_LETTERBOX, 810, 1080, 640, 640, zero3, one3, 114, &p));
  for (int k = 0; k < 100; k++) { /* forward with the plan's geometry, back: the same box */
    float b[4] = {frand(0, 400), frand(0, 500), 0, 0};
    b[2] = b[0] + frand(0, 400);
    b[3] = b[1] + frand(0, 500);
    float in[4] = {b[0] * 480 / 810 + 80, b[1] * 640 / 1080, b[2] * 480 / 810 + 80, b[3] * 640 / 1080};
    prep_box_to_source(&p, in);
    float err = 0;
    for (int i = 0; i < 4; i++) err = fmaxf(err, fabsf(in[i] - b[i]));
    CHECKF(err < 1e-3f, "box %d off by %g", k, (double)err);
  }
  float out[4] = {-50, -3, 700, 900}; /* in the padding and beyond: clamped to the image */
  prep_box_to_source(&p, out);
  CHECK(out[0] == 0 && out[1] == 0 && out[2] == 810 && out[3] == 1080);
  CHECK_OK(prep_plan_make(PREP_STRETCH, 1280, 720, 320, 240, zero3, one3, 0, &p));
  float s[4] = {32, 24, 160, 120};
  prep_box_to_source(&p, s);
  CHECK(s[0] == 128 && s[1] == 72 && s[2] == 640 && s[3] == 360);
}

/* ---- layouts --------------------------------------------------------------- */

static onyx_tensor_info ti(const char *name, onyx_dtype dt, int ndim, int64_t d0, int64_t d1, int64_t d2)
{
  onyx_tensor_info t = {.name = name, .dtype = dt, .ndim = ndim};
  t.dims[0] = d0, t.dims[1] = d1, t.dims[2] = d2;
  return t;
}

static void test_layouts(void)
{
  det_layout l;
  onyx_tensor_info o[3];
  o[0] = ti("output0", ONYX_DTYPE_FLOAT, 3, 1, 84, 8400);
  CHECK_OK(det_layout_from_outputs(1, o, &l));
  CHECK(l.fmt == DET_YOLOV8 && l.n_classes == 80 && l.n_anchors == 8400 && !l.background);
  o[0] = ti("output0", ONYX_DTYPE_FLOAT16, 3, 4, 6, 2100); /* 2 classes, batch 4, fp16 */
  CHECK_OK(det_layout_from_outputs(1, o, &l));
  CHECK(l.fmt == DET_YOLOV8 && l.n_classes == 2 && l.n_anchors == 2100);
  o[0] = ti("output", ONYX_DTYPE_FLOAT, 3, 1, 25200, 85);
  CHECK_OK(det_layout_from_outputs(1, o, &l));
  CHECK(l.fmt == DET_YOLOV5 && l.n_classes == 80 && l.n_anchors == 25200);
  o[0] = ti("scores", ONYX_DTYPE_FLOAT, 3, 1, 4420, 2);
  o[1] = ti("boxes", ONYX_DTYPE_FLOAT, 3, 1, 4420, 4);
  CHECK_OK(det_layout_from_outputs(2, o, &l));
  CHECK(l.fmt == DET_SSD && l.boxes_out == 1 && l.scores_out == 0 && l.n_classes == 2 && l.background &&
        l.n_anchors == 4420);
  o[0] = ti("boxes", ONYX_DTYPE_FLOAT, 3, 1, 100, 4), o[1] = ti("conf", ONYX_DTYPE_FLOAT, 3, 1, 100, 1);
  CHECK_OK(det_layout_from_outputs(2, o, &l));
  CHECK(l.fmt == DET_SSD && l.boxes_out == 0 && l.n_classes == 1 && !l.background);
  o[0] = ti("a", ONYX_DTYPE_FLOAT, 3, 1, 100, 4), o[1] = ti("b_box", ONYX_DTYPE_FLOAT, 3, 1, 100, 4);
  CHECK_OK(det_layout_from_outputs(2, o, &l)); /* both x4: the name decides */
  CHECK(l.fmt == DET_SSD && l.boxes_out == 1);
  /* unfit shapes: errors naming them */
  o[0] = ti("sq", ONYX_DTYPE_FLOAT, 3, 1, 84, 84);
  CHECK_ERR(det_layout_from_outputs(1, o, &l), ONYX_ERR_UNSUPPORTED, "'sq' 1x84x84", "YOLOv8");
  o[0] = ti("out", ONYX_DTYPE_FLOAT, 4, 1, 84, 8400);
  o[0].dims[3] = 1;
  CHECK_ERR(det_layout_from_outputs(1, o, &l), ONYX_ERR_UNSUPPORTED, "'out' 1x84x8400x1");
  o[0] = ti("out", ONYX_DTYPE_FLOAT, 3, 1, 4, 8400); /* no class */
  CHECK_ERR(det_layout_from_outputs(1, o, &l), ONYX_ERR_UNSUPPORTED, "1x4x8400");
  o[0] = ti("out", ONYX_DTYPE_FLOAT, 3, 1, -1, 8400);
  CHECK_ERR(det_layout_from_outputs(1, o, &l), ONYX_ERR_UNSUPPORTED, "'out'");
  o[0] = ti("out", ONYX_DTYPE_INT64, 3, 1, 84, 8400);
  CHECK_ERR(det_layout_from_outputs(1, o, &l), ONYX_ERR_UNSUPPORTED, "float32 or float16", "int64");
  o[0] = ti("boxes", ONYX_DTYPE_FLOAT, 3, 1, 100, 4), o[1] = ti("scores", ONYX_DTYPE_FLOAT, 3, 1, 99, 2);
  CHECK_ERR(det_layout_from_outputs(2, o, &l), ONYX_ERR_UNSUPPORTED, "1x100x4", "1x99x2");
  o[0] = ti("x", ONYX_DTYPE_FLOAT, 3, 1, 100, 4), o[1] = ti("y", ONYX_DTYPE_FLOAT, 3, 1, 100, 4);
  CHECK_ERR(det_layout_from_outputs(2, o, &l), ONYX_ERR_UNSUPPORTED, "2 outputs");
  o[2] = ti("z", ONYX_DTYPE_FLOAT, 3, 1, 100, 4);
  CHECK_ERR(det_layout_from_outputs(3, o, &l), ONYX_ERR_UNSUPPORTED, "3 outputs");
  CHECK_ERR(det_layout_from_outputs(0, o, &l), ONYX_ERR_UNSUPPORTED, "0 outputs");
}

/* ---- candidates -------------------------------------------------------------- */

static void test_candidates(void)
{
  enum { N = 50, C = 3 };
  det_box cand[N];
  /* YOLOv8: (4 + C) x N */
  float *y8 = malloc(sizeof(*y8) * (4 + C) * N);
  for (int i = 0; i < (4 + C) * N; i++) y8[i] = frand(0, 1);
  for (int a = 0; a < N; a++)
    for (int k = 0; k < 4; k++) y8[k * N + a] = frand(10, 300);
  det_layout l = {.fmt = DET_YOLOV8, .n_anchors = N, .n_classes = C};
  const float *outs[2] = {y8, NULL};
  int n = det_candidates(&l, outs, 640, 640, 0.5f, cand, N);
  int want = 0, bad = 0;
  for (int a = 0, j = 0; a < N; a++) {
    int best = 0;
    for (int c = 1; c < C; c++)
      if (y8[(4 + c) * N + a] > y8[(4 + best) * N + a]) best = c;
    float s = y8[(4 + best) * N + a];
    if (s <= 0.5f) continue;
    want++;
    if (j >= n) continue;
    const det_box *b = &cand[j++];
    float cx = y8[a], cy = y8[N + a], w = y8[2 * N + a], h = y8[3 * N + a];
    bad += b->cls != best || b->score != s || fabsf(b->x1 - (cx - w / 2)) > 1e-4f ||
           fabsf(b->y2 - (cy + h / 2)) > 1e-4f;
  }
  CHECKF(n == want && bad == 0, "yolov8: %d candidates (want %d), %d wrong", n, want, bad);
  /* cap: the count is still the full one, only cap are written */
  det_box two[2];
  CHECK(det_candidates(&l, outs, 640, 640, 0.5f, two, 2) == want);
  /* YOLOv5: N x (5 + C), score = objectness * best class */
  float *y5 = malloc(sizeof(*y5) * (5 + C) * N);
  for (int i = 0; i < (5 + C) * N; i++) y5[i] = frand(0, 1);
  l = (det_layout){.fmt = DET_YOLOV5, .n_anchors = N, .n_classes = C};
  outs[0] = y5;
  n = det_candidates(&l, outs, 640, 640, 0.3f, cand, N);
  want = bad = 0;
  for (int a = 0, j = 0; a < N; a++) {
    const float *r = y5 + a * (5 + C);
    int best = 0;
    for (int c = 1; c < C; c++)
      if (r[5 + c] > r[5 + best]) best = c;
    float s = r[4] * r[5 + best];
    if (s <= 0.3f) continue;
    want++;
    if (j < n) bad += cand[j].cls != best || fabsf(cand[j].score - s) > 1e-6f || cand[j].x1 != r[0] - r[2] / 2, j++;
  }
  CHECKF(n == want && bad == 0, "yolov5: %d candidates (want %d), %d wrong", n, want, bad);
  /* SSD with a background: class 0 skipped, classes renumbered, boxes scaled to the input */
  float boxes[3 * 4] = {0.1f, 0.2f, 0.3f, 0.4f, 0, 0, 1, 1, 0.5f, 0.5f, 0.6f, 0.9f};
  float scores[3 * 3] = {0.1f, 0.2f, 0.7f, 0.95f, 0.03f, 0.02f, 0.4f, 0.6f, 0.0f};
  l = (det_layout){.fmt = DET_SSD, .n_anchors = 3, .n_classes = 3, .boxes_out = 0, .scores_out = 1,
                   .background = true};
  outs[0] = boxes, outs[1] = scores;
  n = det_candidates(&l, outs, 320, 240, 0.5f, cand, N);
  CHECKF(n == 2, "ssd: %d candidates", n); /* anchor 1 is background (0.95) */
  CHECK(cand[0].cls == 1 && cand[0].score == 0.7f && fabsf(cand[0].x1 - 32) < 1e-4f && fabsf(cand[0].y2 - 96) < 1e-4f);
  CHECK(cand[1].cls == 0 && cand[1].score == 0.6f && fabsf(cand[1].x2 - 192) < 1e-4f);
  l.n_classes = 1, l.background = false; /* one class, no background: scores are N x 1 */
  float one[3] = {0.9f, 0.1f, 0.6f};
  outs[1] = one;
  n = det_candidates(&l, outs, 100, 100, 0.5f, cand, N);
  CHECK(n == 2 && cand[0].cls == 0 && cand[1].score == 0.6f && cand[1].x1 == 50.0f);
  free(y8);
  free(y5);
}

/* ---- NMS against brute force ---------------------------------------------------- */

static double ref_iou(const det_box *a, const det_box *b)
{
  double iw = fmin(a->x2, b->x2) - fmax(a->x1, b->x1), ih = fmin(a->y2, b->y2) - fmax(a->y1, b->y1);
  double inter = iw > 0 && ih > 0 ? iw * ih : 0;
  double u = (double)(a->x2 - a->x1) * (a->y2 - a->y1) + (double)(b->x2 - b->x1) * (b->y2 - b->y1) - inter;
  return u > 0 ? inter / u : 0;
}

/* The rule: visit boxes by score, the earlier of equal scores first; keep a box unless a kept box of its
 * class overlaps it by more than thr; stop at max_det.  Quadratic and plain. */
static int ref_nms(const det_box *in, int n, float thr, int max_det, det_box *out)
{
  char *used = calloc((size_t)n, 1);
  int kept = 0;
  for (int step = 0; step < n && kept < max_det; step++) {
    int best = -1;
    for (int i = 0; i < n; i++)
      if (!used[i] && (best < 0 || in[i].score > in[best].score)) best = i;
    used[best] = 1;
    int ok = 1;
    for (int k = 0; k < kept; k++)
      if (out[k].cls == in[best].cls && ref_iou(&out[k], &in[best]) > thr) ok = 0;
    if (ok) out[kept++] = in[best];
  }
  free(used);
  return kept;
}

static void test_nms(void)
{
  enum { MAXN = 400 };
  det_box *in = malloc(sizeof(*in) * MAXN), *got = malloc(sizeof(*got) * MAXN), *want = malloc(sizeof(*want) * MAXN);
  int mismatches = 0;
  for (int trial = 0; trial < 200; trial++) {
    int n = 1 + (int)(rnd() % MAXN), classes = 1 + (int)(rnd() % 4), max_det = 1 + (int)(rnd() % 300);
    float thr = frand(0.1f, 0.9f);
    for (int i = 0; i < n; i++) { /* clustered boxes, so that many overlap */
      float cx = frand(0, 200), cy = frand(0, 200), w = frand(5, 80), h = frand(5, 80);
      in[i] = (det_box){cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, frand(0, 1), (int)(rnd() % classes)};
      if (i && rnd() % 8 == 0) in[i].score = in[rnd() % i].score; /* ties */
    }
    memcpy(got, in, sizeof(*in) * n);
    int ng = det_nms(got, n, thr, max_det), nw = ref_nms(in, n, thr, max_det, want);
    bool same = ng == nw;
    for (int i = 0; same && i < ng; i++) same = !memcmp(&got[i], &want[i], sizeof(*got));
    if (!same && mismatches++ < 3)
      fprintf(stderr, "nms trial %d: n %d classes %d thr %.3f max_det %d: %d kept, brute force %d\n", trial, n,
              classes, (double)thr, max_det, ng, nw);
  }
  CHECKF(mismatches == 0, "%d of 200 random NMS cases differ from brute force", mismatches);
  /* fixed cases: two overlapping boxes of one class, one of another class on top */
  det_box b[3] = {{0, 0, 10, 10, 0.8f, 0}, {1, 1, 11, 11, 0.9f, 0}, {0, 0, 10, 10, 0.7f, 1}};
  CHECK(det_nms(b, 3, 0.45f, 300) == 2 && b[0].score == 0.9f && b[1].cls == 1);
  det_box c[2] = {{0, 0, 10, 10, 0.8f, 0}, {1, 1, 11, 11, 0.9f, 0}}; /* IoU 81/119 = 0.68 */
  CHECK(det_nms(c, 2, 0.7f, 300) == 2 && c[0].score == 0.9f);
  CHECK(det_nms(c, 2, 0.7f, 1) == 1);
  CHECK(det_nms(c, 0, 0.7f, 10) == 0);
  free(in);
  free(got);
  free(want);
}

/* ---- drawing and writing ------------------------------------------------------ */

static void test_draw(const char *tmp)
{
  image_rgb im = {120, 80, calloc(120 * 80 * 3, 1)};
  det_box d[2] = {{10.4f, 30, 60, 70, 0.91f, 0}, {-20, -5, 500, 79.5f, 0.5f, 25}};
  const char *names[] = {"person"};
  draw_detections(&im, d, 2, names, 1);
  /* the first box's outline is coloured, its inside stays black */
  const unsigned char *edge = im.px + (50 * 120 + 10) * 3, *inside = im.px + (50 * 120 + 35) * 3;
  CHECK(edge[0] + edge[1] + edge[2] > 0);
  CHECK(inside[0] + inside[1] + inside[2] == 0);
  /* the label tag sits above the box (rows 30 - tag height .. 29) and holds some text pixels */
  int tw, th;
  draw_text_size("person 0.91", 1, &tw, &th);
  CHECK(tw == 11 * 6 && th == 8);
  int lit = 0;
  for (int y = 30 - th - 2; y < 30; y++)
    for (int x = 10; x < 10 + tw; x++) lit += im.px[(y * 120 + x) * 3 + 1] == 255;
  CHECK(lit > 20);
  int w, h;
  const char *fmt[] = {"png", "jpg"};
  for (int k = 0; k < 2; k++) { /* written, read back with the same size; PNG is lossless */
    char path[512];
    snprintf(path, sizeof(path), "%s/vision_draw_%d.%s", tmp, (int)getpid(), fmt[k]);
    CHECK_OK(draw_save(&im, path));
    image_rgb back;
    if (CHECK_OK(image_load(path, &back))) {
      CHECK(back.w == 120 && back.h == 80);
      if (k == 0) CHECK(!memcmp(back.px, im.px, 120 * 80 * 3));
      image_free(&back);
    }
    CHECK(stbi_info(path, &w, &h, &(int){0}) && w == 120 && h == 80);
    remove(path);
  }
  CHECK_ERR(draw_save(&im, "/nonexistent-dir/x.png"), ONYX_ERR_IO, "/nonexistent-dir/x.png");
  CHECK_ERR(draw_save(&im, "x.gif"), ONYX_ERR_INVALID_ARG, "x.gif");
  image_free(&im);
}

int main(int argc, char **argv)
{
  rng_state = test_seed();
  test_plans();
  test_apply();
  test_box_to_source();
  test_layouts();
  test_candidates();
  test_nms();
  test_draw(argc > 1 ? argv[1] : "/tmp");
  return check_summary(argv[0]);
}
