/* Resize/Upsample kernels (kernels/resize.cu).  Interpolation is separable:
 * the host computes, per dim and output coordinate, up to CUDA_RESIZE_TAPS
 * input taps (element offset and weight) and whether the coordinate lies
 * outside the input (tf_crop_and_resize), and uploads the tables once; an
 * output element sums the products of its dims' taps.  Entries return
 * cudaErrorInvalidValue, without launching, for a dtype they have no kernel
 * for, and never query the launch status. */
#ifndef ONYX_BACKEND_CUDA_KERNELS_RESIZE_H
#define ONYX_BACKEND_CUDA_KERNELS_RESIZE_H

#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUDA_RESIZE_TAPS 4

/* Dim d's coordinate o has its taps at entries (at[d] + o) * CUDA_RESIZE_TAPS + t, t < k[d],
 * of the offset and weight tables, and its outside flag at entry at[d] + o. */
typedef struct cuda_resize_geom {
  int ndim;
  int any_outside;
  int64_t n;
  int64_t out[ONYX_MAX_DIMS];
  int64_t at[ONYX_MAX_DIMS];
  int k[ONYX_MAX_DIMS];
  uint64_t extrapolation; /* the bits of one element of the output dtype */
} cuda_resize_geom;

/* Every k is 1 and every weight 1: a gather of elements of esz bytes (any dtype). */
cudaError_t cuda_resize_nearest(size_t esz, const cuda_resize_geom *g, const void *x, void *y,
                                const int64_t *off, const uint8_t *outside, cudaStream_t stream);
/* Interpolation (float, float16; math in float). */
cudaError_t cuda_resize_interp(onyx_dtype dt, const cuda_resize_geom *g, const void *x, void *y,
                               const int64_t *off, const float *w, const uint8_t *outside,
                               cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
