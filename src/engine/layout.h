/* Channels-last (NHWC) storage for the 4-D feature maps of FP16 engines (FLOAT16) and TF32
 * engines (FLOAT).
 *
 * Logical dims stay NCHW everywhere (shape inference is untouched); the pass
 * only sets ir_tensor.layout and inserts reformats.  Which layouts a node's
 * implementation accepts comes from a table indexed by onyx_op that the
 * backend owns (cuda_op_layouts[], backend/cuda/registry.c), so the pass
 * itself is pure IR and testable without a GPU. */
#ifndef ONYX_ENGINE_LAYOUT_H
#define ONYX_ENGINE_LAYOUT_H

#include <stdint.h>

#include "graph/ir.h"
#include "ops/ops.h"

/* What an op's implementation does with channels-last tensors. */
typedef enum layout_cap {
  LAYOUT_CAP_ROW_MAJOR = 0, /* every tensor row-major: reformats surround it (the default) */
  LAYOUT_CAP_UNIFORM,       /* its 4-D feature maps (inputs and outputs) share one layout, either */
  LAYOUT_CAP_FILTER,        /* UNIFORM, and input 1 is a constant filter stored KRSC when channels-last */
  LAYOUT_CAP_STRIDED,       /* each input and output may have its own layout (kernels honour strides) */
  LAYOUT_CAP_STRIDED_IN,    /* inputs may have any layout, outputs are row-major */
  LAYOUT_CAP_COUNT
} layout_cap;

typedef struct layout_report {
  int channels_last;       /* tensors made channels-last */
  int reformats;           /* Identity nodes inserted between the two layouts */
  int filters;             /* constant filters stored KRSC */
  int nodes_channels_last; /* UNIFORM/FILTER nodes running channels-last */
} layout_report;

/* A 4-D tensor of type dtype whose two layouts differ in memory (C > 1 and H * W > 1). */
bool layout_is_feature_map(const ir_tensor *t, onyx_dtype dtype);

typedef struct layout_options {
  onyx_dtype dtype; /* the feature maps' type: FLOAT16 (FP16 engines) or FLOAT (TF32) */
  bool all;         /* every node that can run channels-last does (no cost search; for tests) */
} layout_options;

/* Chooses layouts for the feature maps (4-D tensors of type o->dtype) of a prepared graph (nodes
 * in topological order; caps[op] as above, one per onyx_op):
 *   - every node that is UNIFORM/FILTER runs in one layout; the choice starts
 *     channels-last for all and is improved node by node against a cost model
 *     (a reformat costs its elements plus a launch, a conv run row-major costs
 *     the transposes cuDNN would do inside, a strided op reading another
 *     layout than it writes half its elements);
 *   - a STRIDED node writes the layout its consumers want most;
 *   - graph inputs and outputs stay row-major;
 *   - where a consumer needs the other layout of a tensor, an Identity node
 *     "<tensor>:to_nhwc" / ":to_nchw" makes it (one per tensor and layout);
 *   - the constant filters of channels-last convs are transposed to KRSC
 *     (in place when only such convs read them, else as a twin "<w>:krsc").
 * Leaves the nodes topologically sorted.  rep may be NULL. */
onyx_status layout_assign_nhwc(ir_graph *g, const uint8_t caps[ONYX_OP_COUNT], const layout_options *o,
                               layout_report *rep);

#endif
