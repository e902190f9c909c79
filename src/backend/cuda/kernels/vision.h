/* Image pipeline kernels (kernels/vision.cu): preprocessing of one decoded
 * image into a model input, and a detector's candidates + class-wise NMS.
 * The checked entry points are in src/vision/vision_cuda.h (vision_cuda.c);
 * these entries return cudaErrorInvalidValue, without launching, for a dtype
 * they have no kernel for, and never query the launch status. */
#ifndef ONYX_BACKEND_CUDA_KERNELS_VISION_H
#define ONYX_BACKEND_CUDA_KERNELS_VISION_H

#include <cuda_runtime_api.h>
#include <stdint.h>

#include "onyx.h"
#include "vision/detect.h"
#include "vision/prep.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Anchors per block of the candidate kernel: each block compacts its candidates, in anchor order, at the
 * front of its own CUDA_DET_BLOCK records of the staging array and writes their number to blk_cnt. */
#define CUDA_DET_BLOCK 256
/* Most blocks (so anchors / CUDA_DET_BLOCK) the selection kernel scans in shared memory. */
#define CUDA_DET_MAX_BLOCKS 2048
/* Sorts of at most this many keys run in shared memory, longer ones in the gkeys scratch. */
#define CUDA_DET_SORT_SMEM 2048

/* Resize (PIL bilinear) + placement + pad + normalisation + HWC -> CHW of one RGB8 image (FLOAT, FLOAT16). */
cudaError_t cuda_vision_prep(const prep_plan *p, const uint8_t *src, void *dst, onyx_dtype dt,
                             cudaStream_t stream);

/* Candidates (score > conf) of l->n_anchors anchors: staging holds blocks * CUDA_DET_BLOCK records and
 * blk_cnt one count per block, blocks = ceil(n_anchors / CUDA_DET_BLOCK).  boxes / scores: the layout's
 * outputs (scores unused for YOLO); FLOAT or FLOAT16. */
cudaError_t cuda_vision_det_candidates(const det_layout *l, const void *boxes, const void *scores, onyx_dtype dt,
                                       int in_w, int in_h, float conf, det_box *staging, int *blk_cnt,
                                       cudaStream_t stream);

/* One block: the first cap candidates in anchor order, sorted by score (descending, ties in anchor order),
 * greedy NMS per class (suppressed when IoU > iou), at most max_det boxes to out and their number to
 * *count.  gkeys: pow2 >= cap keys when that exceeds CUDA_DET_SORT_SMEM, else unused (may be NULL). */
cudaError_t cuda_vision_det_select(int blocks, int cap, const det_box *staging, const int *blk_cnt,
                                   unsigned long long *gkeys, float iou, int max_det, det_box *out, int *count,
                                   cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
