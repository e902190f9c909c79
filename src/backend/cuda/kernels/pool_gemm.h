/* A classifier head in one kernel (kernels/pool_gemm.cu; the FusedPoolGemm layer, ops/fused.h):
 *   y[i][o] = scale * sum_k (sum_p x[i][k][p]) * w[o][k] + bias[o]
 * for images i < n, outputs o < m, channels k < k, spatial elements p < hw: GlobalAveragePool, Flatten
 * and Gemm at once (scale = alpha / hw, bias = beta * C), for small batches, where the three layers
 * would be three launches of a few microseconds each.
 *
 * Each block of CUDA_POOL_GEMM_THREADS threads computes CUDA_POOL_GEMM_OUTS outputs (one warp each)
 * for every image: its warps load their weight rows first, before waiting for the previous kernel
 * (programmatic dependent launch on sm_90), then the block sums the input's channels into shared
 * memory (every block reads the whole input: at batch 1 that is an L2-resident 50 KB for ResNet18) and
 * each warp takes its dot products over them.  Sums in float, in a fixed order (deterministic).
 *
 * x: element (i, k, p) at i * xs_n + k * xs_k + p * xs_p (any layout whose spatial dims collapse into
 * one stride: row-major and channels-last both do); w: m rows of kp = cuda_pool_gemm_kp(k, half)
 * elements (the first k used, the rest zero: each row 16-byte aligned), of x's type; bias: m floats;
 * y: n x m, row-major, FLOAT16 (half and !y_float) or FLOAT. */
#ifndef ONYX_BACKEND_CUDA_KERNELS_POOL_GEMM_H
#define ONYX_BACKEND_CUDA_KERNELS_POOL_GEMM_H

#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CUDA_POOL_GEMM_THREADS 512
#define CUDA_POOL_GEMM_OUTS (CUDA_POOL_GEMM_THREADS / 32)
#define CUDA_POOL_GEMM_SMEM (48 * 1024)              /* bytes of shared memory: partial sums, then sums */
#define CUDA_POOL_GEMM_PART (CUDA_POOL_GEMM_THREADS * 8) /* a thread's slice of up to 8 channels */
#define CUDA_POOL_GEMM_MAX_K (CUDA_POOL_GEMM_SMEM / 4 - CUDA_POOL_GEMM_PART - 8) /* one image's sums fit */

typedef struct cuda_pool_gemm_args {
  const void *x, *w;
  const float *bias;
  void *y;
  int n, k, m;
  int64_t hw;               /* spatial elements per channel */
  int64_t xs_n, xs_k, xs_p; /* element strides of x */
  float scale;
  int half;    /* x and w are FLOAT16 (else FLOAT) */
  int y_float; /* y is FLOAT (else x's type) */
  int pdl;     /* launch as a programmatic dependent of the previous kernel (sm_90) */
} cuda_pool_gemm_args;

/* Elements per weight row: k rounded up to 16 bytes. */
int cuda_pool_gemm_kp(int k, int is_half);

/* Whether a is within the kernel's limits: k <= CUDA_POOL_GEMM_MAX_K, n
 * and m >= 1, grid and index ranges, w 16-byte aligned, y and bias aligned to their type. */
int cuda_pool_gemm_covered(const cuda_pool_gemm_args *a);

/* Launches on stream; cudaErrorInvalidValue (nothing launched) for what it does not cover. */
cudaError_t cuda_pool_gemm(const cuda_pool_gemm_args *a, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
