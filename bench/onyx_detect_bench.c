/* Image -> detections with onyx's pipeline on the GPU (not a test; issue 5's benchmark, run by
 * bench/run_detect_bench.sh beside bench/torch_detect.py).
 *
 * Latency, batch 1, decode excluded: the image is decoded once (its decode time is measured apart, as
 * the pipeline's worker reports it), then each iteration is wall-clock time from
 * onyx_pipeline_submit_rgb (the pixels copied in) to onyx_pipeline_next returning the detections in
 * the image's pixels: upload, GPU letterbox, inference, GPU NMS, copy back.  Median, p90, p99 after a
 * warm-up, and the pipeline's own per-stage medians.  Then the same from the pipeline's frame buffers
 * (onyx_pipeline_frame_buffer, pinned; filled outside the timing, as a decoder writing there would):
 * the submission copies nothing ("onyx-frame").
 *
 * Throughput: the given image files (decoded on the pipeline's worker threads, overlapped with the GPU)
 * from submit to the last result, twice; the second pass is reported.
 *
 * usage: onyx_detect_bench MODEL.onnx --image IMG [--fp16|--fp32] [--iters N] [--warmup-ms N]
 *                          [--name LABEL] [--threads N] [FILES...]
 * One JSON line per measurement on stdout. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The median of n values (sorted in place). */
static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof(*v), cmp_double);
  return v[n / 2];
}

static void *read_file(const char *path, size_t *size)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *buf = n > 0 ? malloc((size_t)n) : NULL;
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = buf ? (size_t)n : 0;
  return buf;
}

