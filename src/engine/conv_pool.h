/* The ResNet stem as one node: Conv 7x7/2/3 (+ bias + Relu) followed by MaxPool 3x3/2/1 becomes
 * a FusedConvPool (ops/fused.h), for the CUDA backend's kernel that writes the pooled output in
 * one pass.  Host-only IR code (no GPU): the CUDA engine runs it after its layout pass, and GPU-free
 * tests run it on the CPU backend.
 *
 * A (Fused)Conv and the MaxPool reading it are fused only when all of these hold (the kernel's
 * coverage; conv_pool_refusal names the first that fails):
 *   - the producer is a Conv, or a FusedConv with activation none or Relu and no Z input;
 *   - 2-D (X and W of rank 4), group 1, dilations 1, kernel 7x7, strides 2 2, pads 3 3 3 3
 *     (as resolved for X: auto_pad counts), X with 1..4 channels, output channels a multiple of 64;
 *   - W constant (host data present), B absent or constant;
 *   - the conv output is read by the MaxPool only and is not a graph output;
 *   - the MaxPool has one output (no Indices), kernel 3x3, strides 2 2, pads 1 1 1 1, dilations 1,
 *     ceil_mode 0;
 *   - W, B, the conv output and the pool output are of type o->dtype; X is too, unless o->fold_cast
 *     and X is the output of a Cast from FLOAT to FLOAT16 that nothing else reads (and that is not a
 *     graph output): the fused node then reads the Cast's FLOAT input and the Cast is removed;
 *   - the conv output and the pool output are channels-last when o->channels_last, row-major
 *     otherwise (W's layout is left as it is: KRSC when channels-last, engine/layout.h).
 * The fused node "<conv> + <pool>" takes the MaxPool's place (node order stays topological) and
 * output tensor. */
#ifndef ONYX_ENGINE_CONV_POOL_H
#define ONYX_ENGINE_CONV_POOL_H

#include <stdbool.h>

#include "graph/ir.h"
#include "ops/nn.h"

typedef struct conv_pool_options {
  onyx_dtype dtype;   /* the type of W, B and Y the kernel takes (FLOAT16 in FP16 engines) */
  bool channels_last; /* the conv and pool outputs must be channels-last (else row-major) */
  bool fold_cast;     /* read through a FLOAT -> FLOAT16 Cast feeding only the conv */
} conv_pool_options;

/* Whether a conv's and its pool's resolved windows are the stem's: conv 7x7 / 2, pads 3, pool 3x3 / 2,
 * pads 1, dilations 1, 2-D (the fusion's check and the CUDA layer's). */
bool conv_pool_windows(const nn_geom *conv, const nn_geom *pool);

/* Fuses every match in g (a prepared graph, nodes in topological order); *n_fused counts them.  On
 * error the matches fused so far stay fused (the graph is consistent). */
onyx_status conv_pool_fuse(ir_graph *g, const conv_pool_options *o, int *n_fused);

/* Why node `conv` of g and the node reading it would not be fused: the name of the first failing
 * check (a static string), NULL when they would be.  For logs and tests. */
const char *conv_pool_refusal(const ir_graph *g, const conv_pool_options *o, int conv);

#endif
