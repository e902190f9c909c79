/* Convolution for small batches on Hopper (kernels/conv_splitk.cu): a channels-last FP16 implicit GEMM
 * whose reduction (K = kh * kw * c) is split over the blocks of one thread-block cluster, which add their
 * partial tiles through distributed shared memory and apply the epilogue:
 *   y = act(conv(x, w) + bias + z)
 * At batch 1 the deep layers of a CNN have few output pixels and many input channels (ResNet18's layer4:
 * 49 pixels, K = 4608): a GEMM tile per block leaves most of the GPU idle (cuDNN ran them on 8-16 blocks),
 * while split over a cluster the same conv reads its filter on up to 8x as many multiprocessors.
 *
 * A block computes 64 output pixels x 32 output channels over its share of K in 32-channel steps, all
 * its steps' operands copied into shared memory at once (bulk asynchronous copies); the filter is
 * requested first, before the kernel waits for the previous kernel's output (programmatic dependent
 * launch), so that it streams in while the layer before finishes; a grid of one wave (no more blocks than
 * multiprocessors) lets the next kernel's blocks start as soon as its own have.
 *
 * x: n x h x w x c, filter: m x kh x kw x c (KRSC), z and y: n x oh x ow x m, all FP16 and 16-byte aligned;
 * bias: m FP16 values; bias and z may be NULL.  c and m multiples of 32; pads are the top and left
 * ones (the output extent gives the rest); the sum is in float, rounded once to FP16. */
#ifndef ONYX_BACKEND_CUDA_KERNELS_CONV_SPLITK_H
#define ONYX_BACKEND_CUDA_KERNELS_CONV_SPLITK_H

#include <cuda_runtime_api.h>
#include <stdint.h>

#include "backend/cuda/kernels/epilogue.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUDA_CONV_SPLITK_CH 32        /* c and m must be multiples of this */
#define CUDA_CONV_SPLITK_MAX_SPLIT 8  /* blocks per cluster: 1, 2, 4 or 8 */
#define CUDA_CONV_SPLITK_MAX_STEPS 32 /* 32-channel steps one block holds in shared memory */

typedef struct cuda_conv_splitk_args {
  const void *x, *filter, *bias, *z;
  void *y;
  int n, h, w, c;      /* input */
  int m, kh, kw;       /* filter */
  int sh, sw, dh, dw;  /* strides, dilations */
  int pt, pl;          /* top and left pads */
  int oh, ow;          /* output */
  cuda_act act;
  int split;           /* blocks sharing each output tile's K (the cluster size) */
  int sm_count;        /* the device's multiprocessors (0: unknown, the next kernel never starts early) */
} cuda_conv_splitk_args;

/* Whether the kernel can run here: built for sm_90 or later (clusters) and running on such a device. */
int cuda_conv_splitk_supported(void);

/* Whether a's shapes, pointers and split are within the kernel's limits (see the top). */
int cuda_conv_splitk_covered(const cuda_conv_splitk_args *a);

/* Once, outside stream capture, before the first launch: sets the kernel's shared memory limit. */
cudaError_t cuda_conv_splitk_prepare(void);

/* Launches on stream; cudaErrorInvalidValue (nothing launched) for what it does not cover. */
cudaError_t cuda_conv_splitk(const cuda_conv_splitk_args *a, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
