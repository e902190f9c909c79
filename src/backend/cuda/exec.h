/* Running a prepared graph on the GPU, layer by layer (no CUDA types here so
 * host code that is built without CUDA can include it; src/runtime/no_cuda.c
 * supplies the refusing versions). */
#ifndef ONYX_BACKEND_CUDA_EXEC_H
#define ONYX_BACKEND_CUDA_EXEC_H

#include <stdbool.h>

#include "graph/ir.h"

typedef struct cuda_exec cuda_exec;

typedef struct cuda_exec_options {
  bool allow_tf32;
  bool tune;              /* time tactic candidates (build); false: library heuristics */
  size_t workspace_limit; /* per layer, bytes */
} cuda_exec_options;

/* g must be prepared (shapes known, constants folded) and outlive the exec. */
onyx_status cuda_exec_create(const ir_graph *g, const cuda_exec_options *opt, cuda_exec **out);
/* Copies g's graph inputs (host data) to the device, runs every layer, copies
 * the graph outputs back into their host buffers, and waits. */
onyx_status cuda_exec_run(cuda_exec *e, ir_graph *g);
void cuda_exec_free(cuda_exec *e);
/* Whether the CUDA backend has an implementation of op (an onyx_op); false without CUDA. */
bool cuda_op_supported(int op);

#endif
