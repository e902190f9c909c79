/* GPU test of the image pipeline's pre- and post-processing (vision/vision_cuda.h)
 * against the CPU reference (prep_apply in vision/prep.h; det_candidates +
 * det_nms in vision/detect.h).
 *
 * prep      fresh random RGB images (--seed repeats a run) scaled by 0.005 .. 4,
 *           odd sizes, 1x1, very wide and very tall, through the three fits, to
 *           FP32 and FP16: every value within one gray level (times inv_std) of
 *           prep_apply's, plus FP16 rounding (2^-10 relative), and nothing
 *           written past the input.  The kernel computes image.c's 8-bit levels
 *           exactly, so the largest difference printed is normally 0 levels.
 * det_post  synthetic outputs of the three layouts (clusters of overlapping
 *           boxes, stray and empty boxes, scores on a 1/64 grid so that scores
 *           and classes tie; FP32 and FP16) against det_candidates (cap
 *           CUDA_DET_MAX_CAND) + det_nms on the same values (FP16: the rounded
 *           ones): same count and classes, scores within 1e-6, boxes within 1e-4 (relative
 *           above 1).  Cases with no candidate, with more candidates than the
 *           cap, with max_det reached, and several NMS chunks of 256.
 * graph     prep + det_post captured in one CUDA graph, replayed twice on new
 *           data in the same buffers, against the CPU reference.
 * --bench   median kernel times (CUDA events, 20 warm-up, 200 timed) of a
 *           1080x810 -> 640x640 letterbox and of det_post on YOLOv8n-sized
 *           outputs (84 x 8400, about 100 candidates), beside the CPU path
 *           (D2H of that output + det_candidates + det_nms).
 *
 * Usage: onyx_vision_cuda_test [--seed N] [--quick] [--bench]
 * --quick leaves out the largest images (for compute-sanitizer runs).
 * Exit 0 all passed, 1 failures, 77 no CUDA device (ctest: skipped). */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "io/image.h"
#include "vision/detect.h"
#include "vision/prep.h"
#include "vision/vision_cuda.h"

#include "../unit/check.h"

/* ---- helpers -------------------------------------------------------------- */

static uint64_t rng_state;
static uint64_t rnd(void) /* splitmix64 */
{
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static float rnd_unit(void) { return (float)(rnd() >> 40) / (float)(1 << 24); } /* [0, 1) */
static float rnd_range(float lo, float hi) { return lo + (hi - lo) * rnd_unit(); }

/* A CUDA runtime call that must succeed; false (and a failed check) otherwise. */
static bool cu_ok(cudaError_t e, const char *call, int line)
{
  check_count_++;
  if (e == cudaSuccess) return true;
  fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, line, call, cudaGetErrorString(e));
  check_failures_++;
  return false;
}
#define CU(call) cu_ok((call), #call, __LINE__)

