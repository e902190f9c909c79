/* Data-movement kernels (kernels/copy.cu): one strided N-d "gather copy" that
 * Transpose, Slice, Expand, Concat and Split are all expressed in, plus Pad and
 * Gather.  They move elements by size (1, 2, 4 or 8 bytes), so every dtype works.
 * Entries return cudaErrorInvalidValue, without launching, for an element size
 * they have no kernel for, and never query the launch status. */
#ifndef ONYX_BACKEND_CUDA_KERNELS_COPY_H
#define ONYX_BACKEND_CUDA_KERNELS_COPY_H

#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dst[dst_base + sum idx[d] * dst_str[d]] = src[src_base + sum idx[d] * src_str[d]] for every
 * index idx of dims (strides in elements, src strides may be 0 or negative).  Built by
 * cuda_strided_init (k_common.c), which merges dims. */
typedef struct cuda_strided {
  int ndim;
  int small; /* n fits 31 bits: index decomposition in 32 bits */
  int64_t n;
  int64_t dims[ONYX_MAX_DIMS];
  int64_t src_str[ONYX_MAX_DIMS], dst_str[ONYX_MAX_DIMS];
  int64_t src_base, dst_base;
} cuda_strided;

cudaError_t cuda_copy_strided(size_t esz, const cuda_strided *c, const void *src, void *dst,
                              cudaStream_t stream);

typedef enum cuda_pad_mode { CUDA_PAD_CONSTANT, CUDA_PAD_REFLECT, CUDA_PAD_EDGE } cuda_pad_mode;

/* Pad of a contiguous tensor of rank ndim: output dims out, input dims in, begin pads. */
typedef struct cuda_pad {
  int ndim;
  cuda_pad_mode mode;
  int64_t n;
  int64_t out[ONYX_MAX_DIMS], in[ONYX_MAX_DIMS], begin[ONYX_MAX_DIMS], in_str[ONYX_MAX_DIMS];
} cuda_pad;

/* The constant is *value_dev (a device element) when given, else the low esz bytes of value. */
cudaError_t cuda_copy_pad(size_t esz, const cuda_pad *p, const void *src, void *dst, const void *value_dev,
                          uint64_t value, cudaStream_t stream);

/* Gather along an axis: src is [outer, dim, inner], indices (int32 or int64, cnt of them, negative
 * counting from the end) pick rows; dst is [outer, cnt, inner].  An index out of range gives zeros
 * (the host checks constant indices before). */
cudaError_t cuda_copy_gather(size_t esz, int indices_int64, int64_t outer, int64_t dim, int64_t cnt,
                             int64_t inner, const void *src, const void *indices, void *dst,
                             cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
