/* A classifier head as one node: GlobalAveragePool, a Flatten (or Reshape) to N x K and a Gemm
 * become a FusedPoolGemm (ops/fused.h), for the CUDA backend's kernel that pools and multiplies in
 * one launch (small batches: a CUDA graph of ResNet18 at batch 1 spends three kernels on its head).
 * Host-only IR code (no GPU): the CUDA engine runs it after its layout pass, and GPU-free tests run
 * it on the CPU backend.
 *
 * A GlobalAveragePool and the nodes after it are fused only when all of these hold (the kernel's
 * coverage; pool_gemm_refusal names the first that fails):
 *   - the pool's input X is N x K x D1 x ... (rank >= 3, shape known), N <= o->max_batch, K <= o->max_k;
 *   - the pool's output is read by one Flatten (axis 1) or Reshape only, whose output is N x K, is not
 *     a graph output either, and is read only by a Gemm, as its A (input 0);
 *   - the Gemm has transA 0, a constant B (W) and a C that is absent or constant of shape [M] or [1, M];
 *   - X, W, C and the Gemm's output are of type o->dtype;
 *   - the pool's output and the Flatten/Reshape's are not graph outputs (the Gemm's may be).
 * With o->fold_cast, a Cast from FLOAT16 to FLOAT that is the only reader of the Gemm's output (which
 * is not a graph output) is folded too: the fused node writes the Cast's FLOAT output ("to").
 * The fused node "<pool> + <flatten> + <gemm>[ + <cast>]" takes the last fused node's place (node order
 * stays topological) and output tensor; X keeps its layout (the node reads any). */
#ifndef ONYX_ENGINE_POOL_GEMM_H
#define ONYX_ENGINE_POOL_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "graph/ir.h"

typedef struct pool_gemm_options {
  onyx_dtype dtype;  /* the type of X, W, C and the Gemm's output (FLOAT16 in FP16 engines) */
  int64_t max_batch; /* largest N fused (the kernel is for small batches) */
  int64_t max_k;     /* most channels fused (the kernel's limit) */
  bool fold_cast;    /* fold a FLOAT16 -> FLOAT Cast reading the Gemm's output */
} pool_gemm_options;

/* Fuses every match in g (a prepared graph, nodes in topological order); *n_fused counts them.  On
 * error the matches fused so far stay fused (the graph is consistent). */
onyx_status pool_gemm_fuse(ir_graph *g, const pool_gemm_options *o, int *n_fused);

/* Why GlobalAveragePool node `pool` of g and the nodes after it would not be fused: the name of the
 * first failing check (a static string), NULL when they would be.  For logs and tests. */
const char *pool_gemm_refusal(const ir_graph *g, const pool_gemm_options *o, int pool);

#endif