static size_t dt_size(onyx_dtype dt) { return dt == ONYX_DTYPE_FLOAT16 ? 2 : 4; }
static const char *dt_name(onyx_dtype dt) { return dt == ONYX_DTYPE_FLOAT16 ? "fp16" : "fp32"; }
static const char *fit_name(prep_fit f)
{
  return f == PREP_LETTERBOX ? "letterbox" : f == PREP_STRETCH ? "stretch" : "center_crop";
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof(*v), cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
static double now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

/* ---- preprocessing -------------------------------------------------------- */

#define PREP_GUARD 64 /* elements after the input that must stay untouched */

typedef struct prep_case {
  int sw, sh, ow, oh;
  bool big; /* left out by --quick */
} prep_case;

static const prep_case prep_cases[] = {
    {1080, 810, 640, 640, false}, /* a photo into YOLO: down by 0.59 */
    {37, 23, 160, 96, false},     /* up by 4.3 */
    {1, 1, 64, 64, false},        {2, 3, 5, 7, false},       {2000, 50, 320, 320, false}, /* very wide */
    {50, 1500, 224, 224, false},  /* very tall */
    {333, 777, 224, 224, false},  {97, 61, 301, 211, false}, {1000, 700, 300, 210, false}, /* down by 0.3 */
    {641, 479, 320, 320, false},  {80, 60, 320, 320, false}, {4000, 3000, 96, 96, true},   /* down by 42 */
    {6000, 400, 32, 32, true}, /* down by 188: the kernel computes its weights without shared memory */
};

/* YOLO-style (levels / 255, pad 114) and ImageNet-style normalisation. */
static void prep_norm(int kind, float mean[3], float inv_std[3], float *pad)
{
  static const float im_mean[3] = {0.485f, 0.456f, 0.406f}, im_std[3] = {0.229f, 0.224f, 0.225f};
  for (int c = 0; c < 3; c++) {
    mean[c] = kind ? im_mean[c] * 255.0f : 0.0f;
    inv_std[c] = kind ? 1.0f / (im_std[c] * 255.0f) : 1.0f / 255.0f;
  }
  *pad = kind ? 0.0f : 114.0f;
}

static void fill_image(image_rgb *im)
{
  size_t n = (size_t)im->w * (size_t)im->h * 3;
  for (size_t i = 0; i < n; i++) im->px[i] = (unsigned char)(rnd() >> 56);
}

/* The GPU input (host copy, dt) against prep_apply's; prints the largest difference in gray levels. */
static void prep_compare(const char *label, const prep_plan *p, onyx_dtype dt, const void *gpu, const float *ref)
{
  size_t plane = (size_t)p->out_w * (size_t)p->out_h, bad = 0, first = 0;
  double worst = 0;
  for (size_t i = 0; i < 3 * plane; i++) {
    int c = (int)(i / plane);
    float g = dt == ONYX_DTYPE_FLOAT ? ((const float *)gpu)[i] : onyx_half_to_float(((const uint16_t *)gpu)[i]);
    float r = ref[i], d = fabsf(g - r);
    float allowed = p->inv_std[c] * 1.00001f + (dt == ONYX_DTYPE_FLOAT16 ? fabsf(r) / 1024.0f : 1e-6f * fabsf(r)) +
                    1e-6f;
    if (!(d <= allowed)) {
      if (!bad) first = i;
      bad++;
    }
    double lv = d / p->inv_std[c];
    if (!isnan(worst) && !(lv <= worst)) worst = lv; /* a NaN (an unwritten value) sticks */
  }
  const unsigned char *tail = (const unsigned char *)gpu + 3 * plane * dt_size(dt);
  size_t guard_bad = 0;
  for (size_t i = 0; i < PREP_GUARD * dt_size(dt); i++) guard_bad += tail[i] != 0xFF;
  if (bad) {
    size_t i = first, c = i / plane, y = i % plane / (size_t)p->out_w, x = i % (size_t)p->out_w;
    float g = dt == ONYX_DTYPE_FLOAT ? ((const float *)gpu)[i] : onyx_half_to_float(((const uint16_t *)gpu)[i]);
    fprintf(stderr, "  %s: first at channel %zu y %zu x %zu: gpu %.6f cpu %.6f\n", label, c, y, x, g, ref[i]);
  }
  CHECKF(bad == 0, "prep %s: %zu of %zu values off by more than one gray level (max %.3g levels)", label, bad,
         3 * plane, worst);
  CHECKF(guard_bad == 0, "prep %s: %zu bytes written past the input", label, guard_bad);
  printf("prep %-44s max |gpu - cpu| = %.3g levels\n", label, worst);
}

static void prep_check(const prep_case *pc, prep_fit fit, onyx_dtype dt, int norm, cudaStream_t s)
{
  char label[96];
  snprintf(label, sizeof(label), "%dx%d -> %dx%d %s %s %s", pc->sw, pc->sh, pc->ow, pc->oh, fit_name(fit),
           dt_name(dt), norm ? "imagenet" : "yolo");
  image_rgb im = {pc->sw, pc->sh, malloc((size_t)pc->sw * (size_t)pc->sh * 3)};
  size_t plane = (size_t)pc->ow * (size_t)pc->oh, bytes = (3 * plane + PREP_GUARD) * dt_size(dt);
  float *ref = malloc(3 * plane * sizeof(*ref));
  void *host = malloc(bytes);
  uint8_t *d_src = NULL;
  void *d_dst = NULL;
  if (!im.px || !ref || !host) {
    CHECKF(false, "prep %s: out of host memory", label);
    goto out;
  }
  fill_image(&im);
  float mean[3], inv_std[3], pad;
  prep_norm(norm, mean, inv_std, &pad);
  prep_plan p;
  if (!CHECK_OK(prep_plan_make(fit, pc->sw, pc->sh, pc->ow, pc->oh, mean, inv_std, pad, &p))) goto out;
  if (!CHECK_OK(prep_apply(&p, &im, ref))) goto out;
  size_t src_bytes = (size_t)im.w * (size_t)im.h * 3;
  if (!CU(cudaMalloc((void **)&d_src, src_bytes)) || !CU(cudaMalloc(&d_dst, bytes))) goto out;
  if (!CU(cudaMemcpy(d_src, im.px, src_bytes, cudaMemcpyHostToDevice)) || !CU(cudaMemset(d_dst, 0xFF, bytes)))
    goto out;
  if (!CHECK_OK(cuda_prep_image(&p, d_src, d_dst, dt, s))) goto out;
  if (!CU(cudaStreamSynchronize(s)) || !CU(cudaMemcpy(host, d_dst, bytes, cudaMemcpyDeviceToHost))) goto out;
  prep_compare(label, &p, dt, host, ref);
out:
  cudaFree(d_src);
  cudaFree(d_dst);
  free(host);
  free(ref);
  free(im.px);
}

/* ---- detector post-processing --------------------------------------------- */

#define DET_IN_W 640
#define DET_IN_H 480

typedef struct det_case {
  const char *name;
  det_format fmt;
  int n, c;
  bool background;
  float conf, iou;
  int max_det;
  int hot;        /* classes per anchor that get a score in 0..1 (the others 0 .. 7/64) */
  int candidates; /* > 0: only this many random anchors get hot classes (the bench's ~100 candidates) */
} det_case;

/* Host outputs of one synthetic image: out[0] (boxes / the only output) and out[1] (SSD scores), in float
 * (FP16: already rounded), and their FP16 copies. */
typedef struct det_data {
  det_layout l;
  size_t n_el[2];
  float *f[2];
  uint16_t *h[2];
} det_data;

static void det_data_free(det_data *d)
{
  for (int k = 0; k < 2; k++) {
    free(d->f[k]);
    free(d->h[k]);
  }
}

static float grid64(int hi) { return (float)(rnd() % (uint64_t)(hi + 1)) / 64.0f; } /* k / 64, k <= hi */

/* A box near one of a few cluster centres (heavy overlaps), sometimes anywhere, sometimes empty. */
static void synth_box(float *cx, float *cy, float *w, float *h, const float (*cl)[4], int ncl)
{
  uint64_t kind = rnd() % 64;
  if (kind < 8) {
    *cx = rnd_range(-20.f, DET_IN_W + 20.f);
    *cy = rnd_range(-20.f, DET_IN_H + 20.f);
    *w = rnd_range(1.f, 300.f);
    *h = rnd_range(1.f, 300.f);
  } else {
    const float *k = cl[rnd() % (uint64_t)ncl];
    *cx = k[0] + rnd_range(-6.f, 6.f);
    *cy = k[1] + rnd_range(-6.f, 6.f);
    *w = k[2] + rnd_range(-10.f, 10.f);
    *h = k[3] + rnd_range(-10.f, 10.f);
  }
  if (kind == 9) *w = 0.f; /* no area */
}

static bool det_make(const det_case *dc, onyx_dtype dt, det_data *d)
{
  memset(d, 0, sizeof(*d));
  det_layout *l = &d->l;
  *l = (det_layout){.fmt = dc->fmt, .n_anchors = dc->n, .n_classes = dc->c, .boxes_out = 0,
                    .scores_out = dc->fmt == DET_SSD ? 1 : 0, .background = dc->background};
  size_t n = (size_t)dc->n, c = (size_t)dc->c;
  d->n_el[0] = dc->fmt == DET_YOLOV8 ? (4 + c) * n : dc->fmt == DET_YOLOV5 ? n * (5 + c) : n * 4;
  d->n_el[1] = dc->fmt == DET_SSD ? n * c : 0;
  for (int k = 0; k < 2; k++)
    if (d->n_el[k] && !(d->f[k] = malloc(d->n_el[k] * sizeof(float)))) return false;
  float cl[24][4];
  for (int k = 0; k < 24; k++) {
    cl[k][0] = rnd_range(0.f, DET_IN_W);
    cl[k][1] = rnd_range(0.f, DET_IN_H);
    cl[k][2] = rnd_range(20.f, 160.f);
    cl[k][3] = rnd_range(20.f, 160.f);
  }
  float *cls = malloc(c * sizeof(*cls));
  if (!cls) return false;
  bool *hot_anchor = calloc(n, sizeof(*hot_anchor));
  if (!hot_anchor) {
    free(cls);
    return false;
  }
  if (dc->candidates > 0)
    for (int k = 0; k < dc->candidates; k++) hot_anchor[rnd() % n] = true;
  for (size_t a = 0; a < n; a++) {
    float cx, cy, w, h;
    synth_box(&cx, &cy, &w, &h, cl, 24);
    for (size_t k = 0; k < c; k++) cls[k] = grid64(7);
    if (dc->candidates <= 0 || hot_anchor[a])
      for (int k = 0; k < dc->hot; k++) cls[rnd() % c] = dc->candidates > 0 ? 0.3f + grid64(44) : grid64(64);
    float *o = d->f[0];
    if (dc->fmt == DET_YOLOV8) {
      o[a] = cx;
      o[n + a] = cy;
      o[2 * n + a] = w;
      o[3 * n + a] = h;
      for (size_t k = 0; k < c; k++) o[(4 + k) * n + a] = cls[k];
    } else if (dc->fmt == DET_YOLOV5) {
      float *r = o + a * (5 + c);
      r[0] = cx;
      r[1] = cy;
      r[2] = w;
      r[3] = h;
      r[4] = grid64(64);
      memcpy(r + 5, cls, c * sizeof(*cls));
    } else {
      float *b = o + a * 4;
      b[0] = (cx - 0.5f * w) / DET_IN_W;
      b[1] = (cy - 0.5f * h) / DET_IN_H;
      b[2] = (cx + 0.5f * w) / DET_IN_W;
      b[3] = (cy + 0.5f * h) / DET_IN_H;
      memcpy(d->f[1] + a * c, cls, c * sizeof(*cls));
    }
  }
  free(cls);
  free(hot_anchor);
  if (dt == ONYX_DTYPE_FLOAT16)
    for (int k = 0; k < 2; k++) {
      if (!d->n_el[k]) continue;
      if (!(d->h[k] = malloc(d->n_el[k] * sizeof(uint16_t)))) return false;
      for (size_t i = 0; i < d->n_el[k]; i++) {
        d->h[k][i] = onyx_float_to_half(d->f[k][i]);
        d->f[k][i] = onyx_half_to_float(d->h[k][i]);
      }
    }
  return true;
}

/* det_candidates + det_nms on the host values: the expected boxes (at most max_det) and their count. */
static int det_reference(const det_data *d, float conf, float iou, int max_det, det_box *cand, int *total)
{
  const float *outs[2] = {d->f[0], d->f[1]};
  int nc = det_candidates(&d->l, outs, DET_IN_W, DET_IN_H, conf, cand, CUDA_DET_MAX_CAND);
  *total = nc;
  return det_nms(cand, nc < CUDA_DET_MAX_CAND ? nc : CUDA_DET_MAX_CAND, iou, max_det);
}

static bool close_to(float g, float r) { return fabsf(g - r) <= 1e-4f * fmaxf(1.f, fabsf(r)); }

static void det_compare(const char *label, const det_box *g, int ng, const det_box *r, int nr)
{
  CHECKF(ng == nr, "det %s: %d boxes on the GPU, %d on the CPU", label, ng, nr);
  int n = ng < nr ? ng : nr, bad = 0;
  for (int i = 0; i < n && ng >= 0; i++) {
    bool ok = g[i].cls == r[i].cls && fabsf(g[i].score - r[i].score) <= 1e-6f && close_to(g[i].x1, r[i].x1) &&
              close_to(g[i].y1, r[i].y1) && close_to(g[i].x2, r[i].x2) && close_to(g[i].y2, r[i].y2);
    if (!ok && bad++ < 5)
      fprintf(stderr,
              "  %s: box %d: gpu cls %d score %.6f (%.4f %.4f %.4f %.4f), cpu cls %d score %.6f (%.4f %.4f %.4f "
              "%.4f)\n",
              label, i, g[i].cls, g[i].score, g[i].x1, g[i].y1, g[i].x2, g[i].y2, r[i].cls, r[i].score, r[i].x1,
              r[i].y1, r[i].x2, r[i].y2);
  }
  CHECKF(bad == 0, "det %s: %d of %d boxes differ", label, bad, n);
}

/* Device copies of a det_data's outputs in dt, and det_post's buffers. */
typedef struct det_dev {
  void *out[2];
  void *scratch;
  size_t scratch_bytes;
  det_box *boxes;
  int *count;
} det_dev;

static void det_dev_free(det_dev *v)
{
  cudaFree(v->out[0]);
  cudaFree(v->out[1]);
  cudaFree(v->scratch);
  cudaFree(v->boxes);
  cudaFree(v->count);
  memset(v, 0, sizeof(*v));
}

static bool det_dev_alloc(det_dev *v, const det_data *d, onyx_dtype dt, int max_det)
{
  memset(v, 0, sizeof(*v));
  for (int k = 0; k < 2; k++)
    if (d->n_el[k] && !CU(cudaMalloc(&v->out[k], d->n_el[k] * dt_size(dt)))) return false;
  v->scratch_bytes = cuda_det_scratch_bytes(&d->l, max_det);
  CHECKF(v->scratch_bytes > 0, "cuda_det_scratch_bytes refused the layout");
  return v->scratch_bytes > 0 && CU(cudaMalloc(&v->scratch, v->scratch_bytes)) &&
         CU(cudaMalloc((void **)&v->boxes, (size_t)max_det * sizeof(det_box))) &&
         CU(cudaMalloc((void **)&v->count, sizeof(int)));
}

static bool det_upload(det_dev *v, const det_data *d, onyx_dtype dt, int max_det)
{
  for (int k = 0; k < 2; k++) {
    if (!d->n_el[k]) continue;
    const void *src = dt == ONYX_DTYPE_FLOAT16 ? (const void *)d->h[k] : (const void *)d->f[k];
    if (!CU(cudaMemcpy(v->out[k], src, d->n_el[k] * dt_size(dt), cudaMemcpyHostToDevice))) return false;
  }
  /* results that were not written read as NaN boxes and a count of -1 */
  return CU(cudaMemset(v->boxes, 0xFF, (size_t)max_det * sizeof(det_box))) &&
         CU(cudaMemset(v->count, 0xFF, sizeof(int)));
}

static bool det_download(const det_dev *v, int max_det, det_box *boxes, int *count)
{
  return CU(cudaMemcpy(count, v->count, sizeof(int), cudaMemcpyDeviceToHost)) &&
         CU(cudaMemcpy(boxes, v->boxes, (size_t)max_det * sizeof(det_box), cudaMemcpyDeviceToHost));
}

static onyx_status det_run(const det_dev *v, const det_data *d, onyx_dtype dt, const det_case *dc, cudaStream_t s)
{
  const void *outs[2] = {v->out[0], v->out[1]};
  return cuda_det_post(&d->l, outs, dt, DET_IN_W, DET_IN_H, dc->conf, dc->iou, dc->max_det, v->scratch,
                       v->scratch_bytes, v->boxes, v->count, s);
}

static const det_case det_cases[] = {
    {"yolov8 8400x80", DET_YOLOV8, 8400, 80, false, 0.25f, 0.45f, 300, 2, 0},
    {"yolov8 2100x3 max_det 20", DET_YOLOV8, 2100, 3, false, 0.5f, 0.5f, 20, 1, 0},
    {"yolov8 1x1", DET_YOLOV8, 1, 1, false, 0.1f, 0.45f, 10, 1, 0},
    {"yolov8 iou 0", DET_YOLOV8, 3000, 4, false, 0.3f, 0.0f, 300, 1, 0},
    {"yolov8 no suppression", DET_YOLOV8, 5000, 2, false, 0.2f, 1.0f, 5000, 1, 0},
    {"yolov8 nothing above conf", DET_YOLOV8, 8400, 80, false, 1.0f, 0.45f, 300, 2, 0},
    {"yolov8 over the cap", DET_YOLOV8, 40000, 4, false, -1.0f, 0.45f, 300, 1, 0},
    {"yolov5 25200x80", DET_YOLOV5, 25200, 80, false, 0.25f, 0.45f, 300, 2, 0},
    {"yolov5 300x1", DET_YOLOV5, 300, 1, false, 0.05f, 0.6f, 100, 1, 0},
    {"ssd 4420x2 background", DET_SSD, 4420, 2, true, 0.7f, 0.3f, 200, 1, 0},
    {"ssd 1000x5 background", DET_SSD, 1000, 5, true, 0.3f, 0.45f, 1000, 2, 0},
    {"ssd 500x1", DET_SSD, 500, 1, false, 0.5f, 0.45f, 100, 1, 0},
};

static void det_check(const det_case *dc, onyx_dtype dt, cudaStream_t s)
{
  char label[96];
  snprintf(label, sizeof(label), "%s %s", dc->name, dt_name(dt));
  det_data d;
  det_dev v;
  memset(&v, 0, sizeof(v));
  det_box *cand = malloc(CUDA_DET_MAX_CAND * sizeof(*cand)), *got = malloc((size_t)dc->max_det * sizeof(*got));
  if (!det_make(dc, dt, &d) || !cand || !got) {
    CHECKF(false, "det %s: out of host memory", label);
    goto out;
  }
  int total, want = det_reference(&d, dc->conf, dc->iou, dc->max_det, cand, &total), count = -1;
  if (!det_dev_alloc(&v, &d, dt, dc->max_det) || !det_upload(&v, &d, dt, dc->max_det)) goto out;
  if (!CHECK_OK(det_run(&v, &d, dt, dc, s)) || !CU(cudaStreamSynchronize(s))) goto out;
  if (!det_download(&v, dc->max_det, got, &count)) goto out;
  det_compare(label, got, count, cand, want);
  printf("det  %-36s %6d candidates, %4d kept (cpu %d)\n", label, total, count, want);
out:
  det_dev_free(&v);
  det_data_free(&d);
  free(cand);
  free(got);
}

/* Bad arguments are refused with a message, without launching. */
static void det_refusals(void)
{
  det_layout l = {.fmt = DET_YOLOV8, .n_anchors = CUDA_DET_MAX_ANCHORS + 1, .n_classes = 80};
  CHECK(cuda_det_scratch_bytes(&l, 300) == 0);
  const void *outs[1] = {(void *)16};
  int *count = (int *)256;
  CHECK_ERR(cuda_det_post(&l, outs, ONYX_DTYPE_FLOAT, 640, 640, 0.25f, 0.45f, 300, (void *)256, 1 << 20,
                          (det_box *)256, count, NULL),
            ONYX_ERR_INVALID_ARG, "anchor count");
  l.n_anchors = 8400;
  CHECK_ERR(cuda_det_post(&l, outs, ONYX_DTYPE_FLOAT, 640, 640, 0.25f, 0.45f, 300, (void *)256, 16,
                          (det_box *)256, count, NULL),
            ONYX_ERR_INVALID_ARG, "scratch");
  CHECK_ERR(cuda_det_post(&l, outs, ONYX_DTYPE_INT32, 640, 640, 0.25f, 0.45f, 300, (void *)256, 1 << 20,
                          (det_box *)256, count, NULL),
            ONYX_ERR_UNSUPPORTED, "int32");
  prep_plan p = {.src_w = 0, .src_h = 10, .rs_w = 10, .rs_h = 10, .out_w = 10, .out_h = 10};
  CHECK_ERR(cuda_prep_image(&p, (const uint8_t *)256, (void *)256, ONYX_DTYPE_FLOAT, NULL), ONYX_ERR_INVALID_ARG,
            "bad plan");
}

/* ---- one CUDA graph: prep + det_post -------------------------------------- */

static void graph_check(cudaStream_t s)
{
  const prep_case pc = {1080, 810, 640, 640, false};
  const det_case dc = {"graph yolov8 8400x80", DET_YOLOV8, 8400, 80, false, 0.25f, 0.45f, 300, 2, 0};
  const onyx_dtype pdt = ONYX_DTYPE_FLOAT16, ddt = ONYX_DTYPE_FLOAT;
  image_rgb im = {pc.sw, pc.sh, malloc((size_t)pc.sw * pc.sh * 3)};
  size_t plane = (size_t)pc.ow * pc.oh, bytes = (3 * plane + PREP_GUARD) * dt_size(pdt);
  size_t src_bytes = (size_t)pc.sw * pc.sh * 3;
  float *ref = malloc(3 * plane * sizeof(*ref));
  void *host = malloc(bytes);
  det_box *cand = malloc(CUDA_DET_MAX_CAND * sizeof(*cand)), *got = malloc((size_t)dc.max_det * sizeof(*got));
  det_data d;
  memset(&d, 0, sizeof(d));
  det_dev v;
  memset(&v, 0, sizeof(v));
  uint8_t *d_src = NULL;
  void *d_dst = NULL;
  cudaGraph_t graph = NULL;
  cudaGraphExec_t exec = NULL;
  if (!im.px || !ref || !host || !cand || !got || !det_make(&dc, ddt, &d)) {
    CHECKF(false, "graph: out of host memory");
    goto out;
  }
  float mean[3], inv_std[3], pad;
  prep_norm(0, mean, inv_std, &pad);
  prep_plan p;
  if (!CHECK_OK(prep_plan_make(PREP_LETTERBOX, pc.sw, pc.sh, pc.ow, pc.oh, mean, inv_std, pad, &p))) goto out;
  if (!CU(cudaMalloc((void **)&d_src, src_bytes)) || !CU(cudaMalloc(&d_dst, bytes)) ||
      !det_dev_alloc(&v, &d, ddt, dc.max_det))
    goto out;
  if (!CU(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal))) goto out;
  onyx_status st1 = cuda_prep_image(&p, d_src, d_dst, pdt, s), st2 = det_run(&v, &d, ddt, &dc, s);
  cudaError_t end = cudaStreamEndCapture(s, &graph);
  if (!CHECK_OK(st1) || !CHECK_OK(st2) || !CU(end)) goto out;
  if (!CU(cudaGraphInstantiate(&exec, graph, 0))) goto out;
  for (int round = 0; round < 2; round++) { /* new data in the same buffers each time */
    if (round) {
      det_data_free(&d);
      if (!det_make(&dc, ddt, &d)) {
        CHECKF(false, "graph: out of host memory");
        goto out;
      }
    }
    fill_image(&im);
    if (!CHECK_OK(prep_apply(&p, &im, ref))) goto out;
    int total, want = det_reference(&d, dc.conf, dc.iou, dc.max_det, cand, &total), count = -1;
    if (!CU(cudaMemcpy(d_src, im.px, src_bytes, cudaMemcpyHostToDevice)) || !CU(cudaMemset(d_dst, 0xFF, bytes)) ||
        !det_upload(&v, &d, ddt, dc.max_det))
      goto out;
    if (!CU(cudaGraphLaunch(exec, s)) || !CU(cudaStreamSynchronize(s))) goto out;
    if (!CU(cudaMemcpy(host, d_dst, bytes, cudaMemcpyDeviceToHost)) || !det_download(&v, dc.max_det, got, &count))
      goto out;
    char label[64];
    snprintf(label, sizeof(label), "graph replay %d: 1080x810 -> 640x640 fp16", round);
    prep_compare(label, &p, pdt, host, ref);
    snprintf(label, sizeof(label), "graph replay %d: yolov8 fp32", round);
    det_compare(label, got, count, cand, want);
    printf("det  %-36s %6d candidates, %4d kept (cpu %d)\n", label, total, count, want);
  }
out:
  if (exec) cudaGraphExecDestroy(exec);
  if (graph) cudaGraphDestroy(graph);
  cudaFree(d_src);
  cudaFree(d_dst);
  det_dev_free(&v);
  det_data_free(&d);
  free(im.px);
  free(ref);
  free(host);
  free(cand);
  free(got);
}

