/* Row-wise kernels (kernels/reduce.cu): Softmax/LogSoftmax, ReduceSum/Mean/Max
 * (also GlobalAveragePool/GlobalMaxPool) and ArgMax.  Float, float16 (math in
 * float) and double; the reductions and ArgMax also int32/int64.  Entries
 * return cudaErrorInvalidValue, without launching, for a dtype they have no
 * kernel for, and never query the launch status. */
#ifndef ONYX_BACKEND_CUDA_KERNELS_REDUCE_H
#define ONYX_BACKEND_CUDA_KERNELS_REDUCE_H

#include <cuda_runtime_api.h>
#include <stdint.h>

#include "onyx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Softmax over len elements spaced inner apart, outer * inner times. */
cudaError_t cuda_softmax(onyx_dtype dt, int log_out, const void *x, void *y, int64_t outer, int64_t len,
                         int64_t inner, cudaStream_t stream);

typedef enum cuda_reduce_kind { CUDA_RED_SUM, CUDA_RED_MEAN, CUDA_RED_MAX } cuda_reduce_kind;

/* The input as runs of kept dims (ksize/kstride, outermost first) and reduced dims
 * (rsize/rstride), size-1 dims dropped and neighbours of one kind merged; output o is the
 * reduction over the reduced runs at the kept offset of o.  last_kept: the innermost
 * dim is kept (adjacent outputs are then reduced side by side, reading coalesced). */
typedef struct cuda_reduce_layout {
  int nk, nr;
  int64_t ksize[ONYX_MAX_DIMS], kstride[ONYX_MAX_DIMS];
  int64_t rsize[ONYX_MAX_DIMS], rstride[ONYX_MAX_DIMS];
  int64_t n_out, n_red;
  int last_kept;
} cuda_reduce_layout;

cudaError_t cuda_reduce(onyx_dtype dt, cuda_reduce_kind kind, const cuda_reduce_layout *L, const void *x,
                        void *y, cudaStream_t stream);

/* y (int64) = index of the largest of len elements spaced inner apart (first or last of ties;
 * a NaN wins), outer * inner times. */
cudaError_t cuda_argmax(onyx_dtype dt, const void *x, int64_t *y, int64_t outer, int64_t len, int64_t inner,
                        int select_last, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
