/* The stem of ResNet-like networks in one kernel (kernels/conv_pool.cu):
 *   y = MaxPool 3x3 / 2, pad 1 (act(Conv 7x7 / 2, pad 3 (x, w) + b))
 * for 1-4 input channels and a multiple of 64 output channels, FP16 tensor-core
 * math with float accumulation, the conv output kept on chip (never written).
 *
 * x: FLOAT or FLOAT16 of any layout (element strides n, c, h, w); a FLOAT x is
 * rounded to FLOAT16 as it is read (the input Cast of an FP16 engine, folded).
 * y: FLOAT16 channels-last (N, PH, PW, C in memory), 16-byte aligned.
 * The filter is packed once, on the host, into the kernel's layout (FP16 bits):
 * cout rows of cuda_conv_pool_kp(cin) values, k = (c * 7 + ky) * 8 + kx with
 * kx = 7 and k >= cin * 56 zero. */
#ifndef ONYX_BACKEND_CUDA_KERNELS_CONV_POOL_H
#define ONYX_BACKEND_CUDA_KERNELS_CONV_POOL_H

#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CUDA_CONV_POOL_CIN_MAX 4
#define CUDA_CONV_POOL_COUT_STEP 64

/* Values per output channel of the packed filter (cin * 56 rounded up to 16). */
static inline int cuda_conv_pool_kp(int cin) { return (cin * 56 + 15) / 16 * 16; }

typedef struct cuda_conv_pool_args {
  const void *x;
  int x_float; /* x is FLOAT (else FLOAT16) */
  int64_t xs[4];
  int n, cin, h, w;
  const uint16_t *filter; /* packed, cout x cuda_conv_pool_kp(cin) */
  const float *bias;      /* cout values (zeros when the conv has none) */
  int relu;
  void *y;
  int cout;
  int ch, cw; /* the conv output's height and width (never stored) */
  int ph, pw; /* y's height and width */
  int sm_count;
} cuda_conv_pool_args;

/* Packs a filter (cout x cin x 7 x 7 values: FLOAT, or FLOAT16 bits when w_half; stored KCRS, or KRSC
 * when krsc) into out (cout x cuda_conv_pool_kp(cin) FP16 bits). */
void cuda_conv_pool_pack(const void *w, int w_half, int krsc, int cin, int cout, uint16_t *out);

/* Whether the kernel runs on the current device: built for sm_80 or later (its tensor-core
 * instructions), and the device one of those. */
int cuda_conv_pool_supported(void);

/* Once before the first launch with a's cin and x type, outside stream capture: sets the kernel's
 * shared memory limit.  cudaErrorInvalidValue for what the kernel does not cover. */
cudaError_t cuda_conv_pool_prepare(const cuda_conv_pool_args *a);

/* Launches on stream; cudaErrorInvalidValue (nothing launched) for what it does not cover. */
cudaError_t cuda_conv_pool(const cuda_conv_pool_args *a, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
