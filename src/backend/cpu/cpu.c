#include "backend/cpu/cpu.h"

#include <stdlib.h>

#include "common/util.h"

const cpu_kernel_fn cpu_kernels[ONYX_OP_COUNT] = {
#define OP(id, name, parse, infer, cpu) [ONYX_OP_##id] = cpu,
#include "ops/ops.def"
#undef OP
};

void cpu_ctx_init(cpu_ctx *ctx, int num_threads)
{
  ctx->num_threads = num_threads;
  ctx->scratch = NULL;
  ctx->scratch_size = 0;
}

void cpu_ctx_free(cpu_ctx *ctx)
{
  free(ctx->scratch);
  ctx->scratch = NULL;
  ctx->scratch_size = 0;
}

void *cpu_scratch(cpu_ctx *ctx, size_t bytes)
{
  if (bytes <= ctx->scratch_size) return ctx->scratch;
  void *p = onyx_malloc(bytes);
  if (!p) return NULL;
  free(ctx->scratch);
  ctx->scratch = p;
  ctx->scratch_size = bytes;
  return p;
}

void cpu_broadcast_strides(int out_ndim, const int64_t *out_dims, int in_ndim, const int64_t *in_dims,
                           int64_t *strides)
{
  int64_t s = 1;
  for (int i = out_ndim - 1; i >= 0; i--) {
    int j = i - (out_ndim - in_ndim);
    if (j < 0 || in_dims[j] == 1) {
      strides[i] = 0;
    } else {
      strides[i] = s;
    }
    if (j >= 0) s *= in_dims[j];
  }
  (void)out_dims;
}
