/* Graph passes: rewrites of a prepared graph (after graph_prepare: every shape
 * known, constants folded) that keep its outputs, run before a backend lowers
 * it.  Fused nodes are onyx-internal ops (ops/def/fused.def) with CPU kernels,
 * so an optimised graph still runs on the CPU backend.
 *
 * A pass keeps the node order topological, never renames or drops a graph
 * output, never writes constant data it did not create (a weight may be shared
 * by several nodes, or by the model and every session), and names a fused node
 * by its ONNX nodes' names joined by " + ".  Each pass returns ONYX_OK when it
 * changed nothing. */
#ifndef ONYX_GRAPH_PASSES_H
#define ONYX_GRAPH_PASSES_H

#include "graph/ir.h"

/* What the passes did, for `onyx build --verbose`: one entry per rewrite. */
typedef struct pass_log_entry {
  char *pass; /* "conv_act", ... */
  char *node; /* the resulting node's name: "conv1 + bn1 + relu1" */
  char *ops;  /* the op types it replaces, in the same order: "Conv + BatchNormalization + Relu" */
} pass_log_entry;

typedef struct pass_log {
  pass_log_entry *entries;
  int n, cap;
} pass_log;

void pass_log_init(pass_log *log);
void pass_log_free(pass_log *log);
/* Entries made by this pass (NULL: all). */
int pass_log_count(const pass_log *log, const char *pass);

/* The passes, in the order graph_optimize runs them.  log may be NULL. */
/* Identity, and inference Dropout whose mask nothing reads, removed. */
onyx_status pass_identity_elim(ir_graph *g, pass_log *log);
/* BatchNormalization after a Conv folded into new weight and bias constants. */
onyx_status pass_bn_fold(ir_graph *g, pass_log *log);
/* Conv + Add(per-channel or scalar constant) -> Conv with the constant in its bias. */
onyx_status pass_conv_bias(ir_graph *g, pass_log *log);
/* Conv + Add(conv output, Z of the same shape) -> FusedConv with Z. */
onyx_status pass_conv_add(ir_graph *g, pass_log *log);
/* Conv/FusedConv (without activation) + activation -> FusedConv. */
onyx_status pass_conv_act(ir_graph *g, pass_log *log);
/* Chains of float elementwise ops -> FusedPointwise. */
onyx_status pass_pointwise(ir_graph *g, pass_log *log);
/* Nodes nothing reads removed; folded nodes removed (their outputs stay as
 * constants); data of constants nothing reads released. */
onyx_status pass_dce(ir_graph *g, pass_log *log);

/* Optimisation levels. */
#define ONYX_OPT_NONE 0      /* nothing */
#define ONYX_OPT_BASIC 1     /* identity/dropout elimination, dead-code elimination */
#define ONYX_OPT_FUSE 2      /* + BatchNormalization/bias folding, Conv + Add / activation fusion */
#define ONYX_OPT_POINTWISE 3 /* + pointwise chain fusion (the default of `onyx build`) */

/* Runs the passes of opt_level (higher levels act as the highest) on a
 * prepared graph. */
onyx_status graph_optimize(ir_graph *g, int opt_level, pass_log *log);

#endif