/* ---- micro-benchmark ------------------------------------------------------ */

#define BENCH_WARM 20
#define BENCH_RUNS 200

/* Median time of BENCH_RUNS enqueues of what (after BENCH_WARM), in microseconds, from CUDA events. */
typedef onyx_status (*bench_fn)(void *arg, cudaStream_t s);

static double bench_gpu(bench_fn what, void *arg, cudaStream_t s, double *min_us)
{
  cudaEvent_t e0 = NULL, e1 = NULL;
  double t[BENCH_RUNS], med = -1;
  if (!CU(cudaEventCreate(&e0)) || !CU(cudaEventCreate(&e1))) goto out;
  for (int i = 0; i < BENCH_WARM; i++)
    if (!CHECK_OK(what(arg, s))) goto out;
  for (int i = 0; i < BENCH_RUNS; i++) {
    float ms;
    if (!CU(cudaEventRecord(e0, s)) || !CHECK_OK(what(arg, s)) || !CU(cudaEventRecord(e1, s)) ||
        !CU(cudaEventSynchronize(e1)) || !CU(cudaEventElapsedTime(&ms, e0, e1)))
      goto out;
    t[i] = ms * 1e3;
  }
  med = median(t, BENCH_RUNS);
  *min_us = t[0];
out:
  if (e0) cudaEventDestroy(e0);
  if (e1) cudaEventDestroy(e1);
  return med;
}

