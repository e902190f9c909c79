/* Helpers shared by the host side of onyx's own CUDA layers (k_*.c). */
#ifndef ONYX_BACKEND_CUDA_K_COMMON_H
#define ONYX_BACKEND_CUDA_K_COMMON_H

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/kernels/copy.h"
#include "backend/cuda/kernels/elementwise.h"

/* The node's input / output tensor k in the graph (NULL when omitted). */
static inline const ir_tensor *kc_in(const cuda_layer *L, int k) { return ir_in(L->g, L->node, k); }
static inline const ir_tensor *kc_out(const cuda_layer *L, int k) { return ir_out(L->g, L->node, k); }

bool kc_is_float(onyx_dtype dt);   /* FLOAT, FLOAT16, DOUBLE */
bool kc_is_sint(onyx_dtype dt);    /* INT8 .. INT64 */
bool kc_is_uint(onyx_dtype dt);    /* UINT8 .. UINT64 */
bool kc_is_numeric(onyx_dtype dt); /* any of the three */
/* Element size for data-movement kernels (1, 2, 4 or 8), or an UNSUPPORTED layer error. */
onyx_status kc_elem_size(const cuda_layer *L, onyx_dtype dt, size_t *esz);
onyx_status kc_bad_dtype(const cuda_layer *L, const char *what, onyx_dtype dt);

/* Zeroed per-layer state of size bytes in L->state; kc_release frees it. */
void *kc_state(cuda_layer *L, size_t size);
void kc_release(cuda_layer *L);

/* After an entry from kernels/: the entry's own refusal, or the launch status. */
onyx_status kc_launched_at(const cuda_layer *L, cudaError_t entry, const char *file, int line);
#define kc_launched(L, entry) kc_launched_at((L), (entry), __FILE__, __LINE__)
/* Layer constants to the device (init only): *dev = a new allocation holding host's bytes; on an error
 * *dev may be set (the layer's release frees it) and the error names the layer and what. */
onyx_status kc_upload(const cuda_layer *L, void **dev, const void *host, size_t bytes, const char *what);
/* Device-to-device copy of bytes on the context's stream (nothing for 0 bytes). */
onyx_status kc_copy(const cuda_ctx *ctx, void *dst, const void *src, size_t bytes);
size_t kc_bytes(const cuda_tensor *t);

/* The bits of v converted to one element of dt (C conversions; float16 rounded to nearest). */
uint64_t kc_scalar_bits(onyx_dtype dt, double v);

void kc_contiguous(int ndim, const int64_t *dims, int64_t *strides);
/* For each of the out_ndim output dims, the element stride of a contiguous input of shape in_dims
 * (right-aligned numpy broadcasting), 0 where it is broadcast. */
void kc_broadcast_strides(int out_ndim, const int64_t *out_dims, int in_ndim, const int64_t *in_dims,
                          int64_t *strides);
void cuda_bcast_init(cuda_bcast *b, int out_ndim, const int64_t *out_dims, int nin, const int *in_ndim,
                     const int64_t *const *in_dims);
void cuda_strided_init(cuda_strided *c, int ndim, const int64_t *dims, const int64_t *src_str,
                       int64_t src_base, const int64_t *dst_str, int64_t dst_base);

/* ---- layouts (channels-last feature maps of FP16 and TF32 engines) ---- */

/* The order of t's dims in memory, outermost first: 0, 2, 3, 1 for a channels-last tensor,
 * else 0 .. ndim-1.  A dense tensor is row-major in this order. */
void kc_phys_order(const cuda_tensor *t, int *perm);
/* Same dims, and the same strides along every dim of extent > 1 (one flat pass serves both). */
bool kc_same_layout(const cuda_tensor *a, const cuda_tensor *b);
/* An error unless output 0 has input 0's shape and layout (for flat kernels). */
onyx_status kc_need_same_layout(const cuda_layer *L);
/* Whether any 4-D input or output of the layer is channels-last (UNIFORM kernels' mode). */
bool kc_layer_channels_last(const cuda_layer *L);
/* cuda_strided_init with the dims visited in the destination's memory order (stable sort by
 * dst stride, largest first), so that consecutive threads write consecutive elements. */
void kc_strided_plan(cuda_strided *c, int ndim, const int64_t *dims, const int64_t *src_str, int64_t src_base,
                     const int64_t *dst_str, int64_t dst_base);
/* A broadcast over output y (dense in its layout) of nin inputs given by dims and element
 * strides (right-aligned numpy broadcasting): the output is iterated in its memory order, so
 * y[i] is element i in memory, and each input is read through its own strides. */
void kc_bcast_plan(cuda_bcast *b, const cuda_tensor *y, int nin, const int *in_ndim,
                   const int64_t *const *in_dims, const int64_t *const *in_strides);

#endif
