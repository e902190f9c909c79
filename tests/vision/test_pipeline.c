/* The image pipeline (onyx_pipeline_* in onyx.h) on the CPU, with small
 * models built here whose outputs are the input image itself rearranged, so
 * that every image gives its own answer:
 *   detector    images N x 3 x 8 x 16 -> Reshape -> output0 N x 6 x 64: YOLOv8 layout, 2 classes; with
 *               mean 0 and std (1, 1, 255) the boxes are red/green levels, the scores blue / 255
 *   classifier  images N x 3 x 8 x 8 -> Reshape -> scores N x 192
 * Checked: batched results equal one-by-one results and a hand-assembled
 * reference (prep + session + det + NMS); tags and order come back; a bad
 * image inside a batch does not spoil the others; flush, run_one, keep_pixels,
 * decoded pixels (submit_rgb, frame buffers);
 * option and model validation errors.  Fresh random images (seed printed;
 * ONYX_TEST_SEED=N fixes it). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stb_image_write.h>

#include "check.h"
#include "test_rng.h"
#include "io/image.h"
#include "model_builder.h"
#include "vision/detect.h"
#include "vision/prep.h"

static uint64_t rng_state;
static uint64_t rnd(void) { return test_splitmix64(&rng_state); }

/* ---- models ---------------------------------------------------------------- */

static onyx_model *reshape_model(const char *in_shape, const char *out_name, const char *out_shape,
                                 const int64_t *target, int n_target)
{
  mb *b = mb_new(13);
  mb_input(b, "images", ONYX_DTYPE_FLOAT, in_shape);
  mb_output(b, out_name, ONYX_DTYPE_FLOAT, out_shape);
  char shape[16];
  snprintf(shape, sizeof(shape), "%d", n_target);
  mb_init(b, "shape", ONYX_DTYPE_INT64, shape, target);
  char io[64];
  snprintf(io, sizeof(io), "%s", out_name);
  mb_node(b, "Reshape", "r", "images,shape", io);
  onyx_model *m = NULL;
  if (mb_load(b, &m) != ONYX_OK) fprintf(stderr, "cannot build the model: %s\n", onyx_last_error());
  mb_free(b);
  return m;
}

/* ---- images ------------------------------------------------------------------ */

typedef struct blob {
  unsigned char *data;
  int size;
} blob;

static void png_sink(void *ctx, void *data, int size)
{
  blob *b = ctx;
  unsigned char *p = realloc(b->data, (size_t)b->size + (size_t)size);
  if (!p) return;
  memcpy(p + b->size, data, (size_t)size);
  b->data = p;
  b->size += size;
}

/* A random w x h PNG in memory. */
static blob random_png(int w, int h)
{
  blob b = {0};
  unsigned char *px = malloc((size_t)w * h * 3);
  for (int i = 0; i < w * h * 3; i++) px[i] = (unsigned char)(rnd() >> 56);
  stbi_write_png_to_func(png_sink, &b, w, h, 3, px, w * 3);
  free(px);
  return b;
}

/* ---- helpers ------------------------------------------------------------------ */

typedef struct answer {
  onyx_status status;
  int w, h, n;
  onyx_detection det[64];
  onyx_class_prob cls[8];
  void *tag;
  int batch;
} answer;

static void keep(answer *a, const onyx_pipeline_result *r)
{
  memset(a, 0, sizeof(*a));
  a->status = r->status;
  a->w = r->width;
  a->h = r->height;
  a->tag = r->tag;
  a->batch = r->batch;
  a->n = r->task == ONYX_TASK_DETECT ? r->n_detections : r->n_classes;
  if (a->n > 64) a->n = 64;
  if (r->task == ONYX_TASK_DETECT) memcpy(a->det, r->detections, sizeof(*a->det) * (size_t)a->n);
  else memcpy(a->cls, r->classes, sizeof(*a->cls) * (size_t)(a->n < 8 ? a->n : 8));
}

/* Submits all images (NULL data: a missing file), takes every result. */
static void run_all(onyx_pipeline *p, blob *imgs, int n, answer *out)
{
  for (int i = 0; i < n; i++) {
    void *tag = (void *)(intptr_t)(100 + i);
    onyx_status st = imgs[i].data ? onyx_pipeline_submit_memory(p, imgs[i].data, (size_t)imgs[i].size, tag)
                                  : onyx_pipeline_submit_file(p, "/nonexistent/onyx-test.png", tag);
    CHECK_OK(st);
  }
  for (int i = 0; i < n; i++) {
    onyx_pipeline_result r;
    int got = 0;
    CHECK_OK(onyx_pipeline_next(p, 1, &r, &got));
    CHECK(got);
    if (got) keep(&out[i], &r);
  }
  onyx_pipeline_result r;
  int got = 1;
  CHECK_OK(onyx_pipeline_next(p, 1, &r, &got));
  CHECK(!got); /* nothing left */
}

