/* GPU pre- and post-processing for the image pipeline (kernels in
 * src/backend/cuda/kernels/vision.cu).  Same semantics as the CPU reference in
 * prep.h / detect.h; enqueue only (no allocation, no synchronisation), so the
 * calls can sit inside a captured CUDA graph. */
#ifndef ONYX_VISION_CUDA_H
#define ONYX_VISION_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "vision/detect.h"
#include "vision/prep.h"

/* One image: src is the decoded RGB8 image on the device (src_w * src_h * 3
 * bytes, rows packed); dst the model input of that image (3 * out_h * out_w
 * elements, FLOAT or FLOAT16, NCHW).  Each value is within one gray level
 * (times inv_std) of prep_apply's. */
onyx_status cuda_prep_image(const prep_plan *p, const uint8_t *src, void *dst, onyx_dtype dtype, void *stream);

/* det_post takes, as det_candidates with cap = CUDA_DET_MAX_CAND, the first
 * CUDA_DET_MAX_CAND candidates in anchor order (so every candidate of
 * layouts up to that many anchors), and refuses layouts of more than
 * CUDA_DET_MAX_ANCHORS anchors. */
#define CUDA_DET_MAX_CAND 32768
#define CUDA_DET_MAX_ANCHORS 524288

/* Device scratch det_post needs for a layout and max_det (0 for a layout it
 * refuses). */
size_t cuda_det_scratch_bytes(const det_layout *l, int max_det);

/* One image's detections: outputs are that image's output slices on the
 * device (FLOAT or FLOAT16); writes the kept boxes (model-input pixels, as
 * det_candidates + det_nms would, at most max_det) to out and their number to
 * *count, both device memory.  scratch: device memory of at least
 * cuda_det_scratch_bytes, 256-byte aligned (as cudaMalloc returns it). */
onyx_status cuda_det_post(const det_layout *l, const void *const *outputs, onyx_dtype dtype, int in_w, int in_h,
                          float conf, float iou, int max_det, void *scratch, size_t scratch_bytes, det_box *out,
                          int *count, void *stream);

#endif
