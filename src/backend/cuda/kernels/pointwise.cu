// FusedPointwise interpreter kernel: expressions match backend/cpu/fused_pointwise.c.
#include <cuda_fp16.h>

#include "backend/cuda/kernels/pointwise.h"

// Opcode values of ops/fused.h (stored in engine files, never renumbered).
enum {
  OP_ADD = 1, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN, OP_PRELU,
  OP_RELU = 32, OP_LEAKY_RELU, OP_SIGMOID, OP_TANH, OP_HARD_SIGMOID, OP_HARD_SWISH, OP_CLIP, OP_ELU,
  OP_SOFTPLUS, OP_EXP, OP_LOG, OP_SQRT, OP_RECIPROCAL, OP_NEG, OP_ABS, OP_ERF
};

static __device__ float apply(int op, float x, float y, float c0, float c1)
{
  switch (op) {
  case OP_ADD: return x + y;
  case OP_SUB: return x - y;
  case OP_MUL: return x * y;
  case OP_DIV: return x / y;
  case OP_MAX: return (x > y || x != x) ? x : y;
  case OP_MIN: return (x < y || x != x) ? x : y;
  case OP_PRELU: return x < 0.f ? x * y : x;
  case OP_RELU: return x > 0.f ? x : 0.f;
  case OP_LEAKY_RELU: return x >= 0.f ? x : c0 * x;
  case OP_SIGMOID: return 1.f / (1.f + expf(-x));
  case OP_TANH: return tanhf(x);
  case OP_HARD_SIGMOID: return fmaxf(0.f, fminf(1.f, c0 * x + c1));
  case OP_HARD_SWISH: return x * fmaxf(0.f, fminf(1.f, x * (float)(1.0 / 6.0) + 0.5f));
  case OP_CLIP: return c0 > c1 ? c1 : (x < c0 ? c0 : x > c1 ? c1 : x);
  case OP_ELU: return x >= 0.f ? x : c0 * expm1f(x);
  case OP_SOFTPLUS: return x > 0.f ? x + log1pf(expf(-x)) : log1pf(expf(x));
  case OP_EXP: return expf(x);
  case OP_LOG: return logf(x);
  case OP_SQRT: return sqrtf(x);
  case OP_RECIPROCAL: return 1.f / x;
  case OP_NEG: return -x;
  case OP_ABS: return fabsf(x);
  case OP_ERF: return erff(x);
  default: return x;
  }
}

static __global__ void fused_pointwise_kernel(const cuda_fpw_prog *__restrict__ p, cuda_fpw_ptrs ptrs)
{
  float v[CUDA_FPW_MAX_IN + CUDA_FPW_MAX_INSTR];
  const int n_in = p->n_in, n_instr = p->n_instr, ndim = p->ndim;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < p->total;
       e += (int64_t)gridDim.x * blockDim.x) {
    int64_t idx[CUDA_FPW_MAX_DIMS], r = e;
    for (int d = ndim - 1; d >= 0; d--) {
      idx[d] = r % p->out_dims[d];
      r /= p->out_dims[d];
    }
    for (int i = 0; i < n_in; i++) {
      int64_t off = 0;
      for (int d = 0; d < ndim; d++) off += idx[d] * p->in_strides[i][d];
      v[i] = p->half_in[i] ? __half2float(((const __half *)ptrs.in[i])[off]) : ((const float *)ptrs.in[i])[off];
    }
    for (int k = 0; k < n_instr; k++) {
      const int *ins = p->instr[k];
      v[n_in + k] = apply(ins[0], v[ins[1]], ins[2] >= 0 ? v[ins[2]] : 0.f, p->consts[k][0], p->consts[k][1]);
    }
    float y = v[n_in + n_instr - 1];
    if (p->half_out) ((__half *)ptrs.out)[e] = __float2half(y);
    else ((float *)ptrs.out)[e] = y;
  }
}

static cudaError_t fused_pointwise_launch(const cuda_fpw_prog *p, int64_t total, cuda_fpw_ptrs ptrs, cudaStream_t s)
{
  if (total <= 0) return cudaSuccess;
  const int block = 256;
  int64_t grid = (total + block - 1) / block;
  if (grid > 65536) grid = 65536;
  fused_pointwise_kernel<<<(unsigned)grid, block, 0, s>>>(p, ptrs);
  return cudaGetLastError();
}

extern "C" cudaError_t cuda_fused_pointwise(const cuda_fpw_prog *prog_dev, int64_t total, cuda_fpw_ptrs ptrs,
                                            cudaStream_t stream)
{
  return fused_pointwise_launch(prog_dev, total, ptrs, stream);
}