typedef struct prep_bench {
  const prep_plan *p;
  const uint8_t *src;
  void *dst;
  onyx_dtype dt;
} prep_bench;
static onyx_status prep_bench_fn(void *arg, cudaStream_t s)
{
  prep_bench *b = arg;
  return cuda_prep_image(b->p, b->src, b->dst, b->dt, s);
}

typedef struct det_bench {
  const det_dev *v;
  const det_data *d;
  const det_case *dc;
  void *pinned;
} det_bench;
static onyx_status det_bench_fn(void *arg, cudaStream_t s)
{
  det_bench *b = arg;
  return det_run(b->v, b->d, ONYX_DTYPE_FLOAT, b->dc, s);
}
static onyx_status d2h_bench_fn(void *arg, cudaStream_t s)
{
  det_bench *b = arg;
  cudaError_t e = cudaMemcpyAsync(b->pinned, b->v->out[0], b->d->n_el[0] * sizeof(float), cudaMemcpyDeviceToHost, s);
  return e == cudaSuccess ? ONYX_OK : onyx_error(ONYX_ERR_BACKEND, "cudaMemcpyAsync: %s", cudaGetErrorString(e));
}

static void bench(cudaStream_t s)
{
  printf("bench (medians of %d after %d warm-up runs, CUDA events)\n", BENCH_RUNS, BENCH_WARM);
  /* preprocessing: a 1080x810 photo letterboxed into 640x640 */
  image_rgb im = {1080, 810, malloc(1080 * 810 * 3)};
  uint8_t *d_src = NULL;
  void *d_dst = NULL, *pinned = NULL;
  det_data d;
  memset(&d, 0, sizeof(d));
  det_dev v;
  memset(&v, 0, sizeof(v));
  det_box *cand = malloc(CUDA_DET_MAX_CAND * sizeof(*cand));
  if (!im.px || !cand) goto out;
  fill_image(&im);
  float mean[3], inv_std[3], pad;
  prep_norm(0, mean, inv_std, &pad);
  prep_plan p;
  if (!CHECK_OK(prep_plan_make(PREP_LETTERBOX, im.w, im.h, 640, 640, mean, inv_std, pad, &p))) goto out;
  if (!CU(cudaMalloc((void **)&d_src, 1080 * 810 * 3)) || !CU(cudaMalloc(&d_dst, 3 * 640 * 640 * 4)) ||
      !CU(cudaMemcpy(d_src, im.px, 1080 * 810 * 3, cudaMemcpyHostToDevice)))
    goto out;
  for (int k = 0; k < 2; k++) {
    prep_bench b = {&p, d_src, d_dst, k ? ONYX_DTYPE_FLOAT16 : ONYX_DTYPE_FLOAT};
    double mn, med = bench_gpu(prep_bench_fn, &b, s, &mn);
    printf("bench prep 1080x810 -> 640x640 letterbox %s: %.1f us (min %.1f)\n", dt_name(b.dt), med, mn);
  }
  /* post-processing: YOLOv8n's 84 x 8400 output with about 100 candidates */
  const det_case dc = {"bench", DET_YOLOV8, 8400, 80, false, 0.25f, 0.45f, 300, 1, 100};
  if (!det_make(&dc, ONYX_DTYPE_FLOAT, &d) || !det_dev_alloc(&v, &d, ONYX_DTYPE_FLOAT, dc.max_det) ||
      !det_upload(&v, &d, ONYX_DTYPE_FLOAT, dc.max_det) || !CU(cudaMallocHost(&pinned, d.n_el[0] * sizeof(float))))
    goto out;
  det_bench b = {&v, &d, &dc, pinned};
  double mn, med = bench_gpu(det_bench_fn, &b, s, &mn);
  int total, kept = det_reference(&d, dc.conf, dc.iou, dc.max_det, cand, &total);
  printf("bench det_post yolov8 84x8400 fp32 (%d candidates, %d kept): %.1f us (min %.1f)\n", total, kept, med, mn);
  med = bench_gpu(d2h_bench_fn, &b, s, &mn);
  printf("bench   CPU path: D2H of the 84x8400 output (pinned): %.1f us (min %.1f)\n", med, mn);
  double t[BENCH_RUNS];
  const float *outs[2] = {pinned, NULL};
  for (int i = 0; i < BENCH_WARM + BENCH_RUNS; i++) {
    double t0 = now_us();
    int nc = det_candidates(&d.l, outs, DET_IN_W, DET_IN_H, dc.conf, cand, CUDA_DET_MAX_CAND);
    det_nms(cand, nc < CUDA_DET_MAX_CAND ? nc : CUDA_DET_MAX_CAND, dc.iou, dc.max_det);
    if (i >= BENCH_WARM) t[i - BENCH_WARM] = now_us() - t0;
  }
  med = median(t, BENCH_RUNS);
  printf("bench   CPU path: det_candidates + det_nms on the host: %.1f us (min %.1f)\n", med, t[0]);
out:
  cudaFree(d_src);
  cudaFree(d_dst);
  cudaFreeHost(pinned);
  det_dev_free(&v);
  det_data_free(&d);
  free(im.px);
  free(cand);
}

