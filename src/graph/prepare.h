/* Shape inference and constant folding for concrete input shapes. */
#ifndef ONYX_GRAPH_PREPARE_H
#define ONYX_GRAPH_PREPARE_H

#include "backend/cpu/cpu.h"
#include "graph/ir.h"

/* Graph inputs must have concrete shapes.  Infers every tensor's dtype and
 * shape in node order, and evaluates every node whose inputs are all known
 * (initializers, Constant, Shape of a known shape, ...) with the CPU kernels,
 * marking it folded.  Fails naming the node on any error. */
onyx_status graph_prepare(ir_graph *g, cpu_ctx *cpu);

/* Sorts nodes topologically (stable: keeps file order where it is valid);
 * fails naming a node on a cycle.  Sets tensor producers. */
onyx_status graph_toposort(ir_graph *g);

/* Largest tensor onyx will create, in bytes: ONYX_MAX_TENSOR_BYTES when set to
 * a positive integer, else the machine's physical memory; never above
 * GRAPH_MAX_TENSOR_BYTES_CAP, which keeps every sum and product of dims
 * computed in shape inference far from int64 overflow. */
#define GRAPH_MAX_TENSOR_BYTES_CAP ((size_t)1 << 48)
size_t graph_max_tensor_bytes(void);

/* Whether a tensor of these dims and dtype is within limit bytes, counting an
 * empty (0) dim as 1: a dim no non-empty tensor could have is refused even
 * where another dim is 0, so that no dim is ever above the limit. */
bool graph_tensor_fits(int ndim, const int64_t *dims, onyx_dtype dtype, size_t limit);

#endif
