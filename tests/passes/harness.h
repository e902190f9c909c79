/* Test support for the graph passes: prepare a model's graph, optimise a copy,
 * run both on the CPU backend with the same seeded random inputs, compare. */
#ifndef ONYX_TESTS_PASSES_HARNESS_H
#define ONYX_TESTS_PASSES_HARNESS_H

#include "backend/cpu/cpu.h"
#include "graph/passes/passes.h"
#include "graph/prepare.h"
#include "onyx.h"
#include "runtime/model.h"

/* A prepared clone of the model's graph (symbolic dims set to 1); NULL on failure (error printed). */
ir_graph *h_prepare(const onyx_model *m, cpu_ctx *cpu);

/* Seeded uniform values in [lo, hi). */
void h_fill(float *v, int64_t n, uint64_t seed, float lo, float hi);

/* Random inputs for every graph input of g (float only; never all zeros). */
typedef struct h_inputs {
  int n;
  float **data;
} h_inputs;
int h_inputs_make(const ir_graph *g, uint64_t seed, h_inputs *in);
void h_inputs_free(h_inputs *in);

/* Allocates the buffers of g (a prepared graph) and runs every node that is
 * not folded.  0 on success (error printed otherwise). */
int h_run(ir_graph *g, cpu_ctx *cpu, const h_inputs *in);

/* Compares every graph output of a and b (after h_run): |x - y| <= atol +
 * rtol |x|.  Returns the number of mismatching elements (-1 on a shape or
 * name mismatch) and the largest absolute and relative differences. */
int64_t h_compare(const ir_graph *a, const ir_graph *b, double atol, double rtol, double *max_abs,
                  double *max_rel);

/* g written as engine graph and weights sections and read back (NULL on failure, error printed). */
ir_graph *h_engine_roundtrip(const ir_graph *g);

/* Runs a and b (h_run) on the same random inputs (seed) and compares every output (h_compare): 1 when they
 * agree within atol + rtol |x|, else 0 with what differs printed, named by `what`. */
int h_same_outputs(ir_graph *a, ir_graph *b, cpu_ctx *cpu, uint64_t seed, double atol, double rtol,
                   const char *what);

/* fused (an optimised graph of m) written as an engine and read back: 1 when it has n_op live nodes of op
 * and the same outputs as m's prepared graph (h_same_outputs), else 0 (printed). */
int h_roundtrip_same(const onyx_model *m, const ir_graph *fused, int op, int n_op, cpu_ctx *cpu, uint64_t seed,
                     double atol, double rtol, const char *what);

/* m's prepared graph as an FP16 engine specialises it: graph_optimize (pointwise level), the FP16
 * conversion and, when caps is not NULL, the channels-last layout pass with every node that can (caps: the
 * op layouts); NULL on failure (printed). */
ir_graph *h_fp16_graph(const onyx_model *m, const uint8_t *caps, cpu_ctx *cpu);

/* Live nodes of an op, and a node by name (-1 if none). */
int h_count_op(const ir_graph *g, int op);
int h_find_node(const ir_graph *g, const char *name);

#endif
