/* Pooling and normalization kernels (kernels/pool.cu): MaxPool (with optional
 * Indices), AveragePool over 1-3 spatial dims, and BatchNormalization in
 * inference form.  Float/float16 (math in float); MaxPool also int8/uint8.
 * Entries return cudaErrorInvalidValue, without launching, for a dtype they
 * have no kernel for, and never query the launch status. */
#ifndef ONYX_BACKEND_CUDA_KERNELS_POOL_H
#define ONYX_BACKEND_CUDA_KERNELS_POOL_H

#include <cuda_runtime_api.h>
#include <stdint.h>

#include "onyx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A pooling window in 3-D (1-D and 2-D pools get leading extents of 1) over planes = N*C
 * images: coordinate = pos * s - p + k * d.  pimg/pp: the same for the image grown by both pads
 * (count_include_pad).  Row-major X and Y, or (channels_last) both N, D, H, W, C in memory;
 * Indices are always flat row-major (N, C, D, H, W) positions, at Y's row-major position. */
typedef struct cuda_pool_geom {
  int64_t planes;
  int64_t channels; /* C (planes / N) */
  int channels_last;
  int64_t img[3], pos[3], k[3], s[3], d[3], p[3];
  int64_t pimg[3];
  int count_include_pad;
  int storage_order; /* MaxPool Indices: 1 column major */
} cuda_pool_geom;

/* indices may be NULL (int64 flat indices into X). */
cudaError_t cuda_pool_max(onyx_dtype dt, const cuda_pool_geom *g, const void *x, void *y, int64_t *indices,
                          cudaStream_t stream);
cudaError_t cuda_pool_avg(onyx_dtype dt, const cuda_pool_geom *g, const void *x, void *y,
                          cudaStream_t stream);

/* y = (x - mean) / sqrt(var + eps) * scale + bias over x of [N, C, inner] (channels_last: x and y
 * are [N, inner, C] in memory); stat k (scale, bias, mean, var) is per channel when bit k of
 * chan_mask is set, else per element of C x inner (row-major). */
cudaError_t cuda_batchnorm(onyx_dtype dt, const void *x, void *y, const void *scale, const void *bias,
                           const void *mean, const void *var, float eps, int64_t N, int64_t C, int64_t inner,
                           unsigned chan_mask, int channels_last, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
