/* The image pipeline on the GPU with pixels handed over decoded (onyx_pipeline_submit_rgb: the
 * pixels go into pinned memory owned by the job and are uploaded from there; frame buffers:
 * that pinned memory handed to the caller to fill):
 *   - a photo's detections from its file (decoded by a worker) equal those from its pixels, submitted
 *     with and without padding between rows, bit for bit (same pixels, same kernels);
 *   - files and pixels mixed in one queue come back in order with their tags, and a job's pinned
 *     buffer is reused across many submissions (sizes going up and down);
 *   - CPU pipeline (the session) on the same pixels: same detections within FP32 tolerance.
 *
 *   onyx_pipeline_gpu_test DETECTOR.onnx PHOTO...     (exit 77 without a GPU) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

typedef struct photo {
  unsigned char *data; /* encoded */
  size_t size;
  unsigned char *px; /* decoded RGB8 */
  int w, h, n;
  onyx_detection det[300];
} photo;

static unsigned char *read_all(const char *path, size_t *size)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = n > 0 ? malloc((size_t)n) : NULL;
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *size = b ? (size_t)n : 0;
  return b;
}

static int same(const onyx_pipeline_result *r, const photo *ph)
{
  return r->status == ONYX_OK && r->width == ph->w && r->height == ph->h && r->n_detections == ph->n &&
         !memcmp(r->detections, ph->det, sizeof(onyx_detection) * (size_t)ph->n);
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: onyx_pipeline_gpu_test DETECTOR.onnx PHOTO...\n");
    return 2;
  }
  if (!onyx_cuda_available()) {
    printf("no CUDA device: skipped\n");
    return 77;
  }
  const int n_ph = argc - 2;
  photo *ph = calloc((size_t)n_ph, sizeof(*ph));
  onyx_model *m = NULL;
  onyx_engine *e = NULL;
  onyx_pipeline *p = NULL, *q = NULL, *cpu = NULL;
  onyx_pipeline_options o;
  onyx_pipeline_options_init(&o);
  o.task = ONYX_TASK_DETECT;
  o.keep_pixels = 1;
  if (!ph || !CHECK_OK(onyx_model_load(argv[1], &m)) || !CHECK_OK(onyx_engine_build(m, NULL, &e)) ||
      !CHECK_OK(onyx_pipeline_create(e, &o, &p)))
    goto out;
  int total = 0;
  for (int i = 0; i < n_ph; i++) { /* from the file: the reference, and the decoded pixels */
    onyx_pipeline_result r;
    ph[i].data = read_all(argv[i + 2], &ph[i].size);
    if (!ph[i].data || !CHECK_OK(onyx_pipeline_run_one(p, ph[i].data, ph[i].size, &r))) {
      CHECKF(0, "%s: cannot read or run it", argv[i + 2]);
      goto out;
    }
    ph[i].w = r.width, ph[i].h = r.height, ph[i].n = r.n_detections > 300 ? 300 : r.n_detections;
    memcpy(ph[i].det, r.detections, sizeof(onyx_detection) * (size_t)ph[i].n);
    ph[i].px = malloc((size_t)r.width * (size_t)r.height * 3);
    if (!ph[i].px) goto out;
    memcpy(ph[i].px, r.pixels, (size_t)r.width * (size_t)r.height * 3);
    total += ph[i].n;
    printf("%s: %d x %d, %d detections\n", argv[i + 2], ph[i].w, ph[i].h, ph[i].n);
  }
  CHECKF(total > 0, "no detections at all: the comparison would not see a difference");
  o.keep_pixels = 0;
  if (!CHECK_OK(onyx_pipeline_create(e, &o, &q))) goto out;
  /* pixels, tight and with padded rows, interleaved with files; 40 rounds reuse the jobs' buffers */
  for (int round = 0; round < 40; round++) {
    const int i = round % n_ph, pad = round % 3 == 0 ? 0 : 1 + round % 7;
    const size_t row = (size_t)ph[i].w * 3, stride = row + (size_t)pad;
    unsigned char *buf = pad ? malloc(stride * (size_t)ph[i].h) : ph[i].px;
    if (!buf) goto out;
    for (int y = 0; pad && y < ph[i].h; y++) {
      memcpy(buf + stride * (size_t)y, ph[i].px + row * (size_t)y, row);
      memset(buf + stride * (size_t)y + row, 0x5A, (size_t)pad);
    }
    const int k = (i + 1) % n_ph; /* the next photo as a file, between two submissions of pixels */
    if (round % 4 == 3) { /* a frame buffer of the pipeline's, filled here, submitted without a copy */
      unsigned char *fb = NULL;
      if (CHECK_OK(onyx_pipeline_frame_buffer(q, ph[i].w, ph[i].h, &fb))) {
        for (int y = 0; y < ph[i].h; y++) memcpy(fb + row * (size_t)y, buf + stride * (size_t)y, row);
        CHECK_OK(onyx_pipeline_submit_frame(q, fb, (void *)(intptr_t)(2 * round)));
      }
    } else {
      CHECK_OK(onyx_pipeline_submit_rgb(q, buf, ph[i].w, ph[i].h, pad ? stride : 0, (void *)(intptr_t)(2 * round)));
    }
    CHECK_OK(onyx_pipeline_submit_memory(q, ph[k].data, ph[k].size, (void *)(intptr_t)(2 * round + 1)));
    if (pad) free(buf);
    for (int t = 0; t < 2; t++) {
      onyx_pipeline_result r;
      int got = 0;
      CHECK_OK(onyx_pipeline_next(q, 1, &r, &got));
      const photo *want = t ? &ph[k] : &ph[i];
      CHECKF(got && r.tag == (void *)(intptr_t)(2 * round + t) && same(&r, want),
             "round %d, %s: %d detections (want %d), status %s", round, t ? "file" : "pixels",
             got ? r.n_detections : -1, want->n, got ? onyx_status_name(r.status) : "none");
      if (!t) CHECKF(got && r.times.decode == 0.0, "pixels: decode time %g", got ? r.times.decode : -1.0);
    }
  }
  /* the CPU pipeline on the same pixels: same boxes within FP32 tolerance */
  if (CHECK_OK(onyx_pipeline_create_cpu(m, &o, &cpu))) {
    for (int i = 0; i < n_ph; i++) {
      onyx_pipeline_result r;
      int got = 0;
      CHECK_OK(onyx_pipeline_submit_rgb(cpu, ph[i].px, ph[i].w, ph[i].h, 0, NULL));
      CHECK_OK(onyx_pipeline_next(cpu, 1, &r, &got));
      int match = got && r.status == ONYX_OK && r.n_detections == ph[i].n;
      for (int d = 0; match && d < ph[i].n; d++) {
        const onyx_detection *a = &r.detections[d], *b = &ph[i].det[d];
        match = a->class_id == b->class_id && fabsf(a->score - b->score) < 1e-3f && fabsf(a->x1 - b->x1) < 0.5f &&
                fabsf(a->y1 - b->y1) < 0.5f && fabsf(a->x2 - b->x2) < 0.5f && fabsf(a->y2 - b->y2) < 0.5f;
      }
      CHECKF(match, "%s: CPU pipeline on the pixels differs from the GPU (%d vs %d detections)", argv[i + 2],
             got ? r.n_detections : -1, ph[i].n);
    }
  }
out:
  onyx_pipeline_free(cpu);
  onyx_pipeline_free(q);
  onyx_pipeline_free(p);
  for (int i = 0; ph && i < n_ph; i++) {
    free(ph[i].data);
    free(ph[i].px);
  }
  free(ph);
  onyx_engine_free(e);
  onyx_model_free(m);
  return check_summary(argv[0]);
}
