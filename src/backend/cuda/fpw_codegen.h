/* FusedPointwise code generation: the CUDA C source of one kernel for one
 * layer's program (ops/fused.h), specialised for its shapes, dtypes and
 * broadcast strides, to be compiled with NVRTC (k_pointwise.c).
 *
 * The kernel is straight-line code, one variable per SSA value, with the
 * expressions of the CPU kernel (backend/cpu/fused_pointwise.c) and the
 * interpreter (kernels/pointwise.cu).  Shapes are baked in as constants: the
 * dims are first simplified (extent-1 dims dropped, neighbours that every
 * tensor walks contiguously merged) so a broadcast input costs one division
 * per remaining dim.  A grid-stride loop covers the output; when every input
 * is either full-size and contiguous or a single value, the output is
 * contiguous and the buffers are 16-byte aligned, it loads and stores 4
 * elements at a time.  FLOAT16 values are stored as 16-bit words and
 * converted with cvt (round to nearest even), math is in float.
 *
 *   extern "C" __global__ void onyx_fpw(const T0 *in0, ..., TO *out)
 *
 * Launch with FPW_BLOCK threads per block and any grid (fpw_grid suggests
 * one).  Plain C, no CUDA headers: the generator is tested without a GPU.
 * Defining ONYX_FPW_HOST before the source drops its device-only helpers
 * (fpw_h2f, fpw_f2h, fpw_bits), so a test can compile it as host C++. */
#ifndef ONYX_BACKEND_CUDA_FPW_CODEGEN_H
#define ONYX_BACKEND_CUDA_FPW_CODEGEN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"
#include "ops/fused.h"

#define FPW_KERNEL_NAME "onyx_fpw"
#define FPW_BLOCK 256
#define FPW_VEC 4

typedef struct fpw_kernel_desc {
  const fused_pointwise_params *prog;
  int n_in;
  int ndim; /* of the output */
  int64_t dims[ONYX_MAX_DIMS];
  int64_t out_strides[ONYX_MAX_DIMS];            /* elements */
  int64_t in_strides[FPW_MAX_IN][ONYX_MAX_DIMS]; /* per output dim, elements; 0 where broadcast */
  bool half_in[FPW_MAX_IN], half_out;            /* FLOAT16 storage, else FLOAT */
  bool aligned16;                                /* every buffer is 16-byte aligned */
} fpw_kernel_desc;

/* Malloc'd, NUL-terminated source.  ONYX_ERR_UNSUPPORTED for a program it
 * cannot express (bad operand or opcode: parse refuses those anyway). */
onyx_status fpw_codegen(const fpw_kernel_desc *d, char **src);
/* Whether the source fpw_codegen makes for d takes the 4-wide path. */
bool fpw_vectorised(const fpw_kernel_desc *d);
/* Blocks for a launch over d's output on a GPU of sm_count SMs (0 when empty). */
unsigned fpw_grid(const fpw_kernel_desc *d, int sm_count);

#endif