int main(int argc, char **argv)
{
  uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
  bool quick = false, do_bench = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seed") && i + 1 < argc)
      seed = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--quick"))
      quick = true;
    else if (!strcmp(argv[i], "--bench"))
      do_bench = true;
    else {
      fprintf(stderr, "usage: %s [--seed N] [--quick] [--bench]\n", argv[0]);
      return 2;
    }
  }
  if (!onyx_cuda_available()) {
    printf("%s: no CUDA device, skipped\n", argv[0]);
    return 77;
  }
  printf("seed %llu (--seed %llu repeats this run)\n", (unsigned long long)seed, (unsigned long long)seed);
  rng_state = seed;
  cudaStream_t s = NULL;
  /* a blocking stream: the cases' setup (cudaMemcpy from pageable memory, cudaMemset) runs on the legacy
   * default stream and must be ordered before the kernels (a non-blocking stream raced with it: the
   * 0xFF fill of the output landed after the kernel, seen on an H200 as outputs that were all NaN) */
  if (!CU(cudaStreamCreate(&s))) return check_summary(argv[0]);

  det_refusals();
  static const prep_fit fits[] = {PREP_LETTERBOX, PREP_STRETCH, PREP_CENTER_CROP};
  for (size_t i = 0; i < ONYX_ARRAY_LEN(prep_cases); i++) {
    if (quick && prep_cases[i].big) continue;
    for (int f = 0; f < 3; f++)
      for (int k = 0; k < 2; k++) /* FP32 with one normalisation, FP16 with the other, alternating by case */
        prep_check(&prep_cases[i], fits[f], k ? ONYX_DTYPE_FLOAT16 : ONYX_DTYPE_FLOAT, (int)(i + k) % 2, s);
  }
  for (size_t i = 0; i < ONYX_ARRAY_LEN(det_cases); i++) {
    det_check(&det_cases[i], ONYX_DTYPE_FLOAT, s);
    det_check(&det_cases[i], ONYX_DTYPE_FLOAT16, s);
  }
  graph_check(s);
  if (do_bench) bench(s);
  cudaStreamDestroy(s);
  return check_summary(argv[0]);
}
