/* Small kernels around the cuDNN / cuBLASLt calls of the conv and gemm layers
 * (kernels/epilogue.cu), with C types only:
 *
 *   cuda_conv_epilogue   y = act(y + bias[c] + z), in place, after a conv
 *   cuda_window_copy     dst = src shifted by per-dim offsets, zero outside
 *                        src (+ bias[c]): the pre-pad of asymmetric conv pads
 *                        and the crop of a ConvTranspose computed uncropped
 *   cuda_broadcast2d     y[i, j] = scale * c[i * rs + j * cs]: Gemm's C
 *
 * Tensors are dense, row-major or (conv) channels-last; storage is FLOAT or FLOAT16 (math in
 * float). */
#ifndef ONYX_BACKEND_CUDA_KERNELS_EPILOGUE_H
#define ONYX_BACKEND_CUDA_KERNELS_EPILOGUE_H

#include <stdbool.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Activation after a conv, with the CPU kernels' formulas (backend/cpu/elementwise_unary.c). */
typedef enum cuda_act_kind {
  CUDA_ACT_NONE = 0,
  CUDA_ACT_RELU,
  CUDA_ACT_LEAKY_RELU, /* alpha */
  CUDA_ACT_CLIP,       /* alpha = min, beta = max (min > max: every element is max) */
  CUDA_ACT_SIGMOID,
  CUDA_ACT_TANH,
  CUDA_ACT_HARD_SIGMOID, /* alpha, beta */
  CUDA_ACT_HARD_SWISH, /* x * hard_sigmoid(x; alpha, beta): alpha 1/6, beta 0.5 for ONNX HardSwish */
  CUDA_ACT_ELU, /* alpha */
  CUDA_ACT_SILU, /* x * sigmoid(x) */
  CUDA_ACT_COUNT
} cuda_act_kind;

typedef struct cuda_act {
  cuda_act_kind kind;
  float alpha, beta;
} cuda_act;

/* y[n, c, i] = act(y[n, c, i] + bias[c] + z[n, c, i]) for n < outer, c < channels, i < inner;
 * bias and z may be NULL.  fp16: FLOAT16 storage, else FLOAT.  channels_last: y and z are
 * [n][i][c] in memory. */
cudaError_t cuda_conv_epilogue(void *y, const void *bias, const void *z, bool fp16, int64_t outer,
                               int64_t channels, int64_t inner, cuda_act act, bool channels_last,
                               cudaStream_t stream);

/* dst [n][c][d0][d1][d2] = src[n][c][d0 - off0][d1 - off1][d2 - off2] where that lies inside src
 * (src_dims), else 0; plus bias[c] when bias is not NULL.  dst_dims and src_dims give the three
 * spatial extents (leading 1 for fewer spatial dims).  channels_last: both are [n][d0][d1][d2][c]
 * in memory. */
cudaError_t cuda_window_copy(void *dst, const void *src, const void *bias, bool fp16, int64_t n, int64_t c,
                             const int64_t dst_dims[3], const int64_t src_dims[3], const int64_t off[3],
                             bool channels_last, cudaStream_t stream);

/* y[i, j] = scale * c[i * rs + j * cs] for an m x n row-major y (rs or cs 0 where C broadcasts). */
cudaError_t cuda_broadcast2d(void *y, const void *c, bool fp16, int64_t m, int64_t n, int64_t rs, int64_t cs,
                             float scale, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
