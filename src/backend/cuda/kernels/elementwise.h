/* Elementwise kernels (kernels/elementwise.cu): unary math and activations,
 * Clip, binary arithmetic with N-d broadcasting, Pow, Where, Cast and fills.
 *
 * Entries launch on the given stream and return cudaErrorInvalidValue, without
 * launching, for a dtype or op they have no kernel for; they never query the
 * launch status (the caller checks it with cuda_launch_check). */
#ifndef ONYX_BACKEND_CUDA_KERNELS_ELEMENTWISE_H
#define ONYX_BACKEND_CUDA_KERNELS_ELEMENTWISE_H

#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/cuda/kernels/copy.h"
#include "onyx.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUDA_BCAST_MAX_IN 3

/* An output shape iterated with up to three broadcast inputs: size-1 dims
 * dropped, dims contiguous for every input merged (cuda_bcast_init in
 * k_common.c).  str[k][d] is input k's element stride along dim d (0 where
 * broadcast).  flat: one dim left and every stride 0 or 1. */
typedef struct cuda_bcast {
  int ndim, nin;
  int flat;
  int small; /* n and every offset fit 31 bits: index math runs in 32 bits */
  int64_t n;
  int64_t dims[ONYX_MAX_DIMS];
  int64_t str[CUDA_BCAST_MAX_IN][ONYX_MAX_DIMS];
} cuda_bcast;

typedef enum cuda_unary_op {
  CUDA_UN_RELU,
  CUDA_UN_LEAKY_RELU,
  CUDA_UN_SIGMOID,
  CUDA_UN_TANH,
  CUDA_UN_HARD_SIGMOID,
  CUDA_UN_HARD_SWISH,
  CUDA_UN_ELU,
  CUDA_UN_SOFTPLUS,
  CUDA_UN_EXP,
  CUDA_UN_LOG,
  CUDA_UN_SQRT,
  CUDA_UN_RECIPROCAL,
  CUDA_UN_NEG,
  CUDA_UN_ABS,
  CUDA_UN_ERF,
} cuda_unary_op;

typedef enum cuda_binary_op {
  CUDA_BIN_ADD,
  CUDA_BIN_SUB,
  CUDA_BIN_MUL,
  CUDA_BIN_DIV,
  CUDA_BIN_PRELU,
  CUDA_BIN_MAX,
  CUDA_BIN_MIN,
  CUDA_BIN_EQUAL, /* output BOOL */
} cuda_binary_op;

/* Float ops for float/float16/double; RELU and NEG also signed integers, ABS every integer type. */
cudaError_t cuda_ew_unary(cuda_unary_op op, onyx_dtype dt, float alpha, float beta, const void *x, void *y,
                          int64_t n, cudaStream_t stream);
/* y = clamp(x, lo, hi): a bound is *lo_dev / *hi_dev (device scalars of dt) when given, else the
 * attribute value when has_lo / has_hi, else the type's limit; lo > hi gives hi everywhere. */
cudaError_t cuda_ew_clip(onyx_dtype dt, const void *x, void *y, int64_t n, const void *lo_dev,
                         const void *hi_dev, int has_lo, double lo, int has_hi, double hi,
                         cudaStream_t stream);
/* y = a op b over b->nin == 2 inputs; every numeric dtype, and BOOL for EQUAL. */
cudaError_t cuda_ew_binary(cuda_binary_op op, onyx_dtype dt, const cuda_bcast *b, const void *a,
                           const void *bb, void *y, cudaStream_t stream);
/* y = a ** e; the exponent's dtype is the base's or DOUBLE. */
cudaError_t cuda_ew_pow(onyx_dtype base, onyx_dtype exp, const cuda_bcast *b, const void *a, const void *e,
                        void *y, cudaStream_t stream);
/* y = cond ? x : z, elements of esz bytes (1, 2, 4, 8), cond BOOL; b->nin == 3. */
cudaError_t cuda_ew_where(size_t esz, const cuda_bcast *b, const void *cond, const void *x, const void *z,
                          void *y, cudaStream_t stream);
/* Cast between any two numeric/bool dtypes (C conversion rules, as the CPU kernel). */
cudaError_t cuda_ew_cast(onyx_dtype from, onyx_dtype to, const void *x, void *y, int64_t n,
                         cudaStream_t stream);
/* Cast through a strided copy's offsets, for each of its c->n elements: y[dst] = (to) x[src] (the
 * input and output in different layouts). */
/* y ([n][hw][c], FLOAT16 when f16_out, else FLOAT) = x (FLOAT, [n][c][hw]): the input cast of an FP16
 * channels-last engine, the input reformat of a TF32 one (for few channels: see the kernel). */
cudaError_t cuda_f32_nchw_to_nhwc(const void *x, void *y, bool f16_out, int64_t n, int64_t c, int64_t hw,
                                  cudaStream_t stream);
cudaError_t cuda_ew_cast_strided(onyx_dtype from, onyx_dtype to, const cuda_strided *c, const void *x,
                                 void *y, cudaStream_t stream);
/* Every element of y (esz bytes: 1, 2, 4, 8) becomes the bytes of value (low esz bytes). */
cudaError_t cuda_ew_fill(size_t esz, uint64_t value, void *y, int64_t n, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
