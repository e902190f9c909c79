/* The CPU reference backend: one kernel per op, indexed by onyx_op.
 * Kernels read inputs and write outputs through the graph's tensor data
 * pointers; outputs are allocated before the kernel runs. */
#ifndef ONYX_BACKEND_CPU_H
#define ONYX_BACKEND_CPU_H

#include "graph/ir.h"
#include "ops/ops.h"

typedef struct cpu_ctx {
  int num_threads;
  void *scratch; /* grown on demand by cpu_scratch() */
  size_t scratch_size;
} cpu_ctx;

typedef onyx_status (*cpu_kernel_fn)(cpu_ctx *ctx, const ir_graph *g, const ir_node *n);

extern const cpu_kernel_fn cpu_kernels[ONYX_OP_COUNT];

#define OP(id, name, parse, infer, cpu) \
  onyx_status cpu(cpu_ctx *ctx, const ir_graph *g, const ir_node *n);
#include "ops/ops.def"
#undef OP

void cpu_ctx_init(cpu_ctx *ctx, int num_threads);
void cpu_ctx_free(cpu_ctx *ctx);
/* Scratch memory valid until the next call; NULL (with error set) on failure. */
void *cpu_scratch(cpu_ctx *ctx, size_t bytes);

/* Broadcasting: for each of the out_ndim output dims, the element stride of
 * an input of shape in_dims (right-aligned), 0 where the input is broadcast. */
void cpu_broadcast_strides(int out_ndim, const int64_t *out_dims, int in_ndim, const int64_t *in_dims,
                           int64_t *strides);

/* Convenience accessors. */
#define CPU_IN(g, n, i) ir_in((g), (n), (i))
#define CPU_OUT(g, n, i) ir_out((g), (n), (i))

#endif
