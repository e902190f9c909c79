// A conv epilogue's activation on the device (included by .cu files only): the CPU kernels'
// formulas (backend/cpu/elementwise_unary.c), in float.
#ifndef ONYX_BACKEND_CUDA_KERNELS_ACT_CUH
#define ONYX_BACKEND_CUDA_KERNELS_ACT_CUH

#include <cuda_runtime.h>

#include "backend/cuda/kernels/epilogue.h"

static __device__ __forceinline__ float activate(float x, cuda_act a)
{
  switch (a.kind) {
  case CUDA_ACT_RELU: return x > 0.f ? x : 0.f;
  case CUDA_ACT_LEAKY_RELU: return x >= 0.f ? x : a.alpha * x;
  case CUDA_ACT_CLIP:
    if (a.alpha > a.beta) return a.beta;
    return x < a.alpha ? a.alpha : x > a.beta ? a.beta : x;
  case CUDA_ACT_SIGMOID: return 1.f / (1.f + expf(-x));
  case CUDA_ACT_TANH: return tanhf(x);
  case CUDA_ACT_HARD_SIGMOID: return fmaxf(0.f, fminf(1.f, a.alpha * x + a.beta));
  case CUDA_ACT_HARD_SWISH: return x * fmaxf(0.f, fminf(1.f, a.alpha * x + a.beta));
  case CUDA_ACT_SILU: return x * (1.f / (1.f + expf(-x)));
  case CUDA_ACT_ELU: return x >= 0.f ? x : a.alpha * expm1f(x);
  default: return x;
  }
}

#endif
