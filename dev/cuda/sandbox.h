// What the kernel sandboxes under dev/cuda/ share: a CUDA call check that exits with status 2, and seeded
// random floats (xorshift64) for their inputs.
#ifndef ONYX_DEV_CUDA_SANDBOX_H
#define ONYX_DEV_CUDA_SANDBOX_H

#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CK(call)                                                                                          \
  do {                                                                                                    \
    cudaError_t e_ = (call);                                                                              \
    if (e_ != cudaSuccess) {                                                                              \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_));              \
      exit(2);                                                                                            \
    }                                                                                                     \
  } while (0)

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float urand(void) /* [-1, 1) */
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (float)((rng >> 40) * (1.0 / (1ull << 23))) - 1.f;
}

#endif
