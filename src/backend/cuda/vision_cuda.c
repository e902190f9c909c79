/* Host side of the image pipeline's GPU pre- and post-processing
 * (vision/vision_cuda.h): argument checks, det_post's scratch layout, and a
 * launch check after every kernel of kernels/vision.cu. */
#include <stdint.h>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/vision.h"
#include "common/status.h"
#include "io/image.h"
#include "vision/vision_cuda.h"

_Static_assert(CUDA_DET_MAX_ANCHORS <= CUDA_DET_BLOCK * CUDA_DET_MAX_BLOCKS,
               "the selection kernel scans at most CUDA_DET_MAX_BLOCKS block counts");

/* An entry's refusal or the launch's error, naming the kernel and where it was launched. */
static onyx_status launched(cudaError_t entry, const char *kernel, int line)
{
  if (entry != cudaSuccess) return cuda_status(entry, kernel, __FILE__, line);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return cuda_status(err, kernel, __FILE__, line);
  return ONYX_OK;
}

onyx_status cuda_prep_image(const prep_plan *p, const uint8_t *src, void *dst, onyx_dtype dtype, void *stream)
{
  if (!p || !src || !dst) return onyx_error(ONYX_ERR_INVALID_ARG, "cuda_prep_image: NULL argument");
  if (dtype != ONYX_DTYPE_FLOAT && dtype != ONYX_DTYPE_FLOAT16)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "cuda_prep_image: model input of type %s (float32 or float16 only)",
                      onyx_dtype_name(dtype));
  const int lim = IMAGE_MAX_SIDE;
  if (p->src_w <= 0 || p->src_h <= 0 || p->rs_w <= 0 || p->rs_h <= 0 || p->out_w <= 0 || p->out_h <= 0 ||
      p->src_w > lim || p->src_h > lim || p->rs_w > lim || p->rs_h > lim || p->out_w > lim || p->out_h > lim ||
      p->off_x < -lim || p->off_x > lim || p->off_y < -lim || p->off_y > lim)
    return onyx_error(ONYX_ERR_INVALID_ARG,
                      "cuda_prep_image: bad plan (image %dx%d resized to %dx%d at %d,%d of a %dx%d input; sides "
                      "1..%d)",
                      p->src_w, p->src_h, p->rs_w, p->rs_h, p->off_x, p->off_y, p->out_w, p->out_h, lim);
  return launched(cuda_vision_prep(p, src, dst, dtype, (cudaStream_t)stream), "prep_kernel (cuda_vision_prep)",
                  __LINE__);
}

/* det_post's scratch: staging records (blocks * CUDA_DET_BLOCK), block counts, and the sort's keys when
 * they do not fit in shared memory; each part 256-byte aligned. */
typedef struct det_scratch {
  int blocks, cap;
  size_t blk_cnt, gkeys, bytes; /* offsets, and the total */
} det_scratch;

static size_t align256(size_t x) { return (x + 255) & ~(size_t)255; }

static const char *det_layout_problem(const det_layout *l)
{
  if (!l) return "no layout";
  if (l->fmt != DET_YOLOV8 && l->fmt != DET_YOLOV5 && l->fmt != DET_SSD) return "unknown format";
  if (l->n_anchors < 1 || l->n_anchors > CUDA_DET_MAX_ANCHORS) return "anchor count out of range";
  if (l->n_classes < 1 || l->n_classes > (1 << 24)) return "class count out of range";
  if (l->fmt == DET_SSD && l->background && l->n_classes < 2) return "a background class but no other";
  if (l->boxes_out < 0 || (l->fmt == DET_SSD && l->scores_out < 0)) return "negative output index";
  return NULL;
}

static void det_scratch_plan(const det_layout *l, det_scratch *s)
{
  s->blocks = (l->n_anchors + CUDA_DET_BLOCK - 1) / CUDA_DET_BLOCK;
  s->cap = l->n_anchors < CUDA_DET_MAX_CAND ? l->n_anchors : CUDA_DET_MAX_CAND;
  size_t np = 1;
  while (np < (size_t)s->cap) np <<= 1;
  s->blk_cnt = align256((size_t)s->blocks * CUDA_DET_BLOCK * sizeof(det_box));
  s->gkeys = s->blk_cnt + align256((size_t)s->blocks * sizeof(int));
  s->bytes = s->gkeys + (np > CUDA_DET_SORT_SMEM ? np * sizeof(unsigned long long) : 0);
}

size_t cuda_det_scratch_bytes(const det_layout *l, int max_det)
{
  if (det_layout_problem(l)) return 0;
  det_scratch s;
  det_scratch_plan(l, &s);
  return s.bytes;
}

onyx_status cuda_det_post(const det_layout *l, const void *const *outputs, onyx_dtype dtype, int in_w, int in_h,
                          float conf, float iou, int max_det, void *scratch, size_t scratch_bytes, det_box *out,
                          int *count, void *stream)
{
  const char *bad = det_layout_problem(l);
  if (bad) return onyx_error(ONYX_ERR_INVALID_ARG, "cuda_det_post: bad detector layout (%s)", bad);
  if (!outputs || !scratch || !out || !count)
    return onyx_error(ONYX_ERR_INVALID_ARG, "cuda_det_post: NULL argument");
  const void *boxes = outputs[l->boxes_out], *scores = l->fmt == DET_SSD ? outputs[l->scores_out] : NULL;
  if (!boxes || (l->fmt == DET_SSD && !scores))
    return onyx_error(ONYX_ERR_INVALID_ARG, "cuda_det_post: NULL output pointer");
  if (dtype != ONYX_DTYPE_FLOAT && dtype != ONYX_DTYPE_FLOAT16)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "cuda_det_post: detector outputs of type %s (float32 or float16 only)",
                      onyx_dtype_name(dtype));
  if (in_w <= 0 || in_h <= 0 || max_det < 1)
    return onyx_error(ONYX_ERR_INVALID_ARG, "cuda_det_post: input %dx%d, max_det %d (positive values needed)",
                      in_w, in_h, max_det);
  det_scratch s;
  det_scratch_plan(l, &s);
  if (scratch_bytes < s.bytes || (uintptr_t)scratch % 256)
    return onyx_error(ONYX_ERR_INVALID_ARG,
                      "cuda_det_post: scratch of %zu bytes at %p; %zu bytes, 256-byte aligned, are needed",
                      scratch_bytes, scratch, s.bytes);
  char *base = scratch;
  det_box *staging = (det_box *)base;
  int *blk_cnt = (int *)(base + s.blk_cnt);
  unsigned long long *gkeys = s.bytes > s.gkeys ? (unsigned long long *)(base + s.gkeys) : NULL;
  cudaStream_t st = (cudaStream_t)stream;
  ONYX_TRY(launched(cuda_vision_det_candidates(l, boxes, scores, dtype, in_w, in_h, conf, staging, blk_cnt, st),
                    "det_candidates_kernel (cuda_vision_det_candidates)", __LINE__));
  return launched(cuda_vision_det_select(s.blocks, s.cap, staging, blk_cnt, gkeys, iou, max_det, out, count, st),
                  "det_select_kernel (cuda_vision_det_select)", __LINE__);
}