static onyx_pipeline_options det_options(int max_batch)
{
  onyx_pipeline_options o;
  onyx_pipeline_options_init(&o);
  o.task = ONYX_TASK_DETECT;
  o.fit = ONYX_FIT_STRETCH;
  o.mean[0] = o.mean[1] = o.mean[2] = 0;
  o.std[0] = o.std[1] = 1, o.std[2] = 255;
  o.conf = 0.5f;
  o.iou = 0.5f;
  o.max_det = 64;
  o.max_batch = max_batch;
  o.decode_threads = 3;
  return o;
}

/* The same image by hand: plan, prep_apply, a session of batch 1, candidates, NMS, back to the image. */
static int reference_detect(const onyx_model *m, const blob *img, const onyx_pipeline_options *o, onyx_detection *out)
{
  image_rgb im;
  if (image_decode(img->data, (size_t)img->size, "ref", &im) != ONYX_OK) return -1;
  float mean[3], inv[3];
  for (int c = 0; c < 3; c++) mean[c] = o->mean[c], inv[c] = 1.0f / o->std[c];
  prep_plan plan;
  float x[3 * 8 * 16];
  int n = -1;
  onyx_session *s = NULL;
  const int64_t dims[4] = {1, 3, 8, 16};
  const void *data;
  onyx_tensor_info oi;
  if (prep_plan_make(PREP_STRETCH, im.w, im.h, 16, 8, mean, inv, 114, &plan) == ONYX_OK &&
      prep_apply(&plan, &im, x) == ONYX_OK && onyx_session_create(m, NULL, &s) == ONYX_OK &&
      onyx_session_set_input(s, "images", ONYX_DTYPE_FLOAT, 4, dims, x) == ONYX_OK && onyx_session_run(s) == ONYX_OK &&
      onyx_session_output(s, 0, &oi, &data) == ONYX_OK) {
    det_layout l = {.fmt = DET_YOLOV8, .n_anchors = 64, .n_classes = 2};
    det_box cand[64];
    const float *outs[1] = {data};
    n = det_candidates(&l, outs, 16, 8, o->conf, cand, 64);
    n = det_nms(cand, n, o->iou, o->max_det);
    for (int i = 0; i < n; i++) {
      float b[4] = {cand[i].x1, cand[i].y1, cand[i].x2, cand[i].y2};
      prep_box_to_source(&plan, b);
      out[i] = (onyx_detection){cand[i].cls, cand[i].score, b[0], b[1], b[2], b[3]};
    }
  }
  onyx_session_free(s);
  image_free(&im);
  return n;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_detect_batching(void)
{
  static const int64_t target[3] = {0, 6, 64};
  onyx_model *m = reshape_model("N,3,8,16", "output0", "N,6,64", target, 3);
  if (!m) {
    CHECK(0);
    return;
  }
  enum { N = 11 };
  blob imgs[N];
  for (int i = 0; i < N; i++) imgs[i] = random_png(5 + (int)(rnd() % 60), 5 + (int)(rnd() % 40));
  /* bad ones inside batches: text, a truncated PNG, a missing file */
  free(imgs[3].data);
  imgs[3].data = (unsigned char *)strdup("this is not an image");
  imgs[3].size = (int)strlen((char *)imgs[3].data);
  imgs[6].size /= 2;
  free(imgs[8].data);
  imgs[8].data = NULL;
  answer batched[N], single[N];
  onyx_pipeline *p = NULL, *q = NULL;
  onyx_pipeline_options o4 = det_options(4), o1 = det_options(1);
  if (CHECK_OK(onyx_pipeline_create_cpu(m, &o4, &p)) && CHECK_OK(onyx_pipeline_create_cpu(m, &o1, &q))) {
    onyx_pipeline_info info;
    CHECK_OK(onyx_pipeline_info_get(p, &info));
    CHECK(info.task == ONYX_TASK_DETECT && !strcmp(info.layout, "yolov8") && info.n_classes == 2 &&
          info.input_w == 16 && info.input_h == 8 && info.max_batch == 4 && !info.on_gpu && info.std[2] == 255);
    run_all(p, imgs, N, batched);
    run_all(q, imgs, N, single);
    int max_batch_seen = 0, total = 0;
    for (int i = 0; i < N; i++) {
      CHECKF(batched[i].tag == (void *)(intptr_t)(100 + i), "result %d has tag %p", i, batched[i].tag);
      bool bad = i == 3 || i == 6 || i == 8;
      CHECKF((batched[i].status != ONYX_OK) == bad, "image %d: status %s", i, onyx_status_name(batched[i].status));
      CHECKF(batched[i].status == single[i].status && batched[i].n == single[i].n &&
                 !memcmp(batched[i].det, single[i].det, sizeof(onyx_detection) * (size_t)batched[i].n),
             "image %d: batched (%d boxes) and one by one (%d boxes) differ", i, batched[i].n, single[i].n);
      if (batched[i].batch > max_batch_seen) max_batch_seen = batched[i].batch;
      total += batched[i].n;
      if (!bad) {
        onyx_detection ref[64];
        int n = reference_detect(m, &imgs[i], &o4, ref);
        CHECKF(n == batched[i].n && !memcmp(ref, batched[i].det, sizeof(*ref) * (size_t)(n > 0 ? n : 0)),
               "image %d: pipeline %d boxes, by hand %d", i, batched[i].n, n);
        CHECK(batched[i].w >= 5 && batched[i].h >= 5);
      }
    }
    CHECKF(max_batch_seen > 1 && max_batch_seen <= 4, "largest batch %d", max_batch_seen);
    CHECKF(total > 0, "no detections at all: the test would not see a difference");
  }
  /* run_one, and its refusal while results are pending */
  onyx_pipeline_result r;
  if (p) {
    CHECK_OK(onyx_pipeline_run_one(p, imgs[0].data, (size_t)imgs[0].size, &r));
    CHECK(r.status == ONYX_OK && r.n_detections == batched[0].n &&
          !memcmp(r.detections, batched[0].det, sizeof(onyx_detection) * (size_t)r.n_detections));
    CHECK_ERR(onyx_pipeline_run_one(p, imgs[3].data, (size_t)imgs[3].size, &r), ONYX_ERR_PARSE, "not a JPEG or PNG");
    CHECK(r.status == ONYX_ERR_PARSE && strstr(r.error, "not a JPEG or PNG"));
    CHECK_OK(onyx_pipeline_submit_memory(p, imgs[1].data, (size_t)imgs[1].size, NULL));
    CHECK_ERR(onyx_pipeline_run_one(p, imgs[0].data, (size_t)imgs[0].size, &r), ONYX_ERR_INVALID_ARG, "not taken");
    /* flush: a partial batch runs without a blocking next */
    CHECK_OK(onyx_pipeline_flush(p));
    int got = 0;
    for (int k = 0; k < 2000 && !got; k++) {
      CHECK_OK(onyx_pipeline_next(p, 0, &r, &got));
      if (!got) usleep(5000);
    }
    CHECK(got && r.status == ONYX_OK && r.batch == 1 && r.n_detections == batched[1].n);
    /* without a flush a partial batch waits: 3 images, batches of 4 */
    for (int i = 0; i < 3; i++) CHECK_OK(onyx_pipeline_submit_memory(p, imgs[i].data, (size_t)imgs[i].size, NULL));
    usleep(300000);
    got = 1;
    CHECK_OK(onyx_pipeline_next(p, 0, &r, &got));
    CHECKF(!got, "a partial batch ran before a flush");
    CHECK_OK(onyx_pipeline_flush(p));
    for (int i = 0; i < 3; i++) {
      CHECK_OK(onyx_pipeline_next(p, 1, &r, &got));
      CHECKF(got && r.batch == 3 && r.n_detections == batched[i].n, "image %d after the flush: batch %d", i, r.batch);
    }
    /* decoded pixels (submit_rgb, rows with padding between them) mixed with encoded images: same
     * answers, tags and order; no decode time for the pixels */
    const int order[4] = {0, 1, 2, 4};
    image_rgb dec[4] = {{0}};
    unsigned char *padded[4] = {0};
    for (int k = 0; k < 4; k++) {
      const int i = order[k];
      void *tag = (void *)(intptr_t)(200 + i);
      if (k % 2 == 0) {
        CHECK_OK(onyx_pipeline_submit_memory(p, imgs[i].data, (size_t)imgs[i].size, tag));
        continue;
      }
      if (!CHECK_OK(image_decode(imgs[i].data, (size_t)imgs[i].size, "x", &dec[k]))) continue;
      const size_t row = (size_t)dec[k].w * 3, stride = row + 5;
      padded[k] = malloc(stride * (size_t)dec[k].h);
      if (!padded[k]) {
        CHECKF(0, "out of memory");
        continue;
      }
      for (size_t y = 0; y < (size_t)dec[k].h; y++) {
        memcpy(padded[k] + stride * y, dec[k].px + row * y, row);
        memset(padded[k] + stride * y + row, 0xA5, stride - row);
      }
      CHECK_OK(onyx_pipeline_submit_rgb(p, padded[k], dec[k].w, dec[k].h, stride, tag));
    }
    for (int k = 0; k < 4; k++) {
      const int i = order[k];
      got = 0;
      CHECK_OK(onyx_pipeline_next(p, 1, &r, &got));
      CHECKF(got && r.status == ONYX_OK && r.tag == (void *)(intptr_t)(200 + i) && r.width == batched[i].w &&
                 r.height == batched[i].h && r.n_detections == batched[i].n &&
                 !memcmp(r.detections, batched[i].det, sizeof(onyx_detection) * (size_t)batched[i].n),
             "image %d (%s): %d boxes, expected %d", i, k % 2 ? "pixels" : "encoded", r.n_detections,
             batched[i].n);
      if (k % 2) CHECKF(r.times.decode == 0.0, "pixels: decode time %g ms", r.times.decode);
      image_free(&dec[k]);
      free(padded[k]);
    }
    /* frames: the pipeline's buffers filled here and submitted without a copy (two held at once, submitted
     * in the other order; one never submitted is freed with the pipeline) */
    unsigned char *fb[3] = {NULL, NULL, NULL};
    image_rgb f[2] = {{0}};
    for (int k = 0; k < 2; k++) {
      if (!CHECK_OK(image_decode(imgs[k].data, (size_t)imgs[k].size, "x", &f[k])) ||
          !CHECK_OK(onyx_pipeline_frame_buffer(p, f[k].w, f[k].h, &fb[k])))
        continue;
      memcpy(fb[k], f[k].px, (size_t)f[k].w * (size_t)f[k].h * 3);
    }
    CHECK_OK(onyx_pipeline_frame_buffer(p, 7, 5, &fb[2]));
    CHECK(fb[0] && fb[1] && fb[2] && fb[0] != fb[1]);
    if (fb[0] && fb[1]) {
      CHECK_OK(onyx_pipeline_submit_frame(p, fb[1], (void *)(intptr_t)301));
      CHECK_OK(onyx_pipeline_submit_frame(p, fb[0], (void *)(intptr_t)300));
      CHECK_ERR(onyx_pipeline_submit_frame(p, fb[0], NULL), ONYX_ERR_INVALID_ARG, "not a buffer");
      for (int k = 1; k >= 0; k--) {
        got = 0;
        CHECK_OK(onyx_pipeline_next(p, 1, &r, &got));
        CHECKF(got && r.tag == (void *)(intptr_t)(300 + k) && r.status == ONYX_OK && r.n_detections == batched[k].n &&
                   !memcmp(r.detections, batched[k].det, sizeof(onyx_detection) * (size_t)batched[k].n),
               "frame %d: %d boxes, expected %d", k, got ? r.n_detections : -1, batched[k].n);
      }
    }
    for (int k = 0; k < 2; k++) image_free(&f[k]);
    CHECK_ERR(onyx_pipeline_frame_buffer(p, 0, 5, &fb[2]), ONYX_ERR_INVALID_ARG, "0 x 5");
    unsigned char px[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    CHECK_ERR(onyx_pipeline_submit_rgb(p, NULL, 2, 2, 0, NULL), ONYX_ERR_INVALID_ARG, "NULL");
    CHECK_ERR(onyx_pipeline_submit_rgb(p, px, 0, 2, 0, NULL), ONYX_ERR_INVALID_ARG, "0 x 2");
    CHECK_ERR(onyx_pipeline_submit_rgb(p, px, 40000, 2, 0, NULL), ONYX_ERR_INVALID_ARG, "each side");
    CHECK_ERR(onyx_pipeline_submit_rgb(p, px, 2, 2, 5, NULL), ONYX_ERR_INVALID_ARG, "stride 5");
    /* results not taken are freed with the pipeline (LeakSanitizer watches) */
    CHECK_OK(onyx_pipeline_submit_memory(p, imgs[2].data, (size_t)imgs[2].size, NULL));
    CHECK_OK(onyx_pipeline_submit_memory(p, imgs[4].data, (size_t)imgs[4].size, NULL));
  }
  onyx_pipeline_free(p);
  /* keep_pixels: the decoded image comes with the result */
  o1.keep_pixels = 1;
  onyx_pipeline_free(q);
  q = NULL;
  if (CHECK_OK(onyx_pipeline_create_cpu(m, &o1, &q)) &&
      CHECK_OK(onyx_pipeline_run_one(q, imgs[5].data, (size_t)imgs[5].size, &r))) {
    image_rgb im;
    if (CHECK_OK(image_decode(imgs[5].data, (size_t)imgs[5].size, "x", &im))) {
      CHECK(r.pixels && r.width == im.w && r.height == im.h && !memcmp(r.pixels, im.px, (size_t)im.w * im.h * 3));
      image_free(&im);
    }
  }
  onyx_pipeline_free(q);
  /* a detector model asked to classify works (its output scores), but a classifier cannot detect */
  onyx_pipeline_options oc;
  onyx_pipeline_options_init(&oc);
  oc.task = ONYX_TASK_CLASSIFY;
  if (CHECK_OK(onyx_pipeline_create_cpu(m, &oc, &q))) {
    onyx_pipeline_info info;
    CHECK_OK(onyx_pipeline_info_get(q, &info));
    CHECK(info.task == ONYX_TASK_CLASSIFY && info.n_classes == 384 && info.fit == ONYX_FIT_CROP);
    onyx_pipeline_free(q);
  }
  for (int i = 0; i < N; i++) free(imgs[i].data);
  onyx_model_free(m);
}

static void test_classify(void)
{
  static const int64_t target[2] = {0, 192};
  onyx_model *m = reshape_model("N,3,8,8", "scores", "N,192", target, 2);
  if (!m) {
    CHECK(0);
    return;
  }
  enum { N = 7 };
  blob imgs[N];
  for (int i = 0; i < N; i++) imgs[i] = random_png(8 + (int)(rnd() % 50), 8 + (int)(rnd() % 50));
  onyx_pipeline_options o;
  onyx_pipeline_options_init(&o);
  o.topk = 3;
  o.max_batch = 3;
  answer a[N], b[N];
  onyx_pipeline *p = NULL, *q = NULL;
  if (CHECK_OK(onyx_pipeline_create_cpu(m, &o, &p))) {
    onyx_pipeline_info info;
    CHECK_OK(onyx_pipeline_info_get(p, &info));
    CHECK(info.task == ONYX_TASK_CLASSIFY && !strcmp(info.layout, "classifier") && info.n_classes == 192 &&
          info.fit == ONYX_FIT_CROP && fabsf(info.mean[0] - 0.485f * 255) < 1e-3f);
    run_all(p, imgs, N, a);
    o.max_batch = 1;
    if (CHECK_OK(onyx_pipeline_create_cpu(m, &o, &q))) run_all(q, imgs, N, b);
    for (int i = 0; q && i < N; i++) {
      CHECKF(a[i].status == ONYX_OK && a[i].n == 3 && !memcmp(a[i].cls, b[i].cls, sizeof(a[i].cls)),
             "image %d: batched and one by one differ", i);
      CHECK(a[i].cls[0].prob >= a[i].cls[1].prob && a[i].cls[1].prob >= a[i].cls[2].prob && a[i].cls[0].prob < 1);
      /* the reference: image_imagenet_tensor, softmax in double, the top class */
      image_rgb im;
      float x[192];
      if (image_decode(imgs[i].data, (size_t)imgs[i].size, "x", &im) == ONYX_OK) {
        if (image_imagenet_tensor(&im, 8, 8, x) == ONYX_OK) {
          int best = 0;
          double mx = x[0], sum = 0;
          for (int k = 1; k < 192; k++)
            if (x[k] > x[best]) best = k, mx = x[k];
          for (int k = 0; k < 192; k++) sum += exp(x[k] - mx);
          CHECKF(a[i].cls[0].class_id == best && fabs(a[i].cls[0].prob - 1 / sum) < 1e-6,
                 "image %d: top class %d %.6f, by hand %d %.6f", i, a[i].cls[0].class_id, (double)a[i].cls[0].prob,
                 best, 1 / sum);
        }
        image_free(&im);
      }
    }
  }
  onyx_pipeline_free(p);
  onyx_pipeline_free(q);
  onyx_pipeline_options od;
  onyx_pipeline_options_init(&od);
  od.task = ONYX_TASK_DETECT;
  CHECK_ERR(onyx_pipeline_create_cpu(m, &od, &p), ONYX_ERR_UNSUPPORTED, "detector output layout", "'scores' 1x192");
  for (int i = 0; i < N; i++) free(imgs[i].data);
  onyx_model_free(m);
}

static void test_validation(void)
{
  static const int64_t target[2] = {0, 192};
  onyx_model *m = reshape_model("N,3,8,8", "scores", "N,192", target, 2);
  onyx_model *fixed = reshape_model("1,3,8,8", "scores", "1,192", target, 2);
  onyx_model *sym = reshape_model("1,3,H,W", "scores", NULL, target, 2);
  if (!m || !fixed || !sym) {
    CHECK(0);
    goto out;
  }
  onyx_pipeline *p = NULL;
  onyx_pipeline_options o;
#define BAD(field, value, ...)                                                          \
  do {                                                                                  \
    onyx_pipeline_options_init(&o);                                                     \
    o.field = value;                                                                    \
    CHECK_ERR(onyx_pipeline_create_cpu(m, &o, &p), ONYX_ERR_INVALID_ARG, __VA_ARGS__); \
    CHECK(p == NULL);                                                                   \
  } while (0)
  BAD(task, (onyx_task)9, "unknown task 9");
  BAD(fit, (onyx_fit)7, "unknown fit 7");
  BAD(conf, 1.5f, "conf 1.5");
  BAD(conf, NAN, "conf nan");
  BAD(iou, -0.1f, "iou -0.1");
  BAD(max_det, 0, "max_det 0");
  BAD(topk, 0, "topk 0");
  BAD(max_batch, -1, "max_batch -1");
  BAD(decode_threads, 1000, "decode_threads 1000");
  BAD(std[1], 0.0f, "std[1] = 0");
  BAD(mean[2], INFINITY, "mean[2]");
  BAD(pad, NAN, "pad");
  BAD(input_w, 10, "input size 10x0");
  onyx_pipeline_options_init(&o);
  o.max_batch = 3;
  CHECK_ERR(onyx_pipeline_create_cpu(fixed, &o, &p), ONYX_ERR_INVALID_ARG, "max_batch 3", "fixed at 1");
  onyx_pipeline_options_init(&o);
  CHECK_ERR(onyx_pipeline_create_cpu(sym, &o, &p), ONYX_ERR_INVALID_ARG, "symbolic height or width", "input_w");
  o.input_w = 8, o.input_h = 8;
  if (CHECK_OK(onyx_pipeline_create_cpu(sym, &o, &p))) onyx_pipeline_free(p);
  p = NULL;
  /* a batch of one may have outputs without a batch dimension: scores [192] */
  static const int64_t flat[1] = {192};
  onyx_model *nobatch = reshape_model("1,3,8,8", "scores", "192", flat, 1);
  onyx_pipeline_options_init(&o);
  if (nobatch && CHECK_OK(onyx_pipeline_create_cpu(nobatch, &o, &p))) {
    onyx_pipeline_info info;
    CHECK(onyx_pipeline_info_get(p, &info) == ONYX_OK && info.task == ONYX_TASK_CLASSIFY && info.n_classes == 192);
    onyx_pipeline_free(p);
  }
  onyx_model_free(nobatch);
  p = NULL;
  CHECK_ERR(onyx_pipeline_create_cpu(NULL, &o, &p), ONYX_ERR_INVALID_ARG, "NULL");
  CHECK_ERR(onyx_pipeline_submit_file(NULL, "x", NULL), ONYX_ERR_INVALID_ARG, "NULL");
  /* without a GPU build or device, the GPU pipeline says why */
  CHECK(onyx_pipeline_create(NULL, &o, &p) == ONYX_ERR_INVALID_ARG);
  onyx_pipeline_free(NULL);
out:
  onyx_model_free(m);
  onyx_model_free(fixed);
  onyx_model_free(sym);
}

int main(int argc, char **argv)
{
  (void)argc;
  rng_state = test_seed();
  test_detect_batching();
  test_classify();
  test_validation();
  return check_summary(argv[0]);
}
