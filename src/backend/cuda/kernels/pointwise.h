/* FusedPointwise on the GPU: one thread per output element runs the node's
 * program (ops/fused.h) over its inputs, read with broadcast strides.  A
 * generic interpreter: the generated (NVRTC) form is a later optimisation. */
#ifndef ONYX_BACKEND_CUDA_KERNELS_POINTWISE_H
#define ONYX_BACKEND_CUDA_KERNELS_POINTWISE_H

#include <stdbool.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CUDA_FPW_MAX_IN 16
#define CUDA_FPW_MAX_INSTR 64
#define CUDA_FPW_MAX_DIMS 8

/* Lives in device memory (uploaded once at init). */
typedef struct cuda_fpw_prog {
  int n_in, n_instr, ndim;
  int half_out;
  int64_t total;
  int64_t out_dims[CUDA_FPW_MAX_DIMS];
  int half_in[CUDA_FPW_MAX_IN];
  int64_t in_strides[CUDA_FPW_MAX_IN][CUDA_FPW_MAX_DIMS]; /* 0 where broadcast */
  int instr[CUDA_FPW_MAX_INSTR][3];                        /* opcode, a, b (-1: unary) */
  float consts[CUDA_FPW_MAX_INSTR][2];                     /* each instruction's constants (or 0) */
} cuda_fpw_prog;

typedef struct cuda_fpw_ptrs {
  const void *in[CUDA_FPW_MAX_IN];
  void *out;
} cuda_fpw_ptrs;

cudaError_t cuda_fused_pointwise(const cuda_fpw_prog *prog_dev, int64_t total, cuda_fpw_ptrs ptrs,
                                 cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