int main(int argc, char **argv)
{
  const char *path = NULL, *image = NULL, *name = "model";
  const char **files = calloc((size_t)argc, sizeof(*files));
  int n_files = 0, iters = 500, threads = 0;
  double warmup_ms = 1000;
  onyx_build_options bo;
  onyx_build_options_init(&bo);
  bo.precision = ONYX_PRECISION_FP16;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--fp32")) bo.precision = ONYX_PRECISION_FP32;
    else if (!strcmp(argv[i], "--fp16")) bo.precision = ONYX_PRECISION_FP16;
    else if (!strcmp(argv[i], "--image") && i + 1 < argc) image = argv[++i];
    else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--warmup-ms") && i + 1 < argc) warmup_ms = atof(argv[++i]);
    else if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!path) path = argv[i];
    else files[n_files++] = argv[i];
  }
  if (!path || !image || iters < 10 || !files) {
    fprintf(stderr, "usage: onyx_detect_bench MODEL.onnx --image IMG [--fp16|--fp32] [--iters N>=10] "
                    "[--warmup-ms N] [--name LABEL] [--threads N] [FILES...]\n");
    return 2;
  }
  const char *prec = bo.precision == ONYX_PRECISION_FP16 ? "fp16" : "fp32";
  onyx_model *m;
  onyx_engine *e;
  CHECK_ONYX(onyx_model_load(path, &m));
  double t0 = now_ms();
  CHECK_ONYX(onyx_engine_build(m, &bo, &e)); /* the model's own input shape (batch 1) */
  const double build_s = (now_ms() - t0) / 1e3;
  onyx_pipeline_options po;
  onyx_pipeline_options_init(&po); /* conf 0.25, iou 0.45, max_det 300, letterbox 114 */
  po.task = ONYX_TASK_DETECT;
  po.decode_threads = threads;

  /* the image decoded once, on a pipeline that keeps the pixels; its decode time measured apart */
  size_t size;
  unsigned char *bytes = read_file(image, &size), *rgb = NULL;
  if (!bytes) {
    fprintf(stderr, "onyx_detect_bench: cannot read %s\n", image);
    return 1;
  }
  enum { DECODES = 30 };
  double dec[DECODES];
  int w = 0, h = 0, n_ref = 0;
  onyx_pipeline *p;
  po.keep_pixels = 1;
  CHECK_ONYX(onyx_pipeline_create(e, &po, &p));
  for (int i = 0; i < DECODES; i++) {
    onyx_pipeline_result r;
    CHECK_ONYX(onyx_pipeline_run_one(p, bytes, size, &r));
    dec[i] = r.times.decode;
    if (!rgb) {
      w = r.width, h = r.height, n_ref = r.n_detections;
      rgb = malloc((size_t)w * (size_t)h * 3);
      if (!rgb) return 1;
      memcpy(rgb, r.pixels, (size_t)w * (size_t)h * 3);
    }
  }
  onyx_pipeline_free(p);
  po.keep_pixels = 0;
  CHECK_ONYX(onyx_pipeline_create(e, &po, &p));

  /* latency: submit the pixels, wait for the detections */
  double *wall = malloc(sizeof(double) * (size_t)iters), *st[5]; /* preprocess .. postprocess */
  for (int k = 0; k < 5; k++) st[k] = malloc(sizeof(double) * (size_t)iters);
  int n_dets = -1;
  for (double w0 = now_ms(); now_ms() - w0 < warmup_ms;) {
    onyx_pipeline_result r;
    int got;
    CHECK_ONYX(onyx_pipeline_submit_rgb(p, rgb, w, h, 0, NULL));
    CHECK_ONYX(onyx_pipeline_next(p, 1, &r, &got));
  }
  for (int it = 0; it < iters; it++) {
    onyx_pipeline_result r;
    int got = 0;
    double a = now_ms();
    CHECK_ONYX(onyx_pipeline_submit_rgb(p, rgb, w, h, 0, NULL));
    CHECK_ONYX(onyx_pipeline_next(p, 1, &r, &got));
    wall[it] = now_ms() - a;
    if (!got || r.status != ONYX_OK) {
      fprintf(stderr, "onyx_detect_bench: %s\n", got ? r.error : "no result");
      return 1;
    }
    if (n_dets >= 0 && r.n_detections != n_dets) fprintf(stderr, "detections changed: %d -> %d\n", n_dets,
                                                         r.n_detections);
    n_dets = r.n_detections;
    const double v[5] = {r.times.preprocess, r.times.h2d, r.times.inference, r.times.d2h, r.times.postprocess};
    for (int k = 0; k < 5; k++) st[k][it] = v[k];
  }
  qsort(wall, (size_t)iters, sizeof(double), cmp_double);
  /* the same from the pipeline's own (pinned) frame buffers, filled outside the timing as a decoder
   * writing into them would: no copy at submission */
  double *wall_frame = malloc(sizeof(double) * (size_t)iters);
  const size_t px_bytes = (size_t)w * (size_t)h * 3;
  for (int it = 0; it < iters; it++) {
    onyx_pipeline_result r;
    unsigned char *fb;
    int got = 0;
    CHECK_ONYX(onyx_pipeline_frame_buffer(p, w, h, &fb));
    memcpy(fb, rgb, px_bytes);
    double a = now_ms();
    CHECK_ONYX(onyx_pipeline_submit_frame(p, fb, NULL));
    CHECK_ONYX(onyx_pipeline_next(p, 1, &r, &got));
    wall_frame[it] = now_ms() - a;
    if (!got || r.status != ONYX_OK || r.n_detections != n_dets) {
      fprintf(stderr, "onyx_detect_bench: frame %d: %s\n", it, got ? r.error : "no result");
      return 1;
    }
  }
  qsort(wall_frame, (size_t)iters, sizeof(double), cmp_double);
  printf("{\"engine\":\"onyx-frame\",\"bench\":\"detect_latency\",\"model\":\"%s\",\"precision\":\"%s\","
         "\"batch\":1,\"image\":\"%dx%d\",\"iters\":%d,\"median_ms\":%.4f,\"p90_ms\":%.4f,\"p99_ms\":%.4f,"
         "\"min_ms\":%.4f,\"decode_ms\":%.4f,\"detections\":%d}\n",
         name, prec, w, h, iters, wall_frame[iters / 2], wall_frame[(iters * 9) / 10], wall_frame[(iters * 99) / 100],
         wall_frame[0], median(dec, DECODES), n_dets);
  free(wall_frame);
  printf("{\"engine\":\"onyx\",\"bench\":\"detect_latency\",\"model\":\"%s\",\"precision\":\"%s\",\"batch\":1,"
         "\"image\":\"%dx%d\",\"iters\":%d,\"median_ms\":%.4f,\"p90_ms\":%.4f,\"p99_ms\":%.4f,\"min_ms\":%.4f,"
         "\"decode_ms\":%.4f,\"preprocess_ms\":%.4f,\"h2d_ms\":%.4f,\"inference_ms\":%.4f,\"d2h_ms\":%.4f,"
         "\"postprocess_ms\":%.4f,\"detections\":%d,\"detections_from_file\":%d,\"build_s\":%.2f}\n",
         name, prec, w, h, iters, wall[iters / 2], wall[(iters * 9) / 10], wall[(iters * 99) / 100], wall[0],
         median(dec, DECODES), median(st[0], iters), median(st[1], iters), median(st[2], iters),
         median(st[3], iters), median(st[4], iters), n_dets, n_ref, build_s);
  fflush(stdout);

  /* throughput over the files: decoding on the workers overlapped with the GPU; pass 2 reported */
  if (n_files) {
    onyx_pipeline_info info;
    CHECK_ONYX(onyx_pipeline_info_get(p, &info));
    double secs = 0, stage[6] = {0};
    int failed = 0, boxes = 0;
    for (int pass = 0; pass < 2; pass++) {
      memset(stage, 0, sizeof(stage));
      failed = boxes = 0;
      double a = now_ms();
      for (int i = 0; i < n_files; i++) CHECK_ONYX(onyx_pipeline_submit_file(p, files[i], NULL));
      for (int i = 0; i < n_files; i++) {
        onyx_pipeline_result r;
        int got = 0;
        CHECK_ONYX(onyx_pipeline_next(p, 1, &r, &got));
        if (!got || r.status != ONYX_OK) {
          failed++;
          continue;
        }
        boxes += r.n_detections;
        const double v[6] = {r.times.decode, r.times.preprocess, r.times.h2d, r.times.inference, r.times.d2h,
                             r.times.postprocess};
        for (int k = 0; k < 6; k++) stage[k] += v[k];
      }
      secs = (now_ms() - a) / 1e3;
    }
    const int ok = n_files - failed;
    const double per = ok ? 1.0 / ok : 0;
    printf("{\"engine\":\"onyx\",\"bench\":\"detect_throughput\",\"model\":\"%s\",\"precision\":\"%s\","
           "\"batch\":%d,\"images\":%d,\"failed\":%d,\"decode_threads\":%d,\"wall_s\":%.3f,\"images_per_s\":%.1f,"
           "\"mean_decode_ms\":%.4f,\"mean_preprocess_ms\":%.4f,\"mean_h2d_ms\":%.4f,\"mean_inference_ms\":%.4f,"
           "\"mean_d2h_ms\":%.4f,\"mean_postprocess_ms\":%.4f,\"detections\":%d}\n",
           name, prec, info.max_batch, n_files, failed, threads, secs, ok / secs, stage[0] * per, stage[1] * per,
           stage[2] * per, stage[3] * per, stage[4] * per, stage[5] * per, boxes);
  }
  onyx_pipeline_free(p);
  for (int k = 0; k < 5; k++) free(st[k]);
  free(wall);
  free(rgb);
  free(bytes);
  free(files);
  onyx_engine_free(e);
  onyx_model_free(m);
  return 0;
}
